"""The SSRF-safe HTTP session that every request of a check goes through.

The guard works on the address that is actually connected to, not on the URL text
(registry-protocol.md §7.3 option 1), with the rules of `policy`:

- our urllib3 connection classes resolve the host once inside `_new_conn`, check *every*
  resolved address against the policy, and connect to exactly the checked sockaddr; TLS (SNI and
  certificate verification) still uses the host name, untouched;
- the port rule is checked before name resolution;
- redirects are never followed (a 3xx is handed back to the caller), `trust_env` is off (no
  environment proxies, no .netrc), cookies are refused, and bodies are read up to a cap;
- one `Deadline` per session (deadline.py): its watchdog shuts down every connection of the
  check when the deadline passes, even one a server trickles a byte a second; name resolution
  runs in a helper thread so a hanging resolver cannot outlive the deadline either.
"""

from __future__ import annotations

import http.client
import queue
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from ipaddress import ip_address
from types import TracebackType
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3 import HTTPHeaderDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from .deadline import Deadline
from .errors import (
    BadResponse,
    BlockedAddress,
    BodyTooLarge,
    DeadlineExceeded,
    RegistryClientError,
    TlsFailure,
    TlsProblem,
    Unreachable,
    UnreachableCause,
)
from .policy import OutboundPolicy

USER_AGENT = "registry-connectivity-check/1"


