"""Our `html_params` (webapp/widget_attributes.py) writes what WTForms' writes, byte for byte,
for every kind of attribute a form renders, and escapes what a user typed as WTForms does: an
attribute value cannot close its quotes or open a tag."""

from __future__ import annotations

import itertools

import pytest
from markupsafe import Markup

from webapp import widget_attributes
from webapp.widget_attributes import LIBRARY_HTML_PARAMS, html_params

KEYS = ("name", "id", "class_", "for_", "data_autofocus", "data_menu_item", "aria_describedby",
        "aria_invalid", "type", "value", "placeholder", "maxlength", "x<y", "on&", "a_b_")
VALUES = (
    True, False, None, 0, 1, 64, "", "plain", 'say "hi"', "it's", "<script>alert(1)</script>",
    "a&b", "&amp;", "שלום registry", "zero\u200bwidth", "\u202eevil", "x" * 64,
    Markup("<b>bold</b>"), Markup('quoted "markup"'), Markup("&#34;"), 3.5,
)


def cases():
    for key, value in itertools.product(KEYS, VALUES):
        yield {key: value}
    for first, second in itertools.product(VALUES, repeat=2):
        yield {"value": first, "class_": second, "data_x": True, "id": "f"}
    for count in range(1, len(KEYS)):
        yield {key: VALUES[(index * 7 + count) % len(VALUES)]
               for index, key in enumerate(KEYS[:count])}


@pytest.mark.parametrize("attributes", list(cases()), ids=repr)
def test_the_same_attributes_as_wtforms(attributes: dict) -> None:
    ours = html_params(**attributes)
    assert isinstance(ours, Markup)
    assert str(ours) == str(LIBRARY_HTML_PARAMS(**attributes))


def test_a_typed_value_cannot_leave_its_attribute() -> None:
    written = html_params(value='"><script>x</script>', name="n")
    assert '"><' not in written and "<script>" not in written


def test_the_app_renders_with_it(app) -> None:
    from wtforms import StringField
    from wtforms.widgets import core

    assert core.html_params is widget_attributes.html_params
    assert core.Input.html_params is widget_attributes.html_params
    with app.test_request_context("/"):
        from webapp.forms import WebForm

        class Form(WebForm):
            name = StringField("Name")

        form = Form(data={"name": '<a href="x">'}, meta={"csrf": False})
        assert form.name(class_="field") == (
            '<input class="field" id="name" name="name" type="text" '
            'value="&lt;a href=&#34;x&#34;&gt;">'
        )
