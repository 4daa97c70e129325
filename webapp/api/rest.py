"""What the REST API's views share: the bodies they take (the pages' own form classes, fed from
JSON), how a registry, a check, a tool and an audit event look as JSON, ETags, cursors, and the
read audit.

The JSON specs here are the one list of what each operation takes; `document.py` generates the
OpenAPI document from the same objects, so the views and the document cannot disagree.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Response, g, jsonify, request
from wtforms import BooleanField

from ..models import AuditEvent, ConnectivityCheck, PrivateTool, Registry, RunnerToken, utcnow
from ..registries import kinds
from ..registries.forms import RegistryRemoveForm
from ..services import audit
from ..services.tools import ToolRoute
from ..templating import aws_setup
from ..tools.forms import ToolAddForm, ToolRenameForm
from .answers import ApiError
from .auth import actor
from .forms_json import BodyRefused, JsonForm, JsonUnion, feed, json_body, validation_error

SAVE_ANYWAY_HELP = (
    "Keep the registry active even if its connect check fails (audited), as the wizard's "
    "“Save anyway” does."
)


def _with_save_anyway(form: type) -> type:
    """The kind's own settings form plus the wizard's "Save anyway" choice: every rule stays
    the form's."""
    return type(form.__name__, (form,), {
        "save_anyway": BooleanField("Save anyway", description=SAVE_ANYWAY_HELP),
        "__doc__": form.__doc__,
    })


def _schema_name(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_")) + "Settings"


#: A registry's settings, by `kind`: what create and change take.
REGISTRY_SETTINGS = JsonUnion(
    "kind",
    {key: JsonForm(_with_save_anyway(spec.form), name=_schema_name(key))
     for key, spec in kinds.KINDS.items()},
    "RegistrySettings",
)
TOOL_ADD = JsonForm(ToolAddForm, name="ToolCreate")
TOOL_RENAME = JsonForm(ToolRenameForm, name="ToolChange")
REMOVE_FORM = RegistryRemoveForm

PAGE_DEFAULT, PAGE_MAX = 50, 100


def fed_body(spec: JsonForm | JsonUnion, **kwargs: Any):
    """The request body fed to `spec`'s form, or ApiError (400, 415, 422) in the one shape."""
    try:
        body = json_body(request)
    except BodyRefused as refused:
        raise ApiError(refused.code, refused.message, refused.status) from None
    fed = feed(spec, body, **kwargs)
    if not fed.ok:
        invalid(fed)
    return fed


def invalid(fed) -> None:
    answer = validation_error(fed)
    raise ApiError(answer["error"], answer["message"], 422, answer.get("fields"))


def field_error(field: str, message: str, code: str = "invalid_fields") -> ApiError:
    return ApiError(code, "Some fields need fixing; see fields.", 422, {field: [message]})


# --- representations --------------------------------------------------------------------------


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def registry_json(registry: Registry, running: bool) -> dict[str, Any]:
    """A registry as the API shows it: everything the page shows, never the secret."""
    return {
        "id": str(registry.id),
        "kind": registry.kind,
        "name": registry.name,
        "state": registry.state,
        "status": registry.status,
        "status_reason": registry.status_reason,
        "check_running": running,
        "scheme": registry.scheme,
        "host": registry.host,
        "namespace": registry.namespace,
        "username": registry.username,
        "has_secret": registry.has_secret,
        "has_ca_certificate": bool(registry.ca_certificate),
        "test_image": registry.test_image,
        "secret_replaced_at": when(registry.secret_replaced_at),
        "last_checked_at": when(registry.last_checked_at),
        "last_success_at": when(registry.last_success_at),
        "expires_at": when(registry.expires_at),
        "created_at": when(registry.created_at),
        "version": registry.version,
        "aws": aws_json(registry),
    }


def aws_json(registry: Registry) -> dict[str, Any] | None:
    """An AWS ECR registry's AWS side, what its page's "AWS setup" shows (`aws_setup`): how it
    signs in, the role ARN, the access key ID, the platform-generated external ID and the two
    policy documents to paste into AWS, as JSON objects. Never the secret access key or the
    minted token. None for other kinds."""
    setup = aws_setup(registry)
    if setup is None:
        return None
    trust = setup["trust_policy"]
    return {
        "auth_mode": registry.aws_auth_mode,
        "role_arn": registry.aws_role_arn,
        "access_key_id": registry.aws_access_key_id,
        "external_id": registry.aws_external_id,
        "trust_policy": json.loads(trust) if isinstance(trust, str) else None,
        "permissions_policy": json.loads(str(setup["permissions_policy"])),
        "token_expires_at": when(registry.token_expires_at),
    }


def check_json(check: ConnectivityCheck) -> dict[str, Any]:
    return {
        "id": check.id,
        "trigger": check.trigger,
        "outcome": check.outcome,
        "http_status": check.http_status,
        "reason": check.reason,
        "started_at": when(check.started_at),
        "finished_at": when(check.finished_at),
        "duration_ms": check.duration_ms,
    }


def tool_json(route: ToolRoute) -> dict[str, Any]:
    tool: PrivateTool = route.tool
    registry = route.registry
    return {
        "id": tool.id,
        "name": tool.name,
        "image": tool.image,
        "pulls_through": route.kind,
        "registry": None if registry is None else {
            "id": str(registry.id), "name": registry.name, "status": registry.status},
        "pull_status": tool.pull_status,
        "pull_checked_at": when(tool.pull_checked_at),
        "created_at": when(tool.created_at),
        "version": tool.version,
    }


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "action": event.action,
        "actor": {"kind": event.actor_kind, "label": event.actor_label},
        "target": None if event.target_kind is None else {
            "kind": event.target_kind, "id": event.target_id, "label": event.target_label},
        "details": event.details or {},
        "count": event.count,
        "created_at": when(event.created_at),
    }