def _resolve(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
    """getaddrinfo in a daemon thread: a hanging resolver cannot outlast the deadline."""
    answers: queue.SimpleQueue[list[tuple[Any, ...]] | Exception] = queue.SimpleQueue()

    def lookup() -> None:
        try:
            answers.put(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as exc:  # handed to the caller's thread
            answers.put(exc)

    threading.Thread(target=lookup, name="registry-dns", daemon=True).start()
    try:
        answer = answers.get(timeout=timeout)
    except queue.Empty:
        raise Unreachable("timed_out", "Looking up the host name took too long.") from None
    if isinstance(answer, socket.gaierror | UnicodeError):  # UnicodeError: not a valid IDNA name
        raise Unreachable("name_not_found")
    if isinstance(answer, OSError):
        raise Unreachable("network")
    if isinstance(answer, Exception):
        raise answer
    return answer


def _connect_pinned(
    family: int, sock_type: int, proto: int, sockaddr: tuple[Any, ...], timeout: float
) -> socket.socket:
    """Open a TCP connection to exactly this (already checked) socket address."""
    sock = socket.socket(family, sock_type, proto)
    try:
        sock.settimeout(timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


class _Guard:
    """What every connection of one session consults: the policy and the deadline."""

    def __init__(self, policy: OutboundPolicy, deadline: Deadline) -> None:
        self.policy = policy
        self.deadline = deadline

    def open_socket(self, host: str, port: int, timeout: float | None) -> socket.socket:
        self.deadline.check()
        self.policy.check_port(port)
        connect_timeout = min(timeout or self.policy.connect_timeout, self.policy.connect_timeout)
        infos = _resolve(host, port, min(connect_timeout, self.deadline.remaining()))
        # Every answer is checked before any connection: a name that resolves to both a public
        # and an internal address is refused outright (a rebinding or split-horizon trick).
        for info in infos:
            if not self.policy.address_allowed(ip_address(info[4][0])):
                raise BlockedAddress("address")
        failure: UnreachableCause = "network"
        for family, sock_type, proto, _canonname, sockaddr in infos:
            self.deadline.check()
            try:
                sock = _connect_pinned(
                    family,
                    sock_type,
                    proto,
                    sockaddr,
                    min(connect_timeout, self.deadline.remaining()),
                )
            except TimeoutError:
                failure = "timed_out"
                continue
            except ConnectionRefusedError:
                failure = "refused"
                continue
            except OSError:
                continue
            try:
                self.deadline.watch(sock)
            except DeadlineExceeded:
                sock.close()
                raise
            return sock
        self.deadline.check()
        raise Unreachable(failure)


class _GuardedConnectionMixin:
    """Replaces urllib3's resolve-and-connect with the guard's resolve-check-pin-connect."""

    _dns_host: str
    port: int
    timeout: Any

    def __init__(self, *args: Any, guard: _Guard, **kwargs: Any) -> None:
        self._guard = guard
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        timeout = self.timeout if isinstance(self.timeout, int | float) else None
        return self._guard.open_socket(self._dns_host, self.port, timeout)


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedPoolManager(PoolManager):
    """Hands the guard to every pool it creates (PoolManager's pool key cannot carry it)."""

    def __init__(self, guard: _Guard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard
        self.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw["guard"] = self._guard
        return pool


class _GuardedAdapter(HTTPAdapter):
    """A requests adapter over the guarded pools; TLS trust comes only from our SSL context."""

    def __init__(self, guard: _Guard, ssl_context: ssl.SSLContext) -> None:
        self._guard = guard
        self._ssl_context = ssl_context
        super().__init__(pool_connections=4, pool_maxsize=4, max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _GuardedPoolManager(
            self._guard,
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            ssl_context=self._ssl_context,
            **pool_kwargs,
        )

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # requests would point the pool at its own CA bundle here, which urllib3 then loads into
        # our context on every connection; verification stays on and uses our context as built.
        conn.cert_reqs = "CERT_REQUIRED"


@dataclass(frozen=True)
class Response:
    """A fully read (capped) response. `headers` keeps repeated header lines apart."""

    status: int
    headers: HTTPHeaderDict
    body: bytes

    def header_lines(self, name: str) -> list[str]:
        return self.headers.getlist(name)


class OutboundSession:
    """One check's HTTP session: guarded connections, one deadline, capped bodies, no redirects.

    Use it as a context manager; closing it cancels the watchdog and closes every connection.
    """

    def __init__(
        self, policy: OutboundPolicy, ssl_context: ssl.SSLContext, deadline_seconds: float
    ) -> None:
        self.policy = policy
        self.deadline = Deadline(deadline_seconds)
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
        session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        session.adapters.clear()
        adapter = _GuardedAdapter(_Guard(policy, self.deadline), ssl_context)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._session = session

    def __enter__(self) -> OutboundSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()
        self.deadline.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request and read its body; raises only `RegistryClientError` subclasses."""
        scheme = url.split(":", 1)[0].lower()
        if scheme != "https" and not (scheme == "http" and self.policy.allow_insecure):
            raise BlockedAddress("scheme")
        self.deadline.check()
        remaining = self.deadline.remaining()
        timeout = (
            min(self.policy.connect_timeout, remaining),
            min(self.policy.read_timeout, remaining),
        )
        try:
            response = self._session.request(
                method,
                url,
                headers=dict(headers or {}),
                params=dict(params or {}),
                timeout=timeout,
                allow_redirects=False,
                stream=True,
                verify=True,
            )
            try:
                body = self._read_body(response)
            finally:
                response.close()
        except RegistryClientError:
            if self.deadline.expired:
                raise DeadlineExceeded() from None
            raise
        except (
            requests.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
        ) as exc:
            # `from None`: library messages can hold URLs or header values; ours never do.
            raise self._translate(exc) from None
        return Response(status=response.status_code, headers=response.raw.headers, body=body)

    def _read_body(self, response: requests.Response) -> bytes:
        cap = self.policy.max_body_bytes
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > cap:
            raise BodyTooLarge()
        body = response.raw.read(cap + 1, decode_content=True) or b""
        if len(body) > cap:
            raise BodyTooLarge()
        return body

    def _translate(self, exc: BaseException) -> RegistryClientError:
        if self.deadline.expired:
            return DeadlineExceeded()
        chain = list(_exception_chain(exc))
        for error in chain:
            if isinstance(error, ssl.SSLCertVerificationError):
                return TlsFailure(_VERIFY_CODES.get(error.verify_code, "untrusted"))
        if any(isinstance(e, ssl.SSLError | urllib3.exceptions.SSLError) for e in chain):
            return TlsFailure("handshake")
        if any(
            isinstance(e, TimeoutError | urllib3.exceptions.TimeoutError | requests.Timeout)
            for e in chain
        ):
            return Unreachable("timed_out")
        closed = http.client.RemoteDisconnected | http.client.IncompleteRead | ConnectionResetError
        if any(isinstance(e, closed) for e in chain):
            return Unreachable("closed")
        if any(
            isinstance(e, http.client.HTTPException | urllib3.exceptions.ProtocolError)
            for e in chain
        ):
            return BadResponse()
        return Unreachable("network")


# OpenSSL X509_V_ERR_* codes worth telling apart for an admin.
_VERIFY_CODES: dict[int, TlsProblem] = {9: "expired", 10: "expired", 62: "hostname", 64: "hostname"}


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and all it wraps (causes, contexts, urllib3 `reason`, exception args)."""
    seen: set[int] = set()
    pending = [exc]
    while pending and len(seen) < 32:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        wrapped = [error.__cause__, error.__context__, getattr(error, "reason", None), *error.args]
        pending.extend(item for item in wrapped if isinstance(item, BaseException))
