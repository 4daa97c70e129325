"""Local HTTPS stand-ins (test-CA cert, 127.0.0.1 only) for services the tests cannot reach.

They speak the real wire protocols as documented in ``/work/shared/docs/registry-protocol.md``
§1–§3. Every server is an ``HTTPSServer`` with ``.url`` (``https://127.0.0.1:PORT``),
``.host_port``, ``.ca_pem``, ``.ca_file`` and ``.requests`` (a ``RequestLog`` of
``RecordedRequest``:
method, path, query, auth scheme, headers without Authorization/Cookie — never a credential).

* ``FakeDockerHub`` – ``.registry`` (registry-1.docker.io) + ``.auth`` (auth.docker.io).
* ``FakeGHCR``      – ``.registry`` (ghcr.io, realm on the same host) + ``.api`` (api.github.com).
* ``MiscServers``   – ``.html_server``, ``.not_found_server``, ``.redirect_server`` (+ its
  ``.redirect_target``), ``.trickle_server``.

Tokens issued by the fakes are opaque random strings (not JWTs), checked by the fake registry.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.support.pki import TestCA
from tests.support.token_server import (
    HTTPSServer,
    Request,
    Response,
    json_response,
    parse_basic,
    parse_scopes,
)

__all__ = [
    "FakeDockerHub",
    "FakeGHCR",
    "MiscServers",
    "DOCKER_HUB_USER",
    "DOCKER_HUB_PASSWORD",
    "DOCKER_HUB_PAT",
    "GHCR_USER",
    "GHCR_CLASSIC_TOKEN",
    "GHCR_NO_PACKAGES_TOKEN",
    "GHCR_FINE_GRAINED_TOKEN",
]

DOCKER_HUB_USER = "hubuser"
DOCKER_HUB_PASSWORD = "hub-s3cret"
DOCKER_HUB_PAT = "dckr_pat_FakeHubAccessToken0123456789"

GHCR_USER = "octocat"
GHCR_CLASSIC_TOKEN = "ghp_fakeClassicReadPackages0123456789abc"  # classic PAT: read:packages, repo
GHCR_NO_PACKAGES_TOKEN = "ghp_fakeClassicRepoOnly00000000000000000"  # classic PAT: repo only
GHCR_FINE_GRAINED_TOKEN = (
    "github_pat_11FAKEFINEGRAINED0000000_fakefinegrainedtokenforregistrytests0000"
)
GITHUB_TOKEN_EXPIRATION = "2030-01-01 00:00:00 UTC"

RATE_LIMIT_BODY = (
    "You have reached your pull rate limit. You may increase the limit by authenticating and "
    "upgrading: https://www.docker.com/increase-rate-limits"
)
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")


def _errors(code: str, message: str, detail: object = None) -> dict:
    return {"errors": [{"code": code, "message": message, "detail": detail}]}


def _manifest_for(name: str, tag: str) -> bytes:
    seed = hashlib.sha256(f"{name}:{tag}".encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 2,
                "digest": f"sha256:{seed}",
            },
            "layers": [],
        }
    ).encode()


def _split_manifest_path(path: str) -> tuple[str, str] | None:
    """``/v2/<name>/manifests/<reference>`` → (name, reference)."""
    if not path.startswith("/v2/") or "/manifests/" not in path:
        return None
    name, _, reference = path[len("/v2/") :].rpartition("/manifests/")
    return (name, reference) if name and reference and "/" not in reference else None


@dataclass
class FakeRepository:
    public: bool
    owner: str | None = None
    tags: tuple[str, ...] = ("latest",)


@dataclass
class _Grant:
    user: str | None
    access: dict[str, set[str]]
    expires: float


@dataclass
class _BearerRegistry:
    """Opaque bearer tokens + repositories, shared by a fake registry and its token endpoint."""

    repositories: dict[str, FakeRepository]
    users: dict[str, set[str]]  # username -> accepted passwords/tokens
    lifetime: int = 300
    _tokens: dict[str, _Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check_password(self, user: str, password: str) -> bool:
        with self._lock:
            accepted = self.users.get(user, set())
            return any(secrets.compare_digest(p.encode(), password.encode()) for p in accepted)

    def issue(self, user: str | None, scopes: list[str]) -> str:
        access: dict[str, set[str]] = {}
        for rtype, name, actions in parse_scopes(scopes):
            if rtype != "repository":
                continue
            repo = self.repositories.get(name)
            if repo is None:
                continue
            granted: set[str] = set()
            if "pull" in actions and (repo.public or (user is not None and repo.owner == user)):
                granted.add("pull")
            if "push" in actions and user is not None and repo.owner == user:
                granted.add("push")
            if granted:
                access.setdefault(name, set()).update(granted)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = _Grant(user, access, time.time() + self.lifetime)
        return token

    def lookup(self, authorization: str | None) -> tuple[_Grant | None, bool]:
        """→ (grant, a bearer token was presented)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None, False
        token = authorization[7:].strip()
        with self._lock:
            grant = self._tokens.get(token)
        if grant is None or grant.expires < time.time():
            return None, True
        return grant, True

    def token_count(self) -> int:
        with self._lock:
            return len(self._tokens)


