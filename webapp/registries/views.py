"""The Container Registry page and the three-step Add Registry wizard.

Step 1 (`/new`) chooses a kind, step 2 (`/new/<kind>`) fills that kind's form and Connect saves
a draft and starts the check (`services.drafts`), step 3 (`/<id>/connect`) shows the check
live, then its outcome. Every step works as plain forms and links without JavaScript; htmx
swaps fragments on top.
"""

from __future__ import annotations

import uuid

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from .. import htmx, paging
from ..access import admin_only, current_org, is_admin
from ..extensions import db
from ..forms import EmptyForm
from ..limits import outbound_checks
from ..models import Organization, utcnow
from ..services import drafts, registries
from . import bp, kinds
from .forms import ChooseTypeForm, RegistrySettingsForm
from .prefill import UnreadableAddress, interpret


def _carried_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="wizard-kept-fields")


def _carried_values(token: str | None) -> dict[str, str]:
    """What "Back" carried to step 1 (signed, so step 1 cannot be made to carry anything)."""
    if not token:
        return {}
    try:
        data = _carried_serializer().loads(token)
    except BadSignature:
        return {}
    fields = (*RegistrySettingsForm.CARRIED_FIELDS, DRAFT_KEPT)
    return {key: str(value) for key, value in data.items() if key in fields}


#: The draft token "Back" keeps: the same draft (and its external ID) when the admin returns.
DRAFT_KEPT = "draft_token"


@bp.route("/")
def index():
    query, number = paging.requested(request.args)
    # The failing-registry banner (admins only, as the shell's own query) in the same statement.
    page, failing = registries.listing(current_org(), query, number, with_alerts=is_admin())
    return htmx.render(
        "registries/index.html",
        "registries/_list.html",
        failing_registries=failing,
        page=page,
        registries=page.items,
        rows_base=url_for(".index"),
        now=utcnow(),
        highlight=request.args.get("added"),
        nav_active="container_registry",
    )


@bp.route("/<uuid:registry_id>/row")
def row(registry_id: uuid.UUID):
    registry = registries.get(current_org(), registry_id, states=("active",)) or abort(404)
    return htmx.fragment_response("registries/_row.html", registry=registry)


# --- step 1 ---------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@admin_only
def new():
    form = ChooseTypeForm(kind=request.args.get("kind"), kinds=kinds.choices())
    kept = request.values.get("kept", "")
    if form.validate_on_submit():
        fields: dict[str, str] = {}
        if form.address.data:
            try:
                fields = interpret(
                    form.address.data,
                    allow_insecure=current_app.config["ALLOW_INSECURE_REGISTRIES"],
                )
            except UnreadableAddress as error:
                form.address.errors.append(str(error))
        kind = fields.pop("kind", None) or form.kind.data
        if not form.address.errors:
            if kinds.get(kind or "") is None:
                form.kind.errors.append("Choose a registry type, or paste its address below.")
            else:
                fields = {key: value for key, value in fields.items() if value}
                return redirect(url_for(".new_settings", kind=kind, kept=kept or None, **fields))
    return render_template(
        "registries/wizard/step1.html",
        form=form,
        kept=kept,
        descriptions={key: kind.description for key, kind in kinds.KINDS.items()},
        nav_active="container_registry",
    ), htmx.form_status()


# --- step 2 ---------------------------------------------------------------------------------


@bp.route("/new/<kind>", methods=["GET", "POST"])
@admin_only
@outbound_checks
def new_settings(kind: str):
    org = current_org()
    spec = kinds.get(kind) or abort(404)
    draft = None
    if request.args.get("draft"):
        draft = registries.get(org, request.args["draft"], states=("draft",))
        if draft is None or draft.kind != kind:
            abort(404)
    form = spec.form()
    form.secret_on_file = draft is not None and draft.secret_ciphertext is not None
    if draft is not None:
        form.use_registry(draft)
    if request.method == "GET":
        kept_token = None
        if draft is not None:
            form.fill_from(draft)
        else:
            carried = _carried_values(request.args.get("kept"))
            kept_token = carried.pop(DRAFT_KEPT, None)
            linked = {key: value for key, value in request.args.items() if value}
            form.fill_from_carried(carried | linked)
        if kept_token and drafts.id_from(org, kept_token) is not None:
            form.draft.data = kept_token  # Back and forth: the same draft, the same external ID
        else:
            form.draft.data = drafts.token(org, draft.id if draft else uuid.uuid4())
    elif request.form.get("back") is not None:
        kept = form.carried()
        if draft is None and form.draft.data:
            kept[DRAFT_KEPT] = form.draft.data
        token = _carried_serializer().dumps(kept)
        return htmx.redirect(url_for(".new", kind=kind, kept=token))
    elif request.form.get("refresh") is not None:
        pass  # "Update policies": the same form again, with what was typed, and no errors
    elif form.validate_page():
        response = _connect(org, form)
        if response is not None:
            return response
    return htmx.render(
        "registries/wizard/step2.html",
        "registries/wizard/_settings_form.html",
        htmx.form_status(),
        form=form,
        spec=spec,
        draft=draft,
        nav_active="container_registry",
    )


