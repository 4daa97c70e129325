"""The audit log: one function records an event; nothing updates or deletes one but `prune`."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..database import writing
from ..extensions import db
from ..models import AuditEvent, Organization, User

# Details are for people reading the log; a key that sounds like a secret is a bug.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {"password", "secret", "token", "auth", "authorization", "access_token", "credentials"}
)


class Actor:
    def __init__(self, kind: str, id: str | None = None, label: str = ""):
        self.kind, self.id, self.label = kind, id, label

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None, "system")

    @classmethod
    def of_user(cls, user: Any) -> Actor:
        return cls("support" if user.is_support else "user", str(user.id), user.email)

    @classmethod
    def requested_by(cls, user_id: int | None) -> Actor:
        """Who asked for work a worker did: the person, or the system when nobody (or a user
        deleted since) did."""
        user = db.session.get(User, user_id) if user_id is not None else None
        return cls.of_user(user) if user is not None else cls.system()


def _current_actor() -> Actor:
    if has_request_context() and current_user and current_user.is_authenticated:
        return Actor.of_user(current_user)
    return Actor.system()


def _check_details(details: dict[str, Any]) -> dict[str, Any]:
    for key, value in details.items():
        if key.lower() in FORBIDDEN_DETAIL_KEYS:
            raise ValueError(f"audit details must not carry {key!r}")
        if not isinstance(value, str | int | float | bool | type(None) | list):
            raise TypeError(f"audit detail {key!r} must be a plain value")
    return details


def record(
    action: str,
    *,
    org: Organization | int | None = None,
    target: tuple[str, str, str] | None = None,
    details: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEvent:
    """Add an event to the session; it is committed with the change it describes."""
    actor = actor or _current_actor()
    org_id = org.id if isinstance(org, Organization) else org
    target_kind, target_id, target_label = target or (None, None, "")
    event = AuditEvent(
        org_id=org_id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label[:254],
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        target_label=(target_label or "")[:255],
        details=_check_details(dict(details or {})),
        ip=request.remote_addr if has_request_context() else None,
        request_id=g.get("request_id") if has_request_context() else None,
    )
    db.session.add(event)
    return event


def record_now(action: str, **kwargs: Any) -> None:
    """Record an event in a write transaction of its own, committed at once.

    For a request that only reads but leaves a trace (a support look). Written inside the
    request's read transaction, the row would turn it into a writer half-way, which SQLite
    refuses at once ("database is locked") whenever another writer committed meanwhile, however
    long the busy timeout: so the read transaction ends first, and the write waits its turn.
    """
    db.session.commit()
    with writing():
        record(action, **kwargs)
        db.session.commit()


class _Counts:
    """Repeats of counted events (runner hand-offs) waiting to be added to their rows.

    The first event of a bucket in a process is written at once, so a bucket's row exists as
    soon as anything happened; repeats are added up here and flushed at most every
    COUNT_FLUSH_SECONDS (by the next counted event after that, by the sweep, and when a process
    started through wsgi.py exits), so the hot path of the runner API does not write on every
    call. A crash can lose the repeats not yet flushed, never the fact that a hand-off happened;
    a process that goes idle keeps its last few repeats until its next event, sweep or exit.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, int] = {}
        self.written: set[str] = set()
        self.flushed_at = time.monotonic()


def _app_counts() -> _Counts:
    # Per app, not per module: each app (and database) has its own rows to count into.
    return current_app.extensions.setdefault("audit_counts", _Counts())


COUNT_FLUSH_SECONDS = 5.0
_KNOWN_BUCKETS_MAX = 50_000


def record_counted(bucket: str, action: str, **kwargs: Any) -> None:
    """One row per bucket (e.g. token, registry and hour) whose count goes up on repeats.

    Commits what the session holds: it writes in its own short write transaction.
    """
    _counts = _app_counts()
    with _counts.lock:
        repeat = bucket in _counts.written
        if repeat:
            _counts.pending[bucket] = _counts.pending.get(bucket, 0) + 1
        due = time.monotonic() - _counts.flushed_at >= COUNT_FLUSH_SECONDS
    if not repeat:
        db.session.commit()
        with writing():
            if not _count_into(bucket, 1):
                try:
                    with db.session.begin_nested():
                        record(action, **kwargs).bucket = bucket
                except IntegrityError:  # another process wrote the bucket's row first
                    _count_into(bucket, 1)
            db.session.commit()
        with _counts.lock:
            if len(_counts.written) > _KNOWN_BUCKETS_MAX:
                _counts.written.clear()
            _counts.written.add(bucket)
    if due:
        try:
            flush_counts()
        except Exception:  # noqa: BLE001 - the counts are kept for the next flush
            logging.getLogger(__name__).warning("audit counts not flushed; retrying later")


