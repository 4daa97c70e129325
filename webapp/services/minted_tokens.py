"""Tokens the platform mints for a registry (AWS ECR): when to renew, how, and what to store.

A check of a kind whose provider `mints_tokens` signs in with the stored token while it has more
than an hour to live (`aws_ecr.RENEW_BEFORE_SECONDS`) and mints a new one otherwise, or whenever a
person asked for the check (Connect, Check now: the AWS setup is what they want tested). A past
or missing expiry means "unknown": the token is still used, and renewed at the next sweep
(`renew_at`), which claims each registry once, so at most one renewal per sweep. A renewal that
fails keeps the old token (the check's status says why); the runner API hands out the stored
token, never the AWS keys. Renewal is the check itself, so it runs on the check executors.

Only this module and `credentials` touch the token's ciphertext; decryption of the secret access
key happens right before the AWS call, in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app

from ..models import Registry
from ..registry_client.ecr_tokens import AwsSignIn, MintedToken, MintRefused, mint
from ..registry_client.providers import aws_ecr
from ..registry_client.statuses import Status
from . import credentials
from .vault import CredentialsUnreadable

RENEW_BEFORE = timedelta(seconds=aws_ecr.RENEW_BEFORE_SECONDS)


def expiry_known(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at > now


def needs_renewal(registry: Registry, now: datetime) -> bool:
    if registry.token_ciphertext is None:
        return True
    expires = registry.token_expires_at
    return not expiry_known(expires, now) or expires - RENEW_BEFORE <= now  # type: ignore[operator]


def renew_at(expires_at: datetime | None, now: datetime) -> datetime:
    """When the sweep should renew a token that expires at `expires_at`: an hour before, or at
    the next sweep when the expiry is unknown (past or missing)."""
    if not expiry_known(expires_at, now):
        return now
    return max(now, expires_at - RENEW_BEFORE)  # type: ignore[operator]


def platform_role_arn() -> str | None:
    return current_app.config.get("AWS_PLATFORM_ROLE_ARN") or None


@dataclass
class Prepared:
    """What a check needs, read (and decrypted) before the network work: the stored token to
    use, or how to mint a new one; `failure` when neither is possible."""

    stored: str | None = field(default=None, repr=False)
    sign_in: AwsSignIn | None = None
    failure: MintRefused | None = None


def prepare(registry: Registry, now: datetime, force: bool) -> Prepared:
    stored = None
    if registry.token_ciphertext is not None:
        try:
            stored = credentials.read_token(registry)
        except CredentialsUnreadable:
            stored = None  # mint a new one
    if stored is not None and not force and not needs_renewal(registry, now):
        return Prepared(stored=stored)
    try:
        host = aws_ecr.parse_host(registry.host)
    except aws_ecr.AwsAddressError as error:
        return Prepared(stored, failure=MintRefused(Status.NOT_A_REGISTRY, str(error)))
    if registry.aws_auth_mode == aws_ecr.ROLE:
        sign_in = AwsSignIn(
            host,
            aws_ecr.ROLE,
            role_arn=registry.aws_role_arn,
            external_id=registry.aws_external_id,
            session_name=aws_ecr.session_name(registry.id),
        )
        if platform_role_arn() is None:
            return Prepared(stored, failure=MintRefused(
                Status.ERROR,
                "The platform has no AWS identity to assume roles with: the operator must set "
                "AWS_PLATFORM_ROLE_ARN.",
            ))
        return Prepared(stored, sign_in=sign_in)
    try:
        secret = credentials.read_secret(registry)
    except CredentialsUnreadable:
        return Prepared(stored, failure=MintRefused(
            Status.UNREADABLE, "The stored secret access key cannot be decrypted."
        ))
    sign_in = AwsSignIn(
        host,
        aws_ecr.ACCESS_KEY,
        access_key_id=registry.aws_access_key_id,
        secret_access_key=secret,
    )
    del secret
    return Prepared(stored, sign_in=sign_in)


def obtain(prepared: Prepared, deadline_seconds: float) -> tuple[str | None, MintedToken | None]:
    """(password to sign in with, the token minted now or None); MintRefused when a token was
    needed and AWS did not give one (the caller keeps the stored one)."""
    if prepared.failure is not None:
        raise prepared.failure
    if prepared.sign_in is None:
        return prepared.stored, None
    minted = mint(prepared.sign_in, deadline_seconds)
    return minted.password, minted


def stored_values(registry: Registry, minted: MintedToken, now: datetime) -> dict[str, object]:
    """The columns a freshly minted token is written to (sealed for this registry)."""
    sealed = credentials.seal_token(registry, minted.password)
    return {
        "token_ciphertext": sealed.blob,
        "token_key_id": sealed.key_id,
        "token_expires_at": minted.expires_at,
        "token_minted_at": now,
    }
