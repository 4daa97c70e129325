"""`/api/v1/registries`: what the Container Registry pages do, for a script with a token.

Create behaves as the wizard does (`services.drafts.connect`): it saves a draft, starts the
connect check on the executor and answers 202 at once with `Location`; the draft becomes active
when the check passes, stays a draft with its status when it fails, unless `save_anyway`. A
change takes the same settings form as "Replace credentials" (every field; leave the secret
out to keep it) and needs `If-Match`; so does removal, which asks for `confirm_name` when tools
depend on the registry, as the page's typed confirmation does.

An AWS ECR registry in role mode is two steps, because the customer's role must trust the
external ID the platform generates for it: create without `role_arn` saves the draft (the
external ID made by `drafts.token`, as the wizard's page does, never changed afterwards) and
answers 201 with its `aws` block (external ID, trust and permissions policies) and no check; a
PATCH of that draft with `If-Match` and the role ARN runs the connect check (202). Access-key
mode is one step like the other kinds.
"""

from __future__ import annotations

import uuid

from flask import Response, jsonify, request, url_for
from sqlalchemy import or_, select

from ..extensions import csrf, db
from ..models import Organization, Registry, RunnerToken
from ..registries import kinds
from ..registry_client import statuses
from ..services import checks, drafts, registries
from ..services.tools import tools_using
from . import bp
from .answers import ApiError
from .auth import charge_outbound, org_token
from .rest import (
    REGISTRY_SETTINGS,
    audit_read,
    check_json,
    cut_page,
    decode_cursor,
    fed_body,
    field_error,
    invalid,
    page,
    page_size,
    query,
    registry_json,
    require_if_match,
    with_etag,
)

LISTED_STATES = ("draft", "active")
IDEMPOTENCY = uuid.UUID("5b0f6c1e-4f0c-4d55-9c55-6a1f0e7f1919")
IDEMPOTENCY_KEY_MAX = 200


def _registry(org: Organization, registry_id: str) -> Registry:
    registry = registries.get(org, registry_id, states=LISTED_STATES)
    if registry is None:
        raise ApiError("not_found", "There is no registry with this id.", 404)
    return registry


def _answer(registry: Registry, status: int = 200) -> Response:
    db.session.refresh(registry)
    response = jsonify(registry_json(registry, registries.is_check_running(registry)))
    response.status_code = status
    return with_etag(response, registry.version)


def _location(registry_id: uuid.UUID) -> str:
    return url_for("api.registry_get", registry_id=str(registry_id))


@bp.get("/registries")
@org_token("read")
def registries_list(org: Organization, token: RunnerToken) -> Response:
    limit = page_size()
    rows_query = select(Registry).where(
        Registry.org_id == org.id, Registry.state.in_(LISTED_STATES)
    )
    kind = query("kind", list(kinds.KINDS))
    if kind:
        rows_query = rows_query.where(Registry.kind == kind)
    status = query("status", sorted(str(each) for each in statuses.Status))
    if status:
        rows_query = rows_query.where(Registry.status == status)
    text = (query("q") or "").strip().lower()
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows_query = rows_query.where(Registry.name_key.like(f"%{escaped}%", escape="\\"))
    cursor = query("cursor", max_length=500)
    if cursor:
        name_key, last_id = decode_cursor(cursor, 2)
        try:
            last = uuid.UUID(str(last_id))
        except ValueError:
            last = None
        if not isinstance(name_key, str) or last is None:
            decode_cursor("", 2)  # the same refusal
        rows_query = rows_query.where(or_(Registry.name_key > name_key,
                                (Registry.name_key == name_key) & (Registry.id > last)))
    rows = list(db.session.scalars(
        rows_query.order_by(Registry.name_key, Registry.id).limit(limit + 1)))
    rows, next_cursor = cut_page(rows, limit, lambda row: [row.name_key, str(row.id)])
    items = [registry_json(row, registries.is_check_running(row)) for row in rows]
    audit_read(token, org.id)
    return page(items, next_cursor)


@bp.post("/registries")
@csrf.exempt
@org_token("manage")
def registry_create(org: Organization, token: RunnerToken) -> Response:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_MAX:
        raise ApiError("invalid_idempotency_key",
                       f"Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX} characters.", 400)
    # A retried create (same token, same key) names the same row: it creates one registry.
    registry_id = uuid.uuid5(IDEMPOTENCY, f"{token.id}:{key}") if key else uuid.uuid4()
    # The wizard's signed draft token for this row: it carries the external ID an AWS ECR role
    # trusts, generated here by the platform (`drafts.token`), never taken from the body.
    fed = fed_body(REGISTRY_SETTINGS, fixed={"draft": drafts.token(org, registry_id)})
    existing = db.session.get(Registry, registry_id)
    if existing is not None:
        if existing.org_id != org.id or existing.state not in LISTED_STATES:
            raise ApiError("idempotency_key_reused",
                           "This Idempotency-Key was used for a registry since removed.", 409)
        response = _answer(existing, 201 if drafts.awaits_role(existing) else 202)
        response.headers["Location"] = _location(existing.id)
        return response
    form = fed.form
    pending = _role_pending(form)
    details = form.details(role_pending=True) if pending else form.details()
    if details is None:
        invalid(fed)
    if pending:
        # Step one of an AWS ECR role: the draft, its external ID and policies; no check.
        _save_awaiting_role(org, form, details, registry_id)
        response = _answer(db.session.get(Registry, registry_id), 201)
        response.headers["Location"] = _location(registry_id)
        return response
    charge_outbound(token, org)
    try:
        drafts.connect(org, None, details, registry_id)
    except registries.RegistryConflict as conflict:
        field = "name" if conflict.field == "name" else form.address_field.short_name
        raise field_error(field, str(conflict)) from None
    except registries.SecretRequired as missing:
        raise field_error("password", str(missing)) from None
    registry = db.session.get(Registry, registry_id)
    if form.save_anyway.data and registry.state == "draft":
        _save_anyway(org, registry)
    response = _answer(registry, 202)
    response.headers["Location"] = _location(registry_id)
    return response


