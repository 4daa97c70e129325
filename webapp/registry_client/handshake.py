"""The Registry v2 sign-in handshake (registry-protocol.md §0), step by step.

The steps are the ones `docker login` and `skopeo login` take: `GET /v2/` without credentials;
on 401 read every challenge; Basic → `/v2/` again with Basic; Bearer → the realm with Basic,
`account` and *no* scope (so GHCR's placeholder scope on `/v2/` is ignored), then `/v2/` with the
token. `probe` HEADs one manifest with a pull-scoped sign-in.

A step that settles the outcome raises `Stop` with a `Verdict`. Decisions made here:
- A 401 or 403 from a token service is a refused credential (GHCR answers 403 DENIED).
- A token the registry then refuses is `error`: its own token service issued it, so that is a
  registry misconfiguration, not a wrong password.
- The token realm is validated before any credential goes there: the same address rules as a
  typed address, https when the registry is https, the kind's allowed hosts, and then the
  outbound guard at connect time (SSRF-04).
- Reasons are our own sentences: never a response body, a header value, a token or a secret.
"""

from __future__ import annotations

import base64
import email.utils
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import urllib3.util
from urllib3.exceptions import LocationParseError

from .address import parse_registry_url
from .challenge import Challenge, parse_challenges
from .errors import (
    AddressError,
    BadResponse,
    BlockedAddress,
    CertificateError,
    ChallengeError,
    RegistryClientError,
    TlsFailure,
    Unreachable,
)
from .providers import Endpoints
from .statuses import Status
from .transport import OutboundSession, Response

MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)

_TOKEN_TEXT = re.compile(r"[\x21-\x7e]{1,65536}")


@dataclass(frozen=True)
class Verdict:
    """How a check ended: status, our reason, the deciding HTTP status, Retry-After seconds."""

    status: Status
    reason: str
    http_status: int | None = None
    retry_after: int | None = None


class Stop(Exception):
    """Ends a check early with a status; raised from deep inside the handshake."""

    def __init__(self, status: Status, reason: str, response: Response | None = None) -> None:
        super().__init__(reason)
        retry = (
            _retry_after(response)
            if response is not None and status is Status.RATE_LIMITED
            else None
        )
        self.verdict = Verdict(
            status, reason, response.status if response is not None else None, retry
        )


class NoTokenService(Exception):
    """The registry signs in with Basic only (or not at all): it mints no registry tokens."""


