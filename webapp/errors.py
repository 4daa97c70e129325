"""Error pages: a full page, or a small fragment for htmx; never a traceback."""

from __future__ import annotations

import logging
import time

from flask import Flask, g
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from . import htmx
from .extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Reload the page and try again."),
    403: (
        "Only admins can do that",
        "Only admins of this organization can make this change. Ask one of them to do it, "
        "or to make you an admin.",
    ),
    404: ("Not found", "There is nothing here, or you do not have access to it."),
    405: ("Not allowed", "That action is not available here."),
    409: (
        "Changed since you opened it",
        "This changed since you opened it — reload the page and try again.",
    ),
    413: ("Too large", "What you sent is larger than we accept."),
    415: (
        "Not a form",
        "This address takes web forms only: send the form from its page.",
    ),
    422: ("Check the form", "Some of what you entered needs fixing."),
    429: ("Too many attempts", "Too many attempts. Wait a moment, then try again."),
    500: ("Something went wrong", "Something went wrong on our side. It has been logged."),
}


def render_error(
    status: int,
    message: str | None = None,
    title: str | None = None,
    retry_after: int | None = None,
):
    """`retry_after` (seconds, a 429): the message says when to try again, and the partial
    answer's panel leaves by itself once that time has passed (static/app.js)."""
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    if retry_after is not None and message is None:
        default_message = (
            f"Too many attempts in a short time. Try again in {_duration(retry_after)}."
        )
    context = {
        "status": status,
        "title": title or default_title,
        "message": message or default_message,
        "request_id": g.get("request_id"),
        "retry_after": retry_after,
    }
    return htmx.render("errors/error.html", "errors/_error.html", status, **context)


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minutes"


def _retry_after(error: HTTPException) -> int | None:
    """Seconds until the limit that refused the request lets one through again (Flask-Limiter
    adds its Retry-After header only after this handler)."""
    value = error.get_response().headers.get("Retry-After", "")
    if value.strip().isdigit():
        return max(1, int(value))
    from .extensions import limiter

    current = limiter.current_limit
    if current is None:
        return None
    return max(1, int(current.reset_at - time.time()))


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return render_error(
            400,
            "This form expired or was sent from another site. Reload the page and try again.",
            "Form expired",
        )

    @app.errorhandler(StaleDataError)
    def _stale(error: StaleDataError):
        db.session.rollback()
        return render_error(409)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        retry_after = _retry_after(error) if status == 429 else None
        response = render_error(status if status in MESSAGES else 500, retry_after=retry_after)
        if status == 429 and error.get_response().headers.get("Retry-After"):
            response.headers["Retry-After"] = error.get_response().headers["Retry-After"]
        if status == 405:
            response.headers["Allow"] = error.get_response().headers.get("Allow", "")
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        db.session.rollback()
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return _http(error)
        log.exception("unhandled error (request %s)", g.get("request_id"))
        return render_error(500)

    @app.errorhandler(InternalServerError)
    def _internal(error: InternalServerError):
        db.session.rollback()
        return render_error(500)
