"""The action menu of a registry row (rename, replace credentials, check now, remove), its
detail page and the failing-registry alert. Every change is a POST with CSRF; rename, replace
credentials and remove also carry the version the form was opened at, and a stale one answers
409 instead of overwriting someone else's change (Check now changes no setting: it needs none).
"""

from __future__ import annotations

import uuid

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from .. import htmx
from ..access import current_org, require_admin
from ..auth.views import safe_next
from ..extensions import db
from ..limits import outbound_checks
from ..services import audit, checks, registries
from ..services.tools import tools_using
from . import bp, types
from .forms import EmptyForm, RegistryRemoveForm, RegistryRenameForm
from .views import _prefill, _redirect, _settings_from


def _registry(registry_id: uuid.UUID):
    registry = registries.get(current_org(), registry_id, states=("active",))
    if registry is None:
        abort(404)
    return registry


def _stale(template: str, fragment: str, **context):
    """409: the full error page, or the same fragment again with a "reload" message."""
    if not htmx.is_partial():
        abort(409)
    db.session.rollback()
    return htmx.render(template, fragment, 409, stale=True, partial=True, **context)


def _row(registry, status: int = 200):
    return htmx.vary(
        current_app.make_response(
            (render_template("registries/_row.html", registry=registry), status)
        )
    )


def _dependents(registry) -> list:
    return tools_using(current_org(), registry)


@bp.route("/<uuid:registry_id>")
def detail(registry_id: uuid.UUID):
    registry = _registry(registry_id)
    return render_template(
        "registries/detail.html",
        registry=registry,
        spec=types.TYPES[registry.kind],
        history=checks.history(registry, limit=20),
        events=audit.events_for_target(str(registry.id), limit=30),
        dependents=_dependents(registry),
        check_form=EmptyForm(),
        nav_active="container_registry",
    )


@bp.route("/<uuid:registry_id>/rename", methods=["GET", "POST"])
def rename(registry_id: uuid.UUID):
    require_admin()
    registry = _registry(registry_id)
    form = RegistryRenameForm(name=registry.name, version=registry.version)
    if form.validate_on_submit():
        try:
            registries.check_version(registry, form.version.data)
            registries.rename(current_org(), registry, form.name.data)
            registries.commit(
                current_org(), registry.name, registry.host, registry.namespace, registry.id
            )
        except registries.StaleRegistry:
            return _stale(
                "registries/rename.html",
                "registries/_rename_row.html",
                registry=registry,
                form=form,
            )
        except registries.RegistryConflict as conflict:
            db.session.rollback()
            form.name.errors.append(str(conflict))
        else:
            if htmx.is_partial():
                return _row(registry)
            return redirect(url_for(".index", _anchor=f"registry-{registry.id}"))
    status = 422 if request.method == "POST" else 200
    return htmx.render(
        "registries/rename.html",
        "registries/_rename_row.html",
        status,
        registry=registry,
        form=form,
        nav_active="container_registry",
    )


@bp.route("/<uuid:registry_id>/credentials", methods=["GET", "POST"])
@outbound_checks
def credentials(registry_id: uuid.UUID):
    require_admin()
    registry = _registry(registry_id)
    spec = types.TYPES[registry.kind]
    form = spec.form()
    if request.method == "GET":
        _prefill(spec, form, registry)
    elif form.validate_on_submit():
        try:
            registries.check_version(registry, request.form.get("version"))
        except registries.StaleRegistry:
            return _stale(
                "registries/credentials.html",
                "registries/_credentials_form.html",
                registry=registry,
                spec=spec,
                form=form,
                version=request.form.get("version"),
            )
        settings = _settings_from(spec, form)
        if settings is not None:
            try:
                registries.replace_credentials(current_org(), registry, settings)
                registries.commit(
                    current_org(), registry.name, settings.host, settings.namespace, registry.id
                )
            except registries.RegistryConflict as conflict:
                db.session.rollback()
                form.address_field.errors.append(str(conflict))
            except registries.SecretRequired as missing:
                db.session.rollback()
                form.password.errors.append(str(missing))
            else:
                checks.request_check(registry.id, "manual", current_user.id)
                return _redirect(url_for(".index", _anchor=f"registry-{registry.id}"))
    status = 422 if request.method == "POST" else 200
    return htmx.render(
        "registries/credentials.html",
        "registries/_credentials_form.html",
        status,
        registry=registry,
        spec=spec,
        form=form,
        version=registry.version,
        nav_active="container_registry",
    )


@bp.route("/<uuid:registry_id>/check", methods=["POST"])
@outbound_checks
def check(registry_id: uuid.UUID):
    require_admin()
    registry = _registry(registry_id)
    checks.request_check(registry.id, "manual", current_user.id)
    db.session.refresh(registry)
    if htmx.is_partial():
        return _row(registry)
    return redirect(url_for(".index", _anchor=f"registry-{registry.id}"))


@bp.route("/<uuid:registry_id>/remove", methods=["GET", "POST"])
def remove(registry_id: uuid.UUID):
    require_admin()
    registry = _registry(registry_id)
    dependents = _dependents(registry)
    form = RegistryRemoveForm(version=registry.version)
    if form.validate_on_submit():
        try:
            registries.check_version(registry, form.version.data)
        except registries.StaleRegistry:
            return _stale(
                "registries/remove.html",
                "registries/_remove_confirm.html",
                registry=registry,
                form=form,
                dependents=dependents,
            )
        if dependents and form.confirm_name.data != registry.name:
            form.confirm_name.errors.append(
                "Type the registry's name exactly to confirm, or cancel."
            )
        else:
            registries.remove(current_org(), registry, len(dependents))
            db.session.commit()
            if htmx.is_partial():
                return htmx.vary(current_app.make_response(("", 200)))
            return redirect(url_for(".index"))
    status = 422 if request.method == "POST" else 200
    return htmx.render(
        "registries/remove.html",
        "registries/_remove_confirm.html",
        status,
        registry=registry,
        form=form,
        dependents=dependents,
        partial=htmx.is_partial(),
        nav_active="container_registry",
    )


@bp.route("/alerts/dismiss", methods=["POST"])
def dismiss_alerts():
    require_admin()
    registries.dismiss_alerts(current_org())
    db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for(".index"))