class Handshake:
    """The protocol steps, sharing one session and what the registry told us."""

    def __init__(
        self,
        session: OutboundSession,
        where: Endpoints,
        username: str,
        secret: str,
        *,
        allow_insecure: bool,
    ) -> None:
        self.session = session
        self.registry = where.registry
        self.realm_hosts = where.realm_hosts
        self.username = username
        self.secret = secret
        self.allow_insecure = allow_insecure
        self.realm_host: str | None = None
        self.signed_in = False
        #: How the registry signed us in ("bearer" or "basic"), and for Bearer how long its
        #: token lives (the token spec's 60 s when it does not say): what it can hand out.
        self.sign_in_scheme: str | None = None
        self.token_seconds: int | None = None

    def ping(self) -> list[Challenge]:
        """`GET /v2/` without credentials: [] for an open registry, else its challenges."""
        response = self.session.request("GET", f"{self.registry.base_url}/v2/")
        if response.status == 200:
            _require_registry_api(response)
            return []
        if response.status == 401:
            return _challenges(response)
        raise _unexpected(response)

    def sign_in_and_verify(self, challenges: list[Challenge]) -> Verdict:
        headers, via_token = self._credentials(challenges, scope=None)
        response = self.session.request("GET", f"{self.registry.base_url}/v2/", headers=headers)
        if response.status == 200:
            _require_registry_api(response)
            self.signed_in = True
            return Verdict(
                Status.CONNECTED, "Signed in: the registry accepted the credentials.", 200
            )
        if response.status in (401, 403) and via_token:
            raise Stop(
                Status.ERROR,
                "The registry refused the token its own sign-in service issued.",
                response,
            )
        if response.status in (401, 403):
            raise Stop(
                Status.AUTH_FAILED, "The registry refused the username and password.", response
            )
        raise _unexpected(response)

    def probe(
        self, repository: str, reference: str, challenges: list[Challenge]
    ) -> tuple[str, Response]:
        """`HEAD` the manifest, signed in with a pull scope: "pulls", "not_found" or "no_access"."""
        url = f"{self.registry.base_url}/v2/{repository}/manifests/{reference}"
        scope = f"repository:{repository}:pull"
        headers = {"Accept": MANIFEST_ACCEPT}
        if challenges:
            headers.update(self._credentials(challenges, scope)[0])
        response = self.session.request("HEAD", url, headers=headers)
        if response.status == 401 and not challenges:
            # The registry is open at /v2/ but this repository wants a sign-in.
            headers.update(self._credentials(_challenges(response), scope)[0])
            response = self.session.request("HEAD", url, headers=headers)
        if response.status == 200:
            self.signed_in = self.signed_in or "Authorization" in headers
            return "pulls", response
        if response.status == 404:
            return "not_found", response
        if response.status in (401, 403):
            return "no_access", response
        raise _unexpected(response)

    def _credentials(
        self, challenges: list[Challenge], scope: str | None
    ) -> tuple[dict[str, str], bool]:
        """Authorization for the first challenge we support, in header order (as skopeo does)."""
        if not (self.username and self.secret):
            raise Stop(
                Status.AUTH_FAILED, "The registry requires sign-in, but no credentials were given."
            )
        for challenge in challenges:
            if challenge.scheme == "basic":
                self.sign_in_scheme = self.sign_in_scheme or "basic"
                return {"Authorization": self._basic()}, False
            if challenge.scheme == "bearer":
                token, expires_in = self._fetch_token(challenge, scope)
                self.sign_in_scheme = "bearer"
                self.token_seconds = expires_in or 60
                return {"Authorization": f"Bearer {token}"}, True
        raise Stop(
            Status.ERROR, "The registry asks for a sign-in method other than Basic or Bearer."
        )

    def pull_token(self, challenges: list[Challenge], repository: str) -> tuple[str, int | None]:
        """A registry token that may only pull `repository`, from the first Bearer challenge;
        (token, expires_in or None). `NoTokenService` when the registry offers no Bearer."""
        if not (self.username and self.secret):
            raise Stop(Status.AUTH_FAILED, "No credentials were given.")
        for challenge in challenges:
            if challenge.scheme == "bearer":
                return self._fetch_token(challenge, f"repository:{repository}:pull")
        raise NoTokenService()

    def _basic(self) -> str:
        pair = f"{self.username}:{self.secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _token(self, challenge: Challenge, scope: str | None) -> str:
        return self._fetch_token(challenge, scope)[0]

    def _fetch_token(self, challenge: Challenge, scope: str | None) -> tuple[str, int | None]:
        realm = challenge.params.get("realm")
        if not realm:  # a challenge is read as far as it is well formed: it may have none
            raise Stop(
                Status.ERROR,
                "The registry's sign-in challenge could not be read: it names no sign-in "
                "service (realm).",
            )
        url = self._realm_url(realm)
        params = {"account": self.username}
        if challenge.params.get("service"):
            params["service"] = challenge.params["service"]
        if scope:
            params["scope"] = scope
        try:
            response = self.session.request(
                "GET", url, headers={"Authorization": self._basic()}, params=params
            )
        except BlockedAddress:
            raise Stop(Status.BLOCKED, _REALM_BLOCKED) from None
        except RegistryClientError as exc:
            status, reason = classify(exc)
            raise Stop(status, f"The registry's sign-in service failed: {reason}") from None
        if response.status in (401, 403):
            raise Stop(
                Status.AUTH_FAILED,
                "The registry's sign-in service refused the username and password.",
                response,
            )
        if response.status == 429:
            raise Stop(
                Status.RATE_LIMITED,
                "The registry's sign-in service is limiting requests.",
                response,
            )
        if response.status != 200:
            what = (
                "a redirect, which is not followed"
                if 300 <= response.status < 400
                else f"HTTP {response.status}"
            )
            raise Stop(
                Status.ERROR, f"The registry's sign-in service answered with {what}.", response
            )
        return _token_from(response)

    def _realm_url(self, realm: str) -> str:
        """Validate the server-chosen token URL before any credential goes there (SSRF-04)."""
        try:
            parsed = urllib3.util.parse_url(realm)
        except LocationParseError:
            parsed = None
        if parsed is None or not parsed.scheme or not parsed.host or parsed.auth or parsed.fragment:
            raise Stop(
                Status.ERROR, "The registry named a sign-in service address that cannot be used."
            )
        scheme = parsed.scheme.lower()
        if scheme == "http" and self.registry.scheme == "https":
            raise Stop(
                Status.BLOCKED,
                "The registry's sign-in service uses plain http:// although the registry uses "
                "https://; the credentials were not sent.",
            )
        netloc = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
        try:
            address = parse_registry_url(f"{scheme}://{netloc}", allow_insecure=self.allow_insecure)
        except AddressError:
            raise Stop(Status.BLOCKED, _REALM_BLOCKED) from None
        self.realm_host = address.netloc
        if self.realm_hosts is not None and address.host_port not in self.realm_hosts:
            raise Stop(
                Status.BLOCKED,
                "The sign-in service is not at the expected address for this registry type; "
                "the credentials were not sent.",
            )
        query = f"?{parsed.query}" if parsed.query else ""
        return f"{address.base_url}{parsed.path or ''}{query}"


