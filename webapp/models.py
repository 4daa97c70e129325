"""The tables, as SQLAlchemy 2.0 typed models.

Times are stored as UTC and come back timezone-aware on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    event,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

PLANS = ("free", "team", "enterprise")
ROLES = ("admin", "member")
CHECK_TRIGGERS = ("connect", "manual", "scheduled", "support")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Naive UTC in the database, aware UTC in Python, whatever the backend does."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    plan: Mapped[str] = mapped_column(String(16), default="free")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_enterprise(self) -> bool:
        return self.plan == "enterprise"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_support: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped at logout: a session cookie minted before the bump no longer loads the user.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="member")

    user: Mapped[User] = relationship(back_populates="memberships")
    org: Mapped[Organization] = relationship()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Registry(db.Model):
    """A connected (or being connected) registry of one org.

    `id` is a UUID made before insert, because it is bound into the secret's ciphertext.
    `host` is the registry's host with a non-default port (`registry.example.com:5000`),
    lowercased; Docker Hub registries use `docker.io` and GitHub ones `ghcr.io`, the hosts
    image references name. Removal keeps a tombstone row (state `removed`) with no secret, so
    the audit trail and check history keep their target.
    """

    __tablename__ = "registries"
    __table_args__ = (
        # Names and addresses are unique among an org's active registries only: a draft or a
        # tombstone never blocks a name.
        Index(
            "uq_registries_org_name_active",
            "org_id",
            "name_key",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
        Index(
            "uq_registries_org_address_active",
            "org_id",
            "host",
            "namespace",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
        Index("ix_registries_org_state_host", "org_id", "state", "host", "namespace"),
        # The failing-registry banner: an org's active registries in a failing status.
        Index("ix_registries_org_state_status", "org_id", "state", "status"),
        Index("ix_registries_due", "state", "next_check_at"),
        # The support console: every org's registries, newest first, and by status.
        Index("ix_registries_state_created", "state", "created_at"),
        Index("ix_registries_state_status", "state", "status", "last_success_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    # lower() can lengthen a name (İ becomes two characters): room for that.
    name_key: Mapped[str] = mapped_column(String(255))
    scheme: Mapped[str] = mapped_column(String(8), default="https")
    host: Mapped[str] = mapped_column(String(255))
    namespace: Mapped[str] = mapped_column(String(255), default="")
    username: Mapped[str] = mapped_column(String(255))
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_key_id: Mapped[str | None] = mapped_column(String(32))
    secret_fingerprint: Mapped[str | None] = mapped_column(String(16))
    secret_replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ca_certificate: Mapped[str | None] = mapped_column(Text)
    test_image: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    status: Mapped[str] = mapped_column(String(32), default="checking")
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who asked for the requested check, and how: a sweep that re-runs it (its worker crashed,
    # its message was lost) records it as theirs, not as a scheduled check.
    check_trigger: Mapped[str | None] = mapped_column(String(16))
    check_requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What a running check is doing now (reaching, signing_in, checking_access), for the UI.
    check_stage: Mapped[str | None] = mapped_column(String(32))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # From the last check that signed in: "bearer" (it mints pull tokens, living
    # pull_token_seconds) or "basic" (password only); None: not known yet.
    sign_in_scheme: Mapped[str | None] = mapped_column(String(16))
    pull_token_seconds: Mapped[int | None] = mapped_column(Integer)
    # AWS ECR (kind `aws_ecr`): how the platform mints its tokens. `aws_auth_mode` is "role"
    # (assume `aws_role_arn` with `aws_external_id`, generated by the platform, never changed)
    # or "access_key" (`aws_access_key_id`, and the secret access key sealed as the registry's
    # secret in `secret_ciphertext`, like every other secret).
    aws_auth_mode: Mapped[str | None] = mapped_column(String(16))
    aws_role_arn: Mapped[str | None] = mapped_column(String(2048))
    aws_external_id: Mapped[str | None] = mapped_column(String(96))
    aws_access_key_id: Mapped[str | None] = mapped_column(String(128))
    # The ECR token the platform minted last, sealed with its own purpose (vault.TOKEN_PURPOSE),
    # and its expiry as AWS told it: kept apart from `expires_at` (the registry's credentials);
    # a past or missing one means "unknown" (still used, renewed at the next sweep).
    token_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_key_id: Mapped[str | None] = mapped_column(String(32))
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    token_minted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alert_dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    org: Mapped[Organization] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def has_secret(self) -> bool:
        return self.secret_ciphertext is not None


#: `state = 'active'` in a query, the literal written into the SQL, never a bound parameter:
#: only then can the planners use the partial indexes declared `WHERE state = 'active'`, and
#: SQLite prepares a statement comparing `state` with a bound value anew on every run (the
#: registry list took 375 µs on an empty org that way, 25 µs with the literal).
ACTIVE_REGISTRY = Registry.state == literal_column("'active'")


class ConnectivityCheck(db.Model):
    """One check of one registry: the history the detail page and support console show."""

    __tablename__ = "connectivity_checks"
    __table_args__ = (Index("ix_checks_registry_started", "registry_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("registries.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(32))
    http_status: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500), default="")
    realm_host: Mapped[str | None] = mapped_column(String(255))
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class PrivateTool(db.Model):
    """A tool of an org and the outcome of its last pull check.

    The pull check queue is these rows: `pull_requested_at` set means a check is asked for (by
    `pull_requested_by_id`, `pull_trigger` manual or scheduled), `pull_lease_until` in the future
    that a worker is running it (see services/pull_checks.py).
    """

    __tablename__ = "private_tools"
    __table_args__ = (
        UniqueConstraint("org_id", "name_key"),
        Index("ix_private_tools_pull_requested", "pull_requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    # lower() can lengthen a name (İ becomes two characters): room for that.
    name_key: Mapped[str] = mapped_column(String(255))
    image: Mapped[str] = mapped_column(String(512))
    pull_status: Mapped[str | None] = mapped_column(String(32))
    pull_reason: Mapped[str] = mapped_column(String(500), default="")
    pull_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pull_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pull_trigger: Mapped[str | None] = mapped_column(String(16))
    pull_requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    pull_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


#: What a token may do. `pull`: fetch pull credentials (the runner API, what every token did
#: before permissions); `read`: registries, tools, checks, audit events of its org; `manage`:
#: create, change and remove them (implies `read`: a write needs the ETag a read gives).
TOKEN_PERMISSIONS = ("pull", "read", "manage")


class RunnerToken(db.Model):
    """A bearer token: an org's (its self-hosted machines, its scripts) or the platform's (org
    NULL). `permissions` is a comma-separated subset of TOKEN_PERMISSIONS; the REST API's
    (read, manage) need an org.

    Names are unique per org and among platform tokens (two indexes: NULLs are distinct in a
    plain unique constraint). Only the SHA-256 of the token is stored.
    """

    __tablename__ = "runner_tokens"
    __table_args__ = (
        Index("uq_runner_tokens_org_name", "org_id", "name", unique=True),
        Index(
            "uq_runner_tokens_platform_name",
            "name",
            unique=True,
            sqlite_where=text("org_id IS NULL"),
            postgresql_where=text("org_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    permissions: Mapped[str] = mapped_column(String(64), default="pull", server_default="pull")
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_address: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def permission_set(self) -> frozenset[str]:
        granted = frozenset(p for p in (self.permissions or "").split(",") if p)
        return granted | {"read"} if "manage" in granted else granted

    def may(self, permission: str) -> bool:
        return permission in self.permission_set

    org: Mapped[Organization | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def is_platform(self) -> bool:
        return self.org_id is None

    def status(self, now: datetime | None = None) -> str:
        """"active", "expired" or "revoked"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"


class AuditEvent(db.Model):
    """Append-only: the app never updates or deletes a row (`flask audit prune` excepted)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_org_created", "org_id", "created_at"),
        Index("ix_audit_target", "target_id"),
        # The audit log's filters: by action and by actor within an org, newest first.
        Index("ix_audit_org_action", "org_id", "action", "id"),
        Index("ix_audit_org_actor", "org_id", "actor_label", "id"),
        # One row per bucket (NULLs are distinct, so ordinary events are not affected).
        Index("ix_audit_bucket", "bucket", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    target_label: Mapped[str] = mapped_column(String(255), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # Aggregated events (runner hand-offs) share a bucket key and count up instead of adding rows.
    bucket: Mapped[str | None] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_delete(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditLogIsAppendOnly("audit events cannot be deleted through the app")


@event.listens_for(AuditEvent, "before_update")
def _refuse_audit_update(mapper: Any, connection: Any, target: AuditEvent) -> None:
    # The one permitted change: the counter of an aggregated (bucketed) event.
    state = db.inspect(target)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    if target.bucket is None or not changed <= {"count"}:
        raise AuditLogIsAppendOnly("audit events cannot be changed through the app")
