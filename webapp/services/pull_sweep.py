"""Periodic pull checks: the sweep also asks, for private tools whose registry is connected,
whether the image can still be pulled — the case a login check misses (a token that signs in
but lost access to one repository).

Due tools are stamped (`pull_checked_at`) with one atomic update, so several processes running
sweeps never take the same tool at once; those whose image resolves to a working registry join
the pull check queue as `scheduled`, and every org with queued tools is dispatched: the checks
run on the check executor within the org's slots (`pull_checks`), like the ones people ask for.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ..database import writing
from ..extensions import db
from ..models import Organization, PrivateTool, utcnow
from ..registry_client.reference import InvalidReference, parse_reference
from ..registry_client.statuses import HEALTHY
from . import pull_checks, resolution

PULL_SWEEP_LIMIT = 200


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=current_app.config["CHECK_INTERVAL_SECONDS"])


def _due(cutoff: datetime):
    return or_(PrivateTool.pull_checked_at.is_(None), PrivateTool.pull_checked_at < cutoff)


def due_tools(now: datetime) -> list:
    """(id, org_id, image) of the tools due, oldest first: plain rows, which a concurrent
    removal cannot turn into errors half-way through a sweep."""
    query = (
        select(PrivateTool.id, PrivateTool.org_id, PrivateTool.image)
        .join(Organization, Organization.id == PrivateTool.org_id)
        .where(Organization.plan == "enterprise")
        .where(_due(_cutoff(now)))
        .order_by(PrivateTool.pull_checked_at.is_not(None), PrivateTool.pull_checked_at)
        .limit(PULL_SWEEP_LIMIT)
    )
    return list(db.session.execute(query))


def _claim(tool_ids: list[int], now: datetime) -> set[int]:
    """Stamp tools as looked at now unless another sweep just did: one of them wins each."""
    if not tool_ids:
        return set()
    db.session.commit()
    with writing():
        claimed = db.session.execute(
            update(PrivateTool)
            .where(PrivateTool.id.in_(tool_ids), _due(_cutoff(now)))
            .values(pull_checked_at=now)
            .returning(PrivateTool.id)
            .execution_options(synchronize_session=False)
        ).scalars()
        won = set(claimed)
        db.session.commit()
    return won


def run_pull_checks(now: datetime | None = None) -> list[Future[int]]:
    """Queue the due tools whose image resolves to a working registry, then start the queued
    pull checks of every org (a crashed worker's too, once its lease expired).

    Every due tool is stamped, probed or not (a public image, no registry, a failing one), so
    tools that cannot be checked never keep the others waiting at the head of the queue.
    """
    now = now or utcnow()
    due = due_tools(now)
    probe: list[int] = []
    for tool_id, org_id, image in due:
        try:
            reference = parse_reference(image)
        except InvalidReference:
            continue
        found = resolution.resolve(org_id, reference).registry
        if found is not None and found.status in HEALTHY:
            probe.append(tool_id)
    won = _claim([tool_id for tool_id, _, _ in due], now)
    db.session.commit()
    pull_checks.enqueue_scheduled([tool_id for tool_id in probe if tool_id in won], now)
    return pull_checks.dispatch_all(now)
