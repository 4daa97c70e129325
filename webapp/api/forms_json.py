"""Feeding a WTForms form from a JSON object, so the REST API validates with the forms' own rules.

The forms are the one home of every input rule; the API must not grow a second copy. So a JSON
body is turned into exactly what a browser would submit for the same values (every text field as
a string, an unchecked box as nothing) and handed to the very form class the page uses, with CSRF
off and `request.form` never read. Its field messages are therefore the page's words.

Before the form runs, the body's *shape* is checked strictly, because a form cannot see JSON
types: a number where text goes would otherwise be stringified silently, and `null`, lists and
objects would reach validators that expect text (a 500). Strict means:

- the body is one JSON object; a key the form does not take is refused ("unknown field");
- each value has the JSON type of its field (`json_type`), never coerced;
- text is bounded as sent: longer than the field's `Length(max=…)` (with the form's own
  message) or, for a field without one, than `TEXT_MAX`, even where the form would trim it
  under the bound first (the schema states the bound on what is sent); no NUL (no field takes
  one and PostgreSQL cannot store it), no unpaired surrogate (not Unicode text);
- lists (a field that takes several values) hold distinct strings, at most one per choice.

Secret fields (PasswordField) are write-only: accepted, passed to the service in `Fed.data`,
never in `Fed.public_data`, a repr, or a message (no message ever quotes a value).

`JsonForm` names a form class and the fields it does not take from JSON; `JsonUnion` is a choice
of forms by a discriminator key (one settings form per registry type, chosen by `kind`). The
OpenAPI generator (`openapi.py`) reads the same two specs and the same `json_type`, so the
published schema and this check cannot drift apart; the tests prove they agree.

Hidden fields carry server state (the wizard's signed draft token, the version a form was
opened at) and are never taken from the body: the API passes them as `fixed` values (the
version from `If-Match`, say). Absent keys take `current` values when given: the same values the
page prefills the edit form with, so a partial update means what submitting the prefilled page
with a few fields changed means.

Everything here needs an app context (Flask-WTF reads its translations from the app), as any
request has.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

from flask import Request
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    FileField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import Length, ValidationError

#: Text bound for a field whose form sets no `Length(max=…)`. No field of ours takes more (the
#: longest, a CA certificate, stops at 64,000), and bodies stop at MAX_CONTENT_LENGTH anyway.
TEXT_MAX = 65_536
#: Integers are bounded like a signed 64-bit column; beyond that Python's int↔str limits bite.
INTEGER_MIN, INTEGER_MAX = -(2**63), 2**63 - 1
#: A body with many unknown keys is refused naming this many of them: the answer stays small.
UNKNOWN_REPORTED = 10
#: How deep a parsed body may nest. Form bodies are flat (a list at most): 2 would do; a little
#: room keeps the "expected a string, not an object" messages for slightly wrong bodies.
DEPTH_MAX = 8

#: The error codes of reading a body, and their statuses (the document lists them per operation).
MALFORMED_BODY, UNSUPPORTED_MEDIA_TYPE, INVALID_FIELDS = (
    "malformed_body", "unsupported_media_type", "invalid_fields")
BODY_ERRORS: dict[int, tuple[str, ...]] = {
    400: (MALFORMED_BODY,), 415: (UNSUPPORTED_MEDIA_TYPE,), 422: (INVALID_FIELDS,)}

UNKNOWN_FIELD = "unknown field"
NO_NUL = "Remove the NUL character (\\u0000): no field takes one."
NOT_AN_OBJECT = "Send a JSON object whose keys are the field names."


class JsonType(StrEnum):
    """The JSON type a form field takes. One home: the feeder checks it, the schema says it."""

    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    STRINGS = "array"  # several values of a multiple-choice field, as a list of strings


def json_type(form_field: Field) -> JsonType | None:
    """The JSON type of a field, or None for a field that never comes from JSON (hidden state,
    buttons, the CSRF token). Raises TypeError for a field JSON cannot feed faithfully yet,
    so a new kind of field fails loudly in the tests instead of being guessed at."""
    if isinstance(form_field, SubmitField | HiddenField) or form_field.type == "CSRFTokenField":
        return None
    if isinstance(form_field, FileField | MultipleFileField | FormField | FieldList):
        raise TypeError(f"{form_field.type} {form_field.short_name!r} cannot come from JSON")
    if isinstance(form_field, BooleanField):
        return JsonType.BOOLEAN
    if isinstance(form_field, IntegerField):
        return JsonType.INTEGER
    if isinstance(form_field, SelectMultipleField):
        _string_choices(form_field)
        return JsonType.STRINGS
    if isinstance(form_field, SelectField | RadioField):
        _string_choices(form_field)
        return JsonType.STRING
    if isinstance(form_field, StringField):  # text, textarea, password, email, search, url…
        return JsonType.STRING
    raise TypeError(f"{form_field.type} {form_field.short_name!r} has no JSON mapping yet")


def _string_choices(form_field: Any) -> None:
    if form_field.coerce is not str:
        raise TypeError(f"{form_field.short_name!r}: only str-coerced choices map to JSON")


def choice_values(form_field: Any) -> list[str]:
    """The values a choice field accepts, in the form's order."""
    return [str(choice.value) for choice in form_field.iter_choices()]


