"""What the app does with registries: saving the wizard's drafts, activation, save anyway,
discard, and the action menu's changes. Which draft a wizard form names, and connecting it, is
`drafts`.

Names are unique per org (case-insensitive) and addresses (host and namespace) too, among active
registries; the partial unique indexes back these checks up against races. A secret is sealed
the moment it arrives and never leaves this layer except to the check and pull services.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, func, literal_column, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError

from .. import paging
from ..extensions import db
from ..models import ACTIVE_REGISTRY, Organization, Registry, User, utcnow
from ..registry_client import statuses
from . import audit, credentials
from .vault import CredentialsUnreadable


class RegistryConflict(ValueError):
    """A name or address already taken by an active registry; `field` says which."""

    def __init__(self, field: str, message: str, existing: Registry):
        super().__init__(message)
        self.field, self.existing = field, existing


class SecretRequired(ValueError):
    pass


@dataclass(frozen=True)
class RegistryDetails:
    """What a registry settings form yields, validated: where the registry is and how to sign
    in. `secret` None means "keep the stored one"."""

    kind: str
    name: str
    scheme: str
    host: str
    namespace: str
    username: str
    secret: str | None
    ca_certificate: str | None = None
    test_image: str | None = None
    #: AWS ECR: how the platform mints tokens ("role" or "access_key"); the role's ARN, the
    #: external ID generated for the draft (an existing registry keeps its own), the access key
    #: ID (its secret access key is `secret`). A role needs no secret at all.
    aws_auth_mode: str | None = None
    aws_role_arn: str | None = None
    aws_external_id: str | None = None
    aws_access_key_id: str | None = None

    @property
    def needs_secret(self) -> bool:
        return self.aws_auth_mode != "role"


def get(
    org: Organization, registry_id: uuid.UUID | str, states=("draft", "active")
) -> Registry | None:
    try:
        key = uuid.UUID(str(registry_id))
    except ValueError:
        return None
    registry = db.session.get(Registry, key)
    if registry is None or registry.org_id != org.id or registry.state not in states:
        return None
    return registry


def active(org: Organization) -> list[Registry]:
    query = (
        select(Registry)
        .where(Registry.org_id == org.id, ACTIVE_REGISTRY)
        .order_by(func.lower(Registry.name))
    )
    return list(db.session.scalars(query))


#: What a row of the registry list shows, read as plain rows (no ORM objects): the row template
#: reads these attribute names from a row or a Registry alike.
ROW_COLUMNS = (
    Registry.id,
    Registry.kind,
    Registry.name,
    Registry.name_key,  # the order
    Registry.scheme,  # the "HTTP — not encrypted" badge
    Registry.host,
    Registry.namespace,
    Registry.username,
    Registry.status,
    Registry.status_reason,
    Registry.last_checked_at,
    Registry.lease_until,
    Registry.check_requested_at,
)


def listing(
    org: Organization, query: str, number: int, *, with_alerts: bool = False
) -> tuple[paging.Page, list]:
    """One page of the org's active registries by name, those whose name, address or username
    contain `query` (case-insensitive), and with `with_alerts` the failing-registry banner's
    (`failing_alerts`), all in one statement: the page's rows (the total rides along as a
    count) UNION ALL the alerts, both by name. A page past the end costs a second statement,
    for the total."""
    params = {
        "org_id": org.id,
        "size": paging.PAGE_SIZE,
        "skip": paging.offset(number),
        "pattern": paging.like_pattern(query),
    }
    found = db.session.execute(_listing_statement(with_alerts, bool(query)), params).all()
    rows = [row for row in found if not row.alert]
    alerts = [row for row in found if row.alert]
    if rows:
        total = rows[0].total
    elif number == 1:
        total = 0
    else:
        count = select(func.count()).select_from(Registry).where(*_listed(bool(query)))
        total = db.session.scalar(count, params)
    return paging.Page(rows, total or 0, number, query), alerts


def _listed(searching: bool) -> list:
    """The list's conditions, with bound parameters `org_id` and (searching) `pattern`."""
    conditions = [Registry.org_id == bindparam("org_id"), ACTIVE_REGISTRY]
    if searching:
        pattern = bindparam("pattern")
        conditions.append(
            or_(
                Registry.name_key.like(pattern, escape=paging.LIKE_ESCAPE),
                Registry.host.like(pattern, escape=paging.LIKE_ESCAPE),
                func.lower(Registry.namespace).like(pattern, escape=paging.LIKE_ESCAPE),
                func.lower(Registry.username).like(pattern, escape=paging.LIKE_ESCAPE),
            )
        )
    return conditions


