"""Run the real Debian ``docker-registry`` (distribution 2.8.x) on 127.0.0.1 for tests.

    with registry_process("htpasswd", ca) as reg:      # or "open", or "token"
        requests.get(f"{reg.url}/v2/", auth=(reg.username, reg.password), verify=reg.ca_file)

Modes:

* ``htpasswd`` – Basic auth (``Basic realm="test-basic-realm"``); users made with ``htpasswd -Bbn``.
  Default user ``alice`` / ``s3cret-alice``; ``reg.add_user(name, password)`` adds more (the
  registry re-reads the file, no restart).
* ``open``     – no auth; ``username``/``password`` are None.
* ``token``    – ``auth.token`` pointing at a ``TokenServer`` (own port, same CA) with realm
  ``<token_server.url>/token``, service ``test-registry``, issuer ``test-token-issuer``; same
  default user. ``reg.add_user(name, password, actions=("pull",))`` adds users to the token server.

Each registry gets its own temp dir (config, storage, TLS cert from the test CA, htpasswd, log),
removed on ``stop()``. The process is started with a parent-death signal (``setpriv --pdeathsig``
when available) so it cannot outlive the Python process even if pytest is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.pki import TestCA
from tests.support.token_server import TokenServer

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USER",
    "HarnessProcess",
    "REGISTRY_BINARY",
    "RegistryStartError",
    "RunningRegistry",
    "live_children",
    "registry_process",
    "start_registry",
    "track_process",
    "tracked_processes",
    "wait_until_answering",
]

REGISTRY_BINARY = "/usr/bin/docker-registry"
HTPASSWD_BINARY = "htpasswd"
DEFAULT_USER = "alice"
DEFAULT_PASSWORD = "s3cret-alice"
BASIC_REALM = "test-basic-realm"
START_TIMEOUT = 15.0
MODES = ("htpasswd", "open", "token")


class RegistryStartError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# Process bookkeeping shared by the harness (registry processes; skopeo uses subprocess.run)
# ---------------------------------------------------------------------------------------------

_PROC_LOCK = threading.Lock()
_PROCESSES: list[subprocess.Popen] = []


def track_process(proc: subprocess.Popen) -> None:
    """Register a long-running harness process (the session-end check kills any left alive)."""
    with _PROC_LOCK:
        _PROCESSES[:] = [p for p in _PROCESSES if p.poll() is None]
        _PROCESSES.append(proc)


def tracked_processes() -> list[subprocess.Popen]:
    """Harness-started long-running processes that are still alive."""
    with _PROC_LOCK:
        return [p for p in _PROCESSES if p.poll() is None]


def live_children(pid: int | None = None) -> list[tuple[int, str]]:
    """(pid, comm) of live (non-zombie) direct children of ``pid`` (default: this process)."""
    parent = os.getpid() if pid is None else pid
    found: list[tuple[int, str]] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        # "pid (comm) state ppid ..." – comm may contain spaces/parens: split at the last ')'
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 2 and int(fields[1]) == parent and fields[0] != "Z":
            found.append((int(entry), comm))
    return found


def pdeathsig_prefix() -> list[str]:
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    else:
        proc.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_htpasswd_line(username: str, password: str) -> str:
    """``htpasswd -Bbn user pass`` (bcrypt, the only format distribution accepts)."""
    binary = shutil.which(HTPASSWD_BINARY)
    if binary is None:
        raise FileNotFoundError("htpasswd (apache2-utils) is not installed")
    done = subprocess.run(
        [binary, "-Bbn", username, password],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(f"htpasswd failed ({done.returncode}): {done.stderr.strip()}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if len(lines) != 1 or not lines[0].startswith(f"{username}:$2"):
        raise RuntimeError(f"unexpected htpasswd output: {done.stdout!r}")
    return lines[0]


class HarnessProcess:
    """``pid``, ``running`` and ``logs()`` of a harness server with ``process`` and ``log_path``."""

    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------


@dataclass
class RunningRegistry(HarnessProcess):
    """A live ``docker-registry``. See the module docstring."""

    url: str  # "https://127.0.0.1:PORT"
    host_port: str  # "127.0.0.1:PORT"
    ca: TestCA
    ca_pem: str
    cert_dir: Path  # contains ca.crt, for skopeo --cert-dir / --dest-cert-dir
    username: str | None
    password: str | None
    token_server: TokenServer | None
    mode: str
    directory: Path = field(repr=False)
    process: subprocess.Popen = field(repr=False)
    log_path: Path = field(repr=False)
    htpasswd_path: Path | None = field(repr=False, default=None)
    _owns_token_server: bool = field(repr=False, default=False)
    _owns_directory: bool = field(repr=False, default=True)
    _lock: threading.Lock = field(repr=False, default_factory=threading.Lock)

    @property
    def ca_file(self) -> str:
        """Path of the CA cert (``requests``' ``verify=``)."""
        return str(self.ca.cert_path)

    @property
    def port(self) -> int:
        return int(self.host_port.rsplit(":", 1)[1])

    def add_user(
        self, username: str, password: str, actions: Iterable[str] = ("pull", "push")
    ) -> None:
        """Add (or replace) a user. ``actions`` only matters in token mode (htpasswd grants all)."""
        if self.mode == "htpasswd":
            assert self.htpasswd_path is not None
            line = make_htpasswd_line(username, password)
            with self._lock:
                kept = [
                    entry
                    for entry in self.htpasswd_path.read_text().splitlines()
                    if entry.strip() and not entry.startswith(f"{username}:")
                ]
                _write_htpasswd(self.htpasswd_path, [*kept, line])
        elif self.mode == "token":
            assert self.token_server is not None
            self.token_server.add_user(username, password, actions)
        else:
            raise ValueError("an open registry has no users")

    def stop(self) -> None:
        try:
            stop_process(self.process)
        finally:
            if self._owns_token_server and self.token_server is not None:
                self.token_server.stop()
            if self._owns_directory:
                shutil.rmtree(self.directory, ignore_errors=True)


def _write_htpasswd(path: Path, lines: list[str]) -> None:
    """Atomically replace the file and make sure its mtime changes (the registry reloads on it)."""
    old_mtime = path.stat().st_mtime_ns if path.exists() else 0
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{line}\n" for line in lines))
    new_mtime = max(time.time_ns(), old_mtime + 1_000_000_000)
    os.utime(tmp, ns=(new_mtime, new_mtime))
    os.replace(tmp, path)


def _config(directory: Path, port: int, cert: Path, key: Path, auth: dict | None) -> dict:
    config: dict = {
        "version": "0.1",
        "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(directory / "data")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {
            "addr": f"127.0.0.1:{port}",
            "secret": secrets.token_hex(16),
            "tls": {"certificate": str(cert), "key": str(key)},
        },
    }
    if auth:
        config["auth"] = auth
    return config


