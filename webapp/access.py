"""Who may see which org: one helper per resource, and org-scoped blueprints.

Every org-scoped URL starts with `/orgs/<slug>`. The slug is resolved once, before the view,
to an org the signed-in user is a member of; anything else (unknown slug, another org, support
staff, who are never members) answers 404, so nobody learns which orgs exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, abort, g
from flask_login import current_user

from .extensions import login_manager
from .models import Organization
from .services import accounts


class Lazy:
    """A list computed on first use, so fragments that never read it cost no query."""

    def __init__(self, load: Callable[[], list]):
        self._load = load
        self._items: list | None = None

    def _list(self) -> list:
        if self._items is None:
            self._items = self._load()
        return self._items

    def __iter__(self):
        return iter(self._list())

    def __len__(self) -> int:
        return len(self._list())

    def __bool__(self) -> bool:
        return bool(self._list())


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


def require_admin() -> None:
    if not g.membership.is_admin:
        abort(403)


def is_admin() -> bool:
    membership = g.get("membership")
    return bool(membership and membership.is_admin)


def init_app(app: Flask) -> None:
    @app.context_processor
    def _org_context() -> dict[str, Any]:
        from .services.registries import failing_alerts

        org = g.get("org")
        signed_in_member = current_user.is_authenticated and not current_user.is_support
        admin_of_enterprise = org is not None and org.is_enterprise and is_admin()
        return {
            "current_org": org,
            # Lazy: only pages (not fragments) render the shell that reads these.
            "user_orgs": Lazy(lambda: accounts.orgs_of(current_user) if signed_in_member else []),
            "is_admin": is_admin(),
            "failing_registries": Lazy(lambda: failing_alerts(org) if admin_of_enterprise else []),
        }
