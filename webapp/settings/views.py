"""The settings overview (`/orgs/<slug>/settings/`): the breadcrumb's "Settings" and the
sidebar's first link, one card per settings page the signed-in person may open."""

from __future__ import annotations

from flask import render_template

from ..access import current_org, is_admin
from . import bp


@bp.route("/")
def index():
    org = current_org()
    admin = is_admin()
    groups = [
        (
            "infrastructure",
            "Infrastructure",
            [
                (
                    "registries.index",
                    "Container Registry",
                    "Private registries your tools pull their images from."
                    if org.is_enterprise
                    else "Private registries your tools pull from — on the Enterprise plan.",
                )
            ],
        ),
        (
            "tools",
            "Tools",
            [("tools.index", "Private tools", "Tools that run from your private images.")],
        ),
    ]
    if admin:
        groups[0][2].append(
            ("runner_tokens.index", "Runner tokens", "Tokens your tool runners sign in with.")
        )
        groups.append(
            (
                "security",
                "Security",
                [("audit.index", "Audit log",
                  "Every change, check and support view, newest first.")],
            )
        )
    return render_template("settings/index.html", groups=groups, nav_active="settings")
