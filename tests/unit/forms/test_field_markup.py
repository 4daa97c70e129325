"""webapp/field_markup.py renders the bytes the form macros rendered: `render_field`,
`form_errors` and `choice_cards` against reference_forms_macros.html (a verbatim copy of
templates/_macros/forms.html before the markup moved into Python), for every field type the
product's forms use, the product's own forms with and without data and errors, each keyword
argument, and text that needs escaping (markup, quotes, right-to-left and invisible
characters, long names)."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Form,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SearchField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from tests.support.apps import make_app, make_config
from webapp import field_markup
from webapp.auth.forms import LoginForm
from webapp.forms import EmptyForm, WebForm
from webapp.registries import kinds
from webapp.registries.forms import (
    SETTINGS_FORMS,
    ChooseTypeForm,
    RegistryRemoveForm,
    RegistryRenameForm,
)
from webapp.registries.which import WhichRegistryForm
from webapp.runner_tokens.forms import RunnerTokenCreateForm
from webapp.tools.forms import ToolAddForm, ToolRenameForm

REFERENCE = Path(__file__).with_name("reference_forms_macros.html")

#: Text that must come out escaped exactly as before, wherever it goes.
TEXTS = [
    "acme",
    "<script>alert(1)</script>",
    "\"quotes\" 'single' & ampersand &amp; <b>",
    "مسح السجل \u202eevil\u202c",  # right-to-left, with a direction override
    "zero\u200bwidth\u2060joiner\ufeff",
    "x" * 64,
    "👩‍💻 Сканер",
    "  spaced  ",
]
ERRORS = [
    [],
    ["Give the registry a name."],
    ["<script>only</script> & 'one' \"here\""],
    ["<script>bad</script>", "Second & \"last\" 'one'."],
    [Markup("<em>marked</em> error"), "plain <i>"],
]


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    app = make_app(make_config("sqlite://"))
    with app.test_request_context(method="POST"):
        yield app


@pytest.fixture(scope="module")
def reference(app: Flask) -> Any:
    """The macros as they were, compiled by the app's environment (autoescape on)."""
    return app.jinja_env.from_string(REFERENCE.read_text()).module


@pytest.fixture(scope="module")
def entry(app: Flask) -> Any:
    """What templates import: `_macros/forms.html`."""
    return app.jinja_env.get_template("_macros/forms.html").module


def differences(cases, reference, entry) -> list[str]:
    """Render each (macro name, args, kwargs, description) both ways; the ones that differ."""
    found = []
    count = 0
    for name, args, kwargs, what in cases:
        count += 1
        old = getattr(reference, name)(*args, **kwargs)
        new = getattr(entry, name)(*args, **kwargs)
        if type(new) is not Markup or str(old) != str(new):
            diff = "\n".join(difflib.unified_diff(str(old).splitlines(), str(new).splitlines(),
                                                  "macro", "python", lineterm=""))
            found.append(f"{name} {what} {kwargs!r}:\n{diff or repr(new)}")
    assert count, "no cases"
    return found


def assert_same(cases, reference, entry) -> None:
    found = differences(cases, reference, entry)
    if found:
        pytest.fail(f"{len(found)} cases differ; the first:\n" + "\n\n".join(found[:3]))


# --- the field types and keyword arguments ------------------------------------------------

CHOICES = [SelectChoice("a", "Alpha"), SelectChoice("<b>", "Bold <b> & \"q\""),
           SelectChoice("rtl", "مسح")]


def field_types(label: str, description: str) -> dict[str, Any]:
    """One field of each type, with this label and description."""
    return {
        "text": StringField(label, description=description),
        "required": StringField(label, description=description, validators=[DataRequired()]),
        "optional": StringField(label, description=description, validators=[Optional()]),
        "both": StringField(label, validators=[Optional(), InputRequired()]),
        "length": StringField(label, validators=[Length(max=64)]),
        "password": PasswordField(label, description=description),
        "select": SelectField(label, description=description, choices=CHOICES),
        "radio": RadioField(label, description=description, choices=CHOICES),
        "radio_optional": RadioField(label, choices=CHOICES, validators=[Optional()]),
        "multi": SelectMultipleField(label, description=description, choices=CHOICES),
        "checks": SelectMultipleField(label, description=description, choices=CHOICES,
                                      widget=ListWidget(prefix_label=False),
                                      option_widget=CheckboxInput()),
        "boolean": BooleanField(label, description=description),
        "boolean_optional": BooleanField(label, validators=[Optional()]),
        "textarea": TextAreaField(label, description=description),
        "hidden": HiddenField(label),
        "integer": IntegerField(label, description=description),
        "email": EmailField(label),
        "url": URLField(label),
        "search": SearchField(label),
        "date": DateField(label),
        "submit": SubmitField(label),
        "own_id": StringField(label, id="own-id"),
        "n" * 64: StringField(label, description=description),
    }


