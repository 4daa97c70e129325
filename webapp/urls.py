"""Templates' `url_for`, remembered: a page builds the same few dozen links on every request (the
sidebar, the breadcrumb, each row's), and Flask builds each anew (the URL defaults, then
Werkzeug's rule matching), about 8% of the empty registry page.

A URL is a function of the endpoint, its values, the script root and, through the one URL
default the app has (`access._add_slug`: an org page's links take the shown org's slug), the
org of the request; all of them are in the key. What is not plain (a `_external`, `_anchor`…
argument, a list value, no request) is built by Flask every time.
`tests/unit/test_urls.py` holds the URL defaults to that one and compares the remembered URLs
with Flask's."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from flask import Flask, g, url_for
from flask.globals import _cv_request

SIZE = 4096  # distinct links kept: every org's sidebar and a few pages of rows each


class RememberedUrls:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self.urls: OrderedDict[tuple, str] = OrderedDict()

    def __call__(self, endpoint: str, **values: Any) -> str:
        context = _cv_request.get(None)
        if context is None or any(name[:1] == "_" for name in values):
            return url_for(endpoint, **values)
        request = context.request
        org = g.get("org") if "slug" not in values else None
        try:
            key = (
                endpoint, request.blueprint if endpoint[:1] == "." else None,
                request.script_root, getattr(org, "slug", None),
                *((name, type(value), value) for name, value in values.items()),
            )
            url = self.urls.get(key)
        except TypeError:  # an unhashable value
            return url_for(endpoint, **values)
        if url is None:
            url = self.urls[key] = url_for(endpoint, **values)
            if len(self.urls) > self.size:
                self.urls.popitem(last=False)
        return url


def init_app(app: Flask) -> None:
    app.jinja_env.globals["url_for"] = RememberedUrls()
