"""Enterprise gating, decided here and nowhere else.

Private container registries are an Enterprise feature. For any other plan every registry
route answers 403 with a page that says so and how to reach us; a downgraded org keeps its
registries, but nothing of them is shown or handed out until it is Enterprise again.
"""

from __future__ import annotations

from flask import current_app, g

from . import htmx


def require_enterprise():
    org = g.get("org")
    if org is None or org.is_enterprise:
        return None
    return htmx.render(
        "registries/enterprise_only.html",
        "registries/_enterprise_only.html",
        403,
        nav_active="container_registry",
        contact=current_app.config["SALES_CONTACT_URL"],
    )