# --- ETags --------------------------------------------------------------------------------------


def etag(version: int) -> str:
    return f'"v{version}"'


def with_etag(response: Response, version: int) -> Response:
    response.headers["ETag"] = etag(version)
    return response


def require_if_match(version: int) -> None:
    """428 without `If-Match`, 412 when it names another version (`*` matches any)."""
    header = request.headers.get("If-Match")
    if header is None:
        raise ApiError("precondition_required",
                       "Send If-Match with the ETag of your last read of this object.", 428)
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if "*" not in tags and etag(version) not in tags:
        raise ApiError("precondition_failed",
                       "This changed since you read it: read it again, then retry.", 412)


# --- cursors ------------------------------------------------------------------------------------


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def cut_page(rows: list[Any], limit: int,
             cursor_of: Callable[[Any], list[Any]]) -> tuple[list[Any], str | None]:
    """Rows read as `limit + 1`: the page, and the cursor of the next one (None on the last)."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(cursor_of(rows[-1]))


def _bindable(value: object) -> bool:
    """What a database can bind as a cursor's part: a string without NUL or lone surrogates,
    an integer of 64 bits (anything else was never a cursor we gave out)."""
    if isinstance(value, str):
        return _encodes(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    return False


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity or not all(
        _bindable(value) for value in values
    ):
        raise ApiError("invalid_cursor", "This cursor is not one we gave out.", 400,
                       {"cursor": ["Use the cursor of a Link header as it came."]})
    return values


QUERY_MAX = 200


def query(name: str, choices: list[str] | None = None, max_length: int = QUERY_MAX) -> str | None:
    """A query parameter as the document states it: bounded, one of `choices` if given."""
    value = request.args.get(name)
    if value is None:
        return None
    if len(value) > max_length or "\x00" in value:
        raise ApiError("invalid_parameter", f"{name} is at most {max_length} characters.", 400,
                       {name: [f"Keep this to {max_length} characters or fewer."]})
    if choices is not None and value not in choices:
        raise ApiError("invalid_parameter", f"{name} is one of: {', '.join(choices)}.", 400,
                       {name: [f"Choose one of: {', '.join(choices)}."]})
    return value


RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})")


def moment(name: str) -> datetime | None:
    """A query parameter that is an RFC 3339 time (what `format: date-time` means)."""
    value = query(name)
    if value is None:
        return None
    try:
        if not RFC3339.fullmatch(value):
            raise ValueError
        # In UTC now: a time at the edge of the calendar (9999-12-31T23:59:59-23:00) fails
        # here, not when the database binds it.
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiError("invalid_parameter", f"{name} is an RFC 3339 time with its offset.", 400,
                       {name: ["Use a time like 2026-01-31T12:00:00Z."]}) from None


def page_size() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return PAGE_DEFAULT
    # isascii: "²".isdigit() is true, yet int("²") fails
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= PAGE_MAX:
        raise ApiError("invalid_parameter", f"limit is a whole number from 1 to {PAGE_MAX}.",
                       400, {"limit": [f"Use a whole number from 1 to {PAGE_MAX}."]})
    return int(raw)


def page(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    response = jsonify({"items": items, "next_cursor": next_cursor})
    if next_cursor is not None:
        args = {key: value for key, value in request.args.items() if key != "cursor"}
        args["cursor"] = next_cursor
        query = "&".join(f"{key}={_quote(value)}" for key, value in args.items())
        response.headers["Link"] = f'<{request.base_url}?{query}>; rel="next"'
    return response


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


# --- the read audit -----------------------------------------------------------------------------


def audit_read(token: RunnerToken, org_id: int) -> None:
    """Reads are audited as one row per token and hour, counting the reads."""
    hour = utcnow().strftime("%Y-%m-%dT%H")
    audit.record_counted(
        f"api-read:{token.id}:{hour}",
        "api.read",
        org=org_id,
        target=("runner_token", str(token.id), token.name),
        details={"hour": hour},
        actor=g.get("api_actor") or actor(token),
    )
