"""Schemathesis against the app's own /api/v1/openapi.json, with a manage token: no 5xx, every
answer as documented (status, content type, body schema, headers), schema-invalid input
refused, authentication not ignored, undocumented methods 405.

Bounded: EXAMPLES_PER_OPERATION examples per operation and a fixed seed (about a minute).

Nothing leaves the machine. The fuzzer's registry addresses are rewritten onto loopback by the
`map_case` hook below, the providers' fixed endpoints (Docker Hub, GHCR, api.github.com) point
at a closed loopback port, and the outbound policy then refuses loopback anyway (no
OUTBOUND_ALLOWED_NETWORKS): a check ends "blocked" before any connection. A socket guard fails
the run if anything still tries to connect elsewhere.

The app is built when the module is collected: schemathesis' fixture loader does not work on
this pytest (see tests/unit/api/test_schemathesis.py).
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from tests.support.apps import build_app
from webapp.api.openapi import form_schema
from webapp.api.rest import REGISTRY_SETTINGS, TOOL_ADD, TOOL_RENAME
from webapp.extensions import db
from webapp.services import accounts, runner_tokens

EXAMPLES_PER_OPERATION = 50
LOOPBACK_REGISTRY = "https://127.0.0.1:5999"
CLOSED = "https://127.0.0.1:5998"

_folder = Path(tempfile.mkdtemp(prefix="api-fuzz-"))
APP = build_app(
    f"sqlite:///{_folder / 'fuzz.db'}",
    DOCKER_HUB_REGISTRY_URL=CLOSED, DOCKER_HUB_AUTH_URL=CLOSED, GHCR_URL=CLOSED,
    GITHUB_API_URL=CLOSED, OUTBOUND_ALLOWED_NETWORKS="",
)
with APP.app_context():
    _org = accounts.create_org("acme", "Acme", "enterprise")
    db.session.commit()
    TOKEN, _ = runner_tokens.create("fuzzer", org=_org, permissions=("read", "manage"))
    db.session.commit()
    # Form-only rules (validators the schema cannot say) and the service's own refusals (a
    # name or address already taken, an address the form's parser refuses, a secret needed):
    # a 422 to schema-valid data may name only these fields.
    REFUSABLE = {
        key
        for spec in [*REGISTRY_SETTINGS.variants.values(), TOOL_ADD, TOOL_RENAME]
        for key in form_schema(spec).form_only
    } | {"name", "registry_url", "namespace", "password", "kind", "save_anyway"}
    # (AWS ECR's role ARN and access key ID are the form's own rules: form_only_rules.)
    assert {"role_arn", "access_key_id"} <= REFUSABLE

CONFIG = {
    "seed": 20261202,
    "auth": {"openapi": {"bearer": {"bearer": TOKEN}}},
    "generation": {"max-examples": EXAMPLES_PER_OPERATION},
    "checks": {
        # Valid-shaped data may still be a cursor we never gave out (400: a cursor is opaque),
        # meet a missing object (404), a dependent tool (409), a stale If-Match (412) or a
        # form-only rule (422: see the extra check).
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "400", "401", "404", "409", "412", "422"]},
    },
}

schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", APP, config=SchemathesisConfig.from_dict(CONFIG)
)


def _keeps_its_fault(value: str) -> bool:
    """A registry address the schema refuses (blank, NUL, too long) stays as generated, so a
    negative case is still negative; the form refuses it before any check."""
    return not value.strip() or "\x00" in value or len(value) > 1000


@schema.hook("map_case")
def registries_on_loopback(context, case):
    body = case.body
    address = body.get("registry_url") if isinstance(body, dict) else None
    if isinstance(address, str) and not _keeps_its_fault(address):
        body["registry_url"] = LOOPBACK_REGISTRY
    return case


@pytest.fixture(autouse=True)
def only_loopback(monkeypatch):
    real = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1"):
            raise AssertionError(f"the fuzz run tried to connect to {address!r}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def refusals_name_refusable_fields(ctx, response, case) -> bool | None:
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if response.status_code != 422 or not positive:
        return None
    refused = set(response.json().get("fields", {}))
    assert refused <= REFUSABLE, f"valid data refused on {sorted(refused - REFUSABLE)}"
    return True


@schema.parametrize()
def test_the_api_answers_as_its_document_says(case):
    case.call_and_validate(additional_checks=[refusals_name_refusable_fields])


def test_the_fuzzer_really_reaches_the_views_with_the_token():
    operation = schema["/api/v1/registries"]["POST"]
    good = operation.Case(
        body={"kind": "docker_registry", "name": "Fuzzed", "registry_url": "https://8.8.8.8",
              "username": "u", "password": "p"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    # The hook's rewrite applies to generated cases; an explicit one shows the policy's part.
    good.body["registry_url"] = LOOPBACK_REGISTRY
    answer = good.call()
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "blocked"  # the outbound policy refused loopback
    assert schema.config.generation.max_examples == EXAMPLES_PER_OPERATION


def test_the_hook_keeps_generated_addresses_on_loopback():
    operation = schema["/api/v1/registries"]["POST"]
    for address, kept in (("https://8.8.8.8", LOOPBACK_REGISTRY),
                          ("registry.example.com:5000/team", LOOPBACK_REGISTRY),
                          ("   ", "   "), ("a\x00b", "a\x00b")):
        case = operation.Case(body={"kind": "docker_registry", "registry_url": address})
        assert registries_on_loopback(None, case).body["registry_url"] == kept
