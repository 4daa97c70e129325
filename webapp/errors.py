"""Error pages: a full page, or a small fragment for htmx; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, g
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from . import htmx
from .extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Reload the page and try again."),
    403: ("Not allowed", "You do not have permission to do that."),
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


def render_error(status: int, message: str | None = None, title: str | None = None):
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    context = {
        "status": status,
        "title": title or default_title,
        "message": message or default_message,
        "request_id": g.get("request_id"),
    }
    return htmx.render("errors/error.html", "errors/_error.html", status, **context)


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
        response = render_error(status if status in MESSAGES else 500)
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
