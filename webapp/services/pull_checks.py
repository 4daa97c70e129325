"""Check pull of private tools, off the request: a queue in the database, slots per org, a job.

A pull check probes a registry, which can take a whole check timeout (a registry that trickles a
byte a second takes all of it), so no request waits for one. It runs as Connect's check does:

- `request` (Check pull) marks the tool asked for, by whom, COMMITS, then `dispatch`es its org.
- `dispatch` claims queued tools of one org into its free slots: at most `PULL_CHECKS_PER_ORG`
  pull checks of an org run at once. The slots are the org's tools whose lease is held, counted
  in the database under the org row's lock, so the limit holds across processes and workers.
  Each claimed tool gets a lease (`pull_lease_until`) and goes to the app's check executor
  (`check_executor`: the thread pool, Celery, or inline in tests) only after the commit.
- `run` is the job: it checks its tool, stores the outcome and releases the tool, then takes the
  next queued tool of its org while a slot is free. So a queued tool starts as soon as a slot
  frees, without waiting for a sweep; the tools a person asked for go first.
- The sweep (`pull_sweep`) queues the due tools as `scheduled` and dispatches every org with
  queued tools whose lease is free: that also runs what a crashed worker or a lost message left
  (the lease expires), as whoever asked for it.

A lease means "a worker runs this now", so a tool is never checked twice at once. The rows show
a check a person asked for live (queued, then running); scheduled checks run unseen, as the
registry checks of a sweep do.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, func, or_, select, update

from ..database import writing
from ..extensions import db
from ..models import Organization, PrivateTool, utcnow
from . import audit, check_executor, checks, pull_credentials, tools

log = logging.getLogger(__name__)

#: A pull check may take two checks' worth of requests (the probe, then a sign-in to tell "no
#: access" from a refused password), and some time to record: its lease lasts three deadlines.
LEASE_DEADLINES = 3

#: What storing an outcome (or giving up) clears: the request and the lease.
RELEASED: dict[str, object] = {
    "pull_requested_at": None,
    "pull_trigger": None,
    "pull_requested_by_id": None,
    "pull_lease_until": None,
}


def lease_length() -> timedelta:
    return timedelta(seconds=LEASE_DEADLINES * checks.client_settings().deadline_seconds)


def slots() -> int:
    return int(current_app.config["PULL_CHECKS_PER_ORG"])


def state(tool: PrivateTool, now: datetime | None = None) -> str | None:
    """"running" or "queued" for a pull check a person asked for, else None."""
    if tool.pull_requested_at is None or tool.pull_trigger != "manual":
        return None
    leased = tool.pull_lease_until is not None and tool.pull_lease_until > (now or utcnow())
    return "running" if leased else "queued"


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(PrivateTool.pull_lease_until.is_(None), PrivateTool.pull_lease_until < now)


def request(tool: PrivateTool, requested_by_id: int | None) -> list[Future[int]]:
    """A person asks for a pull check of `tool`: queue it, then start it if a slot is free.

    Asking again while it is queued or running changes nothing (the first requester keeps it);
    asking while a scheduled check of it runs makes that check theirs.
    """
    org_id, tool_id = tool.org_id, tool.id
    db.session.commit()  # the caller's changes first; the request is a write of its own
    with writing():
        db.session.execute(
            update(PrivateTool)
            .where(
                PrivateTool.id == tool_id,
                or_(PrivateTool.pull_requested_at.is_(None), PrivateTool.pull_trigger != "manual"),
            )
            .values(
                pull_requested_at=utcnow(),
                pull_trigger="manual",
                pull_requested_by_id=requested_by_id,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return dispatch(org_id)


def enqueue_scheduled(tool_ids: list[int], now: datetime) -> None:
    """The sweep's due tools join the queue (behind what people asked for)."""
    if not tool_ids:
        return
    db.session.commit()
    with writing():
        db.session.execute(
            update(PrivateTool)
            .where(PrivateTool.id.in_(tool_ids), PrivateTool.pull_requested_at.is_(None))
            .values(pull_requested_at=now, pull_trigger="scheduled", pull_requested_by_id=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def dispatch(org_id: int, now: datetime | None = None) -> list[Future[int]]:
    """Start queued pull checks of one org in its free slots; the futures of those that run in
    this process (none when they went to Celery)."""
    now = now or utcnow()
    lease = now + lease_length()
    claimed = _claim(org_id, now, lease, slots())
    executor = check_executor.current()
    futures = []
    for tool_id in claimed:
        future = executor.submit_pull(org_id, tool_id, lease)
        if future is not None:
            futures.append(future)
    return futures


def dispatch_all(now: datetime | None = None) -> list[Future[int]]:
    """`dispatch` every org with queued tools that no worker holds (the sweep)."""
    now = now or utcnow()
    org_ids = db.session.scalars(
        select(PrivateTool.org_id)
        .where(PrivateTool.pull_requested_at.is_not(None), _lease_free(now))
        .distinct()
    ).all()
    db.session.commit()
    return [future for org_id in org_ids for future in dispatch(org_id, now)]


def _claim(org_id: int, now: datetime, lease: datetime, at_most: int) -> list[int]:
    """Lease up to `at_most` queued tools of the org, within its free slots; committed."""
    db.session.commit()
    with writing():
        # One claim per org at a time: PostgreSQL locks the org's row (NO KEY UPDATE, so adding
        # tools, which only checks the key, does not wait), SQLite has one writer anyway.
        db.session.execute(
            select(Organization.id).where(Organization.id == org_id).with_for_update(key_share=True)
        )
        running = db.session.scalar(
            select(func.count())
            .select_from(PrivateTool)
            .where(PrivateTool.org_id == org_id, PrivateTool.pull_lease_until >= now)
        )
        free = min(at_most, slots() - (running or 0))
        claimed: list[int] = []
        if free > 0:
            queued = (
                select(PrivateTool.id)
                .where(
                    PrivateTool.org_id == org_id,
                    PrivateTool.pull_requested_at.is_not(None),
                    _lease_free(now),
                )
                # What people asked for first, then the oldest request.
                .order_by(
                    PrivateTool.pull_trigger != "manual",
                    PrivateTool.pull_requested_at,
                    PrivateTool.id,
                )
                .limit(free)
            )
            # The lease is tested again on the row: a tool is never claimed twice, lock or not.
            claim = (
                update(PrivateTool)
                .where(PrivateTool.id.in_(queued.scalar_subquery()), _lease_free(now))
                .values(pull_lease_until=lease)
                .returning(PrivateTool.id)
                .execution_options(synchronize_session=False)
            )
            claimed = list(db.session.scalars(claim))
        db.session.commit()
    return claimed


def run(org_id: int, tool_id: int, lease: datetime) -> int:
    """The job: check `tool_id` under `lease`, then the org's next queued tools while a slot is
    free. Returns how many it checked."""
    checked = 0
    current: tuple[int, datetime] | None = (tool_id, lease)
    while current is not None:
        tool_id, lease = current
        try:
            checked += _check(tool_id, lease)
        except Exception:
            log.exception("the pull check of tool %s failed", tool_id)
            db.session.rollback()
        finally:
            _finish(tool_id, lease)
        now = utcnow()
        following = now + lease_length()
        claimed = _claim(org_id, now, following, 1)
        current = (claimed[0], following) if claimed else None
    return checked


def _check(tool_id: int, lease: datetime) -> int:
    # Every transaction here may write (the outcome): on SQLite each takes the lock up front.
    with writing():
        tool = db.session.get(PrivateTool, tool_id, populate_existing=True)
        if tool is None or tool.pull_lease_until != lease:
            db.session.commit()  # removed meanwhile, or overtaken after our lease ran out
            return 0
        org = db.session.get(Organization, tool.org_id)
        check_pull(org, tool, lease)
        db.session.commit()
    return 1


def check_pull(org: Organization, tool: PrivateTool, lease: datetime) -> tools.ToolRoute | None:
    """Ask the tool's registry whether its credentials can pull the image, and store the answer.

    `HEAD`s the manifest with a pull-scoped token through the SSRF-safe client. The outcome is
    "pulls", "not_found", "no_access", the registry's failure status (`unreachable`, …,
    `unreadable`), or `NO_REGISTRY` when no registry serves the image. A public image with no
    registry is not checked: there are no credentials to try. The outcome is written with a Core
    update that leaves the tool's version alone (a check must not make someone's open rename
    form stale), only while `lease` is still the tool's, and it releases the tool. Audited as
    whoever asked; a scheduled check only when the outcome changed, like registry checks.
    """
    found = tools.route(org, tool)
    resolved, reference = found.resolution, found.reference
    if resolved is None or reference is None or found.kind == "public":
        return found
    registry = resolved.registry
    if registry is None:
        outcome, reason = tools.NO_REGISTRY, resolved.reason
    else:
        outcome, reason = pull_credentials.probe_pull(registry, reference)
    db.session.refresh(tool)  # who asked, as it is now: a person may have asked meanwhile
    previous, trigger, requested_by_id = (
        tool.pull_status,
        tool.pull_trigger,
        tool.pull_requested_by_id,
    )
    written = db.session.execute(
        update(PrivateTool)
        .where(PrivateTool.id == tool.id, PrivateTool.pull_lease_until == lease)
        .values(pull_status=outcome, pull_reason=reason[:500], pull_checked_at=utcnow(), **RELEASED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not written:  # another worker took the tool over after our lease ran out
        return None
    if trigger == "manual" or previous != outcome:
        audit.record(
            "tool.pull_checked",
            org=org,
            target=("tool", str(tool.id), tool.name),
            details={
                "image": tool.image,
                "registry": registry.name if registry else None,
                "outcome": outcome,
            },
            actor=audit.Actor.requested_by(requested_by_id),
        )
    db.session.refresh(tool)
    return tools.route(org, tool)


def _finish(tool_id: int, lease: datetime) -> None:
    """Release a tool the check left alone (a public image; it failed): nothing else to do."""
    with writing():
        db.session.execute(
            update(PrivateTool)
            .where(PrivateTool.id == tool_id, PrivateTool.pull_lease_until == lease)
            .values(**RELEASED)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def release(tool_id: int, lease: datetime) -> None:
    """Give back a claim no worker will run (the broker was down); it stays queued, and the
    next sweep starts it."""
    with writing():
        db.session.execute(
            update(PrivateTool)
            .where(PrivateTool.id == tool_id, PrivateTool.pull_lease_until == lease)
            .values(pull_lease_until=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