def _challenge(realm: str, service: str, scope: str | None = None, error: str | None = None) -> str:
    value = f'Bearer realm="{realm}",service="{service}"'
    if scope:
        value += f',scope="{scope}"'
    if error:
        value += f',error="{error}"'
    return value


def _registry_response(
    req: Request, state: _BearerRegistry, realm: str, service: str, base_scope: str | None
) -> Response:
    """Shared /v2/ + manifest logic of the fake Docker Hub and GHCR registries."""
    grant, presented = state.lookup(req.authorization)
    unauthorized = lambda scope, error: json_response(  # noqa: E731
        401,
        _errors("UNAUTHORIZED", "authentication required"),
        [("WWW-Authenticate", _challenge(realm, service, scope, error)), API_VERSION],
    )
    if req.path in ("/v2/", "/v2"):
        if grant is None:
            return unauthorized(base_scope, "invalid_token" if presented else None)
        return json_response(200, {}, [API_VERSION])
    target = _split_manifest_path(req.path)
    if target is None or req.method not in ("GET", "HEAD"):
        return json_response(404, _errors("NOT_FOUND", "not found"), [API_VERSION])
    name, reference = target
    scope = f"repository:{name}:pull"
    if grant is None:
        return unauthorized(scope, "invalid_token" if presented else None)
    if "pull" not in grant.access.get(name, set()):
        # private and nonexistent look the same (Docker Hub behaviour)
        return unauthorized(scope, "insufficient_scope")
    repo = state.repositories[name]
    if reference not in repo.tags:
        return json_response(
            404, _errors("MANIFEST_UNKNOWN", "manifest unknown", {"Tag": reference}), [API_VERSION]
        )
    body = _manifest_for(name, reference)
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    return Response(
        200,
        [
            ("Content-Type", DOCKER_MANIFEST),
            ("Docker-Content-Digest", digest),
            ("Etag", f'"{digest}"'),
            API_VERSION,
        ],
        body,
    )


def _token_json(token: str, full: bool) -> dict:
    if not full:
        return {"token": token}
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"token": token, "access_token": token, "expires_in": 300, "issued_at": issued}


# ---------------------------------------------------------------------------------------------
# Docker Hub
# ---------------------------------------------------------------------------------------------