def is_write_only(form_field: Field) -> bool:
    return isinstance(form_field, PasswordField)


def text_bound(form_field: Field) -> tuple[int, Length | None]:
    """The longest text a field takes, and the `Length` validator that says so (None: ours)."""
    lengths = [v for v in form_field.validators if isinstance(v, Length) and v.max != -1]
    if not lengths:
        return TEXT_MAX, None
    tightest = min(lengths, key=lambda v: v.max)
    return tightest.max, tightest


# --- the specs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonForm:
    """A form class as a JSON body: which fields JSON feeds (`exclude` the rest), and the name
    of its schema in the OpenAPI document (default: the class name without "Form")."""

    form: type[Form]
    exclude: frozenset[str] = frozenset()
    name: str = ""

    @property
    def schema_name(self) -> str:
        return self.name or self.form.__name__.removesuffix("Form")

    def build(self, **form_kwargs: Any) -> Form:
        """An unsubmitted instance (for its fields), with its constructor dependencies."""
        return self.form(formdata=None, meta={"csrf": False}, **form_kwargs)

    def fields(self, form: Form) -> dict[str, Field]:
        """The fields JSON feeds, by key, in the form's order."""
        taken = {}
        for form_field in form:
            if form_field.short_name in self.exclude:
                continue
            if json_type(form_field) is not None:
                taken[form_field.short_name] = form_field
        return taken


@dataclass(frozen=True)
class JsonUnion:
    """One of several forms, chosen by the string at `discriminator` (the registry types'
    settings forms by `kind`). The key is the union's, not a field of any of the forms."""

    discriminator: str
    variants: Mapping[str, JsonForm]
    name: str

    @property
    def schema_name(self) -> str:
        return self.name

    def missing_message(self) -> str:
        return f"Choose one of: {', '.join(self.variants)}."


# --- parsing ------------------------------------------------------------------------------------


class MalformedBody(ValueError):
    """The body is not one well-formed JSON document (answer 400 with the message)."""


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # json.loads would keep the last silently; which one a client meant is a guess.
            raise MalformedBody(f"The key {key!r} appears twice in one object.")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise MalformedBody(f"{name} is not JSON.")


def parse_body(raw: bytes | str) -> Any:
    """Parse a request body strictly: UTF-8 JSON, no duplicate keys, no NaN/Infinity, no
    unpaired surrogate escapes (not text; a database cannot store them), bounded nesting.
    Raises MalformedBody with a message a client can act on."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedBody("The body is not UTF-8 text.") from None
    try:
        value = json.loads(
            raw, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except MalformedBody:
        raise
    except RecursionError:
        raise MalformedBody("The body is nested too deeply.") from None
    except ValueError as error:  # JSONDecodeError, and ints past Python's digit limit
        raise MalformedBody(f"The body is not valid JSON: {_first_line(error)}") from None
    _check_parsed(value)
    return value


def _first_line(error: ValueError) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def _check_parsed(value: Any) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > DEPTH_MAX:
            raise MalformedBody(f"The body nests deeper than {DEPTH_MAX} levels.")
        if isinstance(item, str):
            if _has_surrogate(item):
                raise MalformedBody("The body has an unpaired surrogate escape: not Unicode text.")
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class BodyRefused(Exception):
    """A request whose body cannot be read as JSON: answer `status` with `body()`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


