"""WTForms' `html_params` (the attributes of every input, select and label it renders) written
without `Markup.format`, which runs Python's whole `string.Formatter` for each attribute: the
form fields of wizard step 2 spent a fifth of the page there. The output is the library's, byte
for byte (tests/unit/forms/test_widget_attributes.py holds the two side by side); `install()`
puts it where the widgets and fields look it up."""

from __future__ import annotations

from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.widgets import core

LIBRARY_HTML_PARAMS = core.html_params
_clean_key = core.clean_key


def html_params(**kwargs: object) -> Markup:
    params = []
    for key, value in sorted(kwargs.items()):
        if value is False:
            continue
        name = str(escape(_clean_key(key)))  # the library escapes the key too (Markup.format)
        if value is True:
            params.append(name)
        else:
            # escape() turns `"` into `&#34;` but leaves a Markup value as it is: the library
            # then replaces that value's quotes with `&quot;`.
            params.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    # Each piece is made of escape()'s output only: joined as plain strings, it is safe.
    return Markup(" ".join(params))  # noqa: S704


def install() -> None:
    core.html_params = html_params  # what most widgets and Label call
    widgets.html_params = html_params  # what Field.__call__'s label text calls
    for widget in vars(core).values():  # Input and Button keep their own staticmethod copy
        if isinstance(widget, type) and "html_params" in vars(widget):
            widget.html_params = staticmethod(html_params)
