"""The support console: read-only, across orgs, for platform support staff only.

Support staff are never org members. They find registries across every org (`/support/`), see
status, reasons, check history, dependents, runner tokens and the audit trail, never a secret
or the fingerprint; every look at an org or registry page is recorded in the org's audit log
at most once per support user, target and hour, in a write transaction of its own
(`support.record_look`); their one action is "Check now".
"""

from __future__ import annotations

import functools
import uuid

from flask import abort, g, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .. import htmx
from ..extensions import db
from ..forms import EmptyForm
from ..limits import outbound_checks
from ..models import ACTIVE_REGISTRY, PLANS, Organization, Registry
from ..registry_client import providers, statuses
from ..registry_client.providers import PROVIDERS
from ..services import accounts, audit, checks
from ..services import support as console
from ..services.tools import tools_using
from . import bp

EVENTS_PER_PAGE = 50
MAX_ID = 2**63 - 1


@bp.before_request
@login_required
def _support_only():
    if not current_user.is_support:
        abort(404)


def _org_or_404(slug: str) -> Organization:
    return accounts.find_org(slug) or abort(404)


def _registry_or_404(registry_id: uuid.UUID) -> Registry:
    return console.registry_or_none(registry_id) or abort(404)


def _choices() -> dict:
    return {
        "kind_choices": {kind: spec.label for kind, spec in PROVIDERS.items()},
        "status_choices": console.STATUS_CHOICES,
        "plan_choices": PLANS,
    }


@bp.route("/")
def index():
    """Registries across every org: search, filters, pages; the table alone for htmx."""
    filters = console.Filters.from_args(request.args)
    return htmx.render(
        "support/index.html",
        "support/_results.html",
        page=console.search(filters),
        endpoint="support.index",
        endpoint_args={},
        nav_active="support",
        **_choices(),
    )


@bp.route("/orgs/")
def orgs():
    counts = dict(
        db.session.execute(
            select(Registry.org_id, func.count())
            .where(ACTIVE_REGISTRY)
            .group_by(Registry.org_id)
        ).all()
    )
    failing = dict(
        db.session.execute(
            select(Registry.org_id, func.count())
            .where(ACTIVE_REGISTRY)
            .where(Registry.status.in_(tuple(statuses.FAILING)))
            .group_by(Registry.org_id)
        ).all()
    )
    organizations = db.session.scalars(
        select(Organization).order_by(func.lower(Organization.name))
    ).all()
    return render_template(
        "support/orgs.html",
        organizations=organizations,
        registry_counts=counts,
        failing_counts=failing,
        nav_active="support",
    )


def _health(org: Organization) -> dict[str, int]:
    rows = db.session.execute(
        select(Registry.status, func.count())
        .where(Registry.org_id == org.id, ACTIVE_REGISTRY)
        .group_by(Registry.status)
    ).all()
    health = {"healthy": 0, "failing": 0, "other": 0}
    for status, count in rows:
        group = ("healthy" if status in statuses.HEALTHY
                 else "failing" if status in statuses.FAILING else "other")
        health[group] += count
    return health


@bp.route("/orgs/<slug>")
def org(slug: str):
    organization = _org_or_404(slug)
    console.record_look(current_user, "support.viewed_org", organization.id,
                        ("org", slug, organization.name))
    filters = console.Filters.from_args(request.args)
    filters.org_id = organization.id
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before <= MAX_ID:
        before = None
    events = audit.events_for_org(organization, limit=EVENTS_PER_PAGE + 1, before_id=before)
    more = len(events) > EVENTS_PER_PAGE
    events = events[:EVENTS_PER_PAGE]
    return render_template(
        "support/org.html",
        organization=organization,
        health=_health(organization),
        page=console.search(filters),
        endpoint="support.org",
        endpoint_args={"slug": slug},
        tokens=console.tokens_for_org(organization),
        events=events,
        next_before=events[-1].id if more and events else None,
        first_page=before is None,
        nav_active="support",
        **_choices(),
    )


@bp.route("/registries/<uuid:registry_id>")
def registry(registry_id: uuid.UUID):
    row = _registry_or_404(registry_id)
    console.record_look(current_user, "support.viewed_registry", row.org_id,
                        ("registry", str(row.id), row.name))
    return render_template(
        "support/registry.html",
        registry=row,
        spec=providers.get(row.kind),
        history=checks.history(row, limit=50),
        events=audit.events_for_target(str(row.id), limit=50),
        dependents=tools_using(row.org, row),
        tokens=console.tokens_for_registry(row),
        check_form=EmptyForm(),
        nav_active="support",
    )


@bp.route("/registries/<uuid:registry_id>/status")
def status(registry_id: uuid.UUID):
    """The status panel, which polls itself while a check runs."""
    row = _registry_or_404(registry_id)
    return htmx.fragment_response("support/_status.html", registry=row)


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
    """Support's one action: audited as support (the check's trigger and actor)."""
    row = _registry_or_404(registry_id)
    checks.request_check(row.id, "support", current_user.id)
    if htmx.is_partial():
        db.session.expire_all()
        return htmx.fragment_response("support/_status.html", registry=_registry_or_404(row.id))
    return htmx.redirect(url_for(".registry", registry_id=row.id))
