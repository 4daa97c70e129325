"""HTML forms read form bodies only (issue 12, item 2).

Flask-WTF also reads JSON: a JSON `POST /login` skipped the per-account lockout (every JSON
attempt shared one bucket, and the right password signed in after the lockout), the NUL guard
never saw JSON fields, and `{"email": 1}` was a 500. Outside /api/ a non-empty body that is not
a web form is now 415, whatever the route; the forms read form fields only; names stay on one
line. A hypothesis test sends arbitrary bodies and content types to every form route.
"""

from __future__ import annotations

import io
import json
import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.routes import all_routes
from tests.support.apps import PASSWORD, build_app, signed_in
from tests.support.factories import registry_row
from webapp.extensions import db, limiter
from webapp.forms import WebForm
from webapp.models import AuditEvent, PrivateTool, Registry
from webapp.services import accounts

TOOLS = "/orgs/acme/settings/private-tools/"
JSON = "application/json"


@pytest.fixture
def acme_admin(app, make):
    make.org("acme")
    return signed_in(app, make.user("admin@acme.test", org="acme"))


def header_token(client, path: str = TOOLS) -> dict[str, str]:
    return {"X-CSRFToken": client.csrf_token(path)}


def tool_count(app) -> int:
    with app.app_context():
        return db.session.query(PrivateTool).count()


# --- the regressions, one by one ------------------------------------------------------------


@pytest.fixture
def throttled(database_url):
    app = build_app(database_url, RATELIMIT_ENABLED=True, LOGIN_FAILURES_PER_ACCOUNT="3 per minute")
    with app.app_context():
        accounts.create_user("a@acme.test", PASSWORD, org=accounts.create_org("acme", "A", "enterprise"))
        db.session.commit()
    yield app
    limiter.reset()
    with app.app_context():
        db.engine.dispose()


def test_a_json_login_cannot_get_past_the_lockout(throttled):
    client = throttled.test_client()
    token = client.csrf_token()
    for _ in range(3):
        client.post("/login", data={"email": "a@acme.test", "password": "wrong", "csrf_token": token})
    locked = client.post("/login", data={"email": "a@acme.test", "password": PASSWORD,
                                         "csrf_token": token})
    assert locked.status_code == 429
    answer = client.post("/login", data=json.dumps({"email": "a@acme.test", "password": PASSWORD}),
                         content_type=JSON, headers={"X-CSRFToken": token})
    assert answer.status_code == 415
    assert client.get("/").status_code == 302  # still signed out
    assert client.get("/", follow_redirects=True).request.path == "/login"


def test_the_lockout_keys_on_the_email_the_form_reads(throttled):
    """Spellings the form treats as one address share one bucket, multipart bodies included."""
    client = throttled.test_client()
    token = client.csrf_token()
    client.post("/login", data={"email": "a@acme.test", "password": "x", "csrf_token": token})
    client.post("/login", data={"email": " A@ACME.test ", "password": "x", "csrf_token": token})
    client.post("/login", data={"email": "a@acme.TEST", "password": "x", "csrf_token": token},
                content_type="multipart/form-data")
    locked = client.post("/login", data={"email": "a@acme.test", "password": PASSWORD,
                                         "csrf_token": token})
    assert locked.status_code == 429


@pytest.mark.parametrize("body", [{"email": 1, "password": "x"}, [1, 2], "a string", None,
                                  {"email": ["a@b.c"], "password": {"x": 1}}])
def test_json_to_the_login_form_is_415_not_500(client, body):
    token = client.csrf_token()
    response = client.post("/login", data=json.dumps(body), content_type=JSON,
                           headers={"X-CSRFToken": token})
    assert response.status_code == 415
    page = response.get_data(as_text=True)
    assert "Not a form" in page and "Traceback" not in page


@pytest.mark.parametrize("name", ["nul\x00name", "two\r\nlines", "tab\tbed"])
def test_json_fields_never_reach_a_form(app, acme_admin, name):
    response = acme_admin.post(TOOLS, data=json.dumps({"name": name, "image": "ubuntu"}),
                               content_type=JSON, headers=header_token(acme_admin))
    assert response.status_code == 415
    assert tool_count(app) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/octet-stream",
                                          "", "application/x-www-form-urlencoded-but-not"])
