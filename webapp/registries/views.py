from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select

from ..access import current_org
from ..extensions import db
from ..models import Registry
from . import bp


@bp.route("/")
def index():
    org = current_org()
    registries = db.session.scalars(
        select(Registry)
        .where(Registry.org_id == org.id, Registry.state == "active")
        .order_by(func.lower(Registry.name))
    ).all()
    return render_template(
        "registries/index.html", registries=registries, nav_active="container_registry"
    )