def _connect(org: Organization, form: RegistrySettingsForm):
    """Save the draft, start the check, go to step 3; None when the form has errors."""
    try:
        slot = drafts.slot(org, form.draft.data)
    except drafts.FormExpired as expired:
        form.form_errors.append(str(expired))
        return None
    except drafts.DraftGone as gone:
        form.draft.data = gone.fresh_token
        form.form_errors.append(str(gone))
        return None
    if not slot.connected:  # else a second click after the first one connected: nothing to do
        details = form.details()
        if details is None:
            return None
        try:
            drafts.connect(org, current_user, details, slot.registry_id)
        except registries.RegistryConflict as conflict:
            g.conflict = conflict
            field = form.name if conflict.field == "name" else form.address_field
            field.errors.append(str(conflict))
            return None
        except registries.SecretRequired as missing:
            form.password.errors.append(str(missing))
            return None
    return htmx.redirect(url_for(".connect", registry_id=slot.registry_id))


# --- step 3 ---------------------------------------------------------------------------------


def _draft_or_404(registry_id: uuid.UUID, states=("draft", "active")):
    registry = registries.get(current_org(), registry_id, states=states)
    if registry is None:
        abort(404)
    return registry


def _status_context(registry) -> dict:
    running = registries.is_check_running(registry)
    started = registry.check_requested_at
    return {
        "registry": registry,
        "spec": kinds.KINDS[registry.kind],
        "running": running,
        "elapsed": max(0, int((utcnow() - started).total_seconds())) if running and started else 0,
        "action_form": EmptyForm(),
    }


def _went_live(context: dict) -> bool:
    """The wizard is over: the registry is active and no check of it is running."""
    return context["registry"].state == "active" and not context["running"]


@bp.route("/<uuid:registry_id>/connect")
@admin_only
def connect(registry_id: uuid.UUID):
    context = _status_context(_draft_or_404(registry_id))
    if _went_live(context):
        registry_id = context["registry"].id
        htmx.said("Connected {}.", context["registry"].name)
        return redirect(url_for(".index", added=registry_id, _anchor=f"registry-{registry_id}"))
    return render_template(
        "registries/wizard/step3.html", nav_active="container_registry", **context
    )


@bp.route("/<uuid:registry_id>/connect/status")
@admin_only
def connect_status(registry_id: uuid.UUID):
    context = _status_context(_draft_or_404(registry_id))
    if _went_live(context):
        htmx.said("Connected {}.", context["registry"].name)
        return htmx.client_redirect(url_for(".index", added=context["registry"].id))
    return htmx.fragment_response(
        "registries/wizard/_connect_status.html", oob_lead=True, **context
    )


@bp.route("/<uuid:registry_id>/save-anyway", methods=["POST"])
@admin_only
def save_anyway(registry_id: uuid.UUID):
    registry = _draft_or_404(registry_id, states=("draft",))
    if registries.is_check_running(registry):
        abort(409)
    try:
        registries.save_anyway(current_org(), registry)
        registries.commit(
            current_org(), registry.name, registry.host, registry.namespace, registry.id
        )
    except registries.RegistryConflict:
        db.session.rollback()
        abort(409)
    htmx.said("Saved {} with its failing status; it is checked again on schedule.", registry.name)
    return htmx.redirect(url_for(".index", added=registry.id))


@bp.route("/<uuid:registry_id>/cancel", methods=["POST"])
@admin_only
def cancel_connect(registry_id: uuid.UUID):
    """Cancel on step 3 while the check runs: discard the draft (a check still running on it
    finds no row and writes nothing), back to step 2 with its fields filled in again (never
    the secret)."""
    registry = _draft_or_404(registry_id, states=("draft",))
    form = kinds.KINDS[registry.kind].form(formdata=None)
    form.fill_from(registry)
    kept = form.carried()
    registries.discard(current_org(), registry)
    db.session.commit()
    htmx.said("Cancelled. Nothing was saved: change what you need and connect again.")
    return htmx.redirect(url_for(".new_settings", kind=registry.kind, **kept))


@bp.route("/<uuid:registry_id>/discard", methods=["POST"])
@admin_only
def discard(registry_id: uuid.UUID):
    registry = _draft_or_404(registry_id, states=("draft",))
    registries.discard(current_org(), registry)
    db.session.commit()
    htmx.said("Discarded the draft {}.", registry.name)
    return htmx.redirect(url_for(".index"))
