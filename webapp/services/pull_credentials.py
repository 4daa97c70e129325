"""Using a registry's pull credentials: handing them to a runner, and probing a pull with them.

It decrypts a secret only right before use (see `credentials` for who else does): `hand_off`
for the runner API and `probe_pull` for a private tool's Check pull.

The runner API's whole decision lives in `hand_off`, free of HTTP: parse the reference, find
the org, refuse unless it is Enterprise, resolve, decrypt, build the Docker `auths` entry,
audit. Refusals are `HandOffRefused` with the error code of design.md's contract; the
view maps codes to HTTP statuses.

Any active registry whose secret decrypts is handed out, whatever our last check said: a runner
may reach a registry that our checker cannot (another network), and it gets the status and the
time of the last check to decide for itself.

Hand-offs are audited as one row per runner token, registry and UTC hour, counting up, so a busy
runner does not flood the log; the row never holds the secret. The token's `last_used_at` is
written at most once a minute, so the hot path does not update the token row every time.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import update

from ..database import writing
from ..extensions import db
from ..models import Organization, Registry, RunnerToken, utcnow
from ..registry_client import providers
from ..registry_client.check import probe_manifest, run_check
from ..registry_client.providers import auth_key
from ..registry_client.reference import ImageReference, InvalidReference, parse_reference
from ..registry_client.statuses import Status
from . import accounts, audit, checks, credentials, pull_tokens, resolution
from .vault import CredentialsUnreadable

__all__ = ["HandOff", "HandOffRefused", "auth_entry", "hand_off", "probe_pull", "server_key"]

log = logging.getLogger(__name__)

ACTION = "registry.credentials_handed_out"
PULL_TOKEN_ACTION = "registry.pull_token_handed_out"  # noqa: S105 - an audit action
#: How stale `last_used_at` may get before a hand-off writes it again.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class HandOffRefused(Exception):
    """No credentials for this request; `code` is the runner API's error code."""

    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason


@dataclass(frozen=True)
class HandOff:
    """What the runner receives: which registry, the credential's kind and expiry, and an
    `auths` object (auth.json for a password, config.json's `registrytoken` for a pull token,
    which is also in `token`)."""

    registry: Registry
    auths: dict[str, dict[str, str]] = field(repr=False)
    kind: str = "password"
    expires_at: datetime | None = None
    token: str | None = field(default=None, repr=False)


#: What a runner may ask for; "password" is the default, since auth.json readers (skopeo,
#: podman) cannot use a bare registry token.
CREDENTIALS = ("password", "pull_token", "auto")
CREDENTIAL_PULL_TOKEN = "pull_token"  # noqa: S105 - a credential kind, not a password


def server_key(registry: Registry) -> str:
    """The `auths` key Docker and containers/image look up for this registry's images."""
    return auth_key(registry.host)


def auth_entry(username: str, secret: str) -> dict[str, str]:
    """One `auths` value; `auth` is what Docker itself writes, the others what podman reads."""
    token = base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")
    return {"username": username, "password": secret, "auth": token}


