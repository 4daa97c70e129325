"""Throttles on what makes us send traffic to registries (Connect, Check now, Replace
credentials, Check pull): per user and per org, shared by all those actions, so an admin cannot
turn the checker into a port scanner and one org cannot starve the others."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g
from flask_login import current_user

from .extensions import limiter


def _user_key() -> str:
    # The user's id, not get_id(): that carries the session epoch, which a sign-out resets.
    return f"user:{current_user.id}"


def _org_key() -> str:
    return f"org:{g.get('org_slug') or '-'}"


def outbound_checks(view: Callable) -> Callable:
    per_user = limiter.limit(
        lambda: current_app.config["CHECK_REQUESTS_PER_USER"],
        key_func=_user_key,
        methods=["POST"],
        scope="outbound-checks-user",
    )
    per_org = limiter.limit(
        lambda: current_app.config["CHECK_REQUESTS_PER_ORG"],
        key_func=_org_key,
        methods=["POST"],
        scope="outbound-checks-org",
    )
    return per_user(per_org(view))
