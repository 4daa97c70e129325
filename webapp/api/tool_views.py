"""`/api/v1/tools` and `/api/v1/audit-events`: the Private tools page and the audit log, for a
script with a token. A tool is shown with the registry its image resolves to now."""

from __future__ import annotations

from flask import Response, jsonify, url_for
from sqlalchemy import select

from ..extensions import csrf, db
from ..models import AuditEvent, Organization, PrivateTool, RunnerToken
from ..services import tools
from . import bp
from .answers import ApiError
from .auth import org_token
from .rest import (
    TOOL_ADD,
    TOOL_RENAME,
    audit_read,
    cut_page,
    decode_cursor,
    event_json,
    fed_body,
    field_error,
    moment,
    page,
    page_size,
    query,
    require_if_match,
    tool_json,
    with_etag,
)


def _tool(org: Organization, tool_id: str) -> PrivateTool:
    tool = None
    if tool_id.isascii() and tool_id.isdigit() and 0 < int(tool_id) < 2**31:
        tool = tools.get(org, int(tool_id))
    if tool is None:
        raise ApiError("not_found", "There is no tool with this id.", 404)
    return tool


def _answer(org: Organization, tool: PrivateTool, status: int = 200) -> Response:
    response = jsonify(tool_json(tools.route(org, tool)))
    response.status_code = status
    return with_etag(response, tool.version)


@bp.get("/tools")
@org_token("read")
def tools_list(org: Organization, token: RunnerToken) -> Response:
    limit = page_size()
    rows = tools.all_tools(org)  # ordered by name, then id
    cursor = query("cursor", max_length=500)
    if cursor:
        name_key, last_id = decode_cursor(cursor, 2)
        if not isinstance(name_key, str) or not isinstance(last_id, int):
            decode_cursor("", 2)
        rows = [row for row in rows if (row.name.lower(), row.id) > (name_key, last_id)]
    rows, next_cursor = cut_page(rows, limit, lambda row: [row.name.lower(), row.id])
    items = [tool_json(route) for route in tools.routes(org, rows)]
    audit_read(token, org.id)
    return page(items, next_cursor)


@bp.post("/tools")
@csrf.exempt
@org_token("manage")
def tool_create(org: Organization, token: RunnerToken) -> Response:
    fed = fed_body(TOOL_ADD)
    try:
        tool = tools.add(org, fed.form.name.data, fed.form.image.data)
    except tools.ToolConflict as conflict:
        db.session.rollback()
        raise field_error("name", str(conflict)) from None
    db.session.commit()
    response = _answer(org, tool, 201)
    response.headers["Location"] = url_for("api.tool_get", tool_id=str(tool.id))
    return response


@bp.get("/tools/<tool_id>")
@org_token("read")
def tool_get(org: Organization, token: RunnerToken, tool_id: str) -> Response:
    tool = _tool(org, tool_id)
    audit_read(token, org.id)
    return _answer(org, tool)


@bp.patch("/tools/<tool_id>")
@csrf.exempt
@org_token("manage")
def tool_change(org: Organization, token: RunnerToken, tool_id: str) -> Response:
    tool = _tool(org, tool_id)
    require_if_match(tool.version)
    fed = fed_body(TOOL_RENAME)
    try:
        tools.rename(org, tool, fed.form.name.data)
    except tools.ToolConflict as conflict:
        db.session.rollback()
        raise field_error("name", str(conflict)) from None
    db.session.commit()
    return _answer(org, tool)


@bp.delete("/tools/<tool_id>")
@csrf.exempt
@org_token("manage")
def tool_delete(org: Organization, token: RunnerToken, tool_id: str) -> Response:
    tool = _tool(org, tool_id)
    require_if_match(tool.version)
    tools.remove(org, tool)
    db.session.commit()
    return Response(status=204)


@bp.get("/audit-events")
@org_token("read")
def audit_events(org: Organization, token: RunnerToken) -> Response:
    limit = page_size()
    events = select(AuditEvent).where(AuditEvent.org_id == org.id)
    for name, column in (("action", AuditEvent.action), ("target_id", AuditEvent.target_id),
                         ("actor_kind", AuditEvent.actor_kind)):
        value = query(name, ["user", "support", "token", "runner", "system"]
                      if name == "actor_kind" else None)
        if value:
            events = events.where(column == value)
    since = moment("since")
    if since is not None:
        events = events.where(AuditEvent.created_at >= since)
    cursor = query("cursor", max_length=500)
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        if not isinstance(before, int) or isinstance(before, bool) or before <= 0:
            decode_cursor("", 1)
        events = events.where(AuditEvent.id < before)
    rows = list(db.session.scalars(events.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    rows, next_cursor = cut_page(rows, limit, lambda row: [row.id])
    audit_read(token, org.id)
    return page([event_json(row) for row in rows], next_cursor)
