"""`POST /api/v1/pull-credentials`: the runner API, exactly as design.md's contract states it.

- A runner authenticates with `Authorization: Bearer <runner token>` and nothing else: this is
  the one view exempt from CSRF, and it never looks at the session, so a signed-in browser
  without a token gets 401 like anyone else.
- Throttled (`throttle`, off with `RATELIMIT_ENABLED`): a token that authenticates counts
  against its own limit (`RUNNER_API_RATE_LIMIT`, keyed by the token's id) and never against its
  address; a refused one counts against the refused-token limit of its address
  (`RUNNER_API_FAILURES_PER_ADDRESS`), which caps guessing. The X-RateLimit-* headers describe
  whichever of the two the request was charged to.
- Every answer is JSON with `Cache-Control: no-store`, errors included, and so are the routing
  errors (404, 405) of every URL under `/api/`: a runner never has to parse an HTML page.
"""

from __future__ import annotations

import logging

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..extensions import client_address, csrf, db
from ..request_hooks import is_api_request, reads_first
from ..services import runner_tokens
from ..services.pull_credentials import CREDENTIALS, HandOffRefused, hand_off
from . import bp, throttle

log = logging.getLogger(__name__)

#: HTTP status of each error code of the contract.
STATUS = {
    "malformed_reference": 400,
    "invalid_token": 401,
    "not_enterprise": 403,
    "no_matching_registry": 404,
    "credentials_unreadable": 409,
    "pull_token_unsupported": 409,
    "rate_limited": 429,
    "token_exchange_failed": 502,
}
BODY_SHAPE = (
    'send a JSON object {"organization": "<org slug>", "image": "<image reference>"} '
    "(an org's own token may leave out organization)"
)


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _error(
    code: str, message: str, status: int | None = None, **extra: object
) -> Response:
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status or STATUS[code]
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="runner-api"'
    return response


def _throttled(limit: str, key: str) -> bool:
    verdict = throttle.charge(current_app.config[limit], key)
    return verdict is not None and not verdict.allowed


@bp.route("/pull-credentials", methods=["POST"])
@csrf.exempt
@reads_first
def pull_credentials() -> Response:
    token = runner_tokens.authenticate(_bearer() or "")
    if token is None:
        if _throttled("RUNNER_API_FAILURES_PER_ADDRESS", f"runner-refused:{client_address()}"):
            return _error("rate_limited", "too many refused runner tokens from this address")
        return _error("invalid_token", "send a valid runner token: Authorization: Bearer <token>")
    if _throttled("RUNNER_API_RATE_LIMIT", f"runner-token:{token.id}"):
        return _error("rate_limited", "too many requests with this runner token; slow down")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # absurdly nested JSON
        body = None
    fields = body if isinstance(body, dict) else {}
    organization, image = fields.get("organization"), fields.get("image")
    if organization is None and token.org_id is not None:
        pass  # an org token's own org
    elif not isinstance(organization, str):
        return _error("malformed_reference", BODY_SHAPE)
    if not isinstance(image, str):
        return _error("malformed_reference", BODY_SHAPE)
    credential = fields.get("credential", "password")
    if credential not in CREDENTIALS:
        return _error(
            "malformed_reference",
            'credential must be "password", "pull_token" or "auto"',
            fields={"credential": 'use "password", "pull_token" or "auto"'},
        )
    try:
        handed = hand_off(
            token, organization, image, address=client_address(), credential=credential
        )
    except HandOffRefused as refused:
        log.info("runner token %s refused: %s", token.id, refused.code)
        extra = {"reason": refused.reason} if refused.reason else {}
        return _error(refused.code, refused.message, **extra)
    registry = handed.registry
    answer: dict[str, object] = {
        "registry": {
            "id": str(registry.id),
            "name": registry.name,
            "status": registry.status,
            "checked_at": registry.last_checked_at.isoformat()
            if registry.last_checked_at
            else None,
        },
        "credential": {
            "kind": handed.kind,
            "expires_at": handed.expires_at.isoformat() if handed.expires_at else None,
        },
        "auths": handed.auths,
    }
    if handed.token is not None:
        answer["token"] = handed.token
    return jsonify(answer)


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return throttle.add_headers(response)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = (error.name or "error").lower().replace(" ", "_").replace("'", "")
    response = _error(code, error.description or "", status)
    allow = error.get_response().headers.get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    db.session.rollback()
    log.exception("runner API failed unexpectedly")
    return _error("internal_error", "something went wrong on our side; it has been logged", 500)


@bp.before_app_request
def _json_routing_errors() -> Response | None:
    """A URL under /api/ that matches no route (404) or not with this method (405)."""
    error = request.routing_exception
    if not is_api_request() or not isinstance(error, HTTPException):
        return None
    if (error.code or 0) < 400:
        return None
    response = _http_error(error)
    response.headers["Cache-Control"] = "no-store"
    return response
