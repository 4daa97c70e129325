"""The JSON feeder on the app's own forms: strict shapes, the forms' own messages, secrets never
echoed, and no exception for any body."""

from __future__ import annotations

import json
import uuid

import pytest

from webapp.api.forms_json import (
    NO_NUL,
    NOT_AN_OBJECT,
    TEXT_MAX,
    UNKNOWN_FIELD,
    UNKNOWN_REPORTED,
    JsonForm,
    MalformedBody,
    feed,
    parse_body,
    validation_error,
)
from webapp.registries.forms import RegistryRenameForm

from .conftest import PREFERENCES, REGISTRY_SETTINGS, TOOL_ADD

pytestmark = pytest.mark.usefixtures("app_context")

CANARY = "CANARY-" + uuid.uuid4().hex
HUB = {"kind": "docker_hub", "name": "Hub", "username": "octo", "password": CANARY}


def test_a_valid_body_gives_the_forms_data_with_its_filters_applied():
    fed = feed(REGISTRY_SETTINGS, {**HUB, "name": "  Hub  ", "namespace": " acme/ "})
    assert fed.ok, fed.field_errors
    assert fed.kind == "docker_hub"
    assert fed.data == {"name": "Hub", "username": "octo", "password": CANARY,
                        "namespace": "acme"}


def test_secrets_are_accepted_but_never_echoed():
    fed = feed(REGISTRY_SETTINGS, HUB)
    assert fed.data["password"] == CANARY
    assert "password" not in fed.public_data
    assert CANARY not in repr(fed)
    # Refused secrets: too long, or the right secret beside a wrong field.
    for body in ({**HUB, "password": CANARY * 200}, {**HUB, "name": 7},
                 {**HUB, "password": [CANARY]}, {**HUB, "password": {"x": CANARY}}):
        refused = feed(REGISTRY_SETTINGS, body)
        assert not refused.ok
        assert CANARY not in json.dumps(validation_error(refused)) + repr(refused)


@pytest.mark.parametrize("value, described", [
    (123, "a number"), (1.5, "a number"), (True, "true or false"), (None, "null"),
    (["Hub"], "a list"), ({"text": "Hub"}, "an object"),
])
def test_a_wrong_json_type_is_refused_never_coerced(value, described):
    fed = feed(REGISTRY_SETTINGS, {**HUB, "name": value})
    assert fed.field_errors == {"name": [f"Expected a string, not {described}."]}


def test_unknown_keys_are_refused_and_bounded():
    fed = feed(TOOL_ADD, {"name": "Scanner", "image": "acme/scan", "imgae": "x"})
    assert fed.field_errors == {"imgae": [UNKNOWN_FIELD]}
    many = {f"extra{n}": n for n in range(5000)}
    fed = feed(TOOL_ADD, {"name": "Scanner", "image": "acme/scan", **many})
    assert not fed.ok
    assert len(fed.field_errors) == UNKNOWN_REPORTED


def test_hidden_fields_never_come_from_json_but_can_be_fixed_by_the_server():
    # The wizard's draft token and the version a form was opened at are server state.
    assert feed(REGISTRY_SETTINGS, {**HUB, "draft": "x"}).field_errors == {"draft": [UNKNOWN_FIELD]}
    rename = JsonForm(RegistryRenameForm)
    assert feed(rename, {"name": "New", "version": "3"}).field_errors == {
        "version": [UNKNOWN_FIELD]}
    fed = feed(rename, {"name": "New"}, fixed={"version": "3"})
    assert fed.ok and fed.form.version.data == "3"
    with pytest.raises(ValueError):
        feed(rename, {"name": "New"}, fixed={"name": "x"})


def test_missing_and_blank_fields_get_the_forms_own_messages():
    fed = feed(REGISTRY_SETTINGS, {"kind": "docker_registry", "name": "   "})
    assert fed.field_errors == {
        "name": ["Give the registry a name."],
        "registry_url": ["Enter the registry URL."],
        "username": ["Enter the username."],
    }


def test_form_only_validators_speak_in_their_own_words():
    fed = feed(TOOL_ADD, {"name": "Line\nbreak", "image": "UPPER/Case"})
    assert fed.field_errors["name"] == [
        "Use one line of text, without line breaks or control characters."]
    assert fed.field_errors["image"][0].startswith("That is not an image reference:")


def test_text_is_bounded_before_any_validator_runs():
    # With the form's own Length message, on the text as sent (trimming comes later) …
    fed = feed(TOOL_ADD, {"name": "n" * 65, "image": "acme/scan"})
    assert fed.field_errors == {"name": ["Keep the name to 64 characters or fewer."]}
    fed = feed(REGISTRY_SETTINGS, {**HUB, "username": "u" * 256})
    assert fed.field_errors == {"username": ["Field cannot be longer than 255 characters."]}
    # … and, where the form sets no bound, ours: the address parser never sees a megabyte.
    huge = {"kind": "docker_registry", "name": "n", "username": "u",
            "registry_url": "r" * (TEXT_MAX + 1)}
    fed = feed(REGISTRY_SETTINGS, huge)
    assert fed.field_errors == {"registry_url": [f"Keep this to {TEXT_MAX} characters or fewer."]}
    assert feed(TOOL_ADD, {"name": "n" * 64, "image": "acme/scan"}).ok


