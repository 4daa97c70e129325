"""Drive ``skopeo`` (1.9.3) against the test registries without touching the real user's state.

Each ``Skopeo`` instance owns a temp dir used as HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME,
XDG_DATA_HOME, XDG_CACHE_HOME and TMPDIR, plus its own ``--authfile`` (``<dir>/auth.json``),
``--policy`` (insecureAcceptAnything) and ``--registries.d``. It runs with a minimal environment
(no proxies, no REGISTRY_AUTH_FILE) and ``_CONTAINERS_ROOTLESS_UID`` set to a non-zero uid, so that,
even as root, containers/image keeps its blob-info cache under the private XDG_DATA_HOME instead
of ``/var/lib/containers/cache``. Every call has a timeout (the child is killed when it expires).

    sk = Skopeo()
    sk.login(reg, "alice", "s3cret-alice")              # SkopeoResult(ok, output, ...)
    pushed = sk.copy_test_image(reg, "test/hello", "v1") # builds an OCI layout in Python, pushes it
    info = sk.inspect(f"{reg.host_port}/test/hello:v1", cert_dir=reg.cert_dir)
    assert info.ok and info.digest == pushed.digest
    sk.close()
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = ["OCIImage", "Skopeo", "SkopeoResult", "build_oci_layout"]

SKOPEO_BINARY = "skopeo"
DEFAULT_TIMEOUT = 60.0

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class RegistryLike(Protocol):
    host_port: str
    cert_dir: Path
    username: str | None
    password: str | None


@dataclass
class SkopeoResult:
    ok: bool
    output: str  # stdout + stderr (secrets passed via stdin never appear here)
    returncode: int | None = None  # None: killed by the timeout
    args: list[str] = field(default_factory=list, repr=False)  # argv with --creds values masked
    digest: str | None = None  # copy: pushed manifest digest; inspect: "Digest"

    def json(self) -> Any:
        return json.loads(self.output)

    def __bool__(self) -> bool:
        return self.ok


# ---------------------------------------------------------------------------------------------
# A tiny, deterministic OCI image layout
# ---------------------------------------------------------------------------------------------


@dataclass
class OCIImage:
    path: Path
    tag: str
    manifest_digest: str
    config_digest: str
    layer_digest: str


def _blob(blobs: Path, data: bytes) -> tuple[str, int]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (blobs / digest.split(":", 1)[1]).write_bytes(data)
    return digest, len(data)


def build_oci_layout(
    path: str | os.PathLike[str],
    tag: str = "v1",
    *,
    content: bytes = b"hello from the registry tests\n",
) -> OCIImage:
    """Write an OCI image layout (one tar.gz layer, config, manifest, index.json) to ``path``.

    Deterministic: the same ``content`` always gives the same manifest digest.
    """
    root = Path(path)
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mode, info.mtime, info.uname, info.gname = (
            len(content),
            0o644,
            0,
            "root",
            "root",
        )
        tar.addfile(info, io.BytesIO(content))
    raw = tar_bytes.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", mtime=0, filename="") as fh:
        fh.write(raw)
    layer_digest, layer_size = _blob(blobs, gz.getvalue())

    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "tests.support.skopeo"}],
    }
    config_digest, config_size = _blob(blobs, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = _blob(blobs, json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return OCIImage(root, tag, manifest_digest, config_digest, layer_digest)


# ---------------------------------------------------------------------------------------------
# skopeo
# ---------------------------------------------------------------------------------------------


def _creds_arg(creds: tuple[str, str] | str) -> str:
    return creds if isinstance(creds, str) else f"{creds[0]}:{creds[1]}"


def _mask(args: list[str]) -> list[str]:
    out, hide = [], False
    for arg in args:
        out.append("***" if hide else arg)
        hide = arg in {"--creds", "--src-creds", "--dest-creds", "-p", "--password"}
    return out


class Skopeo:
    """See the module docstring. ``workdir``: parent of the private temp dir (default: $TMPDIR)."""

    def __init__(
        self,
        *,
        workdir: str | os.PathLike[str] | None = None,
        binary: str = SKOPEO_BINARY,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        resolved = shutil.which(binary)
        if resolved is None:
            raise FileNotFoundError(f"{binary} is not installed")
        self.binary = resolved
        self.timeout = timeout
        self.home = Path(tempfile.mkdtemp(prefix="skopeo-", dir=workdir))
        for sub in ("run", "config", "data", "cache", "tmp", "registries.d", "images"):
            (self.home / sub).mkdir(mode=0o700)
        self.authfile = self.home / "auth.json"
        self.authfile.write_text('{"auths": {}}')
        self.policy = self.home / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.home / "run"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "TMPDIR": str(self.home / "tmp"),
            # containers/image picks the blob-info-cache dir by this (rootless → XDG_DATA_HOME);
            # without it root writes /var/lib/containers/cache/blob-info-cache-v1.boltdb.
            "_CONTAINERS_ROOTLESS_UID": "65534",
        }
        self.history: list[SkopeoResult] = []
        self._images = 0

    # -- plumbing ---------------------------------------------------------------------------
    def close(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Skopeo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _global_args(self) -> list[str]:
        return [
            "--policy",
            str(self.policy),
            "--registries.d",
            str(self.home / "registries.d"),
            "--tmpdir",
            str(self.home / "tmp"),
        ]

    def run(
        self, *args: str, stdin: str | None = None, timeout: float | None = None
    ) -> SkopeoResult:
        """Run ``skopeo <global args> <args>``; never raises on failure or timeout."""
        argv = [self.binary, *self._global_args(), *args]
        limit = self.timeout if timeout is None else timeout
        try:
            done = subprocess.run(
                argv,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=limit,
                env=self.env,
                cwd=self.home,
                stdin=None if stdin is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:  # subprocess.run has killed and reaped the child
            out = _text(exc.stdout) + _text(exc.stderr)
            result = SkopeoResult(
                False, f"{out}\n[skopeo timed out after {limit:.0f}s]", None, _mask(argv)
            )
        else:
            result = SkopeoResult(
                done.returncode == 0, done.stdout + done.stderr, done.returncode, _mask(argv)
            )
        self.history.append(result)
        return result

    # -- commands ---------------------------------------------------------------------------
    def login(
        self,
        registry: RegistryLike | str,
        username: str,
        password: str,
        *,
        authfile: str | os.PathLike[str] | None = None,
        cert_dir: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
    ) -> SkopeoResult:
        """``skopeo login`` (password via stdin); ``registry``: RunningRegistry or "host:port"."""
        host, cert_dir = _target(registry, cert_dir)
        args = [
            "login",
            "--authfile",
            str(authfile or self.authfile),
            "-u",
            username,
            "--password-stdin",
        ]
        args += ["--cert-dir", str(cert_dir)] if cert_dir else []
        return self.run(*args, host, stdin=password + "\n", timeout=timeout)

    def logout(
        self, registry: RegistryLike | str, *, authfile: str | os.PathLike[str] | None = None
    ) -> SkopeoResult:
        host, _ = _target(registry, None)
        return self.run("logout", "--authfile", str(authfile or self.authfile), host)

    def inspect(
        self,
        image_ref: str,
        *,
        creds: tuple[str, str] | str | None = None,
        authfile: str | os.PathLike[str] | None = None,
        cert_dir: str | os.PathLike[str] | None,
        raw: bool = False,
        timeout: float | None = None,
    ) -> SkopeoResult:
        """``skopeo inspect docker://…``; with neither ``creds`` nor ``authfile`` the instance's
        authfile (filled by ``login``) is used. ``cert_dir=None``: system trust (fails here)."""
        ref = image_ref if "://" in image_ref else f"docker://{image_ref}"
        args = ["inspect"] + (["--raw"] if raw else [])
        if creds is not None:
            args += ["--creds", _creds_arg(creds)]
        else:
            args += ["--authfile", str(authfile or self.authfile)]
        args += ["--cert-dir", str(cert_dir)] if cert_dir else []
        result = self.run(*args, ref, timeout=timeout)
        if result.ok and not raw:
            with contextlib.suppress(ValueError):
                result.digest = result.json().get("Digest")
        return result

    def copy_test_image(
        self,
        registry: RegistryLike,
        repo: str,
        tag: str = "v1",
        *,
        creds: tuple[str, str] | str | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
    ) -> SkopeoResult:
        """Build a tiny OCI image and push it to ``<registry.host_port>/<repo>:<tag>``.

        Credentials default to ``registry.username/password`` (none for an open registry). The
        result's ``digest`` is the pushed manifest digest (``--digestfile``).
        """
        self._images += 1
        layout = self.home / "images" / f"image-{self._images}"
        image = build_oci_layout(
            layout, tag, **({"content": content} if content is not None else {})
        )
        digestfile = layout.with_suffix(".digest")
        args = ["copy", "--quiet", "--retry-times", "0", "--digestfile", str(digestfile)]
        if creds is None and registry.username is not None:
            creds = (registry.username, registry.password or "")
        args += ["--dest-creds", _creds_arg(creds)] if creds is not None else ["--dest-no-creds"]
        args += ["--dest-cert-dir", str(registry.cert_dir)]
        args += [f"oci:{layout}:{tag}", f"docker://{registry.host_port}/{repo}:{tag}"]
        result = self.run(*args, timeout=timeout)
        if result.ok:
            result.digest = (
                digestfile.read_text().strip() if digestfile.exists() else image.manifest_digest
            )
        return result

    def list_tags(
        self,
        repo_ref: str,
        *,
        creds: tuple[str, str] | str | None = None,
        cert_dir: str | os.PathLike[str] | None,
    ) -> SkopeoResult:
        ref = repo_ref if "://" in repo_ref else f"docker://{repo_ref}"
        args = ["list-tags"]
        args += (
            ["--creds", _creds_arg(creds)]
            if creds is not None
            else ["--authfile", str(self.authfile)]
        )
        args += ["--cert-dir", str(cert_dir)] if cert_dir else []
        return self.run(*args, ref)


def _target(
    registry: RegistryLike | str, cert_dir: str | os.PathLike[str] | None
) -> tuple[str, str | os.PathLike[str] | None]:
    if isinstance(registry, str):
        return registry, cert_dir
    return registry.host_port, cert_dir if cert_dir is not None else getattr(
        registry, "cert_dir", None
    )


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
