"""pytest plugin: real registry components and local fakes.

Load with ``pytest_plugins = ["tests.support.registry_fixtures"]`` or
``-p tests.support.registry_fixtures``.

Everything listens on 127.0.0.1 (free ports), serves HTTPS with a certificate from ONE session
test CA, and is stopped/removed by the fixture finalizers (processes, threads, temp dirs). A
missing binary calls ``tests.support.components.missing()``: skip locally, fail in CI
(``REQUIRE_REAL_COMPONENTS=1``). Trust the CA with ``verify=<obj>.ca_file`` (``requests``) or
``--cert-dir <registry>.cert_dir`` (skopeo). Use ``requests`` with ``allow_redirects=False`` where
it matters, and ``session.trust_env = False`` if your environment has proxy variables.

Request logs: every server has ``.requests``, a thread-safe ``RequestLog`` of ``RecordedRequest``
(``method``, ``path``, ``query`` {name: (values,)}, ``param(name)``, ``auth_scheme`` — "Basic",
"Bearer", "token"… or None —, ``has_auth``, ``headers`` (lower-case, WITHOUT Authorization/
Proxy-Authorization/Cookie), ``time``). Credentials are never recorded. ``RequestLog`` supports
``len()``, iteration, ``[i]``, ``snapshot()``, ``clear()``, ``matching(method=, path=)`` and
``mark()``/``since(mark)``. Session-scoped logs accumulate across tests: take ``mark()`` first.

Fixtures
========

``registry_harness_dir`` (session) — ``Path`` of the session temp dir holding the CA files, the
    registries' dirs and the skopeo homes; removed at session end.
``test_ca`` (session) — ``tests.support.pki.TestCA``
    ``cert_path``, ``key_path``, ``cert_pem``, ``cert``, ``key``, ``directory``, ``name``;
    ``issue_server_cert(hostnames=("localhost", "127.0.0.1")) -> (cert_path, key_path)``;
    ``write_cert_dir(path) -> path`` (writes ``ca.crt``); ``server_context()`` (``ssl.SSLContext``).
``untrusted_ca`` (session) — a second ``TestCA`` that nothing trusts (``pki.untrusted_ca()``), for
    "unknown CA" / wrong-CA-pasted tests.

``htpasswd_registry`` (session) — ``tests.support.registries.RunningRegistry``, mode ``"htpasswd"``
    Real ``/usr/bin/docker-registry`` 2.8.2, Basic auth,
    challenge ``Basic realm="test-basic-realm"``.
    Credentials: ``alice`` / ``s3cret-alice`` (= ``.username`` / ``.password``).
    ``.add_user(name, password)`` adds a user live (bcrypt via ``htpasswd -Bbn``); users persist
    for the session, so use unique names.
``open_registry`` (session) — ``RunningRegistry``, mode ``"open"``: no auth, ``/v2/`` → 200;
    ``.username`` / ``.password`` are None.
``token_registry`` (session) — ``RunningRegistry``, mode ``"token"``: Bearer auth via a
    ``TokenServer`` on ANOTHER port (``.token_server``). ``/v2/`` →
    ``401 Bearer realm="<token_server.url>/token",service="test-registry"``.
    Credentials: ``alice`` / ``s3cret-alice`` (pull+push on any repository).
    ``.add_user(name, password, actions=("pull",))`` adds a token-server user (e.g. pull-only).
    ``.token_server`` (``tests.support.token_server.TokenServer``): ``url``, ``host_port``,
    ``realm`` (``<url>/token``), ``service`` ("test-registry"), ``issuer`` ("test-token-issuer"),
    ``signing_cert_path`` (the registry's rootcertbundle), ``requests`` (every realm request:
    e.g. ``skopeo login`` → GET /token ``account=alice&service=test-registry``,
    auth_scheme "Basic"),
    ``tokens_issued``, ``add_user()``, ``remove_user()``,
    ``make_token(subject, access, audience=, issuer=, lifetime=)`` (forge expired/foreign tokens).
    Token server behaviour: bad/non-Basic credentials → 401 ``{"details":"incorrect username or
    password"}``; anonymous → 200 with a token granting nothing; known users → the requested
    ``repository`` actions they hold; POST → 404 (OAuth2 not implemented).

    ``RunningRegistry`` attributes (all three): ``url`` ("https://127.0.0.1:PORT"), ``host_port``
    ("127.0.0.1:PORT"), ``port``, ``ca`` (the session ``TestCA``), ``ca_pem``, ``ca_file``,
    ``cert_dir`` (dir containing ``ca.crt``), ``username``, ``password``, ``token_server`` (None
    unless token mode), ``mode``, ``pid``, ``running``, ``logs()`` (registry output, level warn).
    Repositories pushed by one test stay for the session: use unique repository names.

``skopeo`` (function) — ``tests.support.skopeo.Skopeo`` with a private HOME/XDG dirs/TMPDIR,
    ``--authfile`` (``.authfile``), ``--policy`` and blob-info cache in its own temp dir:
    ``login(registry_or_"host:port", username, password, *, authfile=None, cert_dir=None)``,
    ``logout(...)``, ``inspect(image_ref, *, creds=None|(u, p)|"u:p", authfile=None, cert_dir)``
    (``.digest`` set on success; without creds/authfile it uses ``.authfile``),
    ``copy_test_image(registry, repo, tag="v1", *, creds=None, content=None)`` (tiny OCI image
    built in Python and pushed with the registry's own credentials; ``.digest`` = manifest digest),
    ``list_tags(ref, *, creds=None, cert_dir)``, ``run(*args, stdin=None, timeout=None)``.
    Every call returns ``SkopeoResult(ok, output, returncode, args, digest)`` (``returncode`` None
    on timeout; default timeout 60 s) and never raises.

``fake_docker_hub`` (function) — ``tests.support.fake_providers.FakeDockerHub``
    ``.registry`` (HTTPSServer, "registry-1.docker.io") and ``.auth`` (HTTPSServer,
    "auth.docker.io", another port). Shortcuts: ``url``/``host_port`` (registry), ``auth_url``,
    ``realm`` (``<auth_url>/token``), ``ca_pem``, ``ca_file``, ``requests`` (registry log),
    ``auth_requests``.
    ``GET /v2/`` without a valid token → 401
    ``Bearer realm="<auth_url>/token",service="registry.docker.io"``
    (``,error="invalid_token"`` if a bad token was sent); with one → 200 ``{}``.
    ``GET <realm>?service=registry.docker.io[&scope=…][&account=…]``: Basic good → 200
    ``{"token","access_token","expires_in":300,"issued_at"}``; bad → 401
    ``{"details":"incorrect username or password"}``; anonymous → token (public repos only);
    ``account`` is recorded, not checked.
    ``HEAD|GET /v2/<repo>/manifests/<tag>`` needs a token with pull on <repo>: otherwise 401
    ``…,scope="repository:<repo>:pull"[,error="insufficient_scope"]`` (private and nonexistent
    look the same); unknown tag → 404 MANIFEST_UNKNOWN; 200 carries ``Docker-Content-Digest`` and
    ``ratelimit-limit``/``ratelimit-remaining`` headers.
    Credentials: ``hubuser`` / ``hub-s3cret`` or the PAT ``dckr_pat_FakeHubAccessToken0123456789``
    (``fake_providers.DOCKER_HUB_USER`` / ``DOCKER_HUB_PASSWORD`` / ``DOCKER_HUB_PAT``);
    ``add_user(name, *passwords)``.
    Repositories: ``library/alpine`` (public; tags latest, 3.19), ``hubuser/private-app``
    (private, owner hubuser; tags latest, v1); ``add_repository(name, public=, owner=, tags=)``.
    ``rate_limited = True``: EVERY request to both servers → 429, ``Retry-After: 120``,
    ``text/plain`` body "You have reached your pull rate limit. …".

``fake_ghcr`` (function) — ``tests.support.fake_providers.FakeGHCR``
    ``.registry`` ("ghcr.io"; realm on the same host) and ``.api`` ("api.github.com", another
    port). Shortcuts: ``url``, ``host_port``, ``realm`` (``<url>/token``), ``api_url``, ``ca_pem``,
    ``ca_file``, ``requests``, ``api_requests``.
    ``GET /v2/`` without a valid token → 401
    ``Bearer realm="<url>/token",service="ghcr.io",scope="repository:user/image:pull"`` (the
    placeholder scope). ``GET /token``: bad credentials → **403**
    ``{"errors":[{"code":"DENIED","message":"denied"}]}``; good → 200 ``{"token": …}`` (only that
    key); anonymous → token for public images. Manifests as for Docker Hub.
    Credentials (username ``octocat`` = ``GHCR_USER``, must match the token's owner, case-
    insensitive; the password is a token):
      ``ghp_fakeClassicReadPackages0123456789abc`` (``GHCR_CLASSIC_TOKEN``, classic, scopes
      "read:packages, repo") → accepted by /token;
      ``ghp_fakeClassicRepoOnly00000000000000000`` (``GHCR_NO_PACKAGES_TOKEN``, classic, "repo")
      → 403 DENIED at /token (our simulation: no packages scope);
      ``github_pat_11FAKEFINEGRAINED0000000_fakefinegrainedtokenforregistrytests0000``
      (``GHCR_FINE_GRAINED_TOKEN``) → 403 DENIED at /token (simulation: fine-grained unsupported);
      ``add_token(token, owner, scopes_or_None)``.
    Repositories: ``octocat/public-app`` (public; latest),
    ``octocat/private-app`` (private; latest, v1).
    GitHub API ``GET <api_url>/user`` with ``Authorization: token X`` or ``Bearer X``:
      classic read:packages token → 200 ``{"login":"octocat",…}``,
      ``X-OAuth-Scopes: read:packages, repo``;
      repo-only token → 200, ``X-OAuth-Scopes: repo``; both with
      ``GitHub-Authentication-Token-Expiration: 2030-01-01 00:00:00 UTC``;
      fine-grained → 200, same expiration header, NO ``X-OAuth-Scopes``;
      unknown → 401 ``{"message":"Bad credentials",…}``; no header → 401 "Requires authentication".

``misc_servers`` (function) — ``tests.support.fake_providers.MiscServers`` with HTTPSServers:
    ``html_server`` (200 ``text/html`` on every path, /v2/ included),
    ``not_found_server`` (404 ``text/plain`` "404 page not found" everywhere),
    ``redirect_server`` (302 on every path to ``redirect_location``, default
    ``https://localhost:<redirect_target.port>/v2/`` — another loopback URL across a host-name
    boundary; set ``misc_servers.location`` to override; ``redirect_server.count`` /
    ``misc_servers.redirect_count`` = requests received),
    ``redirect_target`` (200 ``{}`` + ``Docker-Distribution-API-Version``: a client that followed
    the redirect would wrongly see a registry; its ``requests`` show whether Authorization leaked),
    ``trickle_server`` (reads the request, then sends a valid ``HTTP/1.1 200`` response with body
    ``{}`` ONE BYTE PER SECOND — ~90 s in total — ``misc_servers.trickle_delay`` to change; the
    server stops trickling at teardown).

Every ``HTTPSServer`` has ``url``, ``host_port``, ``port``, ``ca_pem``, ``ca_file``, ``requests``,
``count``, ``running``. Fake tokens are opaque strings, valid 300 s.

AWS (ECR) fixtures — plugin ``tests.support.aws_fixtures``; facts in ``tests/support/aws.py``
=============================================================================================

boto3 is pointed at an emulator through its standard environment only, so code under test should
build clients with NO ``endpoint_url`` and an explicit ``region_name``; every AWS request of a test
goes to 127.0.0.1.

``aws_env`` (function) — ``tests.support.aws.AwsEnv``, boto3 isolated and pointed at moto:
    every ``AWS_*`` and proxy variable of the machine removed; ``AWS_CONFIG_FILE`` /
    ``AWS_SHARED_CREDENTIALS_FILE`` = empty temp files (``.config_file``, ``.credentials_file``);
    ``AWS_EC2_METADATA_DISABLED=true``; the platform's dummy identity in ``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY`` and its ARN in ``AWS_PLATFORM_ROLE_ARN`` (``.platform``, an
    ``AccessKey`` = ``aws.PLATFORM_KEY``: ``access_key_id``, ``secret_access_key``, ``arn``
    ``arn:aws:iam::111122223333:role/registry-connect-platform``, ``account``,
    ``client_kwargs()``); ``AWS_ENDPOINT_URL`` = moto (``.endpoint_url``); NO region variable
    (``.region`` "eu-west-1" is only the default of ``.client()``); boto3's cached default session
    dropped. Methods: ``point_at(url, service=None)`` (``AWS_ENDPOINT_URL`` or
    ``AWS_ENDPOINT_URL_<SERVICE>``), ``trust_ca(path)`` (``AWS_CA_BUNDLE``),
    ``drop_platform_credentials()``, ``client(service, key=None, region=None, config=FAST)`` (``key``
    an ``AccessKey``, else the default chain = the platform; ``FAST`` = one attempt, short
    timeouts; ``config=None`` = botocore's retries).
``moto_server`` (session) — ``tests.support.aws.MotoServer`` (``python -m moto.server -H 127.0.0.1``
    on a free port): ``url`` (``http://127.0.0.1:PORT``), ``port``, ``pid``, ``running``,
    ``logs()``, ``reset()`` (``aws_env`` calls it first), ``enforce_iam()`` (context manager:
    moto's partial IAM checks). Missing ``moto[server]`` → ``components.missing()``. moto mints
    ``AWS`` / ``<registryId>-auth-token``, ``expiresAt`` 2015-01-01, and checks no key, signature,
    trust policy or ExternalId.
``fake_aws`` (function) — ``tests.support.fake_aws.FakeAWS`` (an ``HTTPSServer``; STS + ECR at one
    URL), with the environment of ``aws_env`` but ``AWS_ENDPOINT_URL`` = the fake and
    ``AWS_CA_BUNDLE`` = the session CA (``.env`` is that ``AwsEnv``). Requested together with
    ``aws_env``, both share one ``AwsEnv`` and the fake holds ``AWS_ENDPOINT_URL``: route a
    service back with ``env.point_at(moto_server.url, service="sts")``.
    Identities: ``.platform`` (``PLATFORM_KEY``; may assume roles, has NO ECR permission),
    ``.customer_key`` (an ``AccessKey`` of ``arn:aws:iam::444455556666:user/ecr-pull``, with ECR
    permission: the access-key-pair mode), ``.customer_role`` (``Role``: ``arn``
    ``arn:aws:iam::444455556666:role/registry-connect-pull``, ``external_id``
    ``fake_aws.EXTERNAL_ID``, ``trusted`` (the platform), ``max_session_duration`` 3600, with
    ECR permission; mutable). ``add_access_key(key=None, *, account=, user=, ecr_allowed=True)``,
    ``remove_access_key(key)``, ``add_role(arn, *, external_id=EXTERNAL_ID, trusted=None,
    ecr_allowed=True, max_session_duration=3600)`` (put the feature's generated external ID
    here), ``allow_ecr(arn, allowed=True)``, ``expire_temporary_credentials()``.
    What it checks by itself, as AWS does: signing region among botocore's regions (else STS
    ``SignatureDoesNotMatch`` / ECR ``InvalidSignatureException`` "Credential should be scoped to
    a valid region, not '…'"), unknown or deleted key → ``InvalidClientTokenId`` /
    ``UnrecognizedClientException`` (also a temporary key without its session token), expired
    temporary credentials → ``ExpiredToken`` / ``ExpiredTokenException``, the SigV4 signature →
    ``SignatureDoesNotMatch`` / ``InvalidSignatureException``; ``AssumeRole``: unknown role,
    untrusted caller, wrong or missing ExternalId → ``AccessDenied`` (403), ``DurationSeconds`` over
    the role's maximum → ``ValidationError``; ``GetAuthorizationToken``: no ECR permission →
    ``AccessDeniedException``, a registry ID that is not 12 digits → ``InvalidParameterException``.
    Scripting: ``refuse(action, code, *, times=None, message=None)`` (``action`` "AssumeRole",
    "GetCallerIdentity" or "GetAuthorizationToken"; ``code`` any key of ``fake_aws.STS_ERRORS`` /
    ``ECR_ERRORS``, which hold each code's HTTP status and AWS's message; refusals queue up in
    order, ``times=None`` = until ``clear_refusals()``; a one-off ``ThrottlingException`` /
    ``ServerException`` is retried away by botocore's default config); ``delay(action, seconds)``;
    ``script_ecr(password=None, expires_at=None, expires_in=None)`` (a fixed password instead of
    a fresh realistic ~1.8 KB one per call; ``expiresAt`` absolute (aware datetime) or
    ``expires_in`` from each call, e.g. ``timedelta(minutes=5)`` to test renewal; default 12 h;
    no argument = defaults again); ``regions`` (frozenset) may be narrowed.
    Records: ``.calls`` (``CallLog`` of ``AwsCall``: ``service``, ``action``, ``region``,
    ``access_key_id``, ``sent_session_token``, ``params``, ``status``, ``error_code``, ``ok``,
    ``role_arn``, ``role_session_name``, ``external_id``, ``duration_seconds``, ``registry_ids``;
    ``matching(action=, service=, ok=)``, ``mark()``/``since()``) — never a secret key, session
    token, signature or Authorization header; ``.requests`` (the usual ``RequestLog``, without
    ``Authorization`` / ``X-Amz-Security-Token``); ``.sessions_issued`` (``IssuedSession``:
    ``access_key_id``, ``role_arn``, ``session_name``, ``arn``, ``expires_at``);
    ``.tokens_issued`` / ``.last_token`` (``IssuedToken``: ``username`` "AWS", ``password``,
    ``authorization_token``, ``expires_at``, ``registry_ids``, ``region``, ``proxy_endpoints``,
    ``access_key_id``).
``aws_unreachable_url`` (function) — ``http://127.0.0.1:PORT`` that refuses connections (boto3:
    ``EndpointConnectionError``, what a region without an endpoint gives), e.g.
    ``env.point_at(aws_unreachable_url, service="ecr")``.

Registry end: ``aws.decode_authorization_token(token) -> ("AWS", password)``;
``aws.enroll_ecr_password(htpasswd_registry, password)`` makes the session's htpasswd registry
accept ``AWS`` / password (replacing the previous ECR password). It enrolls the first 72 bytes
(bcrypt), so compare a handed-out password with ``fake_aws.last_token.password`` in full too.
``aws.loopback_only()`` (context manager) records every connect and lookup and refuses any that
is not loopback: assert ``attempts.outside_loopback == []``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.components import missing
from tests.support.fake_providers import FakeDockerHub, FakeGHCR, MiscServers
from tests.support.pki import TestCA
from tests.support.pki import untrusted_ca as _make_untrusted_ca
from tests.support.registries import (
    REGISTRY_BINARY,
    RunningRegistry,
    live_children,
    start_registry,
    stop_process,
    tracked_processes,
)
from tests.support.skopeo import Skopeo

__all__ = [
    "fake_docker_hub",
    "fake_ghcr",
    "htpasswd_registry",
    "misc_servers",
    "open_registry",
    "registry_harness_dir",
    "skopeo",
    "test_ca",
    "token_registry",
    "untrusted_ca",
]


def _need_registry() -> None:
    if not (os.path.isfile(REGISTRY_BINARY) and os.access(REGISTRY_BINARY, os.X_OK)):
        missing("docker-registry", f"{REGISTRY_BINARY} not found (apt-get install docker-registry)")


def _need_htpasswd() -> None:
    if shutil.which("htpasswd") is None:
        missing("htpasswd", "htpasswd not found (apt-get install apache2-utils)")


def _need_skopeo() -> None:
    if shutil.which("skopeo") is None:
        missing("skopeo", "skopeo not found (apt-get install skopeo)")


@pytest.fixture(scope="session")
def registry_harness_dir() -> Iterator[Path]:
    """Session temp dir for the harness (CA files, registries, skopeo homes); removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="registry-harness-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def test_ca(registry_harness_dir: Path) -> TestCA:
    return TestCA.create(registry_harness_dir, "registry-tests-ca")


