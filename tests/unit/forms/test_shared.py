"""What every form shares (webapp/forms.py): the strip filter and the one-line validator."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import StringField

from tests.support.apps import make_app, make_config
from webapp.forms import WebForm, single_line, strip


class NameForm(WebForm):
    name = StringField("Name", filters=[strip], validators=[single_line])


@pytest.fixture
def request_context():
    with make_app(make_config("sqlite://")).test_request_context(method="POST"):
        yield


def test_strip_trims_text_and_leaves_the_rest():
    assert strip("  acme  ") == "acme"
    assert strip(None) is None and strip(3) == 3


@pytest.mark.parametrize("name", ["Сканер", "مسح", "👩‍💻 tools", "zero\u200bwidth", "a b"])
def test_one_line_of_any_script_is_fine(request_context, name):
    form = NameForm(formdata=MultiDict({"name": f"  {name} "}), meta={"csrf": False})
    assert form.validate() and form.name.data == name


@pytest.mark.parametrize("name", ["two\nlines", "tab\there", "nul\x00", "para\u2029graph"])
def test_line_breaks_and_control_characters_are_refused(request_context, name):
    form = NameForm(formdata=MultiDict({"name": name}), meta={"csrf": False})
    assert not form.validate()
    assert form.name.errors == ["Use one line of text, without line breaks or control characters."]
