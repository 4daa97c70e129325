"""`/api/v1/openapi.json` and `/api/docs`: the REST API's OpenAPI 3.1 document, generated.

Request bodies are the JSON specs of `rest.py` (the pages' form classes) and become schemas
through `openapi.py`, our own small generator (why no library: see its docstring); the answers'
shapes are written once here, beside the operations. `/api/docs` renders the same document on
the server: no script, so it reads under the app's CSP as any page does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template

from ..registries import kinds
from ..registry_client import statuses
from . import bp
from .openapi import Operation, build_document
from .openapi import Response as Answer
from .rest import PAGE_MAX, REGISTRY_SETTINGS, TOOL_ADD, TOOL_RENAME

TITLE = "Container registry connections API"
VERSION = "1"

STRING_OR_NULL = {"type": ["string", "null"]}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}


def _object(properties: dict[str, Any], title: str) -> dict[str, Any]:
    return {"type": "object", "title": title, "properties": properties,
            "required": list(properties), "additionalProperties": False}


REGISTRY = _object({
    "id": {"type": "string", "format": "uuid"},
    "kind": {"type": "string", "enum": list(kinds.KINDS)},
    "name": {"type": "string"},
    "state": {"type": "string", "enum": ["draft", "active"],
              "description": "draft until its connect check passes (or save_anyway)."},
    "status": {"type": "string", "description": "The last check's status, or checking."},
    "status_reason": {"type": "string"},
    "check_running": {"type": "boolean"},
    "scheme": {"type": "string", "enum": ["https", "http"]},
    "host": {"type": "string"},
    "namespace": {"type": "string"},
    "username": {"type": "string"},
    "has_secret": {"type": "boolean", "description": "The secret itself is write-only."},
    "has_ca_certificate": {"type": "boolean"},
    "test_image": STRING_OR_NULL,
    "secret_replaced_at": TIME_OR_NULL,
    "last_checked_at": TIME_OR_NULL,
    "last_success_at": TIME_OR_NULL,
    "expires_at": TIME_OR_NULL,
    "created_at": {"type": "string", "format": "date-time"},
    "version": {"type": "integer", "description": "Also the ETag: \"v<version>\"."},
}, "Registry")

CHECK = _object({
    "id": {"type": "integer"},
    "trigger": {"type": "string"},
    "outcome": {"type": "string"},
    "http_status": {"type": ["integer", "null"]},
    "reason": {"type": "string"},
    "started_at": {"type": "string", "format": "date-time"},
    "finished_at": TIME_OR_NULL,
    "duration_ms": {"type": ["integer", "null"]},
}, "Check")

TOOL = _object({
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "image": {"type": "string"},
    "pulls_through": {"type": "string", "enum": ["registry", "public", "none", "invalid"]},
    "registry": {"oneOf": [{"type": "null"}, _object({
        "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
        "status": {"type": "string"}}, "ToolRegistry")]},
    "pull_status": STRING_OR_NULL,
    "pull_checked_at": TIME_OR_NULL,
    "created_at": {"type": "string", "format": "date-time"},
    "version": {"type": "integer"},
}, "Tool")

AUDIT_EVENT = _object({
    "id": {"type": "integer"},
    "action": {"type": "string"},
    "actor": _object({"kind": {"type": "string"}, "label": {"type": "string"}}, "Actor"),
    "target": {"oneOf": [{"type": "null"}, _object({
        "kind": {"type": "string"}, "id": STRING_OR_NULL, "label": {"type": "string"}},
        "Target")]},
    "details": {"type": "object"},
    "count": {"type": "integer", "description": "Repeats counted into this row (reads)."},
    "created_at": {"type": "string", "format": "date-time"},
}, "AuditEvent")


def _list(item: str) -> dict[str, Any]:
    return _object({"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
                    "next_cursor": STRING_OR_NULL}, f"{item}List")


SCHEMAS = {"Registry": REGISTRY, "Check": CHECK, "Tool": TOOL, "AuditEvent": AUDIT_EVENT,
           "RegistryList": _list("Registry"), "CheckList": _list("Check"),
           "ToolList": _list("Tool"), "AuditEventList": _list("AuditEvent")}

# --- parameters and headers ---------------------------------------------------------------------

RATE_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed in the window (this token's).",
                          "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Left in this window.", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "When the window resets (Unix seconds).",
                          "schema": {"type": "integer"}},
}
ETAG = {"ETag": {"description": "The object's version; send it back as If-Match.",
                 "schema": {"type": "string"}}}
LOCATION = {"Location": {"description": "The registry's URL: poll it for its state.",
                         "schema": {"type": "string"}}}
LINK = {"Link": {"description": 'The next page: `<url>; rel="next"` (absent on the last).',
                 "schema": {"type": "string"}}}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "maxLength": 200}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


REGISTRY_ID = _path("registry_id", "The registry's id (a UUID).")
TOOL_ID = _path("tool_id", "The tool's id.")
IF_MATCH = {"name": "If-Match", "in": "header", "required": True,
            "description": "The ETag of your last read: 428 without it, 412 when stale.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "Any string of yours: a retried create with the same key (and "
                                  "token) answers the registry the first one made.",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
PAGING = [
    _query("limit", "Items per page.", {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}),
    _query("cursor", "From the Link header of the previous page.",
           {"type": "string", "maxLength": 500}),
]
QUERY_MAX = 200

#: Error answers every token-authenticated operation can give besides 401.
COMMON_ERRORS: dict[int, tuple[str, ...]] = {
    400: ("bad_request",),  # a NUL anywhere in the path or query: no field takes one
    403: ("insufficient_permission", "no_organization", "not_enterprise"),
    429: ("rate_limited",),
}
LIST_ERRORS = {**COMMON_ERRORS, 400: ("bad_request", "invalid_cursor", "invalid_parameter")}
ONE_ERRORS = {**COMMON_ERRORS, 404: ("not_found",)}
WRITE_ONE = {**ONE_ERRORS, 412: ("precondition_failed",), 428: ("precondition_required",)}


def _ok(description: str, schema: str, headers: dict | None = None) -> Answer:
    return Answer(description, schema, {**RATE_HEADERS, **(headers or {})})


OPERATIONS = [
    Operation(
        "GET", "/api/v1/registries", "listRegistries", "List registries", tags=["Registries"],
        description="Drafts and active registries, by name. Needs `read`.",
        parameters=[
            _query("kind", "Only this type.", {"type": "string", "enum": list(kinds.KINDS)}),
            _query("status", "Only this status.",
                   {"type": "string", "enum": sorted(str(s) for s in statuses.Status)}),
            _query("q", "Name contains (case-insensitive).",
                   {"type": "string", "maxLength": QUERY_MAX}),
            *PAGING,
        ],
        responses={200: _ok("A page of registries", "RegistryList", LINK)},
        errors=LIST_ERRORS,
    ),
    Operation(
        "POST", "/api/v1/registries", "createRegistry", "Connect a registry", tags=["Registries"],
        description="As the wizard: saves a draft and runs its connect check off the request; "
        "poll `Location` until `check_running` is false. The draft becomes active when the "
        "check passes; `save_anyway` keeps it active whatever the check finds (audited). The "
        "password is write-only. Needs `manage`.",
        body=REGISTRY_SETTINGS,
        parameters=[IDEMPOTENCY_KEY],
        responses={202: _ok("Saved; the check runs", "Registry", {**ETAG, **LOCATION})},
        errors={**COMMON_ERRORS, 400: ("bad_request", "invalid_idempotency_key"),
                409: ("idempotency_key_reused",)},
    ),
    Operation(
        "GET", "/api/v1/registries/{registry_id}", "getRegistry", "A registry",
        tags=["Registries"], parameters=[REGISTRY_ID],
        responses={200: _ok("The registry, never its secret", "Registry", ETAG)},
        errors=ONE_ERRORS,
    ),
    Operation(
        "PATCH", "/api/v1/registries/{registry_id}", "changeRegistry", "Change a registry",
        tags=["Registries"],
        description="Takes the settings the edit page shows, every field (leave out the "
        "password to keep the stored one; a changed host needs it again). A change of address, "
        "username or secret runs a check (202); a rename alone answers 200. Needs `manage`.",
        body=REGISTRY_SETTINGS, parameters=[REGISTRY_ID, IF_MATCH],
        responses={200: _ok("Changed", "Registry", ETAG),
                   202: _ok("Changed; the check runs", "Registry", ETAG)},
        errors={**WRITE_ONE, 409: ("check_running",)},
    ),
    Operation(
        "DELETE", "/api/v1/registries/{registry_id}", "removeRegistry", "Remove a registry",
        tags=["Registries"],
        description="Discards a draft, removes an active registry. When tools pull through it, "
        "answers 409 naming them unless `confirm_name` repeats the registry's name. Needs "
        "`manage`.",
        parameters=[REGISTRY_ID, IF_MATCH,
                    _query("confirm_name", "The registry's name, to remove it although tools "
                           "depend on it.", {"type": "string", "maxLength": QUERY_MAX})],
        responses={204: Answer("Removed", None, RATE_HEADERS)},
        errors={**WRITE_ONE, 409: ("has_dependents",)},
    ),
    Operation(
        "POST", "/api/v1/registries/{registry_id}/check", "checkRegistry", "Check now",
        tags=["Registries"], parameters=[REGISTRY_ID],
        description="Runs a check off the request (or joins the one running). Needs `manage`.",
        responses={202: _ok("The check runs", "Registry", {**ETAG, **LOCATION})},
        errors=ONE_ERRORS,
    ),
    Operation(
        "GET", "/api/v1/registries/{registry_id}/checks", "listChecks", "Check history",
        tags=["Registries"], parameters=[REGISTRY_ID],
        responses={200: _ok("The latest checks, newest first", "CheckList")},
        errors=ONE_ERRORS,
    ),
    Operation(
        "GET", "/api/v1/tools", "listTools", "List private tools", tags=["Tools"],
        description="Each with the registry its image pulls through now. Needs `read`.",
        parameters=PAGING, responses={200: _ok("A page of tools", "ToolList", LINK)},
        errors=LIST_ERRORS,
    ),
    Operation(
        "POST", "/api/v1/tools", "createTool", "Add a private tool", tags=["Tools"],
        body=TOOL_ADD, description="Needs `manage`.",
        responses={201: _ok("Added", "Tool", {**ETAG, "Location": LOCATION["Location"]})},
        errors=COMMON_ERRORS,
    ),
    Operation(
        "GET", "/api/v1/tools/{tool_id}", "getTool", "A private tool", tags=["Tools"],
        parameters=[TOOL_ID], responses={200: _ok("The tool", "Tool", ETAG)}, errors=ONE_ERRORS,
    ),
    Operation(
        "PATCH", "/api/v1/tools/{tool_id}", "renameTool", "Rename a private tool", tags=["Tools"],
        body=TOOL_RENAME, parameters=[TOOL_ID, IF_MATCH],
        responses={200: _ok("Renamed", "Tool", ETAG)}, errors=WRITE_ONE,
    ),
    Operation(
        "DELETE", "/api/v1/tools/{tool_id}", "removeTool", "Remove a private tool",
        tags=["Tools"], parameters=[TOOL_ID, IF_MATCH],
        responses={204: Answer("Removed", None, RATE_HEADERS)}, errors=WRITE_ONE,
    ),
    Operation(
        "GET", "/api/v1/audit-events", "listAuditEvents", "The org's audit log",
        tags=["Audit"],
        description="Newest first. Reads through this API are one row per token and hour, "
        "with a count. Needs `read`.",
        parameters=[
            _query("action", "Only this action, e.g. registry.added.",
                   {"type": "string", "maxLength": QUERY_MAX}),
            _query("target_id", "Only events about this object.",
                   {"type": "string", "maxLength": QUERY_MAX}),
            _query("actor_kind", "user, support, token (REST API), runner (hand-offs) or system.",
                   {"type": "string", "enum": ["user", "support", "token", "runner", "system"]}),
            _query("since", "Only events at or after this time (ISO 8601 with offset).",
                   {"type": "string", "format": "date-time"}),
            *PAGING,
        ],
        responses={200: _ok("A page of events", "AuditEventList", LINK)},
        errors=LIST_ERRORS,
    ),
    Operation(
        "GET", "/api/v1/openapi.json", "openapi", "This document", tags=["Meta"], secured=False,
        responses={200: Answer("OpenAPI 3.1", {"type": "object"})},
    ),
]

DESCRIPTION = (
    "Everything an org admin does on the Container Registry and Private tools pages, for "
    "scripts. Authenticate with an org token: `Authorization: Bearer <token>`; cookies are "
    "ignored. Tokens have permissions: `pull` (the runner API), `read`, `manage` (implies "
    "read). Every answer carries the token's X-RateLimit-* headers, a 429 also Retry-After. "
    "Errors are `{\"error\", \"message\", \"fields\"}`; `fields` holds the form's own messages."
)


def document() -> dict[str, Any]:
    """The document (built once per app: the forms do not change while it runs)."""
    cached = current_app.extensions.get("openapi_document")
    if cached is None:
        cached = build_document(title=TITLE, version=VERSION, operations=OPERATIONS,
                                description=DESCRIPTION, schemas=SCHEMAS,
                                security_description="An org token with the permission each "
                                "operation names.")
        current_app.extensions["openapi_document"] = cached
    return cached


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())


docs_bp = Blueprint("api_docs", __name__, url_prefix="/api")


@docs_bp.get("/docs")
def docs() -> str:
    """The reference page: the same document, as HTML."""
    return render_template("api/docs.html", doc=document(), operations=OPERATIONS)