def hand_off(
    token: RunnerToken,
    organization: str | None,
    image: str,
    *,
    address: str | None = None,
    credential: str = "password",
) -> HandOff:
    """The credentials for `image` of the org `organization`, or `HandOffRefused`.

    Writes what it must in its own short transactions: the token's use (at most once a minute,
    with the caller's `address`) and the audit row of the bucket (repeats are counted in memory,
    see `audit.record_counted`). An unknown org is refused as `no_matching_registry`, like an
    org with no registry for the image: a token does not learn which org slugs exist.

    An org token serves only its own org: `organization` may be omitted (None), and any other
    org, real or not, gets exactly the unknown org's refusal. A platform token must name one.
    """
    now = utcnow()
    _note_use(token, now, address)
    try:
        reference = parse_reference(image)
    except InvalidReference as error:
        raise HandOffRefused("malformed_reference", str(error)) from None
    org = _scoped_org(token, organization)
    if org is None:
        raise HandOffRefused(
            "no_matching_registry", f"no connected registry serves {reference.canonical}"
        )
    if not org.is_enterprise:
        raise HandOffRefused(
            "not_enterprise", "private container registries need the Enterprise plan"
        )
    found = resolution.resolve(org.id, reference)
    registry = found.registry
    if registry is None:
        # The same words as for an unknown org: a token does not learn which orgs exist.
        raise HandOffRefused(
            "no_matching_registry", f"no connected registry serves {reference.canonical}"
        )
    actor = audit.Actor("runner", str(token.id), f"runner token {token.name}")
    provider = providers.get(registry.kind)
    if provider.mints_tokens:
        # The platform's own minted token (AWS ECR) is what "password" and "auto" hand out.
        secret, expires_at = _minted(registry, credential)
    else:
        if credential != "password":
            handed = _pull_token(registry, reference, fallback=credential == "auto")
            if handed is not None:
                audit.record_counted(
                    f"pulltoken:{token.id}:{registry.id}:{now:%Y-%m-%dT%H}",
                    PULL_TOKEN_ACTION,
                    org=org.id,
                    target=("registry", str(handed.registry.id), handed.registry.name),
                    details={"first_image": reference.canonical},
                    actor=actor,
                )
                log.info("handed a pull token of registry %s to runner token %s",
                         handed.registry.id, token.id)
                return handed
        secret = _read_secret(registry)
        expires_at = password_expiry(registry)
    auths = {server_key(registry): auth_entry(registry.username, secret)}
    del secret
    audit.record_counted(
        f"pull:{token.id}:{registry.id}:{now:%Y-%m-%dT%H}",
        ACTION,
        org=org.id,
        target=("registry", str(registry.id), registry.name),
        details={"first_image": reference.canonical},
        actor=actor,
    )
    log.info("handed pull credentials of registry %s to runner token %s", registry.id, token.id)
    return HandOff(
        registry=registry,
        auths=auths,
        kind=provider.password_credential_kind,
        expires_at=expires_at,
    )


def password_expiry(registry: Registry) -> datetime | None:
    """When a handed-out password stops working, where we know it (ECR's 12 hours)."""
    if providers.get(registry.kind).password_credential_kind == "password":  # noqa: S105
        return None
    return registry.expires_at


def _read_secret(registry: Registry) -> str:
    try:
        return credentials.read_secret(registry)
    except CredentialsUnreadable:
        raise _unreadable(registry) from None


def _unreadable(registry: Registry) -> HandOffRefused:
    log.warning("pull credentials of registry %s are unreadable", registry.id)
    return HandOffRefused(
        "credentials_unreadable",
        f"the credentials of registry {registry.name!r} cannot be decrypted; an admin "
        "must enter them again",
    )


def _pull_token(registry: Registry, reference: ImageReference, *, fallback: bool) -> HandOff | None:
    """A pull-token hand-off, or None when `fallback` and the registry mints no tokens."""
    registry_id, name = registry.id, registry.name
    try:
        minted = pull_tokens.obtain(registry, reference)
    except pull_tokens.PullTokenUnsupported:
        if fallback:
            return None
        raise HandOffRefused(
            "pull_token_unsupported",
            f"registry {name!r} signs in with a password only and mints no pull tokens; "
            'ask for "credential": "password" (or "auto")',
        ) from None
    except CredentialsUnreadable:
        raise _unreadable(registry) from None
    except pull_tokens.TokenExchangeFailed as failed:
        log.info("pull token exchange with registry %s failed: %s", registry_id, failed.status)
        raise HandOffRefused(
            "token_exchange_failed",
            f"the token exchange with registry {name!r} failed: {failed.reason}",
            reason=failed.status,
        ) from None
    server = server_key(registry)
    return HandOff(
        registry=registry,
        auths={server: {"registrytoken": minted.token}},
        kind="pull_token",
        expires_at=minted.expires_at,
        token=minted.token,
    )


def _minted(registry: Registry, credential: str) -> tuple[str, datetime | None]:
    """The current minted token (AWS ECR) and its expiry, never the AWS keys behind it."""
    if credential == CREDENTIAL_PULL_TOKEN:
        raise HandOffRefused(
            "pull_token_unsupported",
            f"registry {registry.name!r} is AWS ECR, which signs in with Basic credentials "
            "only: ask for \"auto\" to get its current ECR token",
        )
    try:
        token = credentials.read_token(registry)
    except CredentialsUnreadable:
        log.warning("minted token of registry %s is missing or unreadable", registry.id)
        raise HandOffRefused(
            "token_unavailable",
            f"registry {registry.name!r} has no current ECR token; the platform mints one at "
            "its next check (an admin can use Check now)",
        ) from None
    return token, registry.token_expires_at


