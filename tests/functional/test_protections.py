"""Protections every route inherits: CSRF, headers and CSP, Enterprise gating, the audit log."""

import json
import re

import pytest

from tests.routes import CSRF_EXEMPT_ENDPOINTS, all_routes
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.services import audit

POST_ROUTES = [r for r in all_routes(methods={"POST"}) if r[2] not in CSRF_EXEMPT_ENDPOINTS]
REGISTRY_ROUTES = all_routes(prefix="/orgs/<slug>/settings/infrastructure/container-registry")


@pytest.mark.parametrize("method, path, endpoint", POST_ROUTES, ids=[r[2] for r in POST_ROUTES])
def test_every_post_route_refuses_a_missing_csrf_token(client, org_admin, method, path, endpoint):
    before = _audit_count(client)
    response = client.post(path, data={})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    assert _audit_count(client) == before


@pytest.mark.parametrize("method, path, endpoint", POST_ROUTES, ids=[r[2] for r in POST_ROUTES])
def test_every_post_route_refuses_a_cross_site_referer(client, org_admin, method, path, endpoint):
    token = client.csrf_token("/login")
    response = client.post(path, data={"csrf_token": token},
                           headers={"Referer": "https://evil.example/"})
    assert response.status_code == 400


FOREIGN_ORIGINS = ["https://evil.example", "null", "https://localhost:8443", "http://localhost",
                   "https://sub.localhost", "https://localhost.evil.example", "garbage"]


@pytest.mark.parametrize("method, path, endpoint", POST_ROUTES, ids=[r[2] for r in POST_ROUTES])
def test_every_post_route_refuses_another_origin(client, org_admin, method, path, endpoint):
    """Issue 12 item 4: a valid token and a same-origin Referer do not make up for an Origin
    that names another origin (or null)."""
    before = _audit_count(client)
    token = client.csrf_token("/login")
    for origin in FOREIGN_ORIGINS:
        response = client.post(path, data={"csrf_token": token}, headers={"Origin": origin})
        assert response.status_code == 403, origin
    assert _audit_count(client) == before


@pytest.mark.parametrize("origin", ["https://localhost", "https://LOCALHOST", "https://localhost:443",
                                    "https://localhost/"])
def test_a_same_origin_post_goes_through(client, org_admin, origin):
    token = client.csrf_token("/orgs/acme/settings/audit-log/")
    response = client.post("/logout", data={"csrf_token": token}, headers={"Origin": origin})
    assert response.status_code == 302


def test_the_app_behind_a_proxy_is_the_origin_the_proxy_says(database_url):
    from tests.support.apps import build_app

    app = build_app(database_url, PROXY_FIX_HOPS=1)
    client = app.test_client()
    token = client.csrf_token()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example",
                 "Referer": "https://app.example/login"}
    ours = client.post("/login", data={"csrf_token": token, "email": "x@y.test", "password": "p"},
                       headers={**forwarded, "Origin": "https://app.example"})
    assert ours.status_code == 422  # through to the form: a wrong password
    theirs = client.post("/login", data={"csrf_token": token}, headers={
        **forwarded, "Origin": "https://localhost"})
    assert theirs.status_code == 403
    with app.app_context():
        db.engine.dispose()


def test_the_apis_take_any_origin(client):
    response = client.post("/api/v1/pull-credentials", json={},
                           headers={"Origin": "https://elsewhere.example"})
    assert response.status_code == 401  # no token; no cookie could have helped either


def test_only_the_api_writes_may_skip_csrf(app):
    exempt = {name.rsplit(".", 1)[-1] for name in app.extensions["csrf"]._exempt_views}
    assert exempt == {e.rsplit(".", 1)[-1] for e in CSRF_EXEMPT_ENDPOINTS}
    assert "pull_credentials" in exempt and "registry_create" in exempt
    for rule in app.url_map.iter_rules():
        if rule.endpoint in CSRF_EXEMPT_ENDPOINTS:
            assert rule.rule.startswith("/api/"), rule.rule


def test_htmx_requests_send_the_token_in_a_header(client, org_admin):
    token = client.csrf_token("/orgs/acme/settings/audit-log/")
    response = client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302


def _audit_count(client):
    with client.application.app_context():
        return db.session.query(AuditEvent).count()


EXPECTED_CSP = {
    "default-src": "'none'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self'",
    "font-src": "'self'", "connect-src": "'self'", "form-action": "'self'", "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def assert_security_headers(response, signed_in: bool):
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert csp == EXPECTED_CSP
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    if signed_in:
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path, headers, status", [
    ("/orgs/acme/settings/infrastructure/container-registry/", {}, 200),
    ("/orgs/acme/settings/infrastructure/container-registry/", {"HX-Request": "true"}, 200),
    ("/orgs/acme/settings/nothing-here", {}, 404),
    ("/orgs/acme/settings/nothing-here", {"HX-Request": "true"}, 404),
    ("/static/app.js", {}, 200),
])
def test_headers_on_pages_fragments_errors_and_static(client, org_admin, path, headers, status):
    response = client.get(path, headers=headers)
    response.close()
    assert response.status_code == status
    assert_security_headers(response, signed_in=not path.startswith("/static/"))
    if path.startswith("/static/"):
        assert "no-store" not in response.headers.get("Cache-Control", "")
    if headers and status == 404:
        body = response.get_data(as_text=True)
        assert "<html" not in body and "Not found" in body