_REALM_BLOCKED = (
    "The registry's sign-in service is at an address that is not allowed by policy; "
    "the credentials were not sent."
)


def _challenges(response: Response) -> list[Challenge]:
    try:
        challenges = parse_challenges(response.header_lines("WWW-Authenticate"))
    except ChallengeError:
        raise Stop(
            Status.ERROR, "The registry's sign-in challenge could not be read.", response
        ) from None
    if not challenges:
        raise Stop(
            Status.NOT_A_REGISTRY,
            "The address asks for sign-in without saying how, unlike a registry.",
            response,
        )
    return challenges


def _require_registry_api(response: Response) -> None:
    """A 200 on /v2/ must look like the registry API: its header, or an empty or JSON body."""
    if response.headers.get("Docker-Distribution-API-Version", "").lower().startswith("registry/2"):
        return
    body = response.body.strip()
    if "html" in response.headers.get("Content-Type", "").lower() or body.startswith(b"<"):
        raise Stop(
            Status.NOT_A_REGISTRY,
            "The address answered with a web page, not the registry API.",
            response,
        )
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise Stop(
                Status.NOT_A_REGISTRY,
                "The address answered, but not with the registry API.",
                response,
            )


def _unexpected(response: Response) -> Stop:
    status = response.status
    if 300 <= status < 400:
        return Stop(
            Status.NOT_A_REGISTRY,
            "The address answered with a redirect to another address; redirects are not "
            "followed, so enter the registry's own address.",
            response,
        )
    if status == 404:
        return Stop(
            Status.NOT_A_REGISTRY,
            "Nothing answers at /v2/ (HTTP 404): this is not a registry.",
            response,
        )
    if status == 429:
        return Stop(Status.RATE_LIMITED, "The registry is limiting requests (HTTP 429).", response)
    if status >= 500:
        return Stop(Status.ERROR, f"The registry had a server error (HTTP {status}).", response)
    return Stop(
        Status.ERROR,
        f"The registry answered with HTTP {status}, which a registry does not send here.",
        response,
    )


def _token_from(response: Response) -> tuple[str, int | None]:
    try:
        data = json.loads(response.body)
    except ValueError:
        data = None
    token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else None
    if not isinstance(token, str) or not _TOKEN_TEXT.fullmatch(token):
        raise Stop(
            Status.ERROR,
            "The registry's sign-in service answered without a usable token.",
            response,
        )
    expires_in = data.get("expires_in") if isinstance(data, dict) else None
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        expires_in = None  # the token spec's default applies (60 s): the caller decides
    return token, min(expires_in, 86_400) if expires_in else None


def classify(exc: RegistryClientError) -> tuple[Status, str]:
    """A transport or configuration failure as a status and our own reason."""
    if isinstance(exc, BlockedAddress):
        return Status.BLOCKED, str(exc)
    if isinstance(exc, Unreachable):
        return Status.UNREACHABLE, str(exc)
    if isinstance(exc, TlsFailure | CertificateError):
        return Status.TLS_ERROR, str(exc)
    if isinstance(exc, BadResponse):
        return Status.NOT_A_REGISTRY, str(exc)
    return Status.ERROR, str(exc)


def _retry_after(response: Response) -> int | None:
    """Retry-After as seconds (it may be a number or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, round((when - datetime.now(UTC)).total_seconds()))
