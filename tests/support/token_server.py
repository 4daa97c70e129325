"""Docker registry token server (distribution ``docs/spec/auth/token.md``) for the test harness,
plus the small threaded-HTTPS-server plumbing shared with ``fake_providers``.

``TokenServer`` speaks the GET token protocol the Debian ``docker-registry`` 2.8 expects:

* ``GET /token?service=S[&scope=T:NAME:ACTIONS ...][&account=U]`` with optional HTTP Basic.
* Bad or non-Basic credentials → ``401 {"details":"incorrect username or password"}``.
* Each ``scope`` value is split on spaces; each resource at the first and the last ``:``
  (so ``repository:127.0.0.1:5000/x:pull`` works). Known users get the intersection of the
  requested actions with their own actions (default ``pull`` + ``push``) on every requested
  ``repository`` resource; other resource types and anonymous callers get nothing (still 200).
* ``200 {"token","access_token","expires_in":300,"issued_at"}``; the JWT is ES256 (raw r‖s),
  header ``typ: JWT`` + ``x5c`` (standard base64 DER of a self-signed cert that is the registry's
  ``rootcertbundle``), claims ``iss aud(str) sub exp nbf iat jti access``.
* Every request is recorded in ``.requests`` (a thread-safe ``RequestLog``) as a
  ``RecordedRequest``: method, path, query, auth scheme, non-secret headers — never credentials.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as _dt
import http.server
import json
import secrets
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.support.pki import TestCA, self_signed_cert, write_cert

__all__ = [
    "HTTPSServer",
    "RecordedRequest",
    "Request",
    "RequestLog",
    "Response",
    "TokenServer",
    "json_response",
    "parse_basic",
    "parse_scopes",
]

# ---------------------------------------------------------------------------------------------
# Shared HTTPS plumbing (also used by tests.support.fake_providers)
# ---------------------------------------------------------------------------------------------

# Never recorded. X-Amz-Security-Token is the session token of temporary AWS credentials.
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-amz-security-token"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as a server saw it. Credentials are never stored, only the auth scheme."""

    method: str
    path: str
    query: Mapping[str, tuple[str, ...]]
    auth_scheme: (
        str | None
    )  # "Basic", "Bearer", "token", ... as sent (None: no Authorization header)
    headers: Mapping[
        str, str
    ]  # lower-cased names, Authorization/Proxy-Authorization/Cookie removed
    time: float

    @property
    def has_auth(self) -> bool:
        return self.auth_scheme is not None

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class RequestLog:
    """Thread-safe, append-only list of ``RecordedRequest`` (iterate/len/index on a snapshot)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def append(self, item: RecordedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def mark(self) -> int:
        """Current length; pass to ``since()`` to see only later requests."""
        with self._lock:
            return len(self._items)

    def since(self, mark: int) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items[mark:])

    def matching(
        self, *, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        return [
            r
            for r in self.snapshot()
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> RecordedRequest:
        with self._lock:
            return self._items[index]

    def __repr__(self) -> str:
        return f"RequestLog({self.snapshot()!r})"


@dataclass
class Request:
    """What an app callable receives. ``authorization`` is the raw header: use it, never log it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names, secrets removed
    authorization: str | None = field(repr=False)
    body: bytes = field(repr=False, default=b"")
    server: HTTPSServer | None = field(repr=False, default=None)
    # The secret headers other than Authorization (lower-cased), for a fake that must check them
    # (e.g. a SigV4 signature covers X-Amz-Security-Token). Use them, never log them.
    secret_headers: dict[str, str] = field(repr=False, default_factory=dict)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    # When set, ``raw`` (a complete HTTP response, status line included) is written one byte at a
    # time with ``byte_delay`` seconds between bytes (interrupted when the server stops).
    raw: bytes | None = None
    byte_delay: float = 1.0