def test_nul_and_unpaired_surrogates_are_refused_beside_their_field():
    assert feed(TOOL_ADD, {"name": "a\x00b", "image": "acme/scan"}).field_errors == {
        "name": [NO_NUL]}
    fed = feed(TOOL_ADD, {"name": "a\ud800b", "image": "acme/scan"})
    assert list(fed.field_errors) == ["name"]


@pytest.mark.parametrize("body", [None, "text", 3, [], [{"name": "x"}], True])
def test_a_body_that_is_no_object_is_refused_as_a_whole(body):
    fed = feed(TOOL_ADD, body)
    assert not fed.ok and fed.form_errors == [NOT_AN_OBJECT] and fed.field_errors == {}


@pytest.mark.parametrize("kind", [None, "", "docker", 5, ["github"], {"github": 1}])
def test_a_union_needs_a_known_discriminator(kind):
    body = {**HUB, "kind": kind} if kind is not None else {k: v for k, v in HUB.items()
                                                         if k != "kind"}
    fed = feed(REGISTRY_SETTINGS, body)
    assert fed.form is None
    assert fed.field_errors == {"kind": ["Choose one of: docker_registry, docker_hub, github, aws_ecr."]}


def test_each_variant_takes_its_own_fields_only():
    fed = feed(REGISTRY_SETTINGS, {**HUB, "registry_url": "registry.example.com"})
    assert fed.field_errors == {"registry_url": [UNKNOWN_FIELD]}


def test_current_values_fill_absent_keys_as_the_prefilled_page_would():
    current = {"name": "Scanner", "image": "acme/scan:1"}
    fed = feed(TOOL_ADD, {"image": "acme/scan:2"}, current=current)
    assert fed.ok and fed.data == {"name": "Scanner", "image": "acme/scan:2"}
    with pytest.raises(ValueError, match="write-only"):
        feed(REGISTRY_SETTINGS, {"kind": "github"}, current={"password": "x"})
    with pytest.raises(TypeError, match="current="):
        feed(TOOL_ADD, {"image": "acme/scan:2"}, obj=object())


def test_errors_a_service_adds_later_are_part_of_the_answer():
    fed = feed(TOOL_ADD, {"name": "Scanner", "image": "acme/scan"})
    assert fed.ok
    fed.form.name.errors.append("A tool named “Scanner” already exists.")
    assert not fed.ok
    assert validation_error(fed) == {
        "error": "invalid_fields",
        "message": "Some fields need fixing; see fields.",
        "fields": {"name": ["A tool named “Scanner” already exists."]},
    }


def test_booleans_lists_integers_and_radios_map_to_their_fields():
    fed = feed(PREFERENCES, {"notify": True, "agree": True, "channels": ["chat"],
                             "retries": 3, "tone": "calm"})
    assert fed.ok, fed.field_errors
    assert fed.data == {"notify": True, "agree": True, "channels": ["chat"], "retries": 3,
                        "tone": "calm", "note": ""}
    assert feed(PREFERENCES, {"agree": True, "tone": "calm", "retries": 2.0}).ok
    fed = feed(PREFERENCES, {"notify": "yes", "agree": False, "channels": ["chat", "chat"],
                             "retries": True, "tone": "shout"})
    assert fed.field_errors == {
        "notify": ["Expected true or false, not a string."],
        "agree": ["Agree to continue."],
        "channels": ["Give each value once."],
        "retries": ["Expected a whole number, not true or false."],
        "tone": ["Not a valid choice."],
    }
    fed = feed(PREFERENCES, {"agree": True, "tone": "calm", "channels": ["mail", 3],
                             "retries": 9})
    assert fed.field_errors == {
        "channels": ["Expected a list of strings: item 2 is a number."],
        "retries": ["Number must be between 0 and 5."],
    }
    assert feed(PREFERENCES, {"agree": True, "tone": "calm", "channels": ["fax"]}
                ).field_errors == {"channels": ["'fax' is not a valid choice for this field."]}
    assert "retries" in feed(PREFERENCES, {"agree": True, "tone": "calm",
                                           "retries": 10**30}).field_errors


# --- parse_body ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, says", [
    (b'{"name": "a", "name": "b"}', "appears twice"),
    (b'{"retries": NaN}', "NaN is not JSON"),
    (b'{"retries": -Infinity}', "-Infinity is not JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'\xef\xbb\xbf{"name": "a"}', "not valid JSON"),
    (b'{"name": "a"', "not valid JSON"),
    (b"", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a": [[[[[[[[["deep"]]]]]]]]]}', "deeper than"),
    (b'{"retries": 1' + b"0" * 5000 + b"}", "not valid JSON"),
    (b'{"name": "\\ud800"}', "unpaired surrogate"),
    (b'{"\\udfff": 1}', "unpaired surrogate"),
])
def test_parse_body_refuses_what_is_not_one_clean_json_document(raw, says):
    with pytest.raises(MalformedBody, match=says):
        parse_body(raw)


def test_parse_body_reads_json_text_including_astral_characters():
    assert parse_body(b'{"name": "\\ud83d\\ude00 \xc3\xa9", "n": [1, 2.5, null]}') == {
        "name": "😀 é", "n": [1, 2.5, None]}
