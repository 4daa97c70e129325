"""The Container Registry page and the three-step Add Registry wizard.

Step 1 (`/new`) chooses a type, step 2 (`/new/<kind>`) fills that type's form and Connect saves
a draft and starts the check, step 3 (`/<id>/connect`) shows the check live, then its outcome.
Every step works as plain forms and links without JavaScript; htmx swaps fragments on top.
"""

from __future__ import annotations

import uuid

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from .. import htmx
from ..access import current_org, require_admin
from ..extensions import db
from ..limits import outbound_checks
from ..models import Registry
from ..registry_client.address import parse_registry_url
from ..registry_client.errors import AddressError
from ..registry_client.providers import suggest_for_address
from ..services import checks, registries
from . import bp, types
from .forms import ChooseTypeForm, EmptyForm
from .prefill import UnreadableAddress, interpret

# Non-secret step-2 fields that "Back" carries to step 1 and back again.
KEPT_FIELDS = ("name", "registry_url", "username", "namespace", "test_image")


def _kept_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="wizard-kept-fields")


def _kept_fields(token: str | None) -> dict[str, str]:
    if not token:
        return {}
    try:
        data = _kept_serializer().loads(token)
    except BadSignature:
        return {}
    return {key: str(value) for key, value in data.items() if key in KEPT_FIELDS}


@bp.route("/")
def index():
    highlight = request.args.get("added")
    return render_template(
        "registries/index.html",
        registries=registries.active(current_org()),
        highlight=highlight,
        nav_active="container_registry",
    )


@bp.route("/<uuid:registry_id>/row")
def row(registry_id: uuid.UUID):
    registry = registries.get(current_org(), registry_id, states=("active",)) or abort(404)
    return htmx.vary(
        current_app.make_response(render_template("registries/_row.html", registry=registry))
    )


# --- step 1 ---------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
def new():
    require_admin()
    form = ChooseTypeForm(kind=request.args.get("kind"))
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
            if types.get(kind or "") is None:
                form.kind.errors.append("Choose a registry type, or paste its address below.")
            else:
                fields = {key: value for key, value in fields.items() if value}
                return redirect(url_for(".new_settings", kind=kind, kept=kept or None, **fields))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "registries/wizard/step1.html",
        form=form,
        kept=kept,
        descriptions={key: spec.description for key, spec in types.TYPES.items()},
        nav_active="container_registry",
    ), status


# --- step 2 ---------------------------------------------------------------------------------


def _settings_from(spec: types.RegistryType, form) -> registries.Settings | None:
    """The validated settings, or None with errors added beside the fields."""
    if spec.fixed_host is None:
        try:
            address = parse_registry_url(
                form.registry_url.data,
                allow_insecure=current_app.config["ALLOW_INSECURE_REGISTRIES"],
            )
        except AddressError as error:
            form.registry_url.errors.append(str(error))
            return None
        suggestion = suggest_for_address(address)
        if suggestion.kind is not None:
            label = types.TYPES[str(suggestion.kind)].label
            form.registry_url.errors.append(
                f"This is a {label} address: go back and choose the {label} type."
            )
            return None
        scheme, host, namespace = address.scheme, address.netloc, address.namespace
    else:
        scheme, host, namespace = "https", spec.fixed_host, form.namespace.data or ""
    return registries.Settings(
        kind=spec.key,
        name=form.name.data,
        scheme=scheme,
        host=host,
        namespace=namespace,
        username=form.username.data,
        secret=form.password.data or None,
        ca_certificate=getattr(form, "ca_certificate", None) and form.ca_certificate.data,
        test_image=getattr(form, "test_image", None) and form.test_image.data,
    )


def _prefill(spec: types.RegistryType, form, draft) -> None:
    if draft is not None:
        form.name.data = draft.name
        form.username.data = draft.username
        if spec.fixed_host is None:
            scheme = "http://" if draft.scheme == "http" else ""
            namespace = f"/{draft.namespace}" if draft.namespace else ""
            form.registry_url.data = scheme + draft.host + namespace
            form.ca_certificate.data = draft.ca_certificate
            form.test_image.data = draft.test_image
        else:
            form.namespace.data = draft.namespace
        return
    values = _kept_fields(request.args.get("kept")) | {
        key: request.args[key] for key in KEPT_FIELDS if request.args.get(key)
    }
    for key, value in values.items():
        if hasattr(form, key):
            getattr(form, key).data = value[:512]