def _role_pending(form) -> bool:  # type: ignore[no-untyped-def]
    """An AWS ECR role with no role ARN yet (and no "save anyway": a registry cannot be active
    without its role): saved as a draft that waits for the ARN."""
    awaits = getattr(form, "awaits_role", None)
    return awaits is not None and awaits() and not form.save_anyway.data


def _save_awaiting_role(org: Organization, form, details, registry_id: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    try:
        drafts.save_awaiting_role(org, details, registry_id)
    except registries.RegistryConflict as conflict:
        field = "name" if conflict.field == "name" else form.address_field.short_name
        raise field_error(field, str(conflict)) from None


def _save_anyway(org: Organization, registry: Registry) -> None:
    try:
        registries.save_anyway(org, registry)
        registries.commit(org, registry.name, registry.host, registry.namespace, registry.id)
    except registries.RegistryConflict as conflict:
        db.session.rollback()
        raise field_error("name" if conflict.field == "name" else "save_anyway",
                          str(conflict)) from None


@bp.get("/registries/<registry_id>")
@org_token("read")
def registry_get(org: Organization, token: RunnerToken, registry_id: str) -> Response:
    registry = _registry(org, registry_id)
    audit_read(token, org.id)
    return _answer(registry)


@bp.patch("/registries/<registry_id>")
@csrf.exempt
@org_token("manage")
def registry_change(org: Organization, token: RunnerToken, registry_id: str) -> Response:
    registry = _registry(org, registry_id)
    require_if_match(registry.version)
    fed = fed_body(REGISTRY_SETTINGS)
    if fed.kind != registry.kind:
        raise field_error("kind", "A registry's type cannot change: remove it and connect a "
                                  "registry of the other type.")
    form = fed.form
    form.use_registry(registry)  # what it keeps whatever is sent (AWS ECR: its external ID)
    pending = registry.state == "draft" and _role_pending(form)
    details = form.details(role_pending=True) if pending else form.details()
    if details is None:
        invalid(fed)
    if registry.state == "draft":
        if registries.is_check_running(registry):
            raise ApiError("check_running", "Its check is still running; wait for it.", 409)
        if pending:
            _save_awaiting_role(org, form, details, registry.id)
            return _answer(db.session.get(Registry, registry.id))
        charge_outbound(token, org)
        try:
            drafts.connect(org, None, details, registry.id)
        except registries.RegistryConflict as conflict:
            field = "name" if conflict.field == "name" else form.address_field.short_name
            raise field_error(field, str(conflict)) from None
        except registries.SecretRequired as missing:
            raise field_error("password", str(missing)) from None
        registry = db.session.get(Registry, registry.id)
        if form.save_anyway.data and registry.state == "draft":
            _save_anyway(org, registry)
        return _answer(registry, 202)
    changed_settings = details.secret is not None or (
        details.scheme, details.host, details.namespace, details.username,
        details.ca_certificate or None, details.test_image or None,
    ) != (registry.scheme, registry.host, registry.namespace, registry.username,
          registry.ca_certificate or None, registry.test_image or None)
    if changed_settings:
        charge_outbound(token, org)
    try:
        if details.name != registry.name:
            registries.rename(org, registry, details.name)
        if changed_settings:
            registries.replace_credentials(org, registry, details)
        registries.commit(org, details.name, details.host, details.namespace, registry.id)
    except registries.RegistryConflict as conflict:
        db.session.rollback()
        field = "name" if conflict.field == "name" else form.address_field.short_name
        raise field_error(field, str(conflict)) from None
    except registries.SecretRequired as missing:
        db.session.rollback()
        raise field_error("password", str(missing)) from None
    if changed_settings:
        checks.request_check(registry.id, "manual")
        return _answer(registry, 202)
    return _answer(registry)


@bp.delete("/registries/<registry_id>")
@csrf.exempt
@org_token("manage")
def registry_delete(org: Organization, token: RunnerToken, registry_id: str) -> Response:
    registry = _registry(org, registry_id)
    require_if_match(registry.version)
    if registry.state == "draft":
        registries.discard(org, registry)
        db.session.commit()
        return Response(status=204)
    dependents = tools_using(org, registry)
    if dependents and (query("confirm_name") or "").strip() != registry.name:
        names = ", ".join(tool.name for tool in dependents)
        raise ApiError(
            "has_dependents",
            f"Tools pull through this registry: {names}. To remove it anyway, repeat its name "
            "as confirm_name.",
            409,
            {"confirm_name": ["Type the registry's name exactly to confirm, or cancel."]},
        )
    registries.remove(org, registry, len(dependents))
    db.session.commit()
    return Response(status=204)


@bp.post("/registries/<registry_id>/check")
@csrf.exempt
@org_token("manage")
def registry_check(org: Organization, token: RunnerToken, registry_id: str) -> Response:
    registry = _registry(org, registry_id)
    charge_outbound(token, org)
    checks.request_check(registry.id, "connect" if registry.state == "draft" else "manual")
    response = _answer(registry, 202)
    response.headers["Location"] = _location(registry.id)
    return response


@bp.get("/registries/<registry_id>/checks")
@org_token("read")
def registry_checks(org: Organization, token: RunnerToken, registry_id: str) -> Response:
    registry = _registry(org, registry_id)
    items = [check_json(check) for check in checks.history(registry)]
    audit_read(token, org.id)
    return jsonify({"items": items, "next_cursor": None})

