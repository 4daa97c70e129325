"""Who is calling the API: a bearer token, never a cookie; what it may do; what it is charged.

- `Authorization: Bearer <token>` is the only credential. Every view under `/api/` ignores the
  session (the user loader answers nobody for an API request, `auth/views.py`), so a signed-in
  browser without a token is refused like anyone else, and CSRF cannot apply.
- A token's permissions (`RunnerToken.permissions`): `pull` for the runner API, `read` and
  `manage` for the REST API. A token that authenticates but lacks the permission gets 403
  `insufficient_permission`.
- The org is the token's (`token_org`): a REST call never names an org, and another org's
  object answers 404 exactly as a missing one.
- Throttled per token (`API_RATE_LIMIT`) once it authenticates; a refused token counts against
  its address (`RUNNER_API_FAILURES_PER_ADDRESS`, shared with the runner API so guessing has one
  budget). The answer carries that limit's X-RateLimit-* headers (`throttle`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request

from ..extensions import client_address
from ..models import Organization, RunnerToken
from ..services import runner_tokens
from ..services.audit import Actor
from . import throttle
from .answers import ApiError

REFUSED_KEY = "runner-refused:{address}"
MISSING_TOKEN = "Send a valid token: Authorization: Bearer <token>."  # noqa: S105 - words


def bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def token_org(token: RunnerToken) -> Organization | None:
    """The org a token acts for, or None (a platform token, which the REST API refuses): the
    token's scope (issue 14)."""
    return token.org


def actor(token: RunnerToken) -> Actor:
    """How the audit log names a token that did something."""
    return Actor("token", str(token.id), f"API token {token.name}")


def _charged(setting: str, key: str) -> bool:
    verdict = throttle.charge(current_app.config[setting], key)
    return verdict is not None and not verdict.allowed


def authenticate(permission: str, rate_setting: str = "API_RATE_LIMIT") -> RunnerToken:
    """The calling token if it is live and may do `permission`; else ApiError (401, 403, 429).

    Sets `g.api_token` and `g.api_actor` (the audit log's actor for this request)."""
    token = runner_tokens.authenticate(bearer() or "")
    if token is None:
        refused_key = REFUSED_KEY.format(address=client_address())
        if _charged("RUNNER_API_FAILURES_PER_ADDRESS", refused_key):
            raise ApiError("rate_limited", "Too many refused tokens from this address; wait.", 429)
        raise ApiError("invalid_token", MISSING_TOKEN, 401)
    if _charged(rate_setting, f"runner-token:{token.id}"):
        raise ApiError("rate_limited", "Too many requests with this token; slow down.", 429)
    if not token.may(permission):
        raise ApiError(
            "insufficient_permission",
            f"This token does not have the {permission!r} permission.",
            403,
        )
    g.api_token, g.api_actor = token, actor(token)
    return token


def charge_outbound(token: RunnerToken, org: Organization) -> None:
    """What makes us contact a registry (create, a change of settings, Check now) also counts
    against the page's check budgets, per token and per org (CHECK_REQUESTS_PER_USER and
    CHECK_REQUESTS_PER_ORG), so a token cannot turn the checker into a port scanner either.
    A refusal is 429 with that budget's headers; otherwise the answer keeps the token's."""
    general = g.get("api_throttle")
    for setting, key in (("CHECK_REQUESTS_PER_USER", f"api-checks-token:{token.id}"),
                         ("CHECK_REQUESTS_PER_ORG", f"api-checks-org:{org.id}")):
        if _charged(setting, key):
            raise ApiError("rate_limited", "Too many checks asked for; wait, then try again.",
                           429)
    if general is not None:
        g.api_throttle = general


def org_token(permission: str) -> Callable:
    """A REST view: the token must have `permission` and an org; the view gets `org`, `token`."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = authenticate(permission)
            org = token_org(token)
            if org is None:
                raise ApiError(
                    "no_organization",
                    "This token belongs to no organization; create one for your organization.",
                    403,
                )
            if not org.is_enterprise:
                raise ApiError("not_enterprise", "Private registries need the Enterprise plan.",
                               403)
            g.api_org = org
            return view(*args, org=org, token=token, **kwargs)

        wrapper.api_permission = permission  # type: ignore[attr-defined]
        return wrapper

    return decorate
