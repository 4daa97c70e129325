"""Throttles on writes people make, per user and per org, so one person cannot flood the app and
one org cannot starve the others.

- `outbound_checks`: what makes us send traffic to registries (Connect, Check now, Replace
  credentials, Check pull), so an admin cannot turn the checker into a port scanner.
- `tool_adds`: adding private tools.

Each budget is a setting ("30 per minute") and is counted per view (Flask-Limiter prefixes a
non-shared limit's scope with the endpoint); a refusal is 429 with `Retry-After`.
"""

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


def per_user_and_org(user_setting: str, org_setting: str, scope: str) -> Callable:
    """A decorator: POSTs to the view count against the user's budget and the org's (the two
    settings name them)."""

    def decorate(view: Callable) -> Callable:
        per_user = limiter.limit(
            lambda: current_app.config[user_setting],
            key_func=_user_key,
            methods=["POST"],
            scope=f"{scope}-user",
        )
        per_org = limiter.limit(
            lambda: current_app.config[org_setting],
            key_func=_org_key,
            methods=["POST"],
            scope=f"{scope}-org",
        )
        return per_user(per_org(view))

    return decorate


outbound_checks = per_user_and_org(
    "CHECK_REQUESTS_PER_USER", "CHECK_REQUESTS_PER_ORG", "outbound-checks"
)
tool_adds = per_user_and_org("TOOL_ADDS_PER_USER", "TOOL_ADDS_PER_ORG", "tool-adds")
