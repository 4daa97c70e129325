"""The support console: read-only, across orgs, for platform support staff only."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..extensions import db
from ..models import Organization, Registry
from . import bp


@bp.before_request
@login_required
def _support_only():
    if not current_user.is_support:
        abort(404)


@bp.route("/")
def index():
    counts = dict(
        db.session.execute(
            select(Registry.org_id, func.count())
            .where(Registry.state == "active")
            .group_by(Registry.org_id)
        ).all()
    )
    orgs = db.session.scalars(select(Organization).order_by(func.lower(Organization.name))).all()
    return render_template(
        "support/index.html", orgs=orgs, registry_counts=counts, nav_active="support"
    )
