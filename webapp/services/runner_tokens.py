"""Runner tokens: shown once at creation, stored only as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from sqlalchemy import select

from ..extensions import db
from ..models import TOKEN_PERMISSIONS, Organization, RunnerToken, utcnow

PREFIX = "rt_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RunnerTokenError(ValueError):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    name: str, org: Organization | None = None, permissions: Iterable[str] = ("pull",)
) -> tuple[str, RunnerToken]:
    """A new token (returned once, in clear) and its row. `org`: the org it acts for (the REST
    API needs one); `permissions`: a non-empty subset of TOKEN_PERMISSIONS."""
    granted = [p for p in TOKEN_PERMISSIONS if p in set(permissions)]
    unknown = set(permissions) - set(TOKEN_PERMISSIONS)
    if unknown or not granted:
        raise RunnerTokenError(
            f"permissions are one or more of {', '.join(TOKEN_PERMISSIONS)}"
        )
    if not NAME_PATTERN.match(name):
        raise RunnerTokenError(
            "the name must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if db.session.scalar(select(RunnerToken).where(RunnerToken.name == name)) is not None:
        raise RunnerTokenError(f"a runner token named {name!r} already exists")
    token = PREFIX + secrets.token_urlsafe(32)
    row = RunnerToken(
        name=name,
        token_hash=_hash(token),
        org_id=org.id if org is not None else None,
        permissions=",".join(granted),
    )
    db.session.add(row)
    return token, row


def all_tokens() -> list[RunnerToken]:
    return list(db.session.scalars(select(RunnerToken).order_by(RunnerToken.name)))


def revoke(name: str) -> RunnerToken:
    row = db.session.scalar(select(RunnerToken).where(RunnerToken.name == name))
    if row is None:
        raise RunnerTokenError(f"there is no runner token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def authenticate(token: str) -> RunnerToken | None:
    """The live token this string is, or None; the hash match is confirmed in constant time."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    digest = _hash(token)
    row = db.session.scalar(select(RunnerToken).where(RunnerToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at:
        return None
    return row
