"""Settings > Private tools: add, rename, remove, and Check pull, for every member of the org.

design.md lets members manage private tools (only registries are admin-only). Every action is
a plain form that works without JavaScript and redirects; htmx requests get fragments instead:
the tools section after Add, the row after Rename or Check pull, nothing after Remove (the row
goes away). Invalid input answers 422 with the error beside its field, in either form.

Check pull only asks for the check (services/pull_checks.py): it runs on the check executor, and
the row shows it queued, then running, then its outcome. With htmx the row polls itself and
stops by rendering the outcome without a trigger; without JavaScript the page says so and links
to itself.
"""

from __future__ import annotations

import time
from typing import Any

from flask import abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import htmx, paging
from ..access import current_org
from ..extensions import db
from ..limits import outbound_checks, tool_adds
from ..models import PrivateTool
from ..registry_client.providers import describe
from ..registry_client.statuses import Status, StatusText
from ..services import pull_checks, tools
from . import bp
from .forms import ToolAddForm, ToolRenameForm

# Labels of the pull-check outcomes that are not registry statuses.
PULL_TEXTS = {
    "pulls": StatusText("Pulls", "", "ok"),
    "not_found": StatusText("Not found", "", "bad"),
    "no_access": StatusText("No access", "", "bad"),
    tools.NO_REGISTRY: StatusText("No registry — pulls will fail", "", "bad"),
}

STATUSES = frozenset(Status)


def describe_pull(outcome: str, kind: str) -> StatusText:
    """Label and tone of a stored pull-check outcome; failures read as the registry's status."""
    if outcome in PULL_TEXTS:
        return PULL_TEXTS[outcome]
    if outcome in STATUSES:
        return describe(outcome, kind)
    return describe(Status.ERROR, kind)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "describe_pull": describe_pull,
        "pull_state": pull_checks.state,
        "pull_slots": pull_checks.slots,
        "nav_active": "private_tools",
    }


def _section(form: ToolAddForm, highlight: int | None = None) -> dict[str, Any]:
    """The tools section's context: one page of the list (`?q=…&page=…`, webapp/paging.py)."""
    org = current_org()
    page = tools.listing(org, *paging.requested(request.args))
    routes = tools.routes(org, page.items)
    return {
        "form": form,
        "page": page,
        "routes": routes,
        "highlight": highlight,
        "reload": _reload_url(routes),
    }


def _reload_url(routes: list[tools.ToolRoute]) -> str | None:
    """Where the page reloads itself to without JavaScript while a pull check someone asked for
    is pending (None: nothing pending). The query changes every second, because a refresh to the
    page's own URL with a #fragment only scrolls."""
    pending = next((route.tool.id for route in routes if pull_checks.state(route.tool)), None)
    if pending is None:
        return None
    return url_for(".index", refresh=int(time.time()), _anchor=f"tool-{pending}")


def _tool_or_404(tool_id: int) -> PrivateTool:
    if not 0 < tool_id < 2**31:  # no id that large exists, and the database would refuse it
        abort(404)
    return tools.get(current_org(), tool_id) or abort(404)


def _back_to(tool_id: int | None = None) -> Response:
    anchor = f"tool-{tool_id}" if tool_id is not None else None
    return redirect(url_for(".index", _anchor=anchor), code=303)


@bp.route("/")
def index() -> Response:
    highlight = request.args.get("added", type=int)
    return htmx.render(
        "tools/index.html", "tools/_tools.html", **_section(ToolAddForm(), highlight)
    )


@bp.route("/", methods=["POST"])
@tool_adds
def add() -> Response:
    form = ToolAddForm()
    if form.validate_on_submit():
        try:
            tool = tools.add(current_org(), form.name.data, form.image.data)
        except tools.ToolConflict as conflict:
            form.name.errors.append(str(conflict))
        else:
            db.session.commit()
            if not htmx.is_partial():
                return redirect(url_for(".index", added=tool.id, _anchor=f"tool-{tool.id}"), 303)
            fresh = ToolAddForm(formdata=None)
            return htmx.render("tools/index.html", "tools/_tools.html", **_section(fresh, tool.id))
    db.session.rollback()
    return htmx.render("tools/index.html", "tools/_tools.html", 422, **_section(form))


@bp.route("/<int:tool_id>/row")
def row(tool_id: int) -> Response:
    tool = _tool_or_404(tool_id)
    return htmx.fragment_response("tools/_row.html", route=tools.route(current_org(), tool))


@bp.route("/<int:tool_id>/rename", methods=["GET", "POST"])
def rename(tool_id: int) -> Response:
    tool = _tool_or_404(tool_id)
    form = ToolRenameForm(obj=tool)
    if form.validate_on_submit():
        try:
            tools.rename(current_org(), tool, form.name.data)
        except tools.ToolConflict as conflict:
            form.name.errors.append(str(conflict))
        else:
            db.session.commit()
            if not htmx.is_partial():
                return _back_to(tool.id)
            return row(tool.id)
    status = htmx.form_status()
    if status == 422:
        db.session.rollback()
    return htmx.render("tools/rename.html", "tools/_rename_row.html", status, form=form, tool=tool)


@bp.route("/<int:tool_id>/check", methods=["POST"])
@outbound_checks
def check(tool_id: int) -> Response:
    tool = _tool_or_404(tool_id)
    pull_checks.request(tool, current_user.id)
    if not htmx.is_partial():
        return _back_to(tool.id)
    return row(tool_id)


@bp.route("/<int:tool_id>/remove", methods=["POST"])
def remove(tool_id: int) -> Response:
    tool = _tool_or_404(tool_id)
    tools.remove(current_org(), tool)
    db.session.commit()
    if not htmx.is_partial():
        return _back_to()
    return htmx.removed()