@functools.cache
def _listing_statement(with_alerts: bool, searching: bool):
    """Built once per shape (building it costs more than running it, on SQLite); the values
    are bound parameters: org_id, size, skip, pattern. Ordered by `name_key`, the lowercased
    name the partial unique index `uq_registries_org_name_active` holds in order, so a page
    is read from the index without sorting the org's registries (sorting by `lower(name)` and
    numbering them with window functions made each registry of the org cost more to select
    than to render); the total is one count of the same conditions."""
    total = (
        select(func.count()).select_from(Registry).where(*_listed(searching)).scalar_subquery()
    )
    rows_part = (
        select(*ROW_COLUMNS, literal_column("0").label("alert"), total.label("total"))
        .where(*_listed(searching))
        .order_by(Registry.name_key, Registry.id)
        .limit(bindparam("size"))
        .offset(bindparam("skip"))
    )
    by_name = [literal_column(name) for name in ("name_key", "id")]
    if not with_alerts:  # a subquery's ORDER BY does not order the select around it
        return select(rows_part.subquery()).order_by(*by_name)
    alerts_part = select(
        *ROW_COLUMNS, literal_column("1").label("alert"), literal_column("0").label("total")
    ).where(Registry.org_id == bindparam("org_id"), *_alerting())
    return union_all(*(select(part.subquery()) for part in (rows_part, alerts_part))).order_by(
        literal_column("alert"), *by_name
    )


