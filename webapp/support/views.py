"""The support console: read-only, across orgs, for platform support staff only.

Support staff are never org members. They see status, reasons, check history, dependents and
the audit trail, never a secret; every look is recorded in the org's audit log, in a write
transaction of its own (`audit.record_now`), so looks never fail while others write; their one
action is "Check now".
"""

from __future__ import annotations

import functools
import uuid

from flask import abort, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..extensions import db
from ..forms import EmptyForm
from ..limits import outbound_checks
from ..models import Organization, Registry
from ..registry_client import providers, statuses
from ..services import accounts, audit, checks, registries
from ..services.tools import tools_using
from . import bp


@bp.before_request
@login_required
def _support_only():
    if not current_user.is_support:
        abort(404)


def _org_or_404(slug: str) -> Organization:
    return accounts.find_org(slug) or abort(404)


def _registry_or_404(registry_id: uuid.UUID) -> Registry:
    registry = db.session.get(Registry, registry_id)
    if registry is None or registry.state != "active":
        abort(404)
    return registry


@bp.route("/")
def index():
    counts = dict(
        db.session.execute(
            select(Registry.org_id, func.count())
            .where(Registry.state == "active")
            .group_by(Registry.org_id)
        ).all()
    )
    failing = dict(
        db.session.execute(
            select(Registry.org_id, func.count())
            .where(Registry.state == "active")
            .where(Registry.status.in_(tuple(statuses.FAILING)))
            .group_by(Registry.org_id)
        ).all()
    )
    orgs = db.session.scalars(select(Organization).order_by(func.lower(Organization.name))).all()
    return render_template(
        "support/index.html",
        organizations=orgs,
        registry_counts=counts,
        failing_counts=failing,
        nav_active="support",
    )


@bp.route("/orgs/<slug>")
def org(slug: str):
    organization = _org_or_404(slug)
    audit.record_now(
        "support.viewed_org", org=organization, target=("org", slug, organization.name)
    )
    return render_template(
        "support/org.html",
        organization=organization,
        registries=registries.active(organization),
        events=audit.events_for_org(organization, limit=50),
        nav_active="support",
    )


@bp.route("/registries/<uuid:registry_id>")
def registry(registry_id: uuid.UUID):
    row = _registry_or_404(registry_id)
    audit.record_now(
        "support.viewed_registry", org=row.org_id, target=("registry", str(row.id), row.name)
    )
    return render_template(
        "support/registry.html",
        registry=row,
        spec=providers.get(row.kind),
        history=checks.history(row, limit=50),
        events=audit.events_for_target(str(row.id), limit=50),
        dependents=tools_using(row.org, row),
        check_form=EmptyForm(),
        nav_active="support",
    )


def _throttle_as_the_registrys_org(view):
    """Support's Check now counts against the checked registry's org, like an admin's."""

    @functools.wraps(view)
    def wrapper(registry_id: uuid.UUID):
        g.org_slug = _registry_or_404(registry_id).org.slug
        return view(registry_id)

    return wrapper


@bp.route("/registries/<uuid:registry_id>/check", methods=["POST"])
@_throttle_as_the_registrys_org
@outbound_checks
def check(registry_id: uuid.UUID):
    row = _registry_or_404(registry_id)
    checks.request_check(row.id, "support", current_user.id)
    return redirect(url_for(".registry", registry_id=row.id))