@pytest.fixture(scope="session")
def untrusted_ca(registry_harness_dir: Path) -> TestCA:
    return _make_untrusted_ca(registry_harness_dir, "untrusted-ca")


def _registry(mode: str, ca: TestCA, workdir: Path) -> Iterator[RunningRegistry]:
    reg = start_registry(mode, ca, workdir=workdir)
    try:
        yield reg
    finally:
        pid = reg.pid
        reg.stop()
        if reg.running or any(child == pid for child, _ in live_children()):
            raise RuntimeError(f"docker-registry ({mode}, pid {pid}) is still running after stop()")
        if reg.token_server is not None and reg.token_server.running:
            raise RuntimeError("token server still running after stop()")


@pytest.fixture(scope="session")
def htpasswd_registry(test_ca: TestCA, registry_harness_dir: Path) -> Iterator[RunningRegistry]:
    _need_registry()
    _need_htpasswd()
    yield from _registry("htpasswd", test_ca, registry_harness_dir)


@pytest.fixture(scope="session")
def open_registry(test_ca: TestCA, registry_harness_dir: Path) -> Iterator[RunningRegistry]:
    _need_registry()
    yield from _registry("open", test_ca, registry_harness_dir)


@pytest.fixture(scope="session")
def token_registry(test_ca: TestCA, registry_harness_dir: Path) -> Iterator[RunningRegistry]:
    _need_registry()
    yield from _registry("token", test_ca, registry_harness_dir)


