"""Sealing and opening a registry's secret, and rotating every secret to the newest key.

Who decrypts, and only right before use: the check service and the pull-credential service
(to use a secret), the registry service when an edit keeps the stored secret (to seal it again
for the registry's new settings; it never leaves the service), and key rotation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import flag_modified

from ..database import writing
from ..extensions import db
from ..models import Registry, utcnow
from ..registry_client.address import DEFAULT_PORTS
from .vault import (
    TOKEN_PURPOSE,
    CredentialsUnreadable,
    Sealed,
    Vault,
    associated_data,
    fingerprint_owner,
)


def host_port(scheme: str, host: str) -> str:
    """`host` as stored (default port omitted, IPv6 bracketed) with the port made explicit."""
    if host.endswith("]") or ":" not in host:
        return f"{host}:{DEFAULT_PORTS.get(scheme, 443)}"
    return host


def endpoint(scheme: str, host: str) -> str:
    """`https://host:port`: what a secret is bound to. A new host, port or scheme (https to a
    cleartext http) means the secret must be entered again."""
    scheme = scheme or "https"  # the column default, before the row is flushed
    return f"{scheme}://{host_port(scheme, host)}"


def vault() -> Vault:
    return current_app.extensions["vault"]


def registry_aad(registry: Registry) -> bytes:
    if registry.id is None or registry.org_id is None:
        raise ValueError("a registry needs its id and org before its secret is sealed")
    return associated_data(registry.org_id, registry.id, endpoint(registry.scheme, registry.host))


def token_aad(registry: Registry) -> bytes:
    """A minted token's associated data: its own purpose, bound to the row like the secret."""
    if registry.id is None or registry.org_id is None:
        raise ValueError("a registry needs its id and org before a token is sealed")
    return associated_data(
        registry.org_id, registry.id, endpoint(registry.scheme, registry.host), TOKEN_PURPOSE
    )


def seal_token(registry: Registry, token: str) -> Sealed:
    """A minted token sealed for this registry (the caller writes it with its expiry)."""
    return vault().seal(token, token_aad(registry))


def read_token(registry: Registry) -> str:
    if registry.token_ciphertext is None or registry.token_key_id is None:
        raise CredentialsUnreadable()
    sealed = Sealed(registry.token_key_id, registry.token_ciphertext)
    return vault().open(sealed, token_aad(registry))


def forget_token(registry: Registry) -> None:
    registry.token_ciphertext = None
    registry.token_key_id = None
    registry.token_expires_at = None
    registry.token_minted_at = None


def store_secret(registry: Registry, secret: str, now: datetime | None = None) -> None:
    box = vault()
    sealed = box.seal(secret, registry_aad(registry))
    registry.secret_ciphertext = sealed.blob
    registry.secret_key_id = sealed.key_id
    registry.secret_fingerprint = box.fingerprint(sealed.key_id, _owner(registry), secret)
    # The key id (and the fingerprint made with that key) are written with every ciphertext,
    # even when they equal what this session loaded: a rotation may have rewritten the row since
    # (it leaves the version alone), and a ciphertext under the key id of another key is lost.
    flag_modified(registry, "secret_key_id")
    flag_modified(registry, "secret_fingerprint")
    registry.secret_replaced_at = now or utcnow()


def _owner(registry: Registry) -> bytes:
    return fingerprint_owner(registry.org_id, registry.id)


def read_secret(registry: Registry) -> str:
    if registry.secret_ciphertext is None or registry.secret_key_id is None:
        raise CredentialsUnreadable()
    sealed = Sealed(registry.secret_key_id, registry.secret_ciphertext)
    return vault().open(sealed, registry_aad(registry))


def forget_secret(registry: Registry) -> None:
    registry.secret_ciphertext = None
    registry.secret_key_id = None


@dataclass(frozen=True)
class Unreadable:
    registry_id: object
    org_slug: str
    name: str