@bp.route("/new/<kind>", methods=["GET", "POST"])
@outbound_checks
def new_settings(kind: str):
    require_admin()
    org = current_org()
    spec = types.get(kind) or abort(404)
    draft = None
    if request.args.get("draft"):
        draft = registries.get(org, request.args["draft"], states=("draft",))
        if draft is None or draft.kind != kind:
            abort(404)
    form = spec.form()
    if request.method == "GET":
        _prefill(spec, form, draft)
        form.draft.data = registries.draft_token(org, draft.id if draft else uuid.uuid4())
    elif request.form.get("back") is not None:
        kept = {key: getattr(form, key).data for key in KEPT_FIELDS if getattr(form, key, None)}
        kept = {key: value for key, value in kept.items() if value}
        token = _kept_serializer().dumps(kept)
        return _redirect(url_for(".new", kind=kind, kept=token))
    elif form.validate_on_submit():
        response = _connect(org, spec, form)
        if response is not None:
            return response
    status = 422 if request.method == "POST" else 200
    return htmx.render(
        "registries/wizard/step2.html",
        "registries/wizard/_settings_form.html",
        status,
        form=form,
        spec=spec,
        draft=draft,
        nav_active="container_registry",
    )


def _connect(org, spec: types.RegistryType, form):
    """Save the draft, start the check, go to step 3; None when the form has errors."""
    registry_id = registries.draft_id_from(org, form.draft.data)
    if registry_id is None:
        form.form_errors.append("This form expired. Reload the page and enter the details again.")
        return None
    existing = db.session.get(Registry, registry_id)
    if existing is not None and existing.org_id == org.id and existing.state == "active":
        # A second click after the first one already connected: nothing to do again.
        return _redirect(url_for(".connect", registry_id=registry_id))
    if existing is not None and (existing.org_id != org.id or existing.state != "draft"):
        # The draft this form made was removed or discarded since: start afresh.
        form.draft.data = registries.draft_token(org, uuid.uuid4())
        form.form_errors.append(
            "That registry was removed meanwhile. Check the details and connect again."
        )
        return None
    settings = _settings_from(spec, form)
    if settings is None:
        return None
    try:
        registry = registries.save_draft(org, current_user, settings, registry_id)
        registries.commit(org, settings.name, settings.host, settings.namespace, registry_id)
    except registries.RegistryConflict as conflict:
        db.session.rollback()
        if conflict.existing is None and db.session.get(Registry, registry_id) is not None:
            # The other click of a double click saved this very draft first.
            return _redirect(url_for(".connect", registry_id=registry_id))
        g.conflict = conflict
        field = form.name if conflict.field == "name" else form.address_field
        field.errors.append(str(conflict))
        return None
    except registries.SecretRequired as missing:
        form.password.errors.append(str(missing))
        db.session.rollback()
        return None
    checks.request_check(registry.id, "connect", current_user.id)
    return _redirect(url_for(".connect", registry_id=registry.id))


def _redirect(url: str):
    return htmx.redirect(url) if htmx.is_partial() else redirect(url)


# --- step 3 ---------------------------------------------------------------------------------


def _draft_or_404(registry_id: uuid.UUID, states=("draft", "active")):
    registry = registries.get(current_org(), registry_id, states=states)
    if registry is None:
        abort(404)
    return registry


def _status_context(registry) -> dict:
    return {
        "registry": registry,
        "spec": types.TYPES[registry.kind],
        "running": registries.is_check_running(registry),
        "action_form": EmptyForm(),
    }


@bp.route("/<uuid:registry_id>/connect")
def connect(registry_id: uuid.UUID):
    require_admin()
    registry = _draft_or_404(registry_id)
    context = _status_context(registry)
    if registry.state == "active" and not context["running"]:
        return redirect(url_for(".index", added=registry.id, _anchor=f"registry-{registry.id}"))
    return render_template(
        "registries/wizard/step3.html", nav_active="container_registry", **context
    )


@bp.route("/<uuid:registry_id>/connect/status")
def connect_status(registry_id: uuid.UUID):
    require_admin()
    registry = _draft_or_404(registry_id)
    context = _status_context(registry)
    if registry.state == "active" and not context["running"]:
        return htmx.redirect(url_for(".index", added=registry.id))
    return htmx.vary(
        current_app.make_response(
            render_template("registries/wizard/_connect_status.html", **context)
        )
    )


@bp.route("/<uuid:registry_id>/save-anyway", methods=["POST"])
def save_anyway(registry_id: uuid.UUID):
    require_admin()
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
    return _redirect(url_for(".index", added=registry.id))


@bp.route("/<uuid:registry_id>/discard", methods=["POST"])
def discard(registry_id: uuid.UUID):
    require_admin()
    registry = _draft_or_404(registry_id, states=("draft",))
    registries.discard(current_org(), registry)
    db.session.commit()
    return _redirect(url_for(".index"))
