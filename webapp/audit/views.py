from __future__ import annotations

from flask import render_template, request

from ..access import current_org
from ..services import audit
from . import bp

PAGE_SIZE = 100


@bp.route("/")
def index():
    before = request.args.get("before", type=int)
    events = audit.events_for_org(current_org(), limit=PAGE_SIZE + 1, before_id=before)
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    return render_template(
        "audit/index.html",
        events=events,
        next_before=events[-1].id if more and events else None,
        nav_active="audit_log",
    )