def test_other_bodies_are_415(app, acme_admin, content_type):
    response = acme_admin.post(TOOLS, data=b"name=x&image=ubuntu", content_type=content_type,
                               headers=header_token(acme_admin))
    assert response.status_code == 415 and tool_count(app) == 0


def test_an_empty_body_is_fine_whatever_its_type(acme_admin):
    response = acme_admin.post("/logout", data=b"", content_type=JSON,
                               headers=header_token(acme_admin))
    assert response.status_code == 302  # signed out, as with a form


def test_multipart_forms_still_work(app, acme_admin):
    data = {"name": "Scanner", "image": "ubuntu", "csrf_token": acme_admin.csrf_token(TOOLS)}
    assert acme_admin.post(TOOLS, data=data, content_type="multipart/form-data").status_code == 303
    assert tool_count(app) == 1


def test_a_file_part_never_stands_in_for_a_text_field(app, acme_admin):
    data = {"name": (io.BytesIO(b"Scanner"), "name.txt"), "image": "ubuntu",
            "csrf_token": acme_admin.csrf_token(TOOLS)}
    response = acme_admin.post(TOOLS, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Give the tool a name." in response.get_data(as_text=True)
    assert tool_count(app) == 0


@pytest.mark.parametrize("name", ["evil\u202egpj.exe", "a\u2066b\u2069", "zero\u200bwidth",
                                  "\ufeffbom", "mark\u200f"])
def test_names_with_direction_controls_or_invisible_characters_are_refused(app, acme_admin, name):
    response = acme_admin.post_form(TOOLS, {"name": name, "image": "ubuntu"}, token_from=TOOLS)
    assert response.status_code == 422
    assert "Remove the invisible character" in response.get_data(as_text=True)
    assert tool_count(app) == 0
    with app.app_context():
        registry_id = registry_row(secret="s3cret", name="Main").id
    path = f"/orgs/acme/settings/infrastructure/container-registry/{registry_id}/rename"
    renamed = acme_admin.post_form(path, {"name": name, "version": "1"}, token_from=path)
    body = renamed.get_data(as_text=True)
    assert renamed.status_code == 422 and "Remove the invisible character" in body


def test_the_runner_api_still_takes_json(client):
    response = client.post("/api/v1/pull-credentials", data="{}", content_type=JSON,
                           headers={"Authorization": "Bearer rt_nope"})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_token"


@pytest.mark.parametrize("name", ["two\r\nlines", "line\u2028separator", "tab\tbed", "bell\x07"])
def test_names_stay_on_one_line(app, acme_admin, name):
    response = acme_admin.post_form(TOOLS, {"name": name, "image": "ubuntu"}, token_from=TOOLS)
    assert response.status_code == 422
    assert "Use one line of text" in response.get_data(as_text=True)
    with app.app_context():
        registry_id = registry_row(secret="s3cret", name="Main").id
    path = f"/orgs/acme/settings/infrastructure/container-registry/{registry_id}/rename"
    renamed = acme_admin.post_form(path, {"name": name, "version": "1"}, token_from=path)
    assert renamed.status_code == 422 and "Use one line of text" in renamed.get_data(as_text=True)


@pytest.mark.parametrize("name", ["Сканер", "مسح", "扫描仪", "👩‍💻 tools", "می\u200cخواهم"])
def test_names_in_any_script_are_fine(app, acme_admin, name):
    response = acme_admin.post_form(TOOLS, {"name": name, "image": "ubuntu"}, token_from=TOOLS)
    assert response.status_code == 303


def test_every_form_reads_form_fields_only():
    """Forms added later inherit the rule: every FlaskForm of the app is a WebForm."""
    from flask_wtf import FlaskForm

    import webapp.auth.forms
    import webapp.registries.forms
    import webapp.registries.which
    import webapp.tools.forms  # noqa: F401

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [form for form in subclasses(FlaskForm) if form.__module__.startswith("webapp.")]
    assert ours and all(issubclass(form, WebForm) for form in ours)


# --- any body, any content type, every form route: never a 500 ------------------------------

REGISTRY_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
FORM_ROUTES = [
    (path, endpoint)
    for method, path, endpoint in all_routes(methods={"POST"},
                                             values={"registry_id": str(REGISTRY_ID)})
    if not path.startswith("/api/")
]
FIELDS = ["csrf_token", "email", "password", "name", "image", "registry_url", "username",
          "namespace", "ca_certificate", "test_image", "kind", "address", "version",
          "confirm_name", "draft", "next", "kept"]
CONTENT_TYPES = st.one_of(
    st.sampled_from([
        JSON, "application/x-www-form-urlencoded", "multipart/form-data; boundary=XyZzY",
        "multipart/form-data", "text/plain", "application/xml", "application/octet-stream", "",
        "APPLICATION/JSON", "application/json; charset=utf-16", "application/merge-patch+json",
        "application/x-www-form-urlencoded; charset=utf-16", "multipart/mixed; boundary=XyZzY",
    ]),
    # Anything a client can put in the header (the test client refuses CR, LF and non-Latin-1).
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)
_text = st.text(max_size=60) | st.sampled_from(["", "\x00", "a\r\nb", "1", "x" * 300])
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS) | _text,
                                                                inner, max_size=4),
    max_leaves=8,
)
_fields = st.dictionaries(st.sampled_from(FIELDS) | _text, _text, max_size=6)


