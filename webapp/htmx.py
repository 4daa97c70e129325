"""One place that decides between a fragment and a page, and sets htmx response headers."""

from __future__ import annotations

from flask import Response, make_response, render_template, request


def is_partial() -> bool:
    """True for an htmx request that swaps part of a page (not boosted, not a history restore)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-History-Restore-Request") != "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-Request-Type", "partial") != "full"
    )


def vary(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response


def render(page: str, fragment: str, status: int = 200, **context: object) -> Response:
    """The full page, or only the fragment for an htmx request that swaps part of it."""
    name = fragment if is_partial() else page
    return vary(make_response(render_template(name, **context), status))


def redirect(url: str) -> Response:
    """A client-side redirect for htmx (200: a 3xx would hide the header from htmx)."""
    response = Response("", status=200)
    response.headers["HX-Redirect"] = url
    return response