def form_data(value: str) -> MultiDict:
    names = field_types("", "").keys()
    data = MultiDict({name: value for name in names})
    for name in ("select", "radio", "radio_optional"):
        data[name] = "<b>"
    data.setlist("multi", ["a", "<b>"])
    data.setlist("checks", ["<b>"])
    data["boolean"] = "y"
    data["integer"] = "12"
    data["date"] = "2026-01-02"
    return data


KEYWORDS = [
    {},
    {"autocomplete": "off", "spellcheck": "false"},
    {"autocomplete": "off", "maxlength": 64, "error_extra": None},
    {"placeholder": "registry.example.com/<namespace> & \"q\""},
    {"data_autofocus": True, "autofocus": True},
    {"data_autofocus": None, "help": None},
    {"rows": 6, "spellcheck": "false", "autocomplete": "off"},
    {"rows": None},
    {"class_": "aws-mode"},
    {"help": "Type the name above to confirm <now>."},
    {"help": ""},
    {"help": Markup("<b>marked</b> help")},
    {"help": "Leave it empty to keep the stored one (fingerprint ab:cd), unless…",
     "autocomplete": "new-password"},
    {"autocomplete": "current-password"},
    {"autocomplete": None},
    {"error_extra": Markup('See <a href="/r#registry-1">the &lt;other&gt;</a>.')},
    {"error_extra": ""},
    {"aria_describedby": "given"},
    {"aria-describedby": "given-too"},
    {"aria_describedby": "one", "aria-describedby": " two "},
    {"aria_describedby": Markup("<m>")},
    {"aria_describedby": False, "aria-describedby": None},
    {"id": "custom-id"},
    {"id": ""},
    {"value": "forced <value>"},
    {"aria-invalid": "false", "aria_invalid": "maybe"},
    {"hx-get": "/check?a=1&b=<2>", "hx-trigger": "keyup changed delay:300ms"},
    {"disabled": False, "readonly": True},
    {"data_x": 0, "title": "\u202e\u200b"},
]


def field_cases(label: str, description: str) -> Iterator[tuple]:
    """Each field type with each keyword argument set and each list of errors, its data
    (none, or one of the texts) taking turns."""
    form_class = type("SyntheticForm", (Form,), field_types(label, description))
    datas = [None, *TEXTS[:4]]
    forms = [form_class(formdata=None if data is None else form_data(data)) for data in datas]
    for name in field_types("", ""):
        for (e, errors), (k, kwargs) in itertools.product(enumerate(ERRORS), enumerate(KEYWORDS)):
            turn = (e + k) % len(datas)
            field = forms[turn][name]
            field.errors = list(errors)
            what = f"{field.type} {name[:10]} data={datas[turn]!r} errors={errors!r}"
            yield "render_field", (field,), kwargs, what
    for form, errors in itertools.product(forms, ERRORS):
        for field in form:
            field.errors = list(errors)
        yield "form_errors", (form,), {}, f"errors={errors!r}"


@pytest.mark.parametrize("label, description", [
    ("Name", ""),
    ("Name <b>&</b> \"q\" 'a'", "Help with <script>alert(1)</script> & \"quotes\""),
    ("اسم المسجل", "\u200f\u202eRTL help\u200b"),
    ("L" * 64, "D" * 300),
])
def test_every_field_type_and_keyword_renders_as_the_macro_did(label, description,
                                                                reference, entry):
    assert_same(field_cases(label, description), reference, entry)


def test_positional_help_and_error_extra(reference, entry):
    form = type("F", (Form,), field_types("Name", "Help"))(formdata=form_data("<v>"))
    cases = []
    for field in form:
        field.errors = ["Wrong <here>."]
        cases.append(("render_field", (field, "Positional <help>"), {}, field.type))
        cases.append(("render_field", (field, None, Markup("<a>extra</a>")), {"maxlength": 3},
                      field.type))
    assert_same(cases, reference, entry)


def test_a_retyped_password_says_so(reference, entry):
    """A password typed and sent back with another field's error: the retype note."""
    class SignIn(Form):
        password = PasswordField("Secret <key> & \"Access\"", description="We store it.")

    cases = []
    for typed, errors in itertools.product(["", "hunter2", "<x>"], [[], ["Too short."]]):
        form = SignIn(formdata=MultiDict({"password": typed}))
        form.password.errors = list(errors)
        for kwargs in KEYWORDS:
            cases.append(("render_field", (form.password,), kwargs, f"{typed!r} {errors!r}"))
    assert_same(cases, reference, entry)
    form = SignIn(formdata=MultiDict({"password": "hunter2"}))
    shown = str(entry.render_field(form.password))
    assert 'id="password-retype"' in shown and "hunter2" not in shown


