r"""AWS for the tests: boto3 cut off from the machine, moto's server, and the end of the ECR chain.

Everything here keeps AWS traffic on 127.0.0.1. The fixtures are in ``tests.support.aws_fixtures``
(documented in ``tests.support.registry_fixtures``); the scriptable fake that refuses and expires
is ``tests.support.fake_aws.FakeAWS``.

How boto3 finds its endpoint, credentials and region (boto3/botocore 1.44.8, observed here)
------------------------------------------------------------------------------------------------
* Endpoint, per client, read when the client is created (so a ``monkeypatch.setenv`` before the
  client exists is enough, even for an existing ``Session``): ``endpoint_url=`` argument >
  ``AWS_ENDPOINT_URL_STS`` / ``AWS_ENDPOINT_URL_ECR`` > ``AWS_ENDPOINT_URL`` > the config file's
  ``services`` section > the real AWS host. ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` skips all
  but the argument and sends the client to the real AWS host: the isolation removes it.
  **The feature should pass no ``endpoint_url`` at all** and let these standard variables point
  the SDK at moto or the fake (design.md: "boto3's own AWS_ENDPOINT_URL"); production sets none.
* Credentials: explicit ``aws_access_key_id`` + ``aws_secret_access_key`` on the client or
  session win, and an ``AWS_SESSION_TOKEN`` in the environment is NOT mixed into them. Only one of
  the two → ``PartialCredentialsError``. Both ``None`` → boto3 silently falls back to the default
  chain, i.e. **the platform's own identity**: a customer registry whose stored key pair comes out
  as None would run as the platform. Check before building the client.
* The default chain (env vars, shared files, config file, container endpoint, instance metadata)
  probes ``169.254.169.254`` twice when nothing else yields credentials, unless
  ``AWS_EC2_METADATA_DISABLED=true``; the region is never looked up there.
* ``boto3.client()`` uses one module-wide default session that caches the credentials it
  resolved first: later environment changes are not seen. Build a ``boto3.session.Session()``
  per use (Sessions are not thread-safe; clients are). The isolation resets the default session.
* Region: ECR without one → ``NoRegionError``; STS without one is created with region None. The
  isolation sets no ``AWS_DEFAULT_REGION``/``AWS_REGION`` on purpose: the feature must take the
  region from the registry host and pass ``region_name``.
* Environment proxies (``HTTP(S)_PROXY``) ARE used by botocore unless ``NO_PROXY`` matches or the
  client has ``Config(proxies={})``. The isolation removes them.
* Retries (default mode "standard", 3 attempts): an unreachable endpoint raises
  ``EndpointConnectionError`` after 3 connection attempts (~0.3 s on loopback); throttling
  and 5xx answers are retried too. Default connect/read timeouts
  are 60 s each, per attempt: the feature must set ``Config(connect_timeout=, read_timeout=,
  retries=...)`` inside the check's deadline.
* Client-side validation (botocore raises ``ParamValidationError``, nothing is sent) covers
  lengths and ranges only: ``RoleSessionName`` 2–64 characters, ``DurationSeconds`` 900–43200,
  ``ExternalId`` 2–1224, 1–10 ``registryIds``. The patterns (``RoleSessionName``
  ``[\w+=,.@-]*``, ``ExternalId`` ``[\w+=,.@:/-]*``, ASCII) are AWS's to check:
  ``ValidationError`` — a session name built from an org name with a space fails only there.
* Timestamps come back as aware datetimes in ``tzlocal()``: compare them, don't format them.

moto's server (moto 5.2.5, ``python -m moto.server``), observed
---------------------------------------------------------------
* Runs offline: a test runs it and both calls in a network namespace with only ``lo``
  (``test_moto_server_runs_with_no_network_but_loopback``). ~0.8 s to answer.
* ``GetAuthorizationToken``: ``authorizationToken`` = base64 ``AWS:<registryId>-auth-token``
  (deterministic, so the password is ``<registryId>-auth-token``); without ``registryIds`` the
  caller's account. ``expiresAt`` is always 2015-01-01T00:00:00Z (in the past: a feature that
  honours it would renew forever). ``proxyEndpoint`` = ``https://<id>.dkr.ecr.<region>.amazonaws.com``.
* Caller's account: ``123456789012`` for any long-term key it did not issue; the role's account for
  credentials from its own ``AssumeRole``.
* ``AssumeRole``: returns ``ASIA…`` credentials with ``Expiration`` = now + ``DurationSeconds`` and
  ``arn:aws:sts::<role account>:assumed-role/<role>/<session>``. By default nothing is checked:
  any key, any secret, a role that does not exist, any or no ``ExternalId``.
* Opt-in IAM checks (``INITIAL_NO_AUTH_ACTION_COUNT``, or ``POST /moto-api/reset-auth`` with the
  count as body — ``MotoServer.enforce_iam()``): unknown key → ``InvalidClientTokenId``, wrong
  secret → ``SignatureDoesNotMatch``, a trust policy whose ``sts:ExternalId`` differs →
  ``AccessDenied``. But a MISSING ``ExternalId`` passes, roles that do not exist (or sit in another
  account) are still assumable, and ECR refusals come back as XML with ``Error.Code`` ``"403"``
  instead of ``AccessDeniedException`` / ``UnrecognizedClientException`` /
  ``InvalidSignatureException``. So refusals, expiry and realistic tokens come from ``FakeAWS``.

The registry end of the chain
-----------------------------
``docker-registry`` 2.8.2 checks htpasswd bcrypt hashes on the first 72 bytes of a password only,
and ``htpasswd`` refuses passwords over 256 characters, while real ECR passwords are ~1.7 KB.
``enroll_ecr_password`` therefore enrolls the first 72 bytes: the registry then accepts the full
password (and anything sharing those 72 bytes), so a test must also compare the password it was
handed with the minted one in full.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import botocore.loaders
import botocore.session
import pytest
import requests
from botocore.config import Config

from tests.support.registries import (
    HarnessProcess,
    RegistryStartError,
    RunningRegistry,
    free_port,
    pdeathsig_prefix,
    stop_process,
    track_process,
    wait_until_answering,
)

__all__ = [
    "AccessKey",
    "AwsEnv",
    "MOTO_DEFAULT_ACCOUNT",
    "MotoServer",
    "NetworkAttempts",
    "PLATFORM_KEY",
    "ReservedPort",
    "decode_authorization_token",
    "enroll_ecr_password",
    "isolate_boto3",
    "loopback_only",
    "moto_available",
    "new_session",
    "start_moto_server",
]

DEFAULT_REGION = "eu-west-1"
PLATFORM_ACCOUNT = "111122223333"
CUSTOMER_ACCOUNT = "444455556666"
MOTO_DEFAULT_ACCOUNT = "123456789012"
ECR_USERNAME = "AWS"
BCRYPT_MAX_BYTES = 72
# One attempt, short timeouts: harness tests want the first answer, fast.
FAST = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2,
              read_timeout=5)
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass(frozen=True)
class AccessKey:
    """An IAM key pair and the principal it belongs to."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    arn: str
    session_token: str | None = field(default=None, repr=False)

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def client_kwargs(self) -> dict[str, str | None]:
        """``boto3.client(..., **key.client_kwargs())``"""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


