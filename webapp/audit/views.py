"""The org's audit log, for its admins."""

from __future__ import annotations

from flask import render_template, request

from ..access import admin_only, current_org
from ..services import audit
from . import bp

PAGE_SIZE = 100
MAX_ID = 2**63 - 1


@bp.route("/")
@admin_only
def index():
    org = current_org()
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before <= MAX_ID:
        before = None
    # Registries are Enterprise-only: a downgraded org sees nothing of them, here included.
    events = audit.events_for_org(
        org, limit=PAGE_SIZE + 1, before_id=before, include_registries=org.is_enterprise
    )
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    return render_template(
        "audit/index.html",
        events=events,
        next_before=events[-1].id if more and events else None,
        nav_active="audit_log",
    )