class FakeDockerHub:
    """registry-1.docker.io + auth.docker.io. See registry_fixtures' docstring for the details."""

    SERVICE = "registry.docker.io"

    def __init__(self, ca: TestCA) -> None:
        self.ca = ca
        self.state = _BearerRegistry(
            repositories={
                "library/alpine": FakeRepository(public=True, tags=("latest", "3.19")),
                f"{DOCKER_HUB_USER}/private-app": FakeRepository(
                    public=False, owner=DOCKER_HUB_USER, tags=("latest", "v1")
                ),
            },
            users={DOCKER_HUB_USER: {DOCKER_HUB_PASSWORD, DOCKER_HUB_PAT}},
        )
        self._rate_limited = threading.Event()
        self.registry = HTTPSServer(ca, self._registry_app, name="docker-hub-registry")
        self.auth = HTTPSServer(ca, self._auth_app, name="docker-hub-auth")

    # lifecycle
    def start(self) -> FakeDockerHub:
        self.registry.start()
        self.auth.start()
        return self

    def stop(self) -> None:
        try:
            self.registry.stop()
        finally:
            self.auth.stop()

    def __enter__(self) -> FakeDockerHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # knobs
    @property
    def rate_limited(self) -> bool:
        return self._rate_limited.is_set()

    @rate_limited.setter
    def rate_limited(self, value: bool) -> None:
        (self._rate_limited.set if value else self._rate_limited.clear)()

    def add_user(self, username: str, *passwords: str) -> None:
        with self.state._lock:
            self.state.users.setdefault(username, set()).update(passwords)

    def add_repository(
        self,
        name: str,
        *,
        public: bool,
        owner: str | None = None,
        tags: Iterable[str] = ("latest",),
    ) -> None:
        self.state.repositories[name] = FakeRepository(public, owner, tuple(tags))

    # addresses
    url = property(lambda self: self.registry.url)
    host_port = property(lambda self: self.registry.host_port)
    ca_pem = property(lambda self: self.ca.cert_pem)
    ca_file = property(lambda self: str(self.ca.cert_path))
    auth_url = property(lambda self: self.auth.url)
    realm = property(lambda self: f"{self.auth.url}/token")
    requests = property(lambda self: self.registry.requests)
    auth_requests = property(lambda self: self.auth.requests)

    # apps
    def _too_many(self) -> Response:
        return Response(
            429,
            [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "120")],
            RATE_LIMIT_BODY.encode(),
        )

    def _registry_app(self, req: Request) -> Response:
        if self.rate_limited:
            return self._too_many()
        response = _registry_response(req, self.state, self.realm, self.SERVICE, None)
        if response.status == 200 and _split_manifest_path(req.path):
            response.headers += [
                ("ratelimit-limit", "100;w=21600"),
                ("ratelimit-remaining", "99;w=21600"),
                ("docker-ratelimit-source", "127.0.0.1"),
            ]
        return response

    def _auth_app(self, req: Request) -> Response:
        if self.rate_limited:
            return self._too_many()
        if req.path != "/token" or req.method != "GET":
            return json_response(404, {"details": "not found"})
        user = None
        if req.authorization is not None:
            creds = parse_basic(req.authorization)
            if creds is None or not self.state.check_password(*creds):
                return json_response(401, {"details": "incorrect username or password"})
            user = creds[0]
        token = self.state.issue(user, req.query.get("scope", []))
        return json_response(200, _token_json(token, full=True))


# ---------------------------------------------------------------------------------------------
# GHCR + GitHub API
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitHubToken:
    owner: str
    scopes: tuple[str, ...] | None  # None: fine-grained (no X-OAuth-Scopes header)

    @property
    def packages(self) -> bool:
        return self.scopes is not None and bool(
            {"read:packages", "write:packages"} & set(self.scopes)
        )


class FakeGHCR:
    """ghcr.io (+ api.github.com as ``.api``). See registry_fixtures' docstring for the details."""

    SERVICE = "ghcr.io"
    PLACEHOLDER_SCOPE = "repository:user/image:pull"

    def __init__(self, ca: TestCA) -> None:
        self.ca = ca
        self.tokens: dict[str, GitHubToken] = {
            GHCR_CLASSIC_TOKEN: GitHubToken(GHCR_USER, ("read:packages", "repo")),
            GHCR_NO_PACKAGES_TOKEN: GitHubToken(GHCR_USER, ("repo",)),
            GHCR_FINE_GRAINED_TOKEN: GitHubToken(GHCR_USER, None),
        }
        self.state = _BearerRegistry(
            repositories={
                f"{GHCR_USER}/public-app": FakeRepository(public=True, owner=GHCR_USER),
                f"{GHCR_USER}/private-app": FakeRepository(
                    public=False, owner=GHCR_USER, tags=("latest", "v1")
                ),
            },
            users={},
        )
        self.registry = HTTPSServer(ca, self._registry_app, name="ghcr")
        self.api = HTTPSServer(ca, self._api_app, name="github-api")

    def start(self) -> FakeGHCR:
        self.registry.start()
        self.api.start()
        return self

    def stop(self) -> None:
        try:
            self.registry.stop()
        finally:
            self.api.stop()

    def __enter__(self) -> FakeGHCR:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_token(self, token: str, owner: str, scopes: Iterable[str] | None) -> None:
        self.tokens[token] = GitHubToken(owner, None if scopes is None else tuple(scopes))

    url = property(lambda self: self.registry.url)
    host_port = property(lambda self: self.registry.host_port)
    ca_pem = property(lambda self: self.ca.cert_pem)
    ca_file = property(lambda self: str(self.ca.cert_path))
    realm = property(lambda self: f"{self.registry.url}/token")
    api_url = property(lambda self: self.api.url)
    requests = property(lambda self: self.registry.requests)
    api_requests = property(lambda self: self.api.requests)

    def _registry_app(self, req: Request) -> Response:
        if req.path == "/token":
            return self._token(req)
        return _registry_response(req, self.state, self.realm, self.SERVICE, self.PLACEHOLDER_SCOPE)

    def _token(self, req: Request) -> Response:
        if req.method != "GET":
            return json_response(405, _errors("UNSUPPORTED", "method not allowed"))
        user = None
        if req.authorization is not None:
            creds = parse_basic(req.authorization)
            token = self.tokens.get(creds[1]) if creds else None
            # Only classic PATs with read:/write:packages are accepted (fine-grained: unsupported).
            if (
                creds is None
                or token is None
                or not token.packages
                or token.owner.lower() != creds[0].lower()
            ):
                return json_response(403, {"errors": [{"code": "DENIED", "message": "denied"}]})
            user = token.owner
        return json_response(
            200, _token_json(self.state.issue(user, req.query.get("scope", [])), full=False)
        )

    def _api_app(self, req: Request) -> Response:
        gh = [
            ("X-GitHub-Media-Type", "github.v3; format=json"),
            ("X-GitHub-Api-Version-Selected", "2022-11-28"),
        ]
        doc = "https://docs.github.com/rest"
        if req.path != "/user" or req.method not in ("GET", "HEAD"):
            return json_response(
                404, {"message": "Not Found", "documentation_url": doc, "status": "404"}, gh
            )
        if req.authorization is None:
            return json_response(
                401,
                {"message": "Requires authentication", "documentation_url": doc, "status": "401"},
                gh,
            )
        scheme, _, value = req.authorization.partition(" ")
        token = self.tokens.get(value.strip()) if scheme.lower() in ("token", "bearer") else None
        if token is None:
            return json_response(
                401, {"message": "Bad credentials", "documentation_url": doc, "status": "401"}, gh
            )
        headers = list(gh)
        if token.scopes is not None:
            headers += [
                ("X-OAuth-Scopes", ", ".join(token.scopes)),
                ("X-Accepted-OAuth-Scopes", ""),
            ]
        headers.append(("GitHub-Authentication-Token-Expiration", GITHUB_TOKEN_EXPIRATION))
        return json_response(200, {"login": token.owner, "id": 583231, "type": "User"}, headers)