def test_form_errors_of_the_form_and_of_hidden_fields(app, reference, entry):
    class Hidden(WebForm):
        version = HiddenField()
        name = StringField("Name")

    cases = []
    for own, hidden, token in itertools.product(ERRORS, ERRORS, [[], ["The CSRF token is missing."]]):
        form = Hidden(formdata=MultiDict())  # CSRF on: a csrf_token field
        form.form_errors.extend(own)
        form.version.errors = list(hidden)
        form.csrf_token.errors = list(token)
        form.name.errors = ["A field's own error is not in the banner."]
        cases.append(("form_errors", (form,), {}, f"{own!r} {hidden!r} {token!r}"))
        cases.append(("render_field", (form.csrf_token,), {}, "the CSRF token"))
        cases.append(("render_field", (form.version,), {"id": "v", "x": None}, "hidden"))
    assert_same(cases, reference, entry)
    expired = Hidden(formdata=MultiDict())
    expired.csrf_token.errors = ["The CSRF token has expired."]
    assert "This form expired" in entry.form_errors(expired)
    assert entry.form_errors(EmptyForm(formdata=MultiDict())) == ""


def choice_cases(field, registry_icon) -> Iterator[tuple]:
    described = {choice: f"About <{choice}> & \"it\"" for choice in ("a", "<b>", "rtl")}
    for descriptions, icon in itertools.product(
        [None, {}, described, {"a": "Only alpha", "rtl": ""}, kinds_descriptions()],
        [None, registry_icon, lambda value: Markup(f"<i>{value}</i>"), lambda value: value],
    ):
        kwargs = {"descriptions": descriptions, "icon": icon}
        yield "choice_cards", (field,), kwargs, f"data={field.data!r} errors={field.errors!r}"
    yield "choice_cards", (field, described), {}, "positional descriptions"


def kinds_descriptions() -> dict[str, str]:
    return {key: kind.description for key, kind in kinds.KINDS.items()}


def test_choice_cards_render_as_the_macro_did(app, reference, entry):
    registry_icon = app.jinja_env.globals["registry_icon"]

    class Choose(Form):
        kind = RadioField("Registry <type> & \"q\"", choices=CHOICES)
        described = RadioField("Kind", description="Pick one <now>.", choices=CHOICES)
        bare = RadioField("Kind", choices=[])

    cases = []
    for data, errors in itertools.product([None, "a", "<b>", "missing"], ERRORS):
        form = Choose(formdata=None if data is None else MultiDict(
            {"kind": data, "described": data}))
        for field in form:
            field.errors = list(errors)
            cases.extend(choice_cases(field, registry_icon))
    assert_same(cases, reference, entry)


# --- the product's forms ------------------------------------------------------------------

#: The keyword arguments the templates pass (grep render_field templates/).
TEMPLATE_KEYWORDS = [
    {},
    {"autocomplete": "off", "spellcheck": "false"},
    {"autocomplete": "off", "maxlength": 64},
    {"autocomplete": "off", "maxlength": 64, "error_extra": Markup('See <a href="/x">x</a>.')},
    {"autocomplete": "off", "maxlength": 64, "data_autofocus": True,
     "help": "Enter saves, Escape cancels."},
    {"autocomplete": "off", "maxlength": 64, "data_autofocus": None, "help": None},
    {"autocomplete": "username", "autofocus": True},
    {"autocomplete": "current-password"},
    {"autocomplete": "new-password",
     "help": "We store it encrypted. Leave it empty to keep the one you entered."},
    {"spellcheck": "false", "autocomplete": "off", "rows": 6},
    {"spellcheck": "false", "autocomplete": "off", "rows": None},
    {"autocomplete": "off", "data_autofocus": True, "help": "Type the name above to confirm."},
    {"autocomplete": "off", "spellcheck": "false",
     "placeholder": "ghcr.io/acme or registry.example.com:5000/team"},
    {"class_": "aws-mode"},
]