@dataclass(frozen=True)
class _OrgFacts:
    id: int
    is_enterprise: bool
    fetched: float


#: How long the runner API trusts what it read of an org (its id and plan): a plan change takes
#: effect within this, and the hot path saves a query per hand-off.
ORG_FACTS_SECONDS = 2.0


def _scoped_org(token: RunnerToken, organization: str | None) -> _OrgFacts | None:
    """The org this token may ask about under this name, or None (answered as unknown)."""
    if token.org_id is None:
        return _org_facts(organization) if organization is not None else None
    if organization is None:
        return _org_facts_by_id(token.org_id)
    facts = _org_facts(organization)
    # Another org's slug gets what a made-up one gets, whichever org it names.
    return facts if facts is not None and facts.id == token.org_id else None


def _org_facts_by_id(org_id: int) -> _OrgFacts | None:
    cache: dict[int, _OrgFacts] = current_app.extensions.setdefault("runner_org_facts_by_id", {})
    facts = cache.get(org_id)
    if facts is not None and time.monotonic() - facts.fetched < ORG_FACTS_SECONDS:
        return facts
    org = db.session.get(Organization, org_id)
    if org is None:
        cache.pop(org_id, None)
        return None
    if len(cache) > 10_000:
        cache.clear()
    cache[org_id] = facts = _OrgFacts(org.id, org.is_enterprise, time.monotonic())
    return facts


def _org_facts(slug: str) -> _OrgFacts | None:
    if not accounts.SLUG_PATTERN.match(slug):
        return None  # not a slug at all: no lookup (and no NUL or lone surrogate reaches SQL)
    cache: dict[str, _OrgFacts] = current_app.extensions.setdefault("runner_org_facts", {})
    facts = cache.get(slug)
    if facts is not None and time.monotonic() - facts.fetched < ORG_FACTS_SECONDS:
        return facts
    org = accounts.find_org(slug)
    if org is None:
        cache.pop(slug, None)
        return None
    if len(cache) > 10_000:
        cache.clear()
    cache[slug] = facts = _OrgFacts(org.id, org.is_enterprise, time.monotonic())
    return facts


def probe_pull(registry: Registry, reference: ImageReference) -> tuple[str, str]:
    """Can `registry`'s credentials pull `reference`? (outcome, reason) for Check pull.

    The outcome is "pulls", "not_found", "no_access" or the registry's failure status. The
    secret is decrypted right before use, and the read transaction ends before the network work
    (the caller's session is committed).

    A registry with Basic sign-in answers a wrong password and a missing permission alike (401
    on the manifest), so "no access" is confirmed with a sign-in check: "no access" means the
    credentials sign in but cannot read this image, and a refused sign-in is the registry's
    failure (`auth_failed`, …).
    """
    minted = providers.get(registry.kind).mints_tokens
    try:
        secret = (credentials.read_token if minted else credentials.read_secret)(registry)
    except CredentialsUnreadable:
        if minted:
            return str(Status.EXPIRED), "The registry has no current token; use Check now."
        return str(Status.UNREADABLE), "The registry's stored credentials cannot be decrypted."
    target = replace(checks.target_for(registry, secret), test_image=None)
    del secret
    db.session.commit()
    settings = checks.client_settings()
    image = reference.path + (f"@{reference.digest}" if reference.digest else f":{reference.tag}")
    probe = probe_manifest(target, settings, image)
    if probe.outcome == "no_access":
        sign_in = run_check(target, settings)
        if sign_in.status not in checks.HEALTHY:
            return str(sign_in.status), sign_in.reason
    return probe.outcome, probe.reason


def _note_use(token: RunnerToken, now: datetime, address: str | None) -> None:
    last = token.last_used_at
    if (
        last is not None
        and now - last < LAST_USED_RESOLUTION
        and (address is None or address == token.last_used_address)
    ):
        return
    db.session.commit()
    with writing():
        db.session.execute(
            update(RunnerToken)
            .where(RunnerToken.id == token.id)
            .values(last_used_at=now, last_used_address=(address or "")[:45] or None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