# ---------------------------------------------------------------------------------------------
# Misc misbehaving servers
# ---------------------------------------------------------------------------------------------

HTML_PAGE = (
    b"<!doctype html><html><head><title>Sign in</title></head>"
    b"<body><h1>Sign in</h1></body></html>\n"
)


class MiscServers:
    """``html_server``, ``not_found_server``, ``redirect_server`` → ``redirect_target``,
    ``trickle_server``."""

    def __init__(self, ca: TestCA, *, trickle_delay: float = 1.0) -> None:
        self.ca = ca
        self.trickle_delay = trickle_delay
        self.html_server = HTTPSServer(
            ca,
            lambda req: Response(200, [("Content-Type", "text/html; charset=utf-8")], HTML_PAGE),
            name="html",
        )
        self.not_found_server = HTTPSServer(
            ca,
            lambda req: Response(
                404, [("Content-Type", "text/plain; charset=utf-8")], b"404 page not found\n"
            ),
            name="not-found",
        )
        self.redirect_target = HTTPSServer(
            ca, lambda req: json_response(200, {}, [API_VERSION]), name="redirect-target"
        )
        self.redirect_server = HTTPSServer(ca, self._redirect, name="redirect")
        self.trickle_server = HTTPSServer(ca, self._trickle, name="trickle")
        self.location: str | None = None  # override the redirect Location

    @property
    def servers(self) -> list[HTTPSServer]:
        return [
            self.html_server,
            self.not_found_server,
            self.redirect_target,
            self.redirect_server,
            self.trickle_server,
        ]

    def start(self) -> MiscServers:
        for server in self.servers:
            server.start()
        return self

    def stop(self) -> None:
        errors = []
        for server in self.servers:
            try:
                server.stop()
            except Exception as exc:  # stop the others anyway
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> MiscServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def redirect_location(self) -> str:
        """Default: the target under another host name (``localhost``): across a host boundary."""
        return self.location or f"https://localhost:{self.redirect_target.port}/v2/"

    @property
    def redirect_count(self) -> int:
        return len(self.redirect_server.requests)

    def _redirect(self, req: Request) -> Response:
        return Response(
            302,
            [("Location", self.redirect_location), ("Content-Type", "text/html; charset=utf-8")],
            b'<a href="%s">Found</a>.\n' % self.redirect_location.encode(),
        )

    def _trickle(self, req: Request) -> Response:
        raw = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\n{}"
        )
        return Response(raw=raw, byte_delay=self.trickle_delay)
