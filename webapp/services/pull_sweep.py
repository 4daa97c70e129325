"""Periodic pull checks: the sweep also asks, for private tools whose registry is connected,
whether the image can still be pulled — the case a login check misses (a token that signs in
but lost access to one repository).

Each tool is claimed with one atomic update of `pull_checked_at`, so several processes running
sweeps never check the same tool at once. The probes run on a small pool in the sweeping process,
off the scheduler's thread; a hanging registry holds only its own probe, bounded by the check
deadline.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import or_, select, update

from ..database import immediate
from ..extensions import db
from ..models import Organization, PrivateTool, utcnow
from ..registry_client.reference import InvalidReference, parse_reference
from ..registry_client.statuses import HEALTHY
from . import resolution, tools

log = logging.getLogger(__name__)

PULL_SWEEP_LIMIT = 200
_POOL_SIZE = 8


def _pool(app: Flask) -> ThreadPoolExecutor:
    return app.extensions.setdefault(
        "pull_check_pool", ThreadPoolExecutor(_POOL_SIZE, thread_name_prefix="pull-check")
    )


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=current_app.config["CHECK_INTERVAL_SECONDS"])


def _due(cutoff: datetime):
    return or_(PrivateTool.pull_checked_at.is_(None), PrivateTool.pull_checked_at < cutoff)


def due_tools(now: datetime) -> list[PrivateTool]:
    query = (
        select(PrivateTool)
        .join(Organization, Organization.id == PrivateTool.org_id)
        .where(Organization.plan == "enterprise")
        .where(_due(_cutoff(now)))
        .order_by(PrivateTool.pull_checked_at.is_not(None), PrivateTool.pull_checked_at)
        .limit(PULL_SWEEP_LIMIT)
    )
    return list(db.session.scalars(query))


def _claim(tool: PrivateTool, now: datetime) -> bool:
    """Stamp the tool as checked now unless another sweep just did: one of them wins."""
    db.session.commit()
    with immediate():
        claimed = db.session.execute(
            update(PrivateTool)
            .where(PrivateTool.id == tool.id, _due(_cutoff(now)))
            .values(pull_checked_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    return claimed == 1


def _probe(app: Flask, tool_id: int) -> str | None:
    # Every transaction here may write (the outcome); on SQLite they take the lock up front.
    with app.app_context(), immediate():
        try:
            tool = db.session.get(PrivateTool, tool_id)
            if tool is None:
                return None
            org = db.session.get(Organization, tool.org_id)
            return tools.check_pull(org, tool, scheduled=True).kind
        except Exception:
            log.exception("scheduled pull check of tool %s failed", tool_id)
            db.session.rollback()
            return None
        finally:
            db.session.commit()
            db.session.remove()


def run_pull_checks(now: datetime | None = None) -> list[Future[str | None]]:
    """Claim the due tools whose image resolves to a connected registry and probe them."""
    now = now or utcnow()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    started: list[Future[str | None]] = []
    for tool in due_tools(now):
        try:
            reference = parse_reference(tool.image)
        except InvalidReference:
            continue
        found = resolution.resolve(tool.org_id, reference).registry
        if found is None or found.status not in HEALTHY or not _claim(tool, now):
            continue
        started.append(_pool(app).submit(_probe, app, tool.id))
    db.session.commit()
    return started