@dataclass
class RotationReport:
    rotated: int = 0
    unreadable: list[Unreadable] = field(default_factory=list)
    # Key id -> secrets still sealed with it when the run ended (not counting the unreadable).
    on_older_keys: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Nothing needs an older key any more: they can be dropped from CREDENTIAL_KEYS."""
        return not self.unreadable and not self.on_older_keys


# A row rewritten under rotation this many times (a process on an older key ring keeps
# replacing it) is left for the next run rather than retried for ever.
MAX_CONFLICTS = 3


def rotate_all(batch_size: int = 200) -> RotationReport:
    """Re-encrypt every secret not yet under the newest key, one committed batch at a time,
    and give every secret its fingerprint; then count what is still on older keys.

    Processes still running with an older primary key (a rolling restart) keep writing while
    this runs, so each row is rewritten with a compare-and-set on the ciphertext it read: a
    secret replaced meanwhile is never reverted, only read again and re-encrypted. A Core update
    leaves the row's version alone, so an admin's open edit form is not made stale by a
    rotation. Safe to interrupt and run again.
    """
    box = vault()
    report = RotationReport()
    skipped: set[object] = set()
    conflicts: Counter[object] = Counter()
    needs_rotation = or_(
        Registry.secret_key_id.is_(None),
        Registry.secret_key_id != box.ring.primary_id,
        Registry.secret_fingerprint.is_(None),
    )
    with writing():  # SQLite: read and compare-and-set under one write lock
        while True:
            query = (
                select(Registry)
                .where(Registry.secret_ciphertext.is_not(None), needs_rotation)
                .order_by(Registry.id)
                .limit(batch_size + len(skipped))
            )
            rows = [row for row in db.session.scalars(query) if row.id not in skipped]
            if not rows:
                break
            for registry in rows[:batch_size]:
                _rotate_one(box, registry, report, skipped, conflicts)
            db.session.commit()
            db.session.expire_all()
        _rotate_tokens(box, batch_size, report)
        report.on_older_keys = _still_on_older_keys(box, {u.registry_id for u in report.unreadable})
        db.session.commit()
    return report


def _rotate_one(
    box: Vault,
    registry: Registry,
    report: RotationReport,
    skipped: set[object],
    conflicts: Counter[object],
) -> None:
    try:
        secret = read_secret(registry)
    except CredentialsUnreadable:
        skipped.add(registry.id)
        report.unreadable.append(Unreadable(registry.id, registry.org.slug, registry.name))
        return
    sealed = box.seal(secret, registry_aad(registry))
    fingerprint = box.fingerprint(sealed.key_id, _owner(registry), secret)
    del secret
    written = db.session.execute(
        update(Registry)
        .where(Registry.id == registry.id)
        # What was read, not just its key id: a secret replaced since (under any key) stays.
        .where(Registry.secret_ciphertext == registry.secret_ciphertext)
        .where(Registry.secret_key_id == registry.secret_key_id)
        .values(
            secret_ciphertext=sealed.blob,
            secret_key_id=sealed.key_id,
            secret_fingerprint=fingerprint,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    report.rotated += written
    if not written:
        conflicts[registry.id] += 1
        if conflicts[registry.id] >= MAX_CONFLICTS:
            skipped.add(registry.id)


def _rotate_tokens(box: Vault, batch_size: int, report: RotationReport) -> None:
    """Minted tokens (AWS ECR) under an older key, re-sealed the same way (compare-and-set). One
    that cannot be opened is dropped: the platform mints a new one at the next check."""
    skipped: set[object] = set()
    while True:
        query = (
            select(Registry)
            .where(
                Registry.token_ciphertext.is_not(None),
                or_(Registry.token_key_id.is_(None), Registry.token_key_id != box.ring.primary_id),
            )
            .order_by(Registry.id)
            .limit(batch_size + len(skipped))
        )
        rows = [row for row in db.session.scalars(query) if row.id not in skipped]
        if not rows:
            break
        for registry in rows[:batch_size]:
            try:
                token = read_token(registry)
            except CredentialsUnreadable:
                values: dict[str, object] = {"token_ciphertext": None, "token_key_id": None}
            else:
                sealed = box.seal(token, token_aad(registry))
                del token
                values = {"token_ciphertext": sealed.blob, "token_key_id": sealed.key_id}
            written = db.session.execute(
                update(Registry)
                .where(Registry.id == registry.id)
                .where(Registry.token_ciphertext == registry.token_ciphertext)
                .values(**values)
                .execution_options(synchronize_session=False)
            ).rowcount
            report.rotated += written
            if not written:
                skipped.add(registry.id)
        db.session.commit()
        db.session.expire_all()


def _still_on_older_keys(box: Vault, unreadable: set[object]) -> dict[str, int]:
    query = select(Registry.id, Registry.secret_key_id).where(
        Registry.secret_ciphertext.is_not(None),
        or_(Registry.secret_key_id.is_(None), Registry.secret_key_id != box.ring.primary_id),
    )
    counts = Counter(
        key_id or "none" for registry_id, key_id in db.session.execute(query)
        if registry_id not in unreadable
    )
    tokens = select(Registry.token_key_id).where(
        Registry.token_ciphertext.is_not(None),
        or_(Registry.token_key_id.is_(None), Registry.token_key_id != box.ring.primary_id),
    )
    counts.update(key_id or "none" for key_id in db.session.scalars(tokens))
    return dict(sorted(counts.items()))
