"""Runner tokens: an org's (its self-hosted machines) or the platform's (the managed fleet).

- A token is `PREFIX` + 43 random url-safe characters + a 6-character checksum, so secret
  scanners can recognise a leaked one (and tell a typo from a guess) without asking us.
- Only its SHA-256 is stored; `authenticate` looks the hash up (unique index) and confirms the
  match in constant time.
- Every call reads the token row: a revocation or an expiry takes effect on the next request in
  every process (nothing caches a token), well within the 2 s the contract promises.
- Names are unique per org and among platform tokens.

Who may create which: the CLI creates either kind (`--org SLUG` or `--platform`); an org's
admins create only their org's tokens (the runner tokens page). Audit rows are written by the
callers, who know the actor (`record_created`, `record_revoked`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Organization, RunnerToken, User, utcnow
from . import audit

PREFIX = "prt_"
#: Tokens minted before scopes existed (now platform tokens) keep working.
LEGACY_PREFIXES = ("rt_",)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: What the tokens page offers; the CLI takes any number of days.
EXPIRY_DAYS = (30, 90, 365)
_CHECKSUM_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class RunnerTokenError(ValueError):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode())
    digits = []
    for _ in range(6):
        value, digit = divmod(value, 36)
        digits.append(_CHECKSUM_ALPHABET[digit])
    return "".join(digits)


def looks_like_token(token: str) -> bool:
    """Is this shaped like one of our tokens (prefix and checksum)? No database involved."""
    if len(token) > 200:
        return False
    if token.startswith(LEGACY_PREFIXES):
        return True
    if not token.startswith(PREFIX):
        return False
    body, check = token[len(PREFIX) : -6], token[-6:]
    return bool(body) and hmac.compare_digest(_checksum(body), check)


def scope_label(row: RunnerToken) -> str:
    return "platform" if row.org_id is None else f"org {row.org.slug}"


def _named(name: str, org: Organization | None) -> RunnerToken | None:
    where = RunnerToken.org_id.is_(None) if org is None else RunnerToken.org_id == org.id
    return db.session.scalar(select(RunnerToken).where(where, RunnerToken.name == name))


def create(
    name: str,
    *,
    org: Organization | None = None,
    created_by: User | None = None,
    expires_in_days: int | None = None,
) -> tuple[str, RunnerToken]:
    """A new token for `org` (None: a platform token); the token string is returned only here."""
    if not NAME_PATTERN.match(name):
        raise RunnerTokenError(
            "the name must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if _named(name, org) is not None:
        where = "among platform tokens" if org is None else f"in {org.slug}"
        raise RunnerTokenError(f"a runner token named {name!r} already exists {where}")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise RunnerTokenError("the expiry must be between 1 and 3650 days")
    body = secrets.token_urlsafe(32)
    token = PREFIX + body + _checksum(body)
    now = utcnow()
    row = RunnerToken(
        name=name,
        token_hash=_hash(token),
        org_id=org.id if org is not None else None,
        org=org,
        created_by_id=created_by.id if created_by is not None else None,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(row)
    return token, row


def tokens_of(org: Organization | None) -> list[RunnerToken]:
    """An org's tokens, or (None) the platform's, newest first."""
    where = RunnerToken.org_id.is_(None) if org is None else RunnerToken.org_id == org.id
    query = (
        select(RunnerToken)
        .where(where)
        .options(selectinload(RunnerToken.created_by), selectinload(RunnerToken.org))
        .order_by(RunnerToken.created_at.desc(), RunnerToken.id.desc())
    )
    return list(db.session.scalars(query))


def all_tokens() -> list[RunnerToken]:
    return list(db.session.scalars(select(RunnerToken).order_by(RunnerToken.name)))


def find(org: Organization | None, token_id: int) -> RunnerToken | None:
    """The token `token_id` of exactly this scope (another org's answers None: a 404)."""
    row = db.session.get(RunnerToken, token_id)
    if row is None or row.org_id != (org.id if org is not None else None):
        return None
    return row


def revoke(name: str, org: Organization | None = None) -> RunnerToken:
    row = _named(name, org)
    if row is None:
        where = "among platform tokens" if org is None else f"in {org.slug}"
        raise RunnerTokenError(f"there is no runner token named {name!r} {where}")
    revoke_row(row)
    return row


def revoke_row(row: RunnerToken) -> bool:
    """Revoke; False when it already was."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


def record_created(row: RunnerToken, actor: audit.Actor | None = None) -> None:
    audit.record(
        "runner_token.created",
        org=row.org_id,
        target=("runner_token", str(row.id), row.name),
        details={
            "scope": "platform" if row.org_id is None else "org",
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        },
        actor=actor,
    )


def record_revoked(row: RunnerToken, actor: audit.Actor | None = None) -> None:
    audit.record(
        "runner_token.revoked",
        org=row.org_id,
        target=("runner_token", str(row.id), row.name),
        details={"scope": "platform" if row.org_id is None else "org"},
        actor=actor,
    )


def authenticate(token: str, now: datetime | None = None) -> RunnerToken | None:
    """The live token this string is, or None; the hash match is confirmed in constant time."""
    if not looks_like_token(token):
        return None
    digest = _hash(token)
    row = db.session.scalar(select(RunnerToken).where(RunnerToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.status(now) != "active":
        return None
    return row
