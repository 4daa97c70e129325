"""The inline SVG icons as template globals, `icon(name, cls)` and `registry_icon(kind)`: the
markup is `_macros/icons.html`'s (its one home), rendered once per argument and kept, since
calling a Jinja macro costs more than the page's other work around it (about 5% of a page)."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask
from markupsafe import Markup


def init_app(app: Flask) -> None:
    module = None

    def macros():
        nonlocal module
        if module is None:  # on first use: templates may be reloaded in debug, but icons are not
            module = app.jinja_env.get_template("_macros/icons.html").module
        return module

    @lru_cache(maxsize=256)
    def icon(name: str, cls: str = "") -> Markup:
        return macros().icon(name, cls)  # a macro's answer is Markup already

    @lru_cache(maxsize=64)
    def registry_icon(kind: str) -> Markup:
        return macros().registry_icon(kind)

    app.jinja_env.globals["icon"] = icon
    app.jinja_env.globals["registry_icon"] = registry_icon
