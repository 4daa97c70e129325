"""One place that decides between a fragment and a page, and sets htmx response headers."""

from __future__ import annotations

import json

from flask import Response, request


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


def trigger(response: Response, event: str, detail: object | None = None) -> Response:
    response.headers["HX-Trigger"] = event if detail is None else json.dumps({event: detail})
    return response


def redirect(url: str) -> Response:
    """A client-side redirect for htmx (200: a 3xx would hide the header from htmx)."""
    response = Response("", status=200)
    response.headers["HX-Redirect"] = url
    return response


def refresh() -> Response:
    response = Response("", status=200)
    response.headers["HX-Refresh"] = "true"
    return response
