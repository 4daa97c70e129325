"""Per-request plumbing: the request id, the proxy hops, what a request may send, and which
requests write.

Outside `/api/` every view is an HTML page or form, and forms come as
`application/x-www-form-urlencoded` or `multipart/form-data`: any other non-empty body is
refused with 415 before a view runs. Flask-WTF would otherwise read a JSON body as the form,
past the guards that look at `request.form` (the NUL guard here, the login lockout's key), with
values of any JSON type. The forms themselves read form fields only (`webapp.forms.WebForm`).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .database import begin_writing, end_writing

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Views under this prefix are the APIs: JSON bodies, bearer tokens, no cookies, no CSRF.
API_PREFIX = "/api/"
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def reads_first(view: Callable) -> Callable:
    """For a POST that mostly reads (the runner API): no write lock for the whole request; the
    few writes it makes take their own short write transactions."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = g.pop("write_token", None)
        if token is not None:
            end_writing(token)
        return view(*args, **kwargs)

    return wrapper


def init_app(app: Flask) -> None:
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        # Trust exactly as many proxies as there are, so a client cannot forge its address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    @app.before_request
    def _start_request() -> None:
        g.request_id = secrets.token_hex(8)
        if not is_api_request() and _has_body() and request.mimetype not in FORM_TYPES:
            abort(415)
        # No field of ours takes a NUL, and PostgreSQL text cannot hold one.
        fields = (request.args, request.form)
        if "\x00" in request.path or any(
            "\x00" in value for values in fields for _, value in values.items(multi=True)
        ):
            abort(400, "Remove the NUL character (\\u0000): no field takes one.")
        if request.method not in SAFE_METHODS:
            g.write_token = begin_writing()

    @app.teardown_request
    def _end_request(error: BaseException | None) -> None:
        token = g.pop("write_token", None)
        if token is not None:
            end_writing(token)