def json_body(request: Request) -> Any:
    """The request's parsed JSON body (`parse_body`), or BodyRefused: 415 for another media
    type (application/json and application/*+json are JSON), 400 for a malformed body. The
    size limit is Flask's MAX_CONTENT_LENGTH (413 before this runs)."""
    if not request.is_json:
        raise BodyRefused(415, UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json.")
    try:
        return parse_body(request.get_data(cache=False))
    except MalformedBody as malformed:
        raise BodyRefused(400, MALFORMED_BODY, str(malformed)) from None


# --- feeding ------------------------------------------------------------------------------------


@dataclass(eq=False)
class Fed:
    """The outcome of feeding a form from JSON.

    `form` is the validated form instance (None when a union's discriminator chose none), so a
    view can hand it to the same service code the page uses, and that code can add its own
    errors to its fields (a name already taken) that `field_errors` then includes.
    """

    form: Form | None
    spec: JsonForm | None
    kind: str | None = None
    _shape: dict[str, list[str]] = field(default_factory=dict)
    _form_errors: list[str] = field(default_factory=list)

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """`{field: [messages]}`: the shape's, else the form's own (live: includes errors
        a service added after validation)."""
        errors: dict[str, list[str]] = {}
        if self.form is not None:
            for form_field in self.form:
                if form_field.errors and form_field.short_name not in self._shape:
                    errors[form_field.short_name] = [str(message) for message in form_field.errors]
        errors.update(self._shape)
        return errors

    @property
    def shape_errors(self) -> dict[str, list[str]]:
        """The refusals of the body's shape alone (unknown key, JSON type, NUL, surrogate),
        made before the form ran; for those fields the form's own messages are not shown."""
        return dict(self._shape)

    @property
    def form_errors(self) -> list[str]:
        """Errors about the body as a whole (not an object; the form's own `form_errors`)."""
        own = [str(message) for message in self.form.form_errors] if self.form else []
        return self._form_errors + own

    @property
    def ok(self) -> bool:
        return not self.field_errors and not self.form_errors

    @property
    def data(self) -> dict[str, Any]:
        """The validated values by key, secrets included: for the service, never for output."""
        if self.form is None or self.spec is None:
            return {}
        return {key: value.data for key, value in self.spec.fields(self.form).items()}

    @property
    def public_data(self) -> dict[str, Any]:
        """`data` without the write-only (secret) fields: what may be echoed or logged."""
        if self.form is None or self.spec is None:
            return {}
        fields = self.spec.fields(self.form)
        return {key: value.data for key, value in fields.items() if not is_write_only(value)}

    def __repr__(self) -> str:  # never the secrets, whoever logs this
        return f"Fed(ok={self.ok}, kind={self.kind!r}, data={self.public_data!r})"


def feed(
    spec: JsonForm | JsonUnion,
    body: Any,
    *,
    current: Mapping[str, Any] | None = None,
    fixed: Mapping[str, str] | None = None,
    **form_kwargs: Any,
) -> Fed:
    """Validate a parsed JSON body with the spec's form (for a union: the variant its
    discriminator names). Never raises for any body; refusals are in `Fed.field_errors` and
    `Fed.form_errors`.

    current: values of absent keys (what the edit page prefills; never a secret).
    fixed: values of fields JSON never sets (hidden fields such as `version`), as strings.
    form_kwargs: the form constructor's dependencies, as the page passes them.
    """
    if {"obj", "data", "formdata"} & form_kwargs.keys():
        # The body is the submission; prefilled values come as `current`, where an absent key
        # is told from a blank one as the page tells them.
        raise TypeError("feed() takes prefilled values as current=, not obj=/data=/formdata=")
    if not isinstance(body, dict):
        return Fed(None, None, _form_errors=[NOT_AN_OBJECT])
    kind = None
    if isinstance(spec, JsonUnion):
        kind = body.get(spec.discriminator)
        if not isinstance(kind, str) or kind not in spec.variants:
            return Fed(None, None, _shape={spec.discriminator: [spec.missing_message()]})
        body = {key: value for key, value in body.items() if key != spec.discriminator}
        spec = spec.variants[kind]
    form = spec.build(**form_kwargs)
    fields = spec.fields(form)
    shape: dict[str, list[str]] = {}
    unknown = [key for key in body if key not in fields]
    for key in unknown[:UNKNOWN_REPORTED]:
        shape[key] = [UNKNOWN_FIELD]

    overlong: list[tuple[Field, str]] = []
    formdata: MultiDict[str, str] = MultiDict()
    for key, value in (fixed or {}).items():
        if key in fields:
            raise ValueError(f"{key!r} comes from JSON; it cannot also be fixed")
        formdata.add(form[key].name, value)
    for key, form_field in fields.items():
        if key in body:
            value = body[key]
        elif current is not None and key in current:
            if is_write_only(form_field):
                raise ValueError(f"{key!r} is write-only: the page never prefills it")
            value = current[key]
        else:
            value = _ABSENT
        try:
            values = _form_values(form_field, value)
        except ValidationError as refused:
            shape[key] = [str(refused)]
            values = []
        for text in values:
            formdata.add(form_field.name, text)
        if isinstance(value, str) and len(value) > text_bound(form_field)[0]:
            overlong.append((form_field, value))

    form.process(formdata)
    form.validate()
    for form_field, value in overlong:
        # The form's own validators ran on it, so its messages are the page's; the bound is
        # added where the form trimmed the text under it (or sets none).
        message = _too_long(form, form_field, value)
        if message not in form_field.errors:
            form_field.errors.append(message)
    return Fed(form, spec, kind, _shape=shape)


_ABSENT = object()


def _form_values(form_field: Field, value: Any) -> list[str]:
    """What a browser would submit for this value, or ValidationError with the message."""
    kind = json_type(form_field)
    if value is _ABSENT:
        # A browser sends every text input (empty when left blank), nothing for an unchecked
        # box, an unselected radio group or an empty multiple select.
        return [""] if kind is JsonType.STRING and not _is_choice(form_field) else []
    if kind is JsonType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValidationError(f"Expected true or false, not {_described(value)}.")
        return ["y"] if value else []
    if kind is JsonType.INTEGER:
        if isinstance(value, bool) or not _is_integral(value):
            raise ValidationError(f"Expected a whole number, not {_described(value)}.")
        if not INTEGER_MIN <= int(value) <= INTEGER_MAX:
            raise ValidationError(f"Use a whole number from {INTEGER_MIN} to {INTEGER_MAX}.")
        return [str(int(value))]
    if kind is JsonType.STRINGS:
        return _strings(form_field, value)
    if not isinstance(value, str):
        raise ValidationError(f"Expected a string, not {_described(value)}.")
    _check_text(value)
    return [value]


def _is_choice(form_field: Field) -> bool:
    return isinstance(form_field, SelectField | RadioField)


def _is_integral(value: Any) -> bool:
    # JSON Schema's "integer" is any number with a zero fractional part: 1.0 is one.
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _strings(form_field: Field, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValidationError(f"Expected a list of strings, not {_described(value)}.")
    limit = len(choice_values(form_field))
    if len(value) > limit:
        raise ValidationError(f"Choose at most {limit} values.")
    for position, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise ValidationError(
                f"Expected a list of strings: item {position} is {_described(item)}."
            )
        if "\x00" in item or _has_surrogate(item):
            raise ValidationError(NO_NUL if "\x00" in item else _NOT_TEXT)
    if len(set(value)) != len(value):
        raise ValidationError("Give each value once.")
    return list(value)


_NOT_TEXT = "Use Unicode text: this has an unpaired surrogate."


def _check_text(value: str) -> None:
    if "\x00" in value:
        raise ValidationError(NO_NUL)
    if _has_surrogate(value):
        raise ValidationError(_NOT_TEXT)


def _too_long(form: Form, form_field: Field, value: str) -> str:
    bound, length = text_bound(form_field)
    if length is None:
        return f"Keep this to {bound} characters or fewer."
    # The form's own Length validator says it, in its words, about the text as sent.
    try:
        length(form, SimpleNamespace(data=value, gettext=form_field.gettext,
                                     ngettext=form_field.ngettext))
    except ValidationError as refused:
        return str(refused)
    raise AssertionError("Length accepted text longer than its max")  # pragma: no cover


def _described(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def error_body(code: str, message: str, fields: Mapping[str, Iterable[str]] | None = None
               ) -> dict[str, Any]:
    """The one error shape of every API answer: `{"error", "message", "fields"}`."""
    body: dict[str, Any] = {"error": code, "message": message}
    if fields:
        body["fields"] = {key: list(messages) for key, messages in fields.items()}
    return body


def validation_error(fed: Fed) -> dict[str, Any]:
    """The 422 body for a refused feed."""
    message = " ".join(fed.form_errors) or "Some fields need fixing; see fields."
    return error_body(INVALID_FIELDS, message, fed.field_errors)
