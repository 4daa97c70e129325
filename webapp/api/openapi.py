"""JSON Schema (OpenAPI 3.1, i.e. JSON Schema 2020-12) generated from the WTForms forms, and a
small builder for the API's OpenAPI document.

Why our own small step and no library: apispec and flask-smorest generate schemas from
marshmallow schemas, spectree and flask-openapi3 from pydantic models, so each would need the
rules written a second time in another schema language, which is exactly what "the forms are
the one home of each rule" forbids; the WTForms→JSON Schema packages on PyPI
(wtforms-jsonschema2, last release 2018) predate 2020-12 and know nothing of our validators.
What a library would add on top, the document's outer shape, is a few dicts here; its
correctness is checked by `openapi-spec-validator` and schemathesis in the tests.

The schema says only what `forms_json.feed` enforces, and all of it:

- a property per field JSON feeds, with the JSON type `forms_json.json_type` gives it,
  `additionalProperties: false`, `title` from the label and `description` from the help text;
- `required` (and a not-blank pattern) from DataRequired / InputRequired; choice fields without
  Optional are required too, since the form refuses them absent;
- `maxLength` from Length(max) (or `forms_json.TEXT_MAX`), checked on the raw text by the
  feeder; `minLength` from Length(min) where no filter or Optional() changes what it measures;
- `pattern` from Regexp when the regex can be written so that Python's `re` and ECMA-262 (the
  dialect JSON Schema names) accept exactly the same strings (`portable_pattern`), and the
  field has no filter that changes the text first;
- `enum` from choices, `minimum`/`maximum` from NumberRange, `enum` from AnyOf, `not` from
  NoneOf; `format: password` and `writeOnly: true` for PasswordField; no NUL in any text.

Every other rule (a validator function such as the image-reference parser, an inline
`validate_<field>` method, a rule a filter changes the meaning of) is the form's alone: it can
refuse what the schema accepts, always with a field message. `FormSchema.form_only` lists them
per field, so tests and the reference page can say so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wtforms import Field, Form
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NoneOf,
    NumberRange,
    Optional,
    Regexp,
)

from .forms_json import (
    BODY_ERRORS,
    INTEGER_MAX,
    INTEGER_MIN,
    JsonForm,
    JsonType,
    JsonUnion,
    choice_values,
    is_write_only,
    json_type,
    text_bound,
)

#: The characters `str.isspace()` is true for, as a regex class body that means the same in
#: Python and ECMA-262 (whose own \s differs: it lacks \x1c-\x1f and \x85, and has \ufeff).
#: `str.strip()`, DataRequired and Optional() all judge "blank" by this set.
WHITESPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
NO_NUL = r"^[^\u0000]*$"
#: Not blank (some character that is not whitespace) and no NUL.
NOT_BLANK = rf"^[^\u0000]*[^\u0000{WHITESPACE}][^\u0000]*$"
BLANK = rf"^[{WHITESPACE}]*$"
#: The end of the text in both dialects (Python's `$` also matches before a final newline).
END = r"(?![\s\S])"


@dataclass(frozen=True)
class FormSchema:
    """A generated schema, and the rules of each field that the schema does not express."""

    schema: dict[str, Any]
    form_only: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def form_schema(spec: JsonForm, **form_kwargs: Any) -> FormSchema:
    """The JSON Schema of a form's JSON body (needs an app context, like the form)."""
    form = spec.build(**form_kwargs)
    properties: dict[str, Any] = {}
    required: list[str] = []
    form_only: dict[str, tuple[str, ...]] = {}
    for key, form_field in spec.fields(form).items():
        prop, is_required, unexpressed = _field_schema(form, form_field)
        properties[key] = prop
        if is_required:
            required.append(key)
        if unexpressed:
            form_only[key] = unexpressed
    # Rules a form checks outside its fields' validators (AWS ECR's role ARN and key ID, which
    # depend on the chosen sign-in and the platform's settings) are declared by the form.
    for key, rules in getattr(spec.form, "form_only_rules", {}).items():
        form_only[key] = (*form_only.get(key, ()), *rules)
    schema: dict[str, Any] = {
        "type": "object",
        "title": spec.schema_name,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    doc = (spec.form.__doc__ or "").strip()
    if doc:
        schema["description"] = " ".join(doc.split("\n\n")[0].split())
    return FormSchema(schema, form_only)


def union_schema(
    union: JsonUnion, *, ref: Callable[[JsonForm], str] | None = None, **form_kwargs: Any
) -> tuple[FormSchema, dict[str, FormSchema]]:
    """The union's schema (a `oneOf` discriminated by `union.discriminator`) and each variant's
    own schema, by key. With `ref`, the union refers to variants by `$ref` (the document puts
    them in components); without, they are inlined (a standalone schema for tests)."""
    variants: dict[str, FormSchema] = {}
    for key, spec in union.variants.items():
        generated = form_schema(spec, **form_kwargs)
        schema = dict(generated.schema)
        if union.discriminator in schema["properties"]:
            raise ValueError(f"{spec.form.__name__} has a field named {union.discriminator!r}")
        schema["properties"] = {
            union.discriminator: {"const": key, "title": union.discriminator.capitalize()},
            **schema["properties"],
        }
        schema["required"] = [union.discriminator, *schema.get("required", [])]
        variants[key] = FormSchema(schema, generated.form_only)
    if ref is None:
        one_of = [variant.schema for variant in variants.values()]
        discriminator = {"propertyName": union.discriminator}
    else:
        one_of = [{"$ref": ref(spec)} for spec in union.variants.values()]
        mapping = {key: ref(spec) for key, spec in union.variants.items()}
        discriminator = {"propertyName": union.discriminator, "mapping": mapping}
    schema = {"title": union.schema_name, "oneOf": one_of, "discriminator": discriminator}
    return FormSchema(schema), variants


def _field_schema(form: Form, form_field: Field) -> tuple[dict[str, Any], bool, tuple[str, ...]]:
    kind = json_type(form_field)
    assert kind is not None
    prop: dict[str, Any] = {"type": str(kind), "title": str(form_field.label.text)}
    if form_field.description:
        prop["description"] = str(form_field.description)
    validators = list(form_field.validators)
    optional = any(isinstance(v, Optional) for v in validators)
    filtered = bool(form_field.filters)
    only_strips = _only_strips(form_field)
    unexpressed: list[str] = []
    patterns: list[str] = []
    required = False

    if kind is JsonType.STRING:
        bound, _ = text_bound(form_field)
        prop["maxLength"] = bound
        patterns.append(NO_NUL)
        if hasattr(form_field, "choices"):
            values = choice_values(form_field)
            if optional:
                prop = {"anyOf": [{"enum": values}, {"type": "string", "pattern": BLANK,
                                                     "maxLength": bound}],
                        **{k: v for k, v in prop.items() if k in ("title", "description")}}
                patterns = []
            else:
                prop["enum"] = values
                required = True
        if is_write_only(form_field):
            prop["format"] = "password"
            prop["writeOnly"] = True
    elif kind is JsonType.STRINGS:
        values = choice_values(form_field)
        prop["items"] = {"type": "string", "enum": values}
        prop["uniqueItems"] = True
        prop["maxItems"] = len(values)
    elif kind is JsonType.INTEGER:
        prop["minimum"], prop["maximum"] = INTEGER_MIN, INTEGER_MAX

    for validator in validators:
        name = _validator_name(validator)
        if isinstance(validator, DataRequired | InputRequired):
            required = True
            if kind is JsonType.STRING and "enum" not in prop:
                if isinstance(validator, InputRequired):
                    prop["minLength"] = max(prop.get("minLength", 0), 1)
                elif filtered and not only_strips:
                    unexpressed.append(f"{name} (after the field's filters)")
                elif NOT_BLANK not in patterns:
                    patterns.remove(NO_NUL)
                    patterns.append(NOT_BLANK)
            elif kind is JsonType.BOOLEAN:
                prop["const"] = True
            elif kind is JsonType.STRINGS:
                prop["minItems"] = 1
            elif kind is JsonType.INTEGER and isinstance(validator, DataRequired):
                prop["not"] = {"const": 0}
        elif isinstance(validator, Optional):
            continue
        elif isinstance(validator, Length) and kind is JsonType.STRING:
            if validator.max != -1 and filtered and not only_strips:
                # The feeder bounds the raw text; a filter could lengthen it past the bound.
                unexpressed.append(f"{name} (after the field's filters)")
            if validator.min > 0:
                if optional or filtered:
                    unexpressed.append(f"{name} (min {validator.min})")
                else:
                    prop["minLength"] = max(prop.get("minLength", 0), validator.min)
        elif isinstance(validator, Regexp) and kind is JsonType.STRING:
            pattern = None if filtered else portable_pattern(validator.regex, validator.matcher)
            if pattern is None:
                unexpressed.append(name)
            else:
                patterns.append(rf"{BLANK}|{pattern}" if optional else pattern)
        elif isinstance(validator, NumberRange) and kind is JsonType.INTEGER:
            if validator.min is not None:
                prop["minimum"] = max(prop["minimum"], validator.min)
            if validator.max is not None:
                prop["maximum"] = min(prop["maximum"], validator.max)
        elif isinstance(validator, AnyOf | NoneOf) and kind is JsonType.STRING and not filtered \
                and all(isinstance(value, str) for value in validator.values):
            values = list(validator.values)
            if optional:
                unexpressed.append(name)
            elif isinstance(validator, AnyOf):
                prop["enum"] = values
            else:
                prop["not"] = {"enum": values}
        else:
            unexpressed.append(name)
    inline = getattr(form, f"validate_{form_field.short_name}", None)
    if inline is not None:
        unexpressed.append(inline.__name__)

    if len(patterns) == 1:
        prop["pattern"] = patterns[0]
    elif patterns:
        prop["allOf"] = [{"pattern": pattern} for pattern in patterns]
    return prop, required, tuple(unexpressed)


def _validator_name(validator: Any) -> str:
    return getattr(validator, "__name__", None) or type(validator).__name__


#: Texts a trimming filter leaves as `str.strip()` does; any other filter changes them.
_STRIP_PROBES = (" a ", "\u00a0b\t", "c\u200b", "\x1cd\x85", "e\ne", "", "  ")


def _only_strips(form_field: Field) -> bool:
    """Whether the field's filters together just trim whitespace (the schema can then say
    "not blank" exactly, as trimming never turns a non-blank text blank or longer). Probed,
    not looked up by name: whatever the shared filters end up called, this stays true."""
    try:
        for probe in _STRIP_PROBES:
            value: Any = probe
            for text_filter in form_field.filters:
                value = text_filter(value)
            if value != probe.strip():
                return False
    except Exception:  # noqa: BLE001 - a filter that cannot take a probe is no strip
        return False
    return True


# --- Python regex → a pattern with the same meaning in ECMA-262 ---------------------------------

_SYNTAX = set("^$\\.*+?()[]{}|/")
_MATCHERS = {re.match: ("^(?:", ")"), re.fullmatch: ("^(?:", ")" + END), re.search: ("(?:", ")")}


class _NotPortable(Exception):
    pass


def portable_pattern(regex: re.Pattern[str] | str, matcher: Callable[..., Any] = re.match
                     ) -> str | None:
    """The regex as a JSON Schema `pattern` (searched, unanchored) that accepts exactly what
    `matcher(regex, text)` accepts in Python and in ECMA-262 alike, or None when it cannot be
    said safely: flags, Unicode-dependent classes (\\d \\w \\b: Unicode in Python, ASCII in
    ECMA), back references, lookbehind, inline flags, non-BMP characters, or another matcher."""
    source, flags = (regex, 0) if isinstance(regex, str) else (regex.pattern, regex.flags)
    if matcher not in _MATCHERS or flags & ~re.UNICODE or not isinstance(source, str):
        return None
    try:
        body = _translate(source)
    except _NotPortable:
        return None
    start, end = _MATCHERS[matcher]
    return f"{start}{body}{end}"


def _translate(source: str) -> str:
    out: list[str] = []
    i, n = 0, len(source)
    in_class = False
    while i < n:
        char = source[i]
        if ord(char) > 0xFFFF:
            raise _NotPortable  # ECMA without the u flag sees two code units
        if char == "\\":
            if i + 1 >= n:
                raise _NotPortable
            text, i = _escape(source, i + 1, in_class)
            out.append(text)
            continue
        if in_class:
            if char == "]":
                in_class = False
                out.append(char)
            elif char == "[" or source.startswith(("&&", "--", "||", "~~"), i):
                raise _NotPortable  # set operations / nested sets: differ (ECMA's v flag)
            else:
                out.append(char)
            i += 1
            continue
        if char == "[":
            j = i + 1
            if j < n and source[j] == "^":
                j += 1
            if j < n and source[j] == "]":
                raise _NotPortable  # "[]…]" is a literal ] in Python, an empty class in ECMA
            out.append(source[i:j])
            in_class = True
            i = j
            continue
        if char == "(":
            text, i = _group(source, i)
            out.append(text)
            continue
        if char in "*+?":
            out.append(char)
            i += 1
            if i < n and source[i] == "+":
                raise _NotPortable  # possessive (Python 3.11): no ECMA equivalent
            continue
        if char == "{":
            match = re.compile(r"\{(\d*)(,?)(\d*)\}").match(source, i)
            if not match or not (match.group(1) or match.group(3)):
                out.append(r"\{")  # a literal brace in Python; ECMA wants it escaped
                i += 1
                continue
            low, comma, high = match.groups()
            out.append("{" + (low or "0") + comma + high + "}")
            i = match.end()
            if i < n and source[i] == "+":
                raise _NotPortable
            continue
        if char == "}":
            out.append(r"\}")
        elif char == "$":
            out.append(r"(?=\n?" + END + ")")  # Python: the end, or before a final newline
        elif char == ".":
            out.append(r"[^\n]")  # Python's dot stops at \n only; ECMA's also at \r, \u2028…
        else:
            out.append(char)
        i += 1
    if in_class:
        raise _NotPortable
    return "".join(out)


def _escape(source: str, i: int, in_class: bool) -> tuple[str, int]:
    char = source[i]
    if char == "s":
        return (WHITESPACE if in_class else f"[{WHITESPACE}]"), i + 1
    if char == "S" and not in_class:
        return f"[^{WHITESPACE}]", i + 1
    if char in "tnrfv":
        return "\\" + char, i + 1
    if char == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", source[i + 1:i + 3]):
        return "\\" + source[i:i + 3], i + 3
    if char == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", source[i + 1:i + 5]):
        return "\\" + source[i:i + 5], i + 5
    if char == "A" and not in_class:
        return "^", i + 1
    if char == "Z" and not in_class:
        return END, i + 1
    if char.isalnum() or char == "_" or ord(char) > 0xFFFF:
        raise _NotPortable  # \d \w \b \B \S-in-class \1 \U \N…: meanings differ or unknown
    if char in _SYNTAX or (in_class and char == "-"):
        return "\\" + char, i + 1
    return char, i + 1  # an escaped non-syntax character is just that character


def _group(source: str, i: int) -> tuple[str, int]:
    for opening in ("(?:", "(?=", "(?!"):
        if source.startswith(opening, i):
            return opening, i + len(opening)
    if source.startswith("(?P<", i):
        close = source.find(">", i)
        if close == -1:
            raise _NotPortable
        return "(", close + 1  # the name is irrelevant when nothing refers back to it
    if source.startswith("(?", i):
        raise _NotPortable  # inline flags, comments, lookbehind, conditionals, atomic groups
    return "(", i + 1


# --- the document -------------------------------------------------------------------------------

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "Every error answer of the API, the runner API's included.",
    "properties": {
        "error": {"type": "string", "description": "A stable code, e.g. invalid_fields."},
        "message": {"type": "string", "description": "What went wrong, for a person."},
        "fields": {
            "type": "object",
            "description": "Per field of the request body, the messages the form shows.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["error", "message"],
    "additionalProperties": False,
}

AUTH_ERRORS: dict[int, tuple[str, ...]] = {401: ("invalid_token",)}
STATUS_TEXT = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    409: "Conflict", 412: "Precondition failed", 413: "Too large",
    415: "Unsupported media type", 422: "Invalid fields", 428: "Precondition required",
    429: "Too many requests", 502: "Bad gateway",
}


@dataclass(frozen=True)
class Response:
    """A success answer: a description and a JSON Schema (a dict, or a component's name)."""

    description: str
    schema: dict[str, Any] | str | None = None
    headers: Mapping[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One operation, declared as data; `build_document` writes it out.

    body: the form (or union of forms) the JSON body feeds; adds the BODY_ERRORS answers.
    errors: further error answers, status → the error codes it carries.
    secured: needs `Authorization: Bearer <token>`; adds the AUTH_ERRORS answer.
    """

    method: str
    path: str
    operation_id: str
    summary: str
    responses: Mapping[int, Response]
    body: JsonForm | JsonUnion | None = None
    errors: Mapping[int, Sequence[str]] = field(default_factory=dict)
    secured: bool = True
    parameters: Sequence[Mapping[str, Any]] = ()
    description: str = ""
    tags: Sequence[str] = ()


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def build_document(
    *,
    title: str,
    version: str,
    operations: Sequence[Operation],
    description: str = "",
    schemas: Mapping[str, dict[str, Any]] | None = None,
    security_description: str = "A token, sent as `Authorization: Bearer <token>`.",
) -> dict[str, Any]:
    """An OpenAPI 3.1 document: the operations, a component schema per form (and per union
    variant), the shared Error schema and the bearer scheme. Needs an app context."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA, **(schemas or {})}

    def add(name: str, schema: dict[str, Any]) -> None:
        if name in components and components[name] != schema:
            raise ValueError(f"two different schemas are named {name!r}")
        components[name] = schema

    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        entry: dict[str, Any] = {"operationId": operation.operation_id,
                                 "summary": operation.summary}
        if operation.description:
            entry["description"] = operation.description
        if operation.tags:
            entry["tags"] = list(operation.tags)
        if operation.parameters:
            entry["parameters"] = [dict(parameter) for parameter in operation.parameters]
        errors: dict[int, list[str]] = {}
        if operation.body is not None:
            name = operation.body.schema_name
            if isinstance(operation.body, JsonUnion):
                union, variants = union_schema(
                    operation.body, ref=lambda spec: _ref(spec.schema_name)
                )
                for key, variant in variants.items():
                    add(operation.body.variants[key].schema_name, variant.schema)
                add(name, union.schema)
            else:
                add(name, form_schema(operation.body).schema)
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": _ref(name)}}},
            }
            _merge(errors, BODY_ERRORS)
        if operation.secured:
            _merge(errors, AUTH_ERRORS)
        else:
            entry["security"] = []
        _merge(errors, operation.errors)
        responses: dict[str, Any] = {}
        for status, response in sorted(operation.responses.items()):
            responses[str(status)] = _success(response)
        for status, codes in sorted(errors.items()):
            responses[str(status)] = _error_response(status, codes)
        entry["responses"] = responses
        paths.setdefault(operation.path, {})[operation.method.lower()] = entry

    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": security_description},
            },
        },
        "security": [{"bearer": []}],
    }


def _merge(into: dict[int, list[str]], more: Mapping[int, Sequence[str]]) -> None:
    for status, codes in more.items():
        known = into.setdefault(status, [])
        known.extend(code for code in codes if code not in known)


def _success(response: Response) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": response.description}
    if response.schema is not None:
        schema = ({"$ref": _ref(response.schema)} if isinstance(response.schema, str)
                  else response.schema)
        answer["content"] = {"application/json": {"schema": schema}}
    if response.headers:
        answer["headers"] = {name: dict(header) for name, header in response.headers.items()}
    return answer


def _error_response(status: int, codes: Sequence[str]) -> dict[str, Any]:
    return {
        "description": f"{STATUS_TEXT.get(status, 'Error')}: {', '.join(codes)}.",
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": _ref("Error")},
                        {"properties": {"error": {"enum": list(codes)}}},
                    ]
                }
            }
        },
    }