def _multipart(parts: list[tuple[str, str, bool]]) -> bytes:
    lines = []
    for name, value, as_file in parts:
        filename = '; filename="f.txt"' if as_file else ""
        lines += ["--XyZzY", f'Content-Disposition: form-data; name="{name}"{filename}', "",
                  value]
    return ("\r\n".join([*lines, "--XyZzY--", ""])).encode("utf-8", "surrogatepass")


BODIES = st.one_of(
    _json_values.map(lambda value: json.dumps(value).encode()),
    _fields.map(lambda fields: urlencode(fields).encode()),
    st.lists(st.tuples(st.sampled_from(FIELDS), _text, st.booleans()), max_size=5).map(_multipart),
    st.binary(max_size=500),
    st.just(b""),
)


class NoChecks:
    """Nothing a fuzzed request asks for may reach the network."""

    def submit(self, *args, **kwargs):
        return None

    def submit_pull(self, *args, **kwargs):
        return None


@pytest.fixture
def form_clients(app, make):
    make.org("acme")
    admin = signed_in(app, make.user("admin@acme.test", org="acme"))
    support = signed_in(app, make.user("help@platform.test", support=True))
    app.extensions["checks_executor"] = NoChecks()
    with app.app_context():
        registry_row(secret="s3cret", name="Main", registry_id=REGISTRY_ID,
                     host="127.0.0.1:9", status="connected")
        org = accounts.find_org("acme")
        db.session.add(PrivateTool(org_id=org.id, name="Tool", name_key="tool", image="ubuntu"))
        db.session.commit()
        assert db.session.query(PrivateTool).one().id == 1  # the sample tool id of the routes
    return {"admin": admin, "support": support, "anonymous": app.test_client()}


@pytest.mark.parametrize(("path", "endpoint"), FORM_ROUTES, ids=[e for _, e in FORM_ROUTES])
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_any_body_to_any_form_route_is_never_a_500(form_clients, path, endpoint, body,
                                                   content_type):
    who = "anonymous" if path == "/login" else "support" if path.startswith("/support") else "admin"
    client = form_clients[who]
    token = client.csrf_token("/login")
    response = client.post(path, data=body, content_type=content_type,
                           headers={"X-CSRFToken": token})
    page = response.get_data(as_text=True)
    assert response.status_code < 500, (response.status_code, page[:300])
    assert "Traceback" not in page


def test_the_fuzzed_routes_are_the_form_routes():
    endpoints = {endpoint for _, endpoint in FORM_ROUTES}
    assert {"auth.login", "tools.add", "tools.check", "registries.new",
            "support.check"} <= endpoints
    assert not any(endpoint.startswith("api.") for endpoint in endpoints)


def test_nothing_fuzzed_was_stored_with_a_nul(app):
    with app.app_context():
        assert all("\x00" not in (r.name or "") for r in db.session.query(Registry))
        assert all("\x00" not in (e.target_label or "") for e in db.session.query(AuditEvent))
