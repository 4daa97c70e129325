"""Schemathesis, in-process and offline, against a throwaway Flask API that reads JSON bodies
with `forms_json` and is described by a document `openapi.build_document` generated.

This is the pattern the REST API's own run will reuse (schemathesis 4.32.5):

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)

    @schema.parametrize()
    def test_api(case):
        case.call_and_validate(additional_checks=[refusals_name_form_only_rules])

at module level: the schema (and so the app) is loaded when the module is collected. The
fixture-based loader, `schemathesis.pytest.from_fixture`, fails on pytest 9.2 (it sets
`request.node._nodeid`, which pytest no longer has), so the app cannot come from a fixture yet.

with CONFIG a `schemathesis.config.SchemathesisConfig.from_dict(...)`: the bearer token for the
document's `bearer` scheme, about 50 examples per operation, a fixed seed, and 422 counted as
an answer to valid-shaped data, because a form-only rule (the image-reference parser) may
refuse what the schema accepts; the extra check then demands that such a 422 names only fields
that have form-only rules. Every default check runs besides: no 5xx, status codes, content
types and bodies as documented, negative data refused, authentication not ignored, 405 with
Allow for undocumented methods.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask, Response, jsonify, request
from schemathesis.config import SchemathesisConfig
from werkzeug.exceptions import HTTPException

from webapp.api.forms_json import (
    BodyRefused,
    JsonForm,
    JsonUnion,
    error_body,
    feed,
    json_body,
    validation_error,
)
from webapp.api.openapi import Operation, build_document, form_schema
from webapp.api.openapi import Response as Documented

from .conftest import REGISTRY_SETTINGS, TOOL_ADD

TOKEN = "rc_test_" + "x" * 32
EXAMPLES_PER_OPERATION = 50
CONFIG = {
    "seed": 20240519,
    # Generation speed is the machine's load, not the API's behaviour (no timed tests): the
    # AWS ECR variant's patterns made hypothesis's too_slow check fire on a busy machine.
    "suppress-health-check": ["too_slow"],
    "auth": {"openapi": {"bearer": {"bearer": TOKEN}}},
    "generation": {"max-examples": EXAMPLES_PER_OPERATION},
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "422"]},
    },
}


def _strings(*keys: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(keys),
            "properties": {key: {"type": "string"} for key in keys}}


OPERATIONS = [
    Operation("POST", "/api/v1/tools", "createTool", "Add a private tool",
              {201: Documented("The tool", _strings("name", "image"))}, body=TOOL_ADD),
    Operation("POST", "/api/v1/registries", "createRegistry", "Connect a registry",
              {201: Documented("The registry, never its secret",
                               _strings("kind", "name", "username"))},
              body=REGISTRY_SETTINGS),
    Operation("GET", "/api/v1/openapi.json", "openapi", "This document",
              {200: Documented("OpenAPI 3.1", {"type": "object"})}, secured=False),
]


def _form_only(spec: JsonForm | JsonUnion) -> set[str]:
    variants = spec.variants.values() if isinstance(spec, JsonUnion) else [spec]
    return {key for variant in variants for key in form_schema(variant).form_only}


def make_api() -> Flask:
    """The throwaway API: bearer token, JSON bodies through the forms, one error shape."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="throwaway", MAX_CONTENT_LENGTH=256 * 1024)

    def create(spec: JsonForm | JsonUnion, answer: list[str]) -> tuple[Response, int]:
        try:
            fed = feed(spec, json_body(request))
        except BodyRefused as refused:
            return jsonify(refused.body()), refused.status
        if not fed.ok:
            return jsonify(validation_error(fed)), 422
        data = {"kind": fed.kind, **fed.public_data}
        # AWS ECR has no username field (its user is always AWS): the answer says "".
        return jsonify({key: data.get(key) or "" for key in answer}), 201

    @app.before_request
    def authenticate() -> tuple[Response, int] | None:
        if request.path == "/api/v1/openapi.json" or request.url_rule is None:
            return None  # the document is public; routing errors answer below
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            response = jsonify(error_body("invalid_token", "Send Authorization: Bearer <token>."))
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return response, 401
        return None

    @app.post("/api/v1/tools")
    def create_tool():
        return create(TOOL_ADD, ["name", "image"])

    @app.post("/api/v1/registries")
    def create_registry():
        return create(REGISTRY_SETTINGS, ["kind", "name", "username"])

    @app.get("/api/v1/openapi.json")
    def openapi():
        return jsonify(build_document(title="Throwaway", version="1", operations=OPERATIONS))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        response = jsonify(error_body(code, error.description or ""))
        response.status_code = error.code or 500
        allow = error.get_response().headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response

    return app


API = make_api()
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", API, config=SchemathesisConfig.from_dict(CONFIG)
)

with API.app_context():
    FORM_ONLY = {"/api/v1/tools": _form_only(TOOL_ADD),
                 "/api/v1/registries": _form_only(REGISTRY_SETTINGS)}


def refusals_name_form_only_rules(ctx, response, case) -> bool | None:
    """A 422 to data the schema accepts must come from a rule only the form can check."""
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    path = case.operation.path
    if response.status_code != 422 or not positive or path not in FORM_ONLY:
        return None
    refused = set(response.json().get("fields", {}))
    allowed = FORM_ONLY[path]
    assert refused <= allowed, f"valid data refused on {sorted(refused - allowed)}"
    return True


@schema.parametrize()
def test_the_api_answers_as_documented(case):
    case.call_and_validate(additional_checks=[refusals_name_form_only_rules])


def test_the_run_is_bounded_and_really_sends_requests():
    # The generated tests above only mean something if schemathesis reaches the views: one
    # valid and one invalid body, as schemathesis itself sends them.
    operation = schema["/api/v1/tools"]["POST"]
    good = operation.Case(body={"name": "Scanner", "image": "acme/scanner:1"},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert good.call().status_code == 201
    bad = operation.Case(body={"name": 5}, headers={"Authorization": f"Bearer {TOKEN}"})
    answer = bad.call()
    assert answer.status_code == 422
    assert answer.json()["fields"]["name"] == ["Expected a string, not a number."]
    assert schema.config.generation.max_examples == EXAMPLES_PER_OPERATION
