"""The org's audit log, for its admins: sentences, filters by action and actor, 50 a page."""

from __future__ import annotations

from flask import request

from .. import htmx
from ..access import admin_only, current_org
from ..services import audit
from . import bp
from .sentences import ACTIONS

PAGE_SIZE = 50
MAX_ID = 2**63 - 1


def filters() -> dict[str, str]:
    """The filters the URL carries, the unknown ones dropped (a pasted link never errors)."""
    action = request.args.get("action", "")
    actor = request.args.get("actor", "")[:254]
    return {"action": action if action in ACTIONS else "", "actor": actor}


@bp.route("/")
@admin_only
def index():
    org = current_org()
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before <= MAX_ID:
        before = None
    chosen = filters()
    # Registries are Enterprise-only: a downgraded org sees nothing of them, here included.
    events = audit.events_for_org(
        org,
        limit=PAGE_SIZE + 1,
        before_id=before,
        include_registries=org.is_enterprise,
        actions=ACTIONS[chosen["action"]][1] if chosen["action"] else None,
        actor=chosen["actor"] or None,
    )
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    return htmx.render(
        "audit/index.html",
        "audit/_log.html",
        events=events,
        filters=chosen,
        action_choices=ACTIONS,
        actor_choices=audit.actors_of(org),
        next_before=events[-1].id if more and events else None,
        first_page=before is None,
        nav_active="audit_log",
    )