def _count_into(bucket: str, count: int) -> bool:
    counted = db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.bucket == bucket)
        .values(count=AuditEvent.count + count)
        .execution_options(synchronize_session=False)
    )
    return bool(counted.rowcount)


def flush_counts() -> int:
    """Add the pending repeat counts to their rows; returns how many buckets it touched."""
    _counts = _app_counts()
    with _counts.lock:
        pending, _counts.pending = _counts.pending, {}
        _counts.flushed_at = time.monotonic()
    if not pending:
        return 0
    try:
        db.session.commit()
        with writing():
            # One order for every process, so two flushes never wait on each other's rows.
            for bucket in sorted(pending):
                _count_into(bucket, pending[bucket])
            db.session.commit()
    except Exception:
        db.session.rollback()
        with _counts.lock:  # keep them for the next flush rather than lose them
            for bucket, count in pending.items():
                _counts.pending[bucket] = _counts.pending.get(bucket, 0) + count
        raise
    return len(pending)


def flush_at_exit(app: Any) -> None:
    """Registered by the process that serves requests (wsgi.py): counts still in memory when
    it stops are written, not lost."""
    with app.app_context():
        try:
            flush_counts()
        except Exception:  # noqa: BLE001 - exiting; the log says what was lost
            logging.getLogger(__name__).exception("could not flush audit counts at exit")


def events_for_org(
    org: Organization,
    limit: int = 200,
    before_id: int | None = None,
    include_registries: bool = True,
    actions: tuple[str, ...] | None = None,
    actor: str | None = None,
):
    """The org's events, newest first; `actions` keeps only those actions, `actor` only one
    person's (an email) or, given "support", every support user's."""
    query = select(AuditEvent).where(AuditEvent.org_id == org.id)
    if not include_registries:
        query = query.where(
            (AuditEvent.target_kind.is_(None)) | (AuditEvent.target_kind != "registry")
        )
    if actions:
        query = query.where(AuditEvent.action.in_(actions))
    if actor == "support":
        query = query.where(AuditEvent.actor_kind == "support")
    elif actor:
        query = query.where(AuditEvent.actor_label == actor)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


def actors_of(org: Organization, limit: int = 200) -> list[str]:
    """The people (emails) who did something in the org: the actor filter's choices."""
    query = (
        select(AuditEvent.actor_label)
        .where(AuditEvent.org_id == org.id, AuditEvent.actor_kind.in_(("user", "support")))
        .where(AuditEvent.actor_label != "")
        .group_by(AuditEvent.actor_label)
        .order_by(AuditEvent.actor_label)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def record_once(bucket: str, action: str, **kwargs: Any) -> bool:
    """Record an event unless its bucket (e.g. support user, target and hour) has one already;
    in a short write transaction of its own, like `record_now`. True when it wrote one."""
    db.session.commit()
    seen = db.session.scalar(select(AuditEvent.id).where(AuditEvent.bucket == bucket))
    # End that read before writing: a read turned writer half-way is refused by SQLite.
    db.session.commit()
    if seen is not None:
        return False
    with writing():
        try:
            with db.session.begin_nested():
                record(action, **kwargs).bucket = bucket
                db.session.flush()
        except IntegrityError:  # another request of the same hour wrote it first
            db.session.commit()
            return False
        db.session.commit()
    return True


def events_for_target(target_id: str, limit: int = 50):
    query = (
        select(AuditEvent)
        .where(AuditEvent.target_id == target_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def prune(before: datetime) -> int:
    """The only delete: events older than `before` (the `flask audit prune` command)."""
    result = db.session.execute(
        delete(AuditEvent)
        .where(AuditEvent.created_at < (before if before.tzinfo else before.replace(tzinfo=UTC)))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount
