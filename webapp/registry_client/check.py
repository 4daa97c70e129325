"""Running one connectivity check (`run_check`) or one pull probe (`probe_manifest`).

A check follows the handshake of `handshake.py` over a fresh guarded session with its own
deadline, reports progress through `on_stage` ("reaching", "signing_in", "checking_access") and
always ends with a status; it never raises. Decisions made here:
- A test image that cannot be read is `missing_scope` (signed in, but not allowed to pull it);
  "not found" is also `missing_scope`, with its own reason, because many registries answer 404
  rather than reveal that a private image exists.
- A provider that reads its API about a token (GitHub: `providers/github.py`) may turn a sign-in
  into `missing_scope`, or say that pull access is unverified (a GitHub token without
  `X-OAuth-Scopes`, fine-grained or app token, stays `connected`) unless a test image settles
  it: refusing a token the registry accepted would be a guess. The API is optional: when it
  does not answer, the registry's answer stands.
- Expiry: what the provider's API says of the token; else the provider's rule after a success
  (ECR: 12 hours after the check that first saw the password, which the caller passes back as
  `previous_expiry`); a refused credential whose known expiry has passed is `expired` rather
  than `auth_failed`.
- Only the status and the host are logged.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from . import providers
from .address import PATH_COMPONENT, RegistryAddress
from .challenge import Challenge
from .client_settings import ClientSettings
from .errors import RegistryClientError
from .handshake import Handshake, NoTokenService, Stop, Verdict, classify
from .providers import Provider
from .statuses import Status
from .tls import build_ssl_context
from .transport import OutboundSession

__all__ = [
    "CheckResult",
    "CheckTarget",
    "ClientSettings",
    "ProbeResult",
    "PullTokenResult",
    "exchange_pull_token",
    "probe_manifest",
    "run_check",
]

logger = logging.getLogger(__name__)

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


@dataclass(frozen=True)
class CheckTarget:
    """What to check. `address` is None for a kind with a fixed host (Docker Hub, GitHub): its
    endpoints come from the client settings.

    `test_image` is a repository path on this registry with an optional tag or digest, e.g.
    `team/app:1.0` (on Docker Hub a single name means `library/<name>`). `previous_expiry` is the
    expiry the caller stored from earlier checks (it keeps ECR's "first seen").
    """

    kind: str
    address: RegistryAddress | None
    username: str
    secret: str = field(repr=False)
    ca_pem: str | None = None
    test_image: str | None = None
    previous_expiry: datetime | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check. `expires_at` is the best knowledge after this check (store it)."""

    status: Status
    reason: str
    http_status: int | None
    realm_host: str | None
    expires_at: datetime | None
    duration_ms: int
    retry_after: int | None
    stage: str
    #: How the registry signed in ("bearer": it mints tokens, living `token_seconds`; "basic":
    #: password only); None when this check did not get that far.
    sign_in_scheme: str | None = None
    token_seconds: int | None = None


@dataclass(frozen=True)
class ProbeResult:
    """`outcome`: "pulls", "not_found", "no_access", or a failure status such as "auth_failed"."""

    outcome: str
    reason: str
    http_status: int | None = None
    retry_after: int | None = None


def run_check(
    target: CheckTarget, settings: ClientSettings, on_stage: Callable[[str], None] | None = None
) -> CheckResult:
    """Check that the registry is reachable and accepts the credentials; never raises."""
    run = _Run(target, settings, on_stage)
    verdict = run.execute(run.check_steps)
    now = datetime.now(UTC)
    expires_at = run.learned_expiry or target.previous_expiry
    if verdict.status in (Status.CONNECTED, Status.MISSING_SCOPE) and run.registry_host:
        ruled = run.provider.expiry_after_success(run.registry_host, target.previous_expiry, now)
        expires_at = ruled or expires_at
    if (
        verdict.status is Status.AUTH_FAILED
        and target.previous_expiry
        and target.previous_expiry <= now
    ):
        verdict = replace(
            verdict,
            status=Status.EXPIRED,
            reason=f"The credentials expired on {target.previous_expiry:%Y-%m-%d %H:%M} UTC; "
            "the registry refuses them.",
        )
    logger.info("registry check of %s: %s", run.host, verdict.status)
    return CheckResult(
        status=verdict.status,
        reason=verdict.reason,
        http_status=verdict.http_status,
        realm_host=run.realm_host,
        expires_at=expires_at,
        duration_ms=round((time.monotonic() - run.started) * 1000),
        retry_after=verdict.retry_after,
        stage=run.stage,
        sign_in_scheme=run.sign_in_scheme,
        token_seconds=run.token_seconds,
    )


def probe_manifest(target: CheckTarget, settings: ClientSettings, image: str) -> ProbeResult:
    """Can these credentials pull `image` (a repository path, optional tag) from this registry?"""
    run = _Run(target, settings, None)
    verdict = run.execute(lambda handshake: run.probe_steps(handshake, image))
    outcome = (
        run.probe_outcome
        if verdict.status is Status.CONNECTED and run.probe_outcome
        else verdict.status
    )
    return ProbeResult(str(outcome), verdict.reason, verdict.http_status, verdict.retry_after)


@dataclass(frozen=True)
class PullTokenResult:
    """A token exchange: `token` (pull-only, for one repository) and its `expires_in` (None:
    the registry said nothing) when `status` is connected; `supported` False when the registry
    mints no tokens (Basic only, or no sign-in); else the failure's status and reason."""

    status: Status
    reason: str
    supported: bool = True
    token: str | None = field(default=None, repr=False)
    expires_in: int | None = None


def exchange_pull_token(
    target: CheckTarget, settings: ClientSettings, image_path: str
) -> PullTokenResult:
    """The registry's own token for pulling `image_path` (a repository path, no tag), obtained
    with the stored credentials as a runner would (`scope=repository:<repo>:pull`); never
    raises. The settings' deadline bounds the whole exchange, realm included."""
    run = _Run(target, settings, None)
    found: dict[str, object] = {}

    def steps(handshake: Handshake) -> Verdict:
        repository = run.provider.repository(image_path)
        challenges = handshake.ping()
        if not challenges:
            found["unsupported"] = "The registry answers without sign-in: it has no tokens."
            return Verdict(Status.CONNECTED, "")
        try:
            found["token"], found["expires_in"] = handshake.pull_token(challenges, repository)
        except NoTokenService:
            found["unsupported"] = "The registry signs in with a password only (Basic)."
        return Verdict(Status.CONNECTED, "")

    verdict = run.execute(steps)
    logger.info("pull token exchange with %s: %s", run.host, verdict.status)
    if verdict.status is not Status.CONNECTED:
        return PullTokenResult(verdict.status, verdict.reason)
    if "unsupported" in found:
        return PullTokenResult(Status.CONNECTED, str(found["unsupported"]), supported=False)
    return PullTokenResult(
        Status.CONNECTED,
        "",
        token=str(found["token"]),
        expires_in=found["expires_in"],  # type: ignore[arg-type]
    )


class _Run:
    """One check or probe: owns the session and the stage, and turns failures into statuses."""

    def __init__(
        self, target: CheckTarget, settings: ClientSettings, on_stage: Callable[[str], None] | None
    ) -> None:
        self.target = target
        self.settings = settings
        self.provider: Provider = providers.get(target.kind)
        self.on_stage = on_stage
        self.started = time.monotonic()
        self.stage = "reaching"
        self.host = target.address.host_port if target.address else self.provider.kind
        self.registry_host: str | None = None  # known once the endpoints are
        self.realm_host: str | None = None
        self.learned_expiry: datetime | None = None
        self.probe_outcome: str | None = None
        self.sign_in_scheme: str | None = None
        self.token_seconds: int | None = None

    def enter(self, stage: str) -> None:
        self.stage = stage
        if self.on_stage is not None:
            self.on_stage(stage)

    def execute(self, steps: Callable[[Handshake], Verdict]) -> Verdict:
        handshake: Handshake | None = None
        try:
            where = self.provider.endpoints(self.target.address, self.settings.endpoints)
            self.host = where.registry.host_port
            self.registry_host = where.registry.host
            context = build_ssl_context(
                [self.target.ca_pem] if self.target.ca_pem else [], self.settings.ca_bundle_path
            )
            with OutboundSession(
                self.settings.policy, context, self.settings.deadline_seconds
            ) as session:
                handshake = Handshake(
                    session,
                    where,
                    self.target.username,
                    self.target.secret,
                    allow_insecure=self.settings.policy.allow_insecure,
                )
                self.enter("reaching")
                return steps(handshake)
        except Stop as stop:
            return stop.verdict
        except RegistryClientError as exc:
            return Verdict(*classify(exc))
        except Exception as exc:  # a check must end with a status, whatever happens
            logger.error(
                "registry check of %s failed unexpectedly (%s)", self.host, type(exc).__name__
            )
            return Verdict(Status.ERROR, "The check failed unexpectedly.")
        finally:
            if handshake is not None:
                self.realm_host = handshake.realm_host
                if handshake.signed_in:
                    self.sign_in_scheme = handshake.sign_in_scheme
                    self.token_seconds = handshake.token_seconds

    def check_steps(self, handshake: Handshake) -> Verdict:
        challenges = handshake.ping()
        if not challenges:
            verdict = Verdict(
                Status.CONNECTED_ANONYMOUS,
                "The registry answers without sign-in, "
                "so the credentials were not needed and not tested.",
                200,
            )
        else:
            self.enter("signing_in")
            verdict = handshake.sign_in_and_verify(challenges)
        if self.provider.reads_token and verdict.status is Status.CONNECTED:
            self.enter("checking_access")
            verdict = self._token_access(handshake, verdict)
        if self.target.test_image and verdict.status in (
            Status.CONNECTED,
            Status.CONNECTED_ANONYMOUS,
        ):
            self.enter("checking_access")
            verdict = self._test_image(handshake, challenges, verdict)
        return verdict

    def probe_steps(self, handshake: Handshake, image: str) -> Verdict:
        repository, reference = _parse_image(image, self.provider)
        challenges = handshake.ping()
        self.enter("checking_access")
        self.probe_outcome, response = handshake.probe(repository, reference, challenges)
        reason = _probe_reason(self.probe_outcome, image, handshake.signed_in)
        return Verdict(Status.CONNECTED, reason, response.status)

    def _token_access(self, handshake: Handshake, verdict: Verdict) -> Verdict:
        """What the provider's API says of the token (pull access, expiry); optional, never
        fatal."""
        provider = self.provider
        try:
            facts = provider.read_token(
                handshake.session, self.settings.endpoints, self.target.secret
            )
        except RegistryClientError as exc:
            logger.info(
                "%s API not usable for the scope check (%s)", provider.label, type(exc).__name__
            )
            return verdict
        if facts is None:
            return verdict
        self.learned_expiry = facts.expires_at
        if facts.can_pull is False:
            return Verdict(Status.MISSING_SCOPE, provider.no_pull_access_reason, 200)
        if facts.can_pull is None and not self.target.test_image:
            return replace(verdict, reason=provider.pull_unverified_reason)
        return verdict

    def _test_image(
        self, handshake: Handshake, challenges: list[Challenge], verdict: Verdict
    ) -> Verdict:
        image = self.target.test_image or ""
        repository, reference = _parse_image(image, self.provider)
        outcome, response = handshake.probe(repository, reference, challenges)
        if outcome == "pulls":
            if handshake.signed_in and verdict.status is Status.CONNECTED_ANONYMOUS:
                return Verdict(
                    Status.CONNECTED,
                    f"Signed in, and the credentials can pull {image}.",
                    response.status,
                )
            return replace(verdict, reason=f"{verdict.reason} The image {image} can be pulled.")
        reason = _probe_reason(outcome, image, handshake.signed_in)
        return Verdict(Status.MISSING_SCOPE, reason, response.status)


def _probe_reason(outcome: str, image: str, signed_in: bool) -> str:
    if outcome == "pulls":
        return f"The image {image} can be pulled."
    what = (
        "was not found, or these credentials cannot see it"
        if outcome == "not_found"
        else "cannot be pulled with these credentials (or it does not exist)"
    )
    return f"{'Signed in, but the' if signed_in else 'The'} image {image} {what}."


def _parse_image(text: str, provider: Provider) -> tuple[str, str]:
    """`team/app:1.0` or `team/app@sha256:…` → (repository, tag or digest); `latest` by default."""
    value = text.strip()
    name, at, digest = value.partition("@")
    reference = digest
    if not at:
        head, colon, tag = name.rpartition(":")
        name, reference = (head, tag) if colon and "/" not in tag else (name, "latest")
        if not _TAG.fullmatch(reference):
            raise Stop(Status.ERROR, "The test image has an invalid tag.")
    elif not _DIGEST.fullmatch(reference):
        raise Stop(Status.ERROR, "The test image has an invalid digest.")
    parts = name.split("/")
    if not name or not all(PATH_COMPONENT.fullmatch(part) for part in parts):
        raise Stop(
            Status.ERROR,
            "The test image name is not valid: use lowercase letters, digits and / . _ -.",
        )
    return provider.repository(name), reference
