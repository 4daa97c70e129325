"""What the API-layer unit tests share: an app context (Flask-WTF reads its translations from
the app, as in any request) and the JSON specs of the forms the REST API will take."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, NumberRange

from tests.support.apps import make_app, make_config
from webapp.api.forms_json import JsonForm, JsonUnion
from webapp.forms import WebForm
from webapp.registries import kinds
from webapp.registries.forms import ChooseTypeForm
from webapp.tools.forms import ToolAddForm, ToolRenameForm

#: The registry settings forms, one per type, chosen by `kind`: built from the registry of
#: types, so a type added there is covered here without a change.
REGISTRY_SETTINGS = JsonUnion(
    "kind", {key: JsonForm(spec.form) for key, spec in kinds.KINDS.items()}, "RegistrySettings"
)
TOOL_ADD = JsonForm(ToolAddForm)
TOOL_RENAME = JsonForm(ToolRenameForm)


class PreferencesForm(WebForm):
    """A form with the other field types JSON feeds (none of the app's forms has them yet)."""

    notify = BooleanField("Notify me")
    agree = BooleanField("I agree", validators=[DataRequired("Agree to continue.")])
    channels = SelectMultipleField("Channels", choices=[SelectChoice("mail", "Mail"),
                                                          SelectChoice("chat", "Chat")])
    retries = IntegerField("Retries", validators=[NumberRange(min=0, max=5)], default=1)
    tone = RadioField("Tone", choices=[SelectChoice("calm", "Calm"), SelectChoice("loud", "Loud")])
    note = StringField("Note")


PREFERENCES = JsonForm(PreferencesForm)


class OfferedKindsForm(ChooseTypeForm):
    """The wizard's first step with the kinds the pages offer (the view passes them in)."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, kinds=kinds.choices(), **kwargs)


CHOOSE_TYPE = JsonForm(OfferedKindsForm)


@pytest.fixture(scope="module")
def form_app() -> Flask:
    return make_app(make_config("sqlite://"))


@pytest.fixture(scope="module")
def app_context(form_app: Flask) -> Iterator[None]:
    # Module-scoped, so Hypothesis tests may use it (function-scoped fixtures are not reset
    # between examples). Not for tests that send requests through a test client of the same
    # app: those requests would share this context's `g`.
    with form_app.test_request_context():
        yield
