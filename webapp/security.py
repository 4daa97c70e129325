"""Security headers on every response, from one place; the CSP is data."""

from __future__ import annotations

from flask import Flask, Response, abort, request
from flask_login import current_user

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


def init_app(app: Flask) -> None:
    production = app.config["APP_ENV"] == "production"
    csp = csp_header()

    @app.before_request
    def _refuse_cross_site_writes() -> None:
        # Defence in depth beside CSRF tokens: browsers say where a request came from.
        if request.method == "POST" and request.headers.get("Sec-Fetch-Site") == "cross-site":
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