def product_forms() -> Iterator[tuple[int, str, WebForm]]:
    """Each of the product's forms as a page shows it: empty, filled in, and submitted with
    values that fail validation (and then with the errors the views add), with each text (its
    index first)."""
    kinds_offered = kinds.choices()
    builders = {
        "login": lambda **kw: LoginForm(**kw),
        "which": lambda **kw: WhichRegistryForm(**kw),
        "choose": lambda **kw: ChooseTypeForm(kinds=kinds_offered, **kw),
        "rename": lambda **kw: RegistryRenameForm(**kw),
        "remove": lambda **kw: RegistryRemoveForm(**kw),
        "tool": lambda **kw: ToolAddForm(**kw),
        "tool_rename": lambda **kw: ToolRenameForm(**kw),
        "runner_token": lambda **kw: RunnerTokenCreateForm(**kw),
        "empty": lambda **kw: EmptyForm(**kw),
    }
    for form_class in SETTINGS_FORMS:
        builders[form_class.__name__] = form_class
    for turn, text in enumerate(TEXTS[:6]):
        for name, build in builders.items():
            yield turn, name, build(formdata=None, meta={"csrf": False})
            filled = build(formdata=None, meta={"csrf": False})
            for field in filled:
                if field.type in ("StringField", "TextAreaField", "HiddenField"):
                    field.data = text
            yield turn, f"{name} filled", filled
            names = [field.name for field in build(formdata=None, meta={"csrf": False})]
            data = MultiDict({field: text for field in names})
            data.setlist("permissions", ["pull", text])
            submitted = build(formdata=data)  # CSRF on: the token fails too
            submitted.validate()
            yield turn, f"{name} submitted", submitted
            if hasattr(submitted, "validate_page"):
                paged = build(formdata=MultiDict({"name": text, "password": text}))
                paged.validate_page()
                paged.form_errors.append(f"Someone else changed it <{text}>.")
                yield turn, f"{name} validate_page", paged


def test_the_product_forms_render_as_the_macros_did(app, reference, entry):
    registry_icon = app.jinja_env.globals["registry_icon"]

    def cases() -> Iterator[tuple]:
        for turn, what, form in product_forms():
            yield "form_errors", (form,), {}, what
            for field in form:
                # a third of the keyword sets each: the next text's form has the next third
                for kwargs in TEMPLATE_KEYWORDS[turn % 3::3]:
                    yield "render_field", (field,), kwargs, f"{what} {field.name}"
                if field.type == "RadioField":
                    yield from choice_cases(field, registry_icon)

    assert_same(cases(), reference, entry)


# --- through templates, and any text -------------------------------------------------------

def test_templates_import_the_python_functions(app, reference, entry):
    assert entry.render_field is field_markup.render_field
    assert entry.form_errors is field_markup.form_errors
    assert entry.choice_cards is field_markup.choice_cards
    form = ChooseTypeForm(formdata=MultiDict({"kind": "<x>", "address": "<a & b>"}),
                          kinds=kinds.choices(), meta={"csrf": False})
    form.validate()
    form.form_errors.append("Problem <here>.")
    source = (
        "{% from NAME import render_field, form_errors, choice_cards %}"
        "{{ form_errors(form) }}{{ choice_cards(form.kind, descriptions=descriptions, "
        "icon=registry_icon) }}{{ render_field(form.address, placeholder='<p>', "
        "autocomplete='off', help=none, **more) }}"
    )
    context = {"form": form, "descriptions": kinds_descriptions(),
               "more": {"spellcheck": "false", "error_extra": Markup("<a>see</a>")}}
    new = app.jinja_env.from_string(source.replace("NAME", '"_macros/forms.html"'))
    old = app.jinja_env.from_string(
        "{% set ref = reference %}" + source.replace(
            "{% from NAME import render_field, form_errors, choice_cards %}",
            "{% set render_field, form_errors, choice_cards = ref.render_field, "
            "ref.form_errors, ref.choice_cards %}"))
    rendered = new.render(context)
    assert rendered == old.render(context, reference=reference)
    assert "&lt;a &amp; b&gt;" in rendered and "<a & b>" not in rendered


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(sorted(field_types("", ""))),
    label=st.text(max_size=20), description=st.text(max_size=20), value=st.text(max_size=20),
    errors=st.lists(st.text(max_size=10), max_size=3), help_text=st.none() | st.text(max_size=10),
    placeholder=st.none() | st.text(max_size=10), given_ids=st.text(" ab<", max_size=6),
)
def test_any_text_renders_as_the_macro_did(reference, entry, kind, label, description, value,
                                           errors, help_text, placeholder, given_ids):
    form_class = type("AnyForm", (Form,), {"field": field_types(label, description)[kind]})
    form = form_class(formdata=MultiDict({"field": value}))
    form.field.errors = errors
    kwargs = {"help": help_text, "placeholder": placeholder, "aria_describedby": given_ids}
    cases = [("render_field", (form.field,), kwargs, kind), ("form_errors", (form,), {}, kind)]
    if form.field.type == "RadioField":
        cases.append(("choice_cards", (form.field,), {"descriptions": {"a": value}}, kind))
    assert_same(cases, reference, entry)
