"""One sweep: what the scheduler thread, Celery beat or `flask checks run-due` runs periodically.

The sweep keeps every status honest without anyone asking. It marks `expired` where a known
expiry passed, deletes drafts abandoned for a day, then claims every due check with one atomic
update and hands each to the executor. Due means an active registry whose `next_check_at`
passed, or any registry whose requested check was never recorded: a message the broker lost, a
worker that died mid-check (once its lease expires), a publish that failed. So nothing is lost
however a hand-off fails; the lease keeps two workers off one registry. A requested check runs
with the trigger and requester it was asked with ("Check now" by an admin stays theirs in the
audit log), not as a scheduled one.
"""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update

from ..database import writing
from ..extensions import db
from ..models import ACTIVE_REGISTRY, ConnectivityCheck, Registry, utcnow
from ..registry_client.statuses import Status
from . import audit, check_executor, checks
from .pull_sweep import run_pull_checks

DRAFT_LIFETIME = timedelta(days=1)
# Claims per sweep: keeps one transaction bounded; the rest is claimed by the next sweep.
SWEEP_LIMIT = 5000


@dataclass
class SweepReport:
    """What one sweep did. `running` holds the checks it started in this process (none when
    they went to Celery workers)."""

    expired: int = 0
    drafts_deleted: int = 0
    claimed: int = 0
    running: list[Future[str | None]] = field(default_factory=list)
    pull_checks: list[Future[int]] = field(default_factory=list)

    def wait(self, timeout: float | None = None) -> Counter[str]:
        """Wait for the checks running here; count their outcomes ("skipped": another worker
        had taken the registry over; "failed": the job raised, see the log). Pull checks of
        private tools are waited for too and counted as "pull checks"."""
        wait(self.running + self.pull_checks, timeout=timeout)
        outcomes: Counter[str] = Counter()
        for future in self.running:
            if not future.done():
                outcomes["still running"] += 1
            elif future.exception() is not None:
                outcomes["failed"] += 1
            else:
                outcomes[future.result() or "skipped"] += 1
        if self.pull_checks:
            outcomes["pull checks"] = len(self.pull_checks)
        return outcomes


def run_due(now: datetime | None = None) -> SweepReport:
    """Run one sweep and return at once; `report.wait()` waits for the checks it started."""
    now = now or utcnow()
    audit.flush_counts()
    report = SweepReport(expired=mark_expired(now), drafts_deleted=delete_abandoned_drafts(now))
    lease = now + checks.lease_length()
    claimed = claim_due(now, lease)
    report.claimed = len(claimed)
    executor = check_executor.current()
    for due in claimed:
        future = executor.submit(due.registry_id, due.trigger, due.requested_by_id, lease=lease)
        if future is not None:
            report.running.append(future)
    report.pull_checks = run_pull_checks(now)
    return report


@dataclass(frozen=True)
class DueCheck:
    """A claimed check: a requested one keeps who asked and how; the rest are scheduled."""

    registry_id: uuid.UUID
    trigger: str = "scheduled"
    requested_by_id: int | None = None


def claim_due(now: datetime, lease: datetime, limit: int = SWEEP_LIMIT) -> list[DueCheck]:
    """Claim what is due, requested checks first, then the longest overdue; one statement, so
    two sweeps running at once split the registries between them."""
    due = or_(
        and_(
            ACTIVE_REGISTRY,
            or_(Registry.next_check_at.is_(None), Registry.next_check_at <= now),
        ),
        and_(Registry.state.in_(("active", "draft")), Registry.check_requested_at.is_not(None)),
    )
    candidates = (
        select(Registry.id)
        .where(due, checks.lease_free(now))
        .order_by(Registry.check_requested_at.is_(None), Registry.next_check_at.asc().nulls_first())
        .limit(limit)
    )
    with writing():
        rows = db.session.execute(
            update(Registry)
            # Re-tested on the row itself: PostgreSQL re-evaluates it after waiting for a lock.
            .where(Registry.id.in_(candidates.scalar_subquery()), checks.lease_free(now))
            .values(lease_until=lease)
            .returning(
                Registry.id,
                Registry.check_requested_at,
                Registry.next_check_at,
                Registry.check_trigger,
                Registry.check_requested_by_id,
            )
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
    # RETURNING keeps no order: requested first, then never checked, then the longest overdue.
    rows.sort(
        key=lambda row: (
            row.check_requested_at is None,
            row.next_check_at is not None,
            row.next_check_at or now,
        )
    )
    return [
        DueCheck(row.id, row.check_trigger, row.check_requested_by_id)
        if row.check_requested_at is not None and row.check_trigger
        else DueCheck(row.id)
        for row in rows
    ]


def mark_expired(now: datetime) -> int:
    """`expired` for active registries whose known expiry passed; no request is made. A registry
    being checked is left to its check, which knows the expiry too."""
    with writing():
        rows = db.session.execute(
            select(
                Registry.id, Registry.org_id, Registry.name, Registry.status, Registry.expires_at
            )
            .where(
                ACTIVE_REGISTRY,
                Registry.expires_at <= now,
                Registry.status != str(Status.EXPIRED),
                checks.lease_free(now),
            )
            .with_for_update()  # PostgreSQL: a check recording meanwhile waits for us
        ).all()
        for row in rows:
            values: dict[str, object] = {
                "status": str(Status.EXPIRED),
                "status_reason": f"The credentials expired on {row.expires_at:%Y-%m-%d %H:%M} UTC.",
            }
            if row.status in checks.HEALTHY:
                values["alert_dismissed_at"] = None  # a newly failing registry alerts again
            db.session.execute(
                update(Registry)
                .where(Registry.id == row.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            audit.record(
                "registry.status_changed",
                org=row.org_id,
                target=("registry", str(row.id), row.name),
                details={"trigger": "scheduled", "from": row.status, "to": str(Status.EXPIRED)},
                actor=audit.Actor.system(),
            )
        db.session.commit()
    return len(rows)


def delete_abandoned_drafts(now: datetime) -> int:
    """Delete registries left in `draft` for more than a day, with their check history: an
    abandoned wizard must not keep a sealed secret forever."""
    with writing():
        rows = db.session.execute(
            select(Registry.id, Registry.org_id, Registry.name, Registry.kind)
            .where(
                Registry.state == "draft",
                Registry.created_at < now - DRAFT_LIFETIME,
                checks.lease_free(now),
            )
            .with_for_update()  # PostgreSQL: a wizard activating one meanwhile waits for us
        ).all()
        ids = [row.id for row in rows]
        if ids:
            db.session.execute(
                delete(ConnectivityCheck)
                .where(ConnectivityCheck.registry_id.in_(ids))
                .execution_options(synchronize_session=False)
            )
            db.session.execute(
                delete(Registry)
                .where(Registry.id.in_(ids), Registry.state == "draft")
                .execution_options(synchronize_session=False)
            )
        for row in rows:
            audit.record(
                "registry.draft_discarded",
                org=row.org_id,
                target=("registry", str(row.id), row.name),
                details={"kind": row.kind, "reason": "left in draft for more than a day"},
                actor=audit.Actor.system(),
            )
        db.session.commit()
    return len(rows)
