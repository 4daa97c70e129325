"""Property: the generated schema and the JSON feeder agree, for every form the API will take.

- Whatever the schema accepts, the feeder accepts, unless a rule the schema cannot express
  (a validator function such as the image-reference parser; `FormSchema.form_only`) refuses it,
  and then with a message beside that field, never a shape error.
- Whatever the schema refuses, the feeder refuses, with a message (beside a field, or about the
  body as a whole); never an exception.

The schema's verdict comes from `jsonschema`'s Draft 2020-12 validator, an independent
implementation. Bodies are drawn from the schema's own keywords, from texts people type
(right-to-left, zero-width, HTML, pasted URLs, 64-character names) and from mutations of those:
a wrong JSON type, an unknown key, a missing key, text one past its bound, a NUL, no object.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from webapp.api.forms_json import Fed, JsonForm, JsonUnion, feed
from webapp.api.openapi import FormSchema, form_schema, union_schema
from webapp.auth.forms import LoginForm

from .conftest import CHOOSE_TYPE, PREFERENCES, REGISTRY_SETTINGS, TOOL_ADD, TOOL_RENAME

pytestmark = pytest.mark.usefixtures("app_context")

SPECS: dict[str, JsonForm | JsonUnion] = {
    "registry settings (every type)": REGISTRY_SETTINGS,
    "tool add": TOOL_ADD,
    "tool rename": TOOL_RENAME,
    "choose type": CHOOSE_TYPE,
    "login": JsonForm(LoginForm),
    "booleans, lists, integers": PREFERENCES,
}

TYPED = [
    "Production ECR", "שלום עולם", "مرحبا", "a\u200bb", "\u202eevil", "<script>alert(1)</script>",
    "https://registry.example.com:5000/team", "ghcr.io/acme/tool:1.0", "acme/team", "x" * 64,
    "x" * 65, "  padded  ", "\t", "line\nbreak", "😀", "ACME", "a@b", "name@example.com",
    "github", "docker_hub", "docker_registry", "mail", "chat", "calm", "",
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=3),
    max_leaves=6,
)


_SCHEMAS: dict[int, tuple[dict[str, Any], dict[str, FormSchema]]] = {}


def _generated(spec: JsonForm | JsonUnion) -> tuple[dict[str, Any], dict[str, FormSchema]]:
    if id(spec) not in _SCHEMAS:
        _SCHEMAS[id(spec)] = _generate(spec)
    return _SCHEMAS[id(spec)]


def _generate(spec: JsonForm | JsonUnion) -> tuple[dict[str, Any], dict[str, FormSchema]]:
    if isinstance(spec, JsonUnion):
        union, variants = union_schema(spec)
        return union.schema, variants
    generated = form_schema(spec)
    return generated.schema, {"": generated}


def _values(prop: dict[str, Any], typed: bool = True) -> st.SearchStrategy[Any]:
    """Values the schema accepts for `prop`, and (typed) texts people type, which it may not."""
    if "const" in prop:
        return st.just(prop["const"])
    if "anyOf" in prop:
        return st.one_of([_values(choice, typed) for choice in prop["anyOf"]])
    people = st.sampled_from(TYPED) if typed else st.nothing()
    if "enum" in prop:
        return st.sampled_from(prop["enum"]) | people
    kind = prop.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(prop["minimum"], prop["maximum"])
    if kind == "array":
        return st.lists(st.sampled_from(prop["items"]["enum"]), max_size=prop["maxItems"],
                        unique=True)
    patterns = [prop["pattern"]] if "pattern" in prop else [
        part["pattern"] for part in prop.get("allOf", [])]
    bound = prop["maxLength"]
    fits = [re.compile(pattern) for pattern in patterns]
    valid = (st.from_regex(fits[-1]) if fits else st.text(max_size=30)).filter(
        lambda text: len(text) <= bound and all(fit.search(text) for fit in fits))
    return valid | people | st.sampled_from(_edges(bound)) if typed else valid


def _edges(bound: int) -> list[str]:
    """Texts at a length bound: as sent (spaces included), and after trimming."""
    return ["a" * bound, "a" * (bound + 1), " " + "a" * bound, "a" * bound + "\n",
            " " * (bound + 1), "\u3000" + "a" * (bound - 1)]


def _object(schema: dict[str, Any], typed: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    if "oneOf" in schema:
        return st.one_of([_object(variant, typed) for variant in schema["oneOf"]])
    required = set(schema.get("required", []))
    props = schema["properties"]
    return st.fixed_dictionaries(
        {key: _values(prop, typed) for key, prop in props.items() if key in required},
        optional={key: _values(prop, typed) for key, prop in props.items()
                  if key not in required},
    )


@st.composite
def _mutated(draw: st.DrawFn, schema: dict[str, Any]) -> Any:
    """A body the schema accepts, changed in one way that decides the verdict."""
    body = dict(draw(_object(schema, typed=False)))
    how = draw(st.sampled_from(["type", "unknown", "drop", "edge", "nul", "blank", "typed",
                                "whole"]))
    keys = sorted(body)
    if how == "whole":
        return draw(JSON)
    if how == "unknown" or not keys:
        body[draw(st.text(min_size=1, max_size=6))] = draw(JSON)
        return body
    key = draw(st.sampled_from(keys))
    if how == "type":
        body[key] = draw(JSON)
    elif how == "drop":
        del body[key]
    elif how == "edge":
        body[key] = draw(st.sampled_from(_edges(draw(st.sampled_from([1, 64, 255, 512,
                                                                      4096])))))
    elif how == "nul":
        body[key] = f"{body[key]}\x00" if isinstance(body[key], str) else "\x00"
    elif how == "typed":
        body[key] = draw(st.sampled_from(TYPED))
    else:
        body[key] = draw(st.sampled_from(["", " ", "\u3000\n", "\x85", "\x1c"]))
    return body


def _check(spec: JsonForm | JsonUnion, body: Any) -> None:
    schema, variants = _generated(spec)
    accepted = _validator(schema).is_valid(body)
    fed: Fed = feed(spec, body)  # must not raise, whatever the body
    if accepted:
        form_only = variants[fed.kind or ""].form_only
        assert fed.ok or (
            not fed.shape_errors and not fed.form_errors and set(fed.field_errors) <= set(form_only)
        ), f"the schema accepts {body!r}, the form refused it: {fed.field_errors}"
    else:
        assert not fed.ok, f"the schema refuses {body!r}, the form accepted it"
        assert all(fed.field_errors.values()) and (fed.field_errors or fed.form_errors)


_VALIDATORS: dict[int, Draft202012Validator] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return _VALIDATORS.setdefault(id(schema), Draft202012Validator(schema))


@pytest.mark.parametrize("name", SPECS)
@given(data=st.data())
def test_what_the_schema_accepts_the_form_accepts_bar_its_own_rules(name, data):
    spec = SPECS[name]
    _check(spec, data.draw(_object(_generated(spec)[0])))


@pytest.mark.parametrize("name", SPECS)
@given(data=st.data())
def test_what_the_schema_refuses_the_form_refuses_with_a_message(name, data):
    spec = SPECS[name]
    _check(spec, data.draw(_mutated(_generated(spec)[0])))


@pytest.mark.parametrize("name", SPECS)
@given(body=JSON)
def test_any_json_value_gets_an_answer_never_an_exception(name, body):
    _check(SPECS[name], body)


@pytest.mark.parametrize("name", SPECS)
def test_both_verdicts_are_reached(name):
    # A property that only ever sees refusals proves nothing about acceptance (and one that
    # only sees acceptances nothing about refusals): the strategies must reach both, and the
    # form must accept some of what the schema accepts.
    schema, _ = _generated(SPECS[name])
    validator = Draft202012Validator(schema)
    seen: set[tuple[str, bool]] = set()

    @settings(max_examples=40, database=None)
    @given(data=st.data())
    def sample(data):
        body = data.draw(_object(schema))
        seen.add(("schema", validator.is_valid(body)))
        seen.add(("form", feed(SPECS[name], body).ok))
        seen.add(("schema", validator.is_valid(data.draw(_mutated(schema)))))

    sample()
    assert seen == {("schema", True), ("schema", False), ("form", True), ("form", False)}