def json_response(
    status: int, payload: object, headers: Iterable[tuple[str, str]] = ()
) -> Response:
    body = json.dumps(payload).encode()
    return Response(status, [("Content-Type", "application/json"), *headers], body)


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """``Basic base64(user:pass)`` → (user, pass); None when absent/another scheme/garbled."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def auth_scheme(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    return authorization.strip().split(" ", 1)[0] or "(empty)"


def parse_scopes(values: Iterable[str]) -> list[tuple[str, str, list[str]]]:
    """``scope`` params → [(type, name, actions)]; split on spaces, then at first and last ``:``."""
    out: list[tuple[str, str, list[str]]] = []
    for value in values:
        for resource in value.split(" "):
            if resource.count(":") < 2:
                continue
            rtype, _, rest = resource.partition(":")
            name, _, actions = rest.rpartition(":")
            if rtype and name:
                out.append((rtype, name, [a for a in actions.split(",") if a]))
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _TLSServer
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads
    timeout = 10

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep quiet
        pass

    def _handle(self) -> None:
        owner = self.server.owner
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)) if length > 0 else b""
        authorization = self.headers.get("Authorization")
        headers = {
            k.lower(): v for k, v in self.headers.items() if k.lower() not in _SECRET_HEADERS
        }
        secret_headers = {
            k.lower(): v
            for k, v in self.headers.items()
            if k.lower() in _SECRET_HEADERS and k.lower() != "authorization"
        }
        query = parse_qs(split.query, keep_blank_values=True)
        owner.requests.append(
            RecordedRequest(
                method=self.command,
                path=split.path,
                query={k: tuple(v) for k, v in query.items()},
                auth_scheme=auth_scheme(authorization),
                headers=headers,
                time=time.time(),
            )
        )
        request = Request(
            self.command, split.path, query, headers, authorization, body, owner, secret_headers
        )
        try:
            response = owner.app(request)
        except Exception as exc:  # a bug in a fake must be visible, not a hung client
            response = Response(
                500, [("Content-Type", "text/plain")], f"fake server error: {exc!r}".encode()
            )
        if response.raw is not None:
            self._trickle(response.raw, response.byte_delay)
            return
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _trickle(self, raw: bytes, delay: float) -> None:
        stop = self.server.owner.stopping
        for i in range(len(raw)):
            if stop.is_set():
                return
            try:
                self.wfile.write(raw[i : i + 1])
                self.wfile.flush()
            except OSError:
                return
            if i + 1 < len(raw) and stop.wait(delay):
                return

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def send_response(self, code: int, message: str | None = None) -> None:
        # No "Server: BaseHTTP/... Python/..." header; the fakes should look like the real thing.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


class _TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, owner: HTTPSServer, context: ssl.SSLContext) -> None:
        self.owner = owner
        self.context = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn() (a reverse DNS lookup): skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request: socket.socket, client_address: tuple) -> None:  # type: ignore[override]
        # TLS handshake in the worker thread, so a silent client cannot block accept().
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # client went away etc.; no tracebacks on stderr


class HTTPSServer:
    """A threaded HTTPS server on ``127.0.0.1:<free port>`` with a cert from ``ca``.

    ``app(Request) -> Response`` handles every method. Attributes: ``url`` (``https://127.0.0.1:PORT``),
    ``host_port``, ``port``, ``ca_pem``, ``ca_file`` (path for ``requests``' ``verify=``),
    ``requests`` (``RequestLog``), ``count`` (= ``len(requests)``). Use as a context manager or
    call ``start()``/``stop()``.
    """

    def __init__(
        self, ca: TestCA, app: Callable[[Request], Response] | None = None, *, name: str = "fake"
    ) -> None:
        self.ca = ca
        self.name = name
        self.app: Callable[[Request], Response] = app or (lambda req: Response(404))
        self.requests = RequestLog()
        self.stopping = threading.Event()
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> HTTPSServer:
        if self._server is not None:
            return self
        self.stopping.clear()
        self._server = _TLSServer(self, self.ca.server_context())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"https-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.server_close()  # closes the listening socket and joins handler threads
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def count(self) -> int:
        """Number of requests received so far."""
        return len(self.requests)

    def __enter__(self) -> HTTPSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} server is not running")
        return self._server.server_address[1]

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.host_port}"

    @property
    def ca_pem(self) -> str:
        return self.ca.cert_pem

    @property
    def ca_file(self) -> str:
        return str(self.ca.cert_path)

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"<{type(self).__name__} {self.name} {where}>"


# ---------------------------------------------------------------------------------------------
# Token server
# ---------------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _rfc3339(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


BAD_CREDENTIALS = {"details": "incorrect username or password"}


class TokenServer(HTTPSServer):
    """Docker token server. See the module docstring for the protocol.

    ``users``: ``{username: password}``; every user gets ``pull``+``push`` unless
    ``add_user(..., actions=[...])`` says otherwise. ``signing_cert_path`` is the PEM to use as
    the registry's ``auth.token.rootcertbundle``. ``realm`` = ``<url>/token``.
    """

    DEFAULT_SERVICE = "test-registry"
    DEFAULT_ISSUER = "test-token-issuer"
    EXPIRES_IN = 300

    def __init__(
        self,
        ca: TestCA,
        directory: str | Path,
        *,
        users: Mapping[str, str] | None = None,
        service: str = DEFAULT_SERVICE,
        issuer: str = DEFAULT_ISSUER,
    ) -> None:
        super().__init__(ca, self._app, name="token-server")
        self.service = service
        self.issuer = issuer
        self._lock = threading.Lock()
        self._users: dict[str, tuple[str, tuple[str, ...]]] = {}
        for user, password in (users or {}).items():
            self.add_user(user, password)
        self.signing_key, self.signing_cert = self_signed_cert(f"{issuer} signing key")
        self.signing_cert_path = write_cert(
            Path(directory) / "token-signing.crt", self.signing_cert
        )
        self._x5c = base64.b64encode(
            self.signing_cert.public_bytes(serialization.Encoding.DER)
        ).decode("ascii")
        self.tokens_issued = 0

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    def add_user(
        self, username: str, password: str, actions: Iterable[str] = ("pull", "push")
    ) -> None:
        with self._lock:
            self._users[username] = (password, tuple(actions))

    def remove_user(self, username: str) -> None:
        with self._lock:
            self._users.pop(username, None)

    def _check(self, authorization: str | None) -> tuple[bool, str | None, tuple[str, ...]]:
        """→ (acceptable, username or None for anonymous, allowed actions)."""
        if authorization is None:
            return True, None, ()
        creds = parse_basic(authorization)
        if creds is None:
            return False, None, ()
        with self._lock:
            entry = self._users.get(creds[0])
        if entry is None or not secrets.compare_digest(entry[0].encode(), creds[1].encode()):
            return False, None, ()
        return True, creds[0], entry[1]

    def _app(self, req: Request) -> Response:
        if req.path != "/token":
            return json_response(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})
        if req.method != "GET":
            # OAuth2 POST is not implemented; the spec tells clients to fall back to GET on 404.
            return json_response(404, {"errors": [{"code": "UNSUPPORTED", "message": "use GET"}]})
        ok, user, allowed = self._check(req.authorization)
        if not ok:
            return json_response(401, BAD_CREDENTIALS)
        access = []
        if user is not None:
            for rtype, name, actions in parse_scopes(req.query.get("scope", [])):
                if rtype != "repository":
                    continue
                granted = [a for a in actions if a in allowed]
                if granted:
                    access.append({"type": rtype, "name": name, "actions": granted})
        token, issued = self.make_token(
            user or "", access, audience=req.param("service") or self.service
        )
        return json_response(
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": self.EXPIRES_IN,
                "issued_at": _rfc3339(issued),
            },
        )

    def make_token(
        self,
        subject: str,
        access: list[dict],
        *,
        audience: str | None = None,
        issuer: str | None = None,
        lifetime: int | None = None,
    ) -> tuple[str, float]:
        """Sign a registry JWT (also handy for tests that need an expired/foreign-issuer token)."""
        now = time.time()
        header = {"typ": "JWT", "alg": "ES256", "x5c": [self._x5c]}
        claims = {
            "iss": issuer or self.issuer,
            "sub": subject,
            "aud": audience or self.service,  # a JSON string: 2.8 rejects an array
            "exp": int(now) + (self.EXPIRES_IN if lifetime is None else lifetime),
            "nbf": int(now) - 1,
            "iat": int(now),
            "jti": secrets.token_hex(16),
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        der = self.signing_key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        with self._lock:
            self.tokens_issued += 1
        return f"{signing_input}.{_b64url(signature)}", now
