"""One place that decides between a fragment and a page, and the response helpers every view
uses: what a page or fragment answers, what a form answers when it comes back with errors, and
where a successful POST goes."""

from __future__ import annotations

from flask import Response, flash, make_response, render_template, request, session
from flask import redirect as http_redirect
from markupsafe import Markup

from .templating import user_text


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


def render(page: str, fragment: str, status: int = 200, /, **context: object) -> Response:
    """The full page, or only the fragment for an htmx request that swaps part of it."""
    return fragment_response(fragment if is_partial() else page, status, **context)


def fragment_response(template: str, status: int = 200, /, **context: object) -> Response:
    """One template's answer (a fragment, or a page on a URL that answers both ways), with
    `Vary: HX-Request`. A partial answer carries the messages flashed for it (`flash()`, as
    before a redirect) out of band into the page's status region."""
    return vary(make_response(render_template(template, **context) + _status_oob(), status))


def removed() -> Response:
    """The partial answer to a removal: 200 with no content but the status region's message,
    which swaps the target away."""
    return vary(make_response(_status_oob(), 200))


def said(message: str, *names: object) -> None:
    """The status message of an action that worked ("Renamed to {}."), its names isolated
    (`user_text`): the next page shows it in its status region, or the fragment answering the
    action carries it there (`fragment_response`)."""
    # Our own message (never user input); the names are escaped by user_text.
    flash(Markup(message).format(*(user_text(name) for name in names)), "success")  # noqa: S704


def _status_oob() -> str:
    if not is_partial() or not session.get("_flashes"):
        return ""
    return render_template("_status_region.html", oob=True)


def form_status() -> int:
    """A form shown again after a POST did not validate: 422; shown to be filled in: 200."""
    return 422 if request.method == "POST" else 200


def client_redirect(url: str) -> Response:
    """A client-side redirect for htmx (200: a 3xx would hide the header from htmx)."""
    response = Response("", status=200)
    response.headers["HX-Redirect"] = url
    return response


def redirect(url: str) -> Response:
    """Where a successful POST goes: `HX-Redirect` for a partial htmx request, a 302 else."""
    return client_redirect(url) if is_partial() else http_redirect(url)
