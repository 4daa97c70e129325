"""Security headers on every response, from one place; the CSP is data. And, beside the CSRF
tokens, the browser's own word on where a POST comes from (security.md §4.4)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, abort, request
from flask_login import current_user

from .registry_client.address import DEFAULT_PORTS
from .request_hooks import is_api_request

CSP: dict[str, list[str]] = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}


def csp_header(policy: dict[str, list[str]] = CSP) -> str:
    return "; ".join(f"{name} {' '.join(values)}" for name, values in policy.items())



def _origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin such as `https://app.example`; None if it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def same_origin(origin: str) -> bool:
    """Whether an `Origin` header names this app as the request reached it: its scheme and Host,
    which ProxyFix (PROXY_FIX_HOPS) has already made the public ones. `null` (a sandboxed frame,
    a data: URL, a redirect across origins) is never ours."""
    theirs = _origin_of(origin.strip())
    return theirs is not None and theirs == _origin_of(f"{request.scheme}://{request.host}")


def init_app(app: Flask) -> None:
    production = app.config["APP_ENV"] == "production"
    csp = csp_header()

    @app.before_request
    def _refuse_cross_site_writes() -> None:
        # Defence in depth beside CSRF tokens: browsers say where a request came from.
        if request.method != "POST":
            return
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            abort(403)
        # Another origin (a sibling subdomain is "same-site"), or "null". The APIs take no
        # cookies, so a browser cannot lend them its session: their callers may be anywhere.
        origin = request.headers.get("Origin")
        if origin is not None and not is_api_request() and not same_origin(origin):
            abort(403)

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if production:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        # The runner API never looks at the session (nor refreshes it), and static files are
        # the same for everyone.
        if (
            request.endpoint != "static"
            and request.blueprint != "api"
            and current_user
            and current_user.is_authenticated
        ):
            headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        return response