def wait_until_answering(
    proc: subprocess.Popen,
    probe_url: str,
    log_path: Path,
    timeout: float,
    *,
    what: str,
    verify: str | bool = True,
    statuses: tuple[int, ...] = (200,),
) -> None:
    """Poll ``probe_url`` until it answers one of ``statuses``; ``RegistryStartError`` (with the
    server's output) if ``proc`` exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last_error = "no attempt"
    with requests.Session() as session:
        session.trust_env = False
        while True:
            if proc.poll() is not None:
                raise RegistryStartError(
                    f"{what} exited with {proc.returncode} before answering {probe_url}.\n"
                    f"--- {what} output ---\n{_tail(log_path)}"
                )
            try:
                response = session.get(
                    probe_url, verify=verify, timeout=(1, 2), allow_redirects=False
                )
                response.close()
                if response.status_code in statuses:
                    return
                last_error = f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise RegistryStartError(
                    f"{what} did not answer {probe_url} within {timeout:.0f}s "
                    f"(last: {last_error}).\n"
                    f"--- {what} output ---\n{_tail(log_path)}"
                )
            time.sleep(0.05)


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return text[-limit:] or "(no output)"


def start_registry(
    mode: str,
    ca: TestCA,
    *,
    workdir: str | os.PathLike[str] | None = None,
    users: dict[str, str] | None = None,
    token_server: TokenServer | None = None,
    binary: str = REGISTRY_BINARY,
    timeout: float = START_TIMEOUT,
) -> RunningRegistry:
    """Start a registry in ``mode`` ("htpasswd" | "open" | "token") and wait until /v2/ answers.

    ``users`` defaults to ``{"alice": "s3cret-alice"}`` (ignored for "open"); the first user becomes
    ``.username``/``.password``. In token mode a ``TokenServer`` is started (and owned) unless one
    is passed. ``workdir``: parent dir for the registry's temp dir (default: system temp).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise FileNotFoundError(f"{binary} is not installed")
    users = dict(users if users is not None else {DEFAULT_USER: DEFAULT_PASSWORD})
    directory = Path(tempfile.mkdtemp(prefix=f"registry-{mode}-", dir=workdir))
    owns_token_server = False
    try:
        cert, key = ca.issue_server_cert(
            ("localhost", "127.0.0.1"), stem=f"registry-{mode}-{directory.name}"
        )
        cert_dir = ca.write_cert_dir(directory / "certs")
        (directory / "data").mkdir()
        htpasswd_path: Path | None = None
        auth: dict | None = None
        if mode == "htpasswd":
            htpasswd_path = directory / "htpasswd"
            _write_htpasswd(htpasswd_path, [make_htpasswd_line(u, p) for u, p in users.items()])
            auth = {"htpasswd": {"realm": BASIC_REALM, "path": str(htpasswd_path)}}
        elif mode == "token":
            if token_server is None:
                token_server = TokenServer(ca, directory, users=users).start()
                owns_token_server = True
            auth = {
                "token": {
                    "realm": token_server.realm,
                    "service": token_server.service,
                    "issuer": token_server.issuer,
                    "rootcertbundle": str(token_server.signing_cert_path),
                }
            }
        username, password = next(iter(users.items())) if users and mode != "open" else (None, None)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(directory), "LANG": "C.UTF-8"}
        log_path = directory / "registry.log"
        last_error: Exception | None = None
        for _attempt in range(3):  # the free port can be taken between probe and bind: retry
            port = free_port()
            config_path = directory / "config.yml"
            # JSON is valid YAML, and saves us quoting rules.
            config_path.write_text(json.dumps(_config(directory, port, cert, key, auth), indent=2))
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [*pdeathsig_prefix(), binary, "serve", str(config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=directory,
                    close_fds=True,
                )
            track_process(proc)
            url = f"https://127.0.0.1:{port}"
            try:
                wait_until_answering(
                    proc, f"{url}/v2/", log_path, timeout, what="docker-registry",
                    verify=str(ca.cert_path), statuses=(200, 401),
                )
            except RegistryStartError as exc:
                stop_process(proc)
                last_error = exc
                if "address already in use" in _tail(log_path):
                    continue
                raise
            return RunningRegistry(
                url=url,
                host_port=f"127.0.0.1:{port}",
                ca=ca,
                ca_pem=ca.cert_pem,
                cert_dir=cert_dir,
                username=username,
                password=password,
                token_server=token_server,
                mode=mode,
                directory=directory,
                process=proc,
                log_path=log_path,
                htpasswd_path=htpasswd_path,
                _owns_token_server=owns_token_server,
            )
        raise RegistryStartError(f"could not bind a free port: {last_error}")
    except BaseException:
        if owns_token_server and token_server is not None:
            token_server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        raise


@contextlib.contextmanager
def registry_process(mode: str, ca: TestCA, **kwargs: object) -> Iterator[RunningRegistry]:
    reg = start_registry(mode, ca, **kwargs)  # type: ignore[arg-type]
    try:
        yield reg
    finally:
        reg.stop()
