"""Who may see which org: one helper per resource, and org-scoped blueprints.

Every org-scoped URL starts with `/orgs/<slug>`. The slug is resolved once, before the view,
to an org the signed-in user is a member of; anything else (unknown slug, another org, support
staff, who are never members) answers 404, so nobody learns which orgs exist. Then the
blueprint's own checks run (the Enterprise gate), then the admin guard: a view marked
`@admin_only` answers 403 to members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, current_app, g, request
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


View = TypeVar("View", bound=Callable[..., Any])


def admin_only(view: View) -> View:
    """Mark an org view as the org's admins' (put it below `@bp.route`): the blueprint answers
    403 to a member before the view runs."""
    view.admin_only = True  # type: ignore[attr-defined]
    return view


def _admin_guard() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "admin_only", False) and not is_admin():
        abort(403)


def org_blueprint(
    name: str, import_name: str, url_prefix: str, *, checks: Iterable[Callable[[], Any]] = ()
) -> Blueprint:
    """A blueprint under `/orgs/<slug>`: the org loaded for members only, then `checks` (before
    request functions of the blueprint's own, such as the Enterprise gate), then the admin
    guard of `@admin_only` views."""
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
        member = accounts.membership_by_slug(current_user, g.org_slug or "")
        if member is None:
            abort(404)
        g.org, g.membership = member.org, member
        return None

    for check in checks:
        bp.before_request(check)
    bp.before_request(_admin_guard)
    return bp


def current_org() -> Organization:
    return g.org


def is_admin() -> bool:
    membership = g.get("membership")
    return bool(membership and membership.is_admin)


#: What support staff may POST: their one action, and signing in and out.
SUPPORT_POSTS = frozenset({"support.check", "auth.login", "auth.logout"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _support_reads_only() -> None:
    """Support staff read; "Check now" is their one action. Any other state-changing request
    of theirs answers 404, as an org page does to them, before any view or form runs."""
    if request.method in SAFE_METHODS or request.blueprint == "api":
        return  # the runner API authenticates its own tokens, never a session
    if not current_user.is_authenticated:
        return
    if current_user.is_support and request.endpoint not in SUPPORT_POSTS:
        abort(404)


def init_app(app: Flask) -> None:
    app.before_request(_support_reads_only)

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
