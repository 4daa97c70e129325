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

from flask import Response, jsonify, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..extensions import client_address, csrf, db
from ..request_hooks import is_api_request, reads_first
from ..services.pull_credentials import CREDENTIALS, HandOffRefused, hand_off
from . import answers, auth, bp, throttle
from .answers import ApiError

log = logging.getLogger(__name__)

#: HTTP status of each error code of the contract.
STATUS = {
    "malformed_reference": 400,
    "invalid_token": 401,
    "insufficient_permission": 403,
    "not_enterprise": 403,
    "no_matching_registry": 404,
    "credentials_unreadable": 409,
    "pull_token_unsupported": 409,
    "token_unavailable": 409,
    "rate_limited": 429,
    "token_exchange_failed": 502,
}
BODY_SHAPE = (
    'send a JSON object {"organization": "<org slug>", "image": "<image reference>"} '
    "(an org's own token may leave out organization; optionally \"credential\": "
    '"password", "pull_token" or "auto")'
)


def _error(code: str, message: str, status: int | None = None, **extra: object) -> Response:
    return answers.error(code, message, status or STATUS[code], **extra)


@bp.route("/pull-credentials", methods=["POST"])
@csrf.exempt
@reads_first
def pull_credentials() -> Response:
    try:
        token = auth.authenticate("pull", "RUNNER_API_RATE_LIMIT")
    except ApiError as refused:
        return answers.from_error(refused)
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
            fields={"credential": ['use "password", "pull_token" or "auto"']},
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
    # CORS stays closed: a page of another origin never reads an answer (its scripts hold no
    # token of ours anyway); whatever might add CORS headers, none leaves here.
    for name in {name for name, _ in response.headers.items()
                 if name.lower().startswith("access-control-")}:
        del response.headers[name]
    return throttle.add_headers(response)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return answers.from_error(error)


@bp.errorhandler(StaleDataError)
def _stale(error: StaleDataError) -> Response:
    # Someone changed the object between our read and our write: as a stale If-Match.
    db.session.rollback()
    return _error("precondition_failed", "This changed meanwhile: read it again, then retry.",
                  412)


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
