"""Sealing and opening a registry's secret, and rotating every secret to the newest key.

Who decrypts, and only right before use: the check service and the pull-credential service
(to use a secret), the registry service when an edit keeps the stored secret (to seal it again
for the registry's new settings; it never leaves the service), and key rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import Registry, utcnow
from .vault import CredentialsUnreadable, Sealed, Vault, associated_data

DEFAULT_PORTS = {"https": 443, "http": 80}


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


def store_secret(registry: Registry, secret: str, now: datetime | None = None) -> None:
    box = vault()
    sealed = box.seal(secret, registry_aad(registry))
    registry.secret_ciphertext = sealed.blob
    registry.secret_key_id = sealed.key_id
    registry.secret_fingerprint = box.fingerprint(secret)
    registry.secret_replaced_at = now or utcnow()


def read_secret(registry: Registry) -> str:
    if registry.secret_ciphertext is None or registry.secret_key_id is None:
        raise CredentialsUnreadable()
    sealed = Sealed(registry.secret_key_id, registry.secret_ciphertext)
    return vault().open(sealed, registry_aad(registry))


def forget_secret(registry: Registry) -> None:
    registry.secret_ciphertext = None
    registry.secret_key_id = None


@dataclass
class RotationReport:
    rotated: int = 0
    unreadable: int = 0


def rotate_all(batch_size: int = 200) -> RotationReport:
    """Re-encrypt every secret not yet under the newest key, one committed batch at a time.

    Safe to interrupt and run again: each row is rewritten with a compare-and-set on its old
    key id, and a Core update leaves the row's version alone, so an admin's open edit form is
    not made stale by a rotation.
    """
    box = vault()
    report = RotationReport()
    skipped: set[object] = set()
    while True:
        query = (
            select(Registry)
            .where(Registry.secret_ciphertext.is_not(None))
            .where(Registry.secret_key_id != box.ring.primary_id)
            .order_by(Registry.id)
            .limit(batch_size + len(skipped))
        )
        rows = [row for row in db.session.scalars(query) if row.id not in skipped][:batch_size]
        if not rows:
            break
        for registry in rows:
            try:
                secret = read_secret(registry)
            except CredentialsUnreadable:
                skipped.add(registry.id)
                report.unreadable += 1
                continue
            sealed = box.seal(secret, registry_aad(registry))
            result = db.session.execute(
                update(Registry)
                .where(Registry.id == registry.id)
                .where(Registry.secret_key_id == registry.secret_key_id)
                .values(secret_ciphertext=sealed.blob, secret_key_id=sealed.key_id)
                .execution_options(synchronize_session=False)
            )
            report.rotated += result.rowcount
        db.session.commit()
        db.session.expire_all()
    return report
