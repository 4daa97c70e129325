"""JSON Schema generated from the app's forms, portable regex patterns, and the OpenAPI 3.1
document builder, checked by the independent validators (jsonschema, openapi-spec-validator)
and, for patterns, by a real ECMA-262 engine (Node.js) beside Python's `re`."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

from tests.support.components import missing
from webapp.api.forms_json import TEXT_MAX, JsonForm, JsonUnion
from webapp.api.openapi import (
    ERROR_SCHEMA,
    WHITESPACE,
    Operation,
    Response,
    build_document,
    form_schema,
    portable_pattern,
    union_schema,
)
from webapp.auth.forms import LoginForm
from webapp.registries import kinds
from webapp.registry_client.address import PATH_COMPONENT

from .conftest import CHOOSE_TYPE, REGISTRY_SETTINGS, TOOL_ADD, TOOL_RENAME

pytestmark = pytest.mark.usefixtures("app_context")


def test_every_registry_type_has_a_schema_of_its_forms_rules():
    union, variants = union_schema(REGISTRY_SETTINGS)
    assert set(variants) == set(kinds.KINDS)
    for key, variant in variants.items():
        schema = variant.schema
        Draft202012Validator.check_schema(schema)
        assert schema["additionalProperties"] is False
        assert schema["properties"]["kind"] == {"const": key, "title": "Kind"}
        # AWS ECR signs in with AWS credentials (a role, or an access key ID), not a username.
        who = "registry_url" if key == "aws_ecr" else "username"
        assert {"kind", "name", who} <= set(schema["required"])
        assert "password" not in schema["required"]  # empty means "keep" on an edit
        assert "draft" not in schema["properties"]  # hidden: server state, never JSON
        name, password = schema["properties"]["name"], schema["properties"]["password"]
        assert name["maxLength"] == 64 and name["title"] == "Name"
        assert name["description"].startswith("How this registry is shown here")
        assert password["writeOnly"] is True and password["format"] == "password"
        assert password["maxLength"] == 4096
        assert password["description"].endswith("We store it encrypted and never show it again.")
        assert variant.form_only["name"] == ("single_line", "no_hidden_controls")
    docker = variants["docker_registry"].schema
    assert docker["required"] == ["kind", "name", "registry_url", "username"]
    assert docker["properties"]["registry_url"]["maxLength"] == TEXT_MAX
    assert variants["docker_registry"].form_only["ca_certificate"] == ("check_ca_certificate",)
    assert variants["github"].form_only["namespace"] == ("check_namespace",)
    assert union.schema["discriminator"] == {"propertyName": "kind"}
    Draft202012Validator.check_schema(union.schema)


def test_the_tool_forms_schemas():
    for spec in (TOOL_ADD, TOOL_RENAME):
        Draft202012Validator.check_schema(form_schema(spec).schema)
    generated = form_schema(TOOL_ADD)
    assert generated.schema["required"] == ["name", "image"]
    assert generated.schema["properties"]["image"]["maxLength"] == 512
    assert generated.form_only == {"name": ("single_line", "no_hidden_controls"),
                                   "image": ("check_image",)}


def test_choices_become_an_enum_and_optional_choices_may_be_blank():
    kind = form_schema(CHOOSE_TYPE).schema["properties"]["kind"]
    validator = Draft202012Validator({"type": "object", "properties": {"kind": kind}})
    assert kind["anyOf"][0] == {"enum": ["docker_registry", "docker_hub", "github", "aws_ecr"]}
    assert validator.is_valid({"kind": "github"}) and validator.is_valid({"kind": "  "})
    assert not validator.is_valid({"kind": "gitlab"})


def test_a_plain_regexp_becomes_a_pattern():
    email = form_schema(JsonForm(LoginForm)).schema["properties"]["email"]
    validator = Draft202012Validator(email)
    assert validator.is_valid("name@example.com")
    assert not validator.is_valid("name@@example.com") and not validator.is_valid("a b@c")


def test_the_blank_class_is_exactly_what_strip_removes():
    blank = re.compile(f"[{WHITESPACE}]")
    every = (chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    assert {char for char in every if char.isspace()} == {
        chr(code) for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF and blank.fullmatch(chr(code))}


def test_a_union_refuses_a_form_that_has_its_discriminator_as_a_field():
    with pytest.raises(ValueError, match="kind"):
        union_schema(JsonUnion("kind", {"x": CHOOSE_TYPE}, "Clash"))


# --- portable patterns --------------------------------------------------------------------------

PORTABLE = [
    (r"^[^@\s]+@[^@\s]+$", re.match),  # the login form's
    (PATH_COMPONENT, re.fullmatch),  # a namespace component
    (PATH_COMPONENT, re.match),
    (r"a.b", re.search),
    (r"\Aab\Z", re.match),
    (r"^ab$", re.match),  # Python's $ also matches before a final newline
    (r"a{,2}b", re.fullmatch),
    (r"a{x}", re.match),  # a literal brace in Python
    (r"(?P<name>x|y)+z?", re.fullmatch),
    (r"[\s.-]\-\@\u00e9\x41", re.match),
    (r"(?=a)[a-c]*(?!d)", re.fullmatch),
    (r"\S+\s\S*?", re.fullmatch),
]
NOT_PORTABLE = [
    (r"\d+", re.match), (r"\w", re.match), (r"\bx", re.match), (r"[\S]", re.match),
    (re.compile("abc", re.IGNORECASE), re.match), (r"(?i)abc", re.match),
    (r"(a)\1", re.match), (r"(?<=a)b", re.match), (r"(?#c)a", re.match), (r"a*+", re.match),
    (r"a{1,2}+", re.match), (r"[]a]", re.match), (r"[a[b]", re.match), (r"[a&&b]", re.match),
    ("😀", re.match), (r"\U0001F600", re.match), (r"\0", re.match), ("abc", lambda r, s: 1),
]
ALPHABET = ["a", "b", "c", "d", "x", "y", "z", "A", "é", "@", ".", "-", "_", " ", "\t", "\n",
            "\r", "\x0b", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "\ufeff", "\u200b",
            "😀", "0", "{", "}", "__", "--"]


def _samples() -> list[str]:
    rng = random.Random(20240519)
    fixed = ["", "ab", "ab\n", "ab\n\n", "a\nb", "a\rb", "a\u2028b", "name@example.com",
             "a b@c", "acme", "acme.team", "ac__me", "a--b", "a{x}", "xyz", "ab\r", "éA"]
    return fixed + ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 7)))
                    for _ in range(400)]


@pytest.mark.parametrize("regex, matcher", NOT_PORTABLE)
def test_patterns_whose_meaning_differs_between_dialects_are_not_translated(regex, matcher):
    assert portable_pattern(regex, matcher) is None


NODE_SCRIPT = """
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = cases.map(([pattern, samples]) => [
  samples.map(s => new RegExp(pattern, 'u').test(s)),
  samples.map(s => new RegExp(pattern).test(s)),
]);
process.stdout.write(JSON.stringify(out));
"""


def test_translated_patterns_accept_the_same_texts_in_python_and_ecma_262():
    node = shutil.which("node")
    if node is None:
        missing("Node.js", "node is not on PATH (it runs the ECMA-262 side)")
    samples = _samples()
    cases = []
    for regex, matcher in PORTABLE:
        pattern = portable_pattern(regex, matcher)
        assert pattern is not None, regex
        compiled = re.compile(regex) if isinstance(regex, str) else regex
        original = [bool(matcher(compiled, sample)) for sample in samples]
        translated = [bool(re.search(pattern, sample)) for sample in samples]
        assert translated == original, regex
        cases.append((pattern, original))
    answer = subprocess.run([node, "-e", NODE_SCRIPT], check=True, capture_output=True,
                            input=json.dumps([(p, samples) for p, _ in cases]), text=True,
                            timeout=60)
    for (pattern, original), (with_u, without_u) in zip(cases, json.loads(answer.stdout),
                                                        strict=True):
        assert with_u == original, pattern
        assert without_u == original, pattern
    # The not-blank and no-NUL patterns every text field carries, likewise.
    schemas = [form_schema(TOOL_ADD).schema, form_schema(CHOOSE_TYPE).schema]
    patterns = {prop["pattern"] for schema in schemas for prop in schema["properties"].values()
                if "pattern" in prop}
    patterns |= {schemas[1]["properties"]["kind"]["anyOf"][1]["pattern"]}
    texts = samples + ["\x00", "a\x00", " \x00 "]
    answer = subprocess.run([node, "-e", NODE_SCRIPT], check=True, capture_output=True,
                            input=json.dumps([(p, texts) for p in sorted(patterns)]), text=True,
                            timeout=60)
    for pattern, (with_u, without_u) in zip(sorted(patterns), json.loads(answer.stdout),
                                            strict=True):
        python = [bool(re.search(pattern, text)) for text in texts]
        assert with_u == python == without_u, pattern


# --- the document -------------------------------------------------------------------------------


def _document() -> dict:
    registry = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
    return build_document(
        title="Registry Connect API",
        version="1",
        schemas={"Registry": registry},
        operations=[
            Operation("POST", "/api/v1/registries", "createRegistry", "Connect a registry",
                      {201: Response("Created", "Registry")}, body=REGISTRY_SETTINGS,
                      errors={409: ["name_taken", "address_taken"]}),
            Operation("POST", "/api/v1/tools", "createTool", "Add a private tool",
                      {201: Response("Created", {"type": "object"})}, body=TOOL_ADD,
                      errors={409: ["name_taken"]}),
            Operation("GET", "/api/v1/status", "status", "Health", {200: Response("Up")},
                      secured=False),
        ],
    )


def test_the_document_is_valid_openapi_3_1():
    document = _document()
    OpenAPIV31SpecValidator(document).validate()
    schemas = document["components"]["schemas"]
    assert schemas["Error"] == ERROR_SCHEMA
    for name in ("RegistrySettings", "DockerRegistrySettings", "DockerHubSettings",
                 "GitHubSettings", "ToolAdd", "Registry"):
        assert name in schemas
    assert schemas["RegistrySettings"]["discriminator"]["mapping"]["github"] == (
        "#/components/schemas/GitHubSettings")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_each_operation_lists_the_errors_it_can_answer_in_the_one_shape():
    document = _document()
    create = document["paths"]["/api/v1/registries"]["post"]
    assert set(create["responses"]) == {"201", "400", "401", "409", "415", "422"}
    conflict = create["responses"]["409"]["content"]["application/json"]["schema"]
    assert conflict["allOf"][0] == {"$ref": "#/components/schemas/Error"}
    assert conflict["allOf"][1]["properties"]["error"]["enum"] == ["name_taken", "address_taken"]
    status = document["paths"]["/api/v1/status"]["get"]
    assert status["security"] == [] and set(status["responses"]) == {"200"}


def test_two_different_schemas_cannot_share_a_name():
    with pytest.raises(ValueError, match="ToolAdd"):
        build_document(title="t", version="1", schemas={"ToolAdd": {"type": "object"}},
                       operations=[Operation("POST", "/t", "t", "t", {201: Response("ok")},
                                             body=TOOL_ADD)])