def test_hsts_only_in_production(monkeypatch, tmp_path):
    from webapp import create_app

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 40)
    monkeypatch.setenv("CREDENTIAL_KEYS", "k1:" + "A" * 43)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    app = create_app(instance_path=tmp_path)  # the environment's configuration, as in production
    response = app.test_client().get("/login", base_url="https://localhost")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "Secure" in cookie and "HttpOnly" in cookie


def test_no_inline_script_or_style_in_templates():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    for template in root.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert "style=" not in text and "<style" not in text, template
        assert "hx-on" not in text and "|safe" not in text, template


def test_htmx_config_meta(client, org_admin):
    page = client.get("/orgs/acme/settings/audit-log/").get_data(as_text=True)
    match = re.search(r"<meta name=\"htmx-config\" content='([^']+)'", page)
    assert match, "no htmx-config meta tag"
    config = json.loads(match.group(1))
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False and config["historyCacheSize"] == 0
    assert config["selfRequestsOnly"] is True
    codes = {rule["code"]: rule for rule in config["responseHandling"]}
    assert codes["422"]["swap"] is True and codes["409"]["swap"] is True
    assert codes["204"]["swap"] is False


@pytest.mark.parametrize("method, path, endpoint", REGISTRY_ROUTES, ids=[r[2] + ":" + r[0] for r in REGISTRY_ROUTES])
def test_team_plan_admins_are_refused_on_every_registry_route(client, make, auth, method, path, endpoint):
    make.org("acme", plan="team")
    auth.login(make.user("admin@acme.test", org="acme", role="admin"))
    token = client.csrf_token("/orgs/acme/settings/audit-log/")
    response = client.open(path, method=method, data={"csrf_token": token})
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "Enterprise feature" in body and "Add Registry" not in body


def test_audit_log_cannot_be_changed_through_the_app(app):
    with app.app_context():
        event = audit.record("something.happened", details={"note": "x"})
        db.session.commit()
        event.action = "something.else"
        with pytest.raises(Exception, match="cannot be changed"):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, event.id))
        with pytest.raises(Exception, match="cannot be deleted"):
            db.session.commit()
        db.session.rollback()
        with pytest.raises(ValueError, match="must not carry 'password'"):
            audit.record("bad", details={"password": "x"})


def test_audit_prune_is_the_only_delete(app, runner):
    with app.app_context():
        audit.record("old.event")
        db.session.commit()
    result = runner.invoke(args=["audit", "prune", "--before", "2999-01-01"])
    assert result.exit_code == 0 and "Deleted 1 audit event" in result.output


def test_sign_in_events_carry_actor_ip_and_request_id(app, client, make, auth):
    email = make.user("a@acme.test", org=make.org("acme"))
    auth.login(email)
    auth.logout()
    with app.app_context():
        events = db.session.query(AuditEvent).order_by(AuditEvent.id).all()
        assert [e.action for e in events] == ["user.signed_in", "user.signed_out"]
        assert all(e.actor_label == email and e.ip and e.request_id for e in events)


def test_proxy_fix_uses_the_client_address(database_url):
    from tests.support.apps import build_app

    app = build_app(database_url, PROXY_FIX_HOPS=1)
    client = app.test_client()
    client.post_form("/login", {"email": "x@y.test", "password": "nope"},
                     headers={"X-Forwarded-For": "203.0.113.9"})
    with app.app_context():
        assert db.session.query(AuditEvent).one().ip == "203.0.113.9"
        db.engine.dispose()


def test_the_audit_log_is_for_admins(client, make, auth):
    make.org("acme")
    auth.login(make.user("member@acme.test", org="acme", role="member"))
    assert client.get("/orgs/acme/settings/audit-log/").status_code == 403
    assert "Audit log" not in client.get("/orgs/acme/settings/private-tools/").get_data(as_text=True)


@pytest.mark.parametrize("before", ["99999999999999999999999", "-5", "0", "x"])
def test_audit_paging_ignores_nonsense(client, org_admin, before):
    assert client.get(f"/orgs/acme/settings/audit-log/?before={before}").status_code == 200


def test_a_nul_in_any_field_is_a_clear_400(client, org_admin):
    response = client.post_form("/orgs/acme/settings/infrastructure/container-registry/new",
                                {"address": "reg\x00istry.example.com"})
    assert response.status_code == 400


def test_an_unexpected_error_is_a_500_page_with_a_reference_and_no_traceback(database_url, caplog, hx):
    from tests.support.apps import Client, make_app, make_config

    app = make_app(make_config(database_url))
    app.test_client_class = Client

    @app.route("/boom")
    def boom():
        raise RuntimeError("internal detail that must not be shown")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "Something went wrong" in body
    assert "Traceback" not in body and "internal detail" not in body
    assert re.search(r"reference: <code>[0-9a-f]{16}</code>", body)
    fragment = app.test_client().get("/boom", headers=hx)
    assert fragment.status_code == 500 and "<html" not in fragment.get_data(as_text=True)
