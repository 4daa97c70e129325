from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select

from ..access import current_org
from ..extensions import db
from ..models import PrivateTool
from . import bp


@bp.route("/")
def index():
    tools = db.session.scalars(
        select(PrivateTool)
        .where(PrivateTool.org_id == current_org().id)
        .order_by(func.lower(PrivateTool.name))
    ).all()
    return render_template("tools/index.html", tools=tools, nav_active="private_tools")
