"""Who may see which org: one helper per resource, and org-scoped blueprints.

Every org-scoped URL starts with `/orgs/<slug>`. The slug is resolved once, before the view,
to an org the signed-in user is a member of; anything else (unknown slug, another org, support
staff, who are never members) answers 404, so nobody learns which orgs exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, g
from flask_login import current_user

from .extensions import login_manager
from .models import Membership, Organization
from .services import accounts


def org_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix="/orgs/<slug>" + url_prefix)

    @bp.url_value_preprocessor
    def _pull_slug(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.org_slug = (values or {}).pop("slug", None)

    @bp.url_defaults
    def _add_slug(endpoint: str, values: dict[str, Any]) -> None:
        if "slug" not in values and g.get("org") is not None:
            values["slug"] = g.org.slug

    @bp.before_request
    def _load_org() -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.is_support:
            abort(404)
        org = accounts.find_org(g.org_slug or "")
        if org is None:
            abort(404)
        member = accounts.membership(current_user, org)
        if member is None:
            abort(404)
        g.org, g.membership = org, member
        return None

    return bp


def current_org() -> Organization:
    return g.org


def current_membership() -> Membership:
    return g.membership


def require_admin() -> None:
    if not g.membership.is_admin:
        abort(403)


def is_admin() -> bool:
    membership = g.get("membership")
    return bool(membership and membership.is_admin)


def init_app(app: Flask) -> None:
    @app.context_processor
    def _org_context() -> dict[str, Any]:
        orgs: list[Organization] = []
        if current_user.is_authenticated and not current_user.is_support:
            orgs = accounts.orgs_of(current_user)
        return {"current_org": g.get("org"), "user_orgs": orgs, "is_admin": is_admin()}