def commit(org: Organization, name: str, host: str, namespace: str, exclude: uuid.UUID) -> None:
    """Commit a change to a registry, turning a lost race on the unique indexes (two admins at
    once; on PostgreSQL the checks above do not serialise) into the conflict it is."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise find_conflict(org, name, host, namespace, exclude) or RegistryConflict(
            "name", "Another registry took this name or address just now; try again.", None
        ) from None


def _active_others(org: Organization, exclude: uuid.UUID | None):
    query = select(Registry).where(Registry.org_id == org.id, ACTIVE_REGISTRY)
    return query if exclude is None else query.where(Registry.id != exclude)


def name_conflict(
    org: Organization, name: str, exclude: uuid.UUID | None
) -> RegistryConflict | None:
    taken = db.session.scalar(_active_others(org, exclude).where(Registry.name_key == name.lower()))
    if taken is None:
        return None
    return RegistryConflict("name", "Another registry already has this name.", taken)


def address_conflict(
    org: Organization, host: str, namespace: str, exclude: uuid.UUID | None
) -> RegistryConflict | None:
    taken = db.session.scalar(
        _active_others(org, exclude).where(Registry.host == host, Registry.namespace == namespace)
    )
    if taken is None:
        return None
    return RegistryConflict(
        "address", f"This registry is already connected as “{taken.name}”.", taken
    )


def find_conflict(
    org: Organization, name: str, host: str, namespace: str, exclude: uuid.UUID | None
) -> RegistryConflict | None:
    return name_conflict(org, name, exclude) or address_conflict(org, host, namespace, exclude)


def save_draft(
    org: Organization, user: User | None, details: RegistryDetails, registry_id: uuid.UUID
) -> Registry:
    """Create the draft with this id, or update it (Edit details, or a second click).

    Raises RegistryConflict, or SecretRequired when no secret was given and the stored one
    cannot be kept (there is none, or the registry's host or port changed).
    """
    conflict = find_conflict(org, details.name, details.host, details.namespace, registry_id)
    if conflict is not None:
        raise conflict
    registry = db.session.get(Registry, registry_id)
    created = registry is None
    if created:
        registry = Registry(
            id=registry_id, org_id=org.id, state="draft",
            created_by_id=user.id if user is not None else None,  # None: an API token
        )
    elif registry.org_id != org.id or registry.state != "draft":
        raise ValueError("not a draft of this org")
    secret = _secret_to_seal(None if created else registry, details)
    minted_for = _minting_settings(registry)
    registry.kind = details.kind
    registry.name = details.name
    registry.name_key = details.name.lower()
    _apply_address_and_sign_in(registry, details)
    registry.status, registry.status_reason = "checking", ""
    registry.expires_at = None if details.secret is not None else registry.expires_at
    if created:
        db.session.add(registry)
    # Re-sealed every time: the associated data follows the (possibly new) address.
    _seal_or_forget(registry, secret)
    del secret
    _forget_token_unless(registry, minted_for, details)
    audit.record(
        # A registry is "added" when it becomes active (`activate`, `save_anyway`).
        "registry.draft_saved",
        org=org,
        target=("registry", str(registry_id), details.name),
        details={
            "kind": details.kind,
            "registry": f"{details.host}/{details.namespace}".rstrip("/"),
            "username": details.username,
            "secret_changed": details.secret is not None,
        },
    )
    return registry


def _apply_address_and_sign_in(registry: Registry, details: RegistryDetails) -> None:
    """Where the registry is and who signs in (not the secret: see `_secret_to_seal`)."""
    registry.scheme, registry.host = details.scheme, details.host
    registry.namespace = details.namespace
    registry.username = details.username
    registry.ca_certificate = details.ca_certificate
    registry.test_image = details.test_image
    registry.aws_auth_mode = details.aws_auth_mode
    registry.aws_role_arn = details.aws_role_arn if details.aws_auth_mode == "role" else None
    registry.aws_access_key_id = (
        details.aws_access_key_id if details.aws_auth_mode == "access_key" else None
    )
    if details.aws_auth_mode is not None and registry.aws_external_id is None:
        # Generated before the draft existed (the wizard's token), never changed afterwards.
        registry.aws_external_id = details.aws_external_id


def _minting_settings(registry: Registry | None) -> tuple | None:
    if registry is None:
        return None
    return (
        registry.scheme, registry.host, registry.aws_auth_mode, registry.aws_role_arn,
        registry.aws_access_key_id,
    )


def _forget_token_unless(
    registry: Registry, before: tuple | None, details: RegistryDetails
) -> None:
    """A minted token belongs to the settings it was minted with: new ones, or a new secret
    access key, need a new token."""
    if before != _minting_settings(registry) or details.secret is not None:
        credentials.forget_token(registry)


def _seal_or_forget(registry: Registry, secret: str | None) -> None:
    if secret is None:
        credentials.forget_secret(registry)
        registry.secret_fingerprint = None
    else:
        credentials.store_secret(registry, secret)


def _secret_to_seal(registry: Registry | None, details: RegistryDetails) -> str | None:
    """The secret to seal for these details: the one typed, or the stored one, kept only while
    the registry's scheme, host and port are unchanged (a secret never follows an address).
    None for details that need no secret (an AWS ECR role)."""
    if not details.needs_secret:
        return None
    if details.secret is not None:
        return details.secret
    if registry is None or registry.secret_ciphertext is None:
        raise SecretRequired("Enter the password or token.")
    if credentials.endpoint(registry.scheme, registry.host) != credentials.endpoint(
        details.scheme, details.host
    ):
        raise SecretRequired("The registry address changed — enter the password or token again.")
    try:
        return credentials.read_secret(registry)
    except CredentialsUnreadable:
        raise SecretRequired(
            "The stored secret cannot be read any more — enter it again."
        ) from None


def _added_details(registry: Registry, **more: object) -> dict:
    return {
        "kind": registry.kind,
        "registry": f"{registry.host}/{registry.namespace}".rstrip("/"),
        "username": registry.username,
        "status": registry.status,
        **more,
    }


def activate(registry: Registry, checked_version: int, actor: audit.Actor | None = None) -> bool:
    """Make a draft active after its check passed, as checked; False if its settings changed
    since (the version moved on) or a name or address got taken meanwhile.

    Runs inside the caller's transaction; a savepoint keeps a lost race from undoing the rest.
    The version goes up, so an edit form opened on the draft cannot overwrite the active row.
    """
    try:
        with db.session.begin_nested():
            changed = db.session.execute(
                update(Registry)
                .where(Registry.id == registry.id, Registry.state == "draft")
                .where(Registry.version == checked_version)
                .values(state="active", version=Registry.version + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
    except IntegrityError:
        return False
    if changed:
        audit.record(
            "registry.added",
            org=registry.org_id,
            target=("registry", str(registry.id), registry.name),
            details=_added_details(registry, check="passed"),
            actor=actor,
        )
    return bool(changed)


def save_anyway(org: Organization, registry: Registry) -> None:
    conflict = find_conflict(org, registry.name, registry.host, registry.namespace, registry.id)
    if conflict is not None:
        raise conflict
    registry.state = "active"
    audit.record(
        "registry.added",
        org=org,
        target=("registry", str(registry.id), registry.name),
        details=_added_details(registry, check="saved anyway"),
    )


def discard(org: Organization, registry: Registry) -> None:
    audit.record(
        "registry.draft_discarded",
        org=org,
        target=("registry", str(registry.id), registry.name),
        details={"kind": registry.kind},
    )
    db.session.delete(registry)


def is_check_running(registry: Registry) -> bool:
    leased = registry.lease_until is not None and registry.lease_until > utcnow()
    return leased or registry.check_requested_at is not None


class StaleRegistry(Exception):
    """The registry changed since the form was opened (its version moved on)."""


def check_version(registry: Registry, version: str | int | None) -> None:
    try:
        expected = int(version)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise StaleRegistry() from None
    if expected != registry.version:
        raise StaleRegistry()


def rename(org: Organization, registry: Registry, name: str) -> str:
    conflict = name_conflict(org, name, registry.id)
    if conflict is not None:
        raise conflict
    old = registry.name
    registry.name, registry.name_key = name, name.lower()
    audit.record(
        "registry.renamed",
        org=org,
        target=("registry", str(registry.id), name),
        details={"from": old, "to": name},
    )
    return old


def replace_credentials(org: Organization, registry: Registry, details: RegistryDetails) -> None:
    """New username and secret (and, for a Docker Registry, address and CA) for an active
    registry; a changed host or port always needs the secret again."""
    conflict = address_conflict(org, details.host, details.namespace, registry.id)
    if conflict is not None:
        raise conflict
    secret = _secret_to_seal(registry, details)
    minted_for = _minting_settings(registry)
    _apply_address_and_sign_in(registry, details)
    replaced_at = registry.secret_replaced_at
    # Re-sealed even when kept: the associated data follows the (possibly new) address.
    _seal_or_forget(registry, secret)
    del secret
    _forget_token_unless(registry, minted_for, details)
    if details.secret is None:
        registry.secret_replaced_at = replaced_at  # the same secret: not a replacement
    else:
        registry.expires_at = None
    audit.record(
        "registry.credentials_replaced",
        org=org,
        target=("registry", str(registry.id), registry.name),
        details={
            "registry": f"{details.host}/{details.namespace}".rstrip("/"),
            "username": details.username,
            "secret_changed": details.secret is not None,
        },
    )


def remove(org: Organization, registry: Registry, dependents: int = 0) -> None:
    """Keep a tombstone for the audit trail and check history; the secret is gone for good."""
    credentials.forget_secret(registry)
    credentials.forget_token(registry)
    registry.state = "removed"
    registry.secret_fingerprint = None
    audit.record(
        "registry.removed",
        org=org,
        target=("registry", str(registry.id), registry.name),
        details={"kind": registry.kind, "dependent_tools": dependents},
    )


#: The failing statuses, written into the SQL (our own lowercase words): binding the nine values
#: on every settings page cost 2% of the empty registry page.
_FAILING = tuple(literal_column(f"'{status.value}'") for status in sorted(statuses.FAILING))


def _alerting() -> tuple:
    """What makes an org's registry one the banner lists."""
    return (
        ACTIVE_REGISTRY,
        Registry.last_success_at.is_not(None),
        Registry.status.in_(_FAILING),
        Registry.alert_dismissed_at.is_(None),
    )


def failing_alerts(org: Organization) -> list:
    """Active registries that worked before and fail now, not dismissed: the settings banner.
    Plain rows of what the banner shows (id, name, status, kind), not ORM objects."""
    return list(db.session.execute(_failing_statement(), {"org_id": org.id}))


@functools.cache
def _failing_statement():
    """Built once (every settings page runs it): the org is the bound parameter `org_id`."""
    return (
        select(Registry.id, Registry.name, Registry.status, Registry.kind)
        .where(Registry.org_id == bindparam("org_id"), *_alerting())
        .order_by(Registry.name_key, Registry.id)
    )


def dismiss_alerts(org: Organization) -> int:
    """Hide the failing-registry banner until the next failure; audited per registry."""
    failing = failing_alerts(org)
    for registry in failing:
        audit.record(
            "registry.alert_dismissed",
            org=org,
            target=("registry", str(registry.id), registry.name),
        )
    if failing:
        # A Core update: dismissing a banner must not make open edit forms stale.
        db.session.execute(
            update(Registry)
            .where(Registry.id.in_([registry.id for registry in failing]))
            .values(alert_dismissed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return len(failing)