# The platform's own identity: what AWS_PLATFORM_ROLE_ARN names and customers' trust policies
# trust. Its key pair is what the platform's credential chain finds (env vars, in tests).
PLATFORM_KEY = AccessKey(
    access_key_id="AKIAPLATFORMTESTKEY1",
    secret_access_key="platform/test/secret/key/0000000000000000",  # noqa: S106 - dummy
    arn=f"arn:aws:iam::{PLATFORM_ACCOUNT}:role/registry-connect-platform",
)


# --- loopback only ----------------------------------------------------------------------------


def _is_loopback(host: object) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@dataclass
class NetworkAttempts:
    """Every address a guarded block tried to reach: ``connects`` (host, port) and ``lookups``."""

    connects: list[tuple[object, ...]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    @property
    def outside_loopback(self) -> list[object]:
        return [a for a in self.connects if not _is_loopback(a[0])] + [
            h for h in self.lookups if not _is_loopback(h)
        ]


@contextlib.contextmanager
def loopback_only() -> Iterator[NetworkAttempts]:
    """Record every connect() and name lookup in the block; refuse any that is not loopback.

    Refusing alone proves nothing against code that swallows errors (botocore's metadata probe
    does): the test asserts ``attempts.outside_loopback == []``.
    """
    attempts = NetworkAttempts()
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: object) -> None:
        if isinstance(address, tuple):
            attempts.connects.append(address)
            if not _is_loopback(address[0]):
                raise ConnectionRefusedError(f"loopback_only: refused connect to {address!r}")

    def connect(sock: socket.socket, address: object) -> None:
        check(address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: object) -> int:
        check(address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if host is not None:
            attempts.lookups.append(str(host))
            if not _is_loopback(host):
                raise socket.gaierror(f"loopback_only: refused lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        yield attempts


class ReservedPort:
    """A loopback port held bound but not listening: connections to it are refused at once and
    nothing else can take it. ``url`` is what an unreachable AWS endpoint looks like."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._sock.close()


# --- the isolated environment -----------------------------------------------------------------


@dataclass
class AwsEnv:
    """The process environment boto3 sees in a test. See ``isolate_boto3``."""

    endpoint_url: str
    platform: AccessKey
    config_file: Path
    credentials_file: Path
    region: str = DEFAULT_REGION
    ca_bundle: str | None = None
    _patch: pytest.MonkeyPatch = field(repr=False, default=None)  # type: ignore[assignment]
    _session: boto3.session.Session | None = field(repr=False, default=None)

    def point_at(self, url: str, service: str | None = None) -> None:
        """``AWS_ENDPOINT_URL`` (every service) or ``AWS_ENDPOINT_URL_<SERVICE>`` := url."""
        if service is None:
            self.endpoint_url = url
            self._patch.setenv("AWS_ENDPOINT_URL", url)
        else:
            self._patch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", url)

    def trust_ca(self, ca_file: str) -> None:
        """``AWS_CA_BUNDLE`` := ca_file (an https emulator with the session test CA)."""
        self.ca_bundle = ca_file
        self._patch.setenv("AWS_CA_BUNDLE", ca_file)

    def drop_platform_credentials(self) -> None:
        """As on a machine with no AWS identity at all: the chain finds nothing."""
        self._patch.delenv("AWS_ACCESS_KEY_ID", raising=False)
        self._patch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)

    def client(self, service: str, key: AccessKey | None = None, region: str | None = None,
               config: Config | None = FAST):  # type: ignore[no-untyped-def]
        """A client with ``key``'s credentials, or with the default chain's (the platform's,
        from a fresh Session as the feature would build). ``config=None``: botocore's defaults."""
        region = region or self.region
        if key is None:
            return new_session().client(service, region_name=region, config=config)
        if self._session is None:
            self._session = new_session()
        return self._session.client(service, region_name=region, config=config,
                                    **key.client_kwargs())


_LOADER: botocore.loaders.Loader | None = None


def new_session() -> boto3.session.Session:
    """A fresh ``boto3.session.Session`` (credentials resolved anew) that shares one botocore
    data loader with the others: parsing botocore's JSON models again costs ~0.1 s a Session."""
    global _LOADER
    core = botocore.session.Session()
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _LOADER)
    session = boto3.session.Session(botocore_session=core)
    paths = _LOADER.search_paths  # boto3 appends its data directory once per Session
    paths[:] = list(dict.fromkeys(paths))
    return session


def isolate_boto3(
    patch: pytest.MonkeyPatch,
    directory: Path,
    endpoint_url: str,
    platform: AccessKey = PLATFORM_KEY,
) -> AwsEnv:
    """Cut boto3 off from the machine: every ``AWS_*`` variable and proxy variable removed, empty
    config and credentials files, the metadata service disabled, the platform's dummy key pair in
    ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PLATFORM_ROLE_ARN`` its ARN,
    ``AWS_ENDPOINT_URL`` := endpoint_url, boto3's cached default session dropped."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in _PROXY_VARIABLES:
            patch.delenv(name)
    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / "aws-config"
    credentials_file = directory / "aws-credentials"
    config_file.write_text("")
    credentials_file.write_text("")
    for name, value in {
        "AWS_CONFIG_FILE": str(config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": platform.access_key_id,
        "AWS_SECRET_ACCESS_KEY": platform.secret_access_key,
        "AWS_PLATFORM_ROLE_ARN": platform.arn,
        "AWS_ENDPOINT_URL": endpoint_url,
    }.items():
        patch.setenv(name, value)
    patch.setattr(boto3, "DEFAULT_SESSION", None)
    return AwsEnv(endpoint_url, platform, config_file, credentials_file, _patch=patch)


# --- moto's server ----------------------------------------------------------------------------


def moto_available() -> str | None:
    """None when moto's server can run, else why not."""
    for module in ("moto.server", "flask_cors"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install 'moto[server]')"
    return None


@dataclass
class MotoServer(HarnessProcess):
    """``python -m moto.server`` on 127.0.0.1. ``url``, ``port``, ``pid``, ``running``, ``logs()``."""

    url: str
    port: int
    process: subprocess.Popen = field(repr=False)
    log_path: Path = field(repr=False)
    directory: Path = field(repr=False)

    def _post(self, path: str, body: str = "") -> dict:
        with requests.Session() as http:
            http.trust_env = False
            response = http.post(f"{self.url}{path}", data=body, timeout=5)
            response.raise_for_status()
            return response.json()

    def reset(self) -> None:
        """Forget every resource (IAM users, roles, …) and switch IAM checks off again."""
        self._post("/moto-api/reset-auth", "inf")
        self._post("/moto-api/reset")

    @contextlib.contextmanager
    def enforce_iam(self) -> Iterator[None]:
        """moto's opt-in IAM checks for the block (see the module docstring for their gaps)."""
        self._post("/moto-api/reset-auth", "0")
        try:
            yield
        finally:
            self.reset()

    def stop(self) -> None:
        try:
            stop_process(self.process)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def start_moto_server(workdir: Path | None = None, timeout: float = 20.0) -> MotoServer:
    """Start moto's server on a free 127.0.0.1 port and wait until it answers."""
    directory = Path(tempfile.mkdtemp(prefix="moto-", dir=workdir))
    # No AWS_*, no proxies from the machine: the emulator itself needs nothing but a HOME.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(directory),
           "LANG": "C.UTF-8"}
    log_path = directory / "moto.log"
    try:
        for _attempt in range(3):  # the free port can be taken between probe and bind
            port = free_port()
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [*pdeathsig_prefix(), sys.executable, "-m", "moto.server",
                     "-H", "127.0.0.1", "-p", str(port)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=env, cwd=directory, close_fds=True,
                )
            track_process(proc)
            url = f"http://127.0.0.1:{port}"
            try:
                wait_until_answering(proc, f"{url}/moto-api/data.json", log_path, timeout,
                                     what="moto server")
            except RegistryStartError:
                stop_process(proc)
                if "Address already in use" in log_path.read_text(errors="replace"):
                    continue
                raise
            return MotoServer(url, port, proc, log_path, directory)
        raise RegistryStartError("moto server: could not bind a free port")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


# --- the registry end -------------------------------------------------------------------------


def decode_authorization_token(token: str) -> tuple[str, str]:
    """ECR's ``authorizationToken`` (base64 ``AWS:<password>``) → (username, password)."""
    username, sep, password = base64.b64decode(token, validate=True).decode().partition(":")
    if not sep:
        raise ValueError("not an ECR authorization token")
    return username, password


def enroll_ecr_password(registry: RunningRegistry, password: str) -> None:
    """Make a running htpasswd test registry accept ``AWS`` / ``password`` (replacing an earlier
    ECR password). bcrypt reads 72 bytes, so only those are enrolled: see the module docstring."""
    if not password.isascii():
        raise ValueError("ECR passwords are base64; a non-ASCII one cannot be cut at 72 bytes")
    registry.add_user(ECR_USERNAME, password[:BCRYPT_MAX_BYTES])