@pytest.fixture
def skopeo(registry_harness_dir: Path) -> Iterator[Skopeo]:
    _need_skopeo()
    tool = Skopeo(workdir=registry_harness_dir)
    try:
        yield tool
    finally:
        tool.close()
        leftovers = [c for c in live_children() if c[1] == "skopeo"]
        if leftovers:
            raise RuntimeError(f"skopeo processes left behind: {leftovers}")


@pytest.fixture
def fake_docker_hub(test_ca: TestCA) -> Iterator[FakeDockerHub]:
    with FakeDockerHub(test_ca) as hub:
        yield hub
    if hub.registry.running or hub.auth.running:
        raise RuntimeError("fake Docker Hub still running after stop()")


@pytest.fixture
def fake_ghcr(test_ca: TestCA) -> Iterator[FakeGHCR]:
    with FakeGHCR(test_ca) as ghcr:
        yield ghcr
    if ghcr.registry.running or ghcr.api.running:
        raise RuntimeError("fake GHCR still running after stop()")


@pytest.fixture
def misc_servers(test_ca: TestCA) -> Iterator[MiscServers]:
    with MiscServers(test_ca) as servers:
        yield servers
    if any(s.running for s in servers.servers):
        raise RuntimeError("misc servers still running after stop()")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Last line of defence: nothing the harness started may outlive the session."""
    leftovers = tracked_processes()
    for proc in leftovers:
        stop_process(proc)
    if leftovers:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (
            f"registry harness: killed {len(leftovers)} leftover process(es): "
            f"{[p.args for p in leftovers]}"
        )
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
