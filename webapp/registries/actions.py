"""The action menu of a registry row (rename, replace credentials, check now, remove), its
detail page and the failing-registry alert. Every change is a POST with CSRF; rename, replace
credentials and remove also carry the version the form was opened at, and a stale one answers
409 instead of overwriting someone else's change (Check now changes no setting: it needs none).
"""

from __future__ import annotations

import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from .. import htmx
from ..access import admin_only, current_org
from ..auth.views import safe_next
from ..extensions import db
from ..forms import EmptyForm
from ..limits import outbound_checks
from ..services import audit, checks, registries
from ..services.tools import tools_using
from . import bp, kinds
from .forms import RegistryRemoveForm, RegistryRenameForm


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


def _row(registry):
    return htmx.fragment_response("registries/_row.html", registry=registry)


def _to_the_row(registry):
    return redirect(url_for(".index", _anchor=f"registry-{registry.id}"))


def _dependents(registry) -> list:
    return tools_using(current_org(), registry)


@bp.route("/<uuid:registry_id>")
def detail(registry_id: uuid.UUID):
    registry = _registry(registry_id)
    return render_template(
        "registries/detail.html",
        registry=registry,
        spec=kinds.KINDS[registry.kind],
        history=checks.history(registry, limit=20),
        events=audit.events_for_target(str(registry.id), limit=30),
        dependents=_dependents(registry),
        check_form=EmptyForm(),
        nav_active="container_registry",
    )


@bp.route("/<uuid:registry_id>/rename", methods=["GET", "POST"])
@admin_only
def rename(registry_id: uuid.UUID):
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
            htmx.said("Renamed to {}.", registry.name)
            return _row(registry) if htmx.is_partial() else _to_the_row(registry)
    return htmx.render(
        "registries/rename.html",
        "registries/_rename_row.html",
        htmx.form_status(),
        registry=registry,
        form=form,
        nav_active="container_registry",
    )


@bp.route("/<uuid:registry_id>/credentials", methods=["GET", "POST"])
@admin_only
@outbound_checks
def credentials(registry_id: uuid.UUID):
    registry = _registry(registry_id)
    spec = kinds.KINDS[registry.kind]
    form = spec.form()
    form.secret_on_file = registry.has_secret
    form.use_registry(registry)
    if request.method == "GET":
        form.fill_from(registry)
    elif request.form.get("refresh") is not None:
        pass  # "Update policies" (AWS ECR): the form again, as typed
    elif form.validate_page():
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
        details = form.details()
        if details is not None:
            try:
                registries.replace_credentials(current_org(), registry, details)
                registries.commit(
                    current_org(), registry.name, details.host, details.namespace, registry.id
                )
            except registries.RegistryConflict as conflict:
                db.session.rollback()
                form.address_field.errors.append(str(conflict))
            except registries.SecretRequired as missing:
                db.session.rollback()
                form.password.errors.append(str(missing))
            else:
                checks.request_check(registry.id, "manual", current_user.id)
                htmx.said("Replaced the credentials of {}; checking them now.", registry.name)
                return htmx.redirect(url_for(".index", _anchor=f"registry-{registry.id}"))
    return htmx.render(
        "registries/credentials.html",
        "registries/_credentials_form.html",
        htmx.form_status(),
        registry=registry,
        spec=spec,
        form=form,
        version=registry.version,
        nav_active="container_registry",
    )


@bp.route("/<uuid:registry_id>/check", methods=["POST"])
@admin_only
@outbound_checks
def check(registry_id: uuid.UUID):
    registry = _registry(registry_id)
    checks.request_check(registry.id, "manual", current_user.id)
    db.session.refresh(registry)
    htmx.said("Checking {} now — its status updates here when the check is done.", registry.name)
    return _row(registry) if htmx.is_partial() else _to_the_row(registry)


@bp.route("/<uuid:registry_id>/remove", methods=["GET", "POST"])
@admin_only
def remove(registry_id: uuid.UUID):
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
            htmx.said("Removed {}.", registry.name)
            return htmx.removed() if htmx.is_partial() else redirect(url_for(".index"))
    return htmx.render(
        "registries/remove.html",
        "registries/_remove_confirm.html",
        htmx.form_status(),
        registry=registry,
        form=form,
        dependents=dependents,
        partial=htmx.is_partial(),
        nav_active="container_registry",
    )


@bp.route("/alerts/dismiss", methods=["POST"])
@admin_only
def dismiss_alerts():
    registries.dismiss_alerts(current_org())
    db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for(".index"))
