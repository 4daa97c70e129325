"""The action menu (rename, replace credentials, check now, remove), the detail page, stale
edits and the failing-registry banner, through the test client with CSRF on."""

import base64
import uuid

import pytest

from tests.support.apps import build_app
from tests.support.factories import Factory, registry_row
from webapp.extensions import db
from webapp.models import AuditEvent, Registry, utcnow
from webapp.registry_client.check import CheckResult
from webapp.registry_client.statuses import Status
from webapp.services import accounts, checks

BASE = "/orgs/acme/settings/infrastructure/container-registry"
CANARY = "CANARY-" + uuid.uuid4().hex


@pytest.fixture
def env(tmp_path, htpasswd_registry):
    app = build_app(f"sqlite:///{tmp_path / 'actions.db'}",
                    OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32", CHECK_TIMEOUT_SECONDS=5)
    make = Factory(app)
    make.org("acme")
    make.user("admin@acme.test", org="acme", role="admin")
    make.user("member@acme.test", org="acme", role="member")
    username = f"user-{uuid.uuid4().hex[:6]}"
    htpasswd_registry.add_user(username, CANARY)
    with app.app_context():
        registry_id = registry_row(secret=CANARY, name="Build cache", host=htpasswd_registry.host_port,
                                   username=username, ca_pem=htpasswd_registry.ca_pem).id
        checks.check_registry(registry_id, "connect")
    yield app, registry_id
    with app.app_context():
        db.engine.dispose()


def client_for(app, email):
    client = app.test_client()
    client.post_form("/login", {"email": email, "password": "correct horse battery"})
    return client


def load(app, registry_id):
    with app.app_context():
        return db.session.get(Registry, registry_id)


def actions(app):
    with app.app_context():
        return [(e.action, e.details) for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]


def version_of(app, registry_id):
    return str(load(app, registry_id).version)


def test_the_list_shows_the_menu_to_admins_only(env):
    app, registry_id = env
    admin = client_for(app, "admin@acme.test")
    page = admin.get(f"{BASE}/").get_data(as_text=True)
    assert "Actions<span class=\"visually-hidden\"> for <bdi>Build cache</bdi>" in page
    for label in ("Rename", "Replace credentials", "Check now", "Remove"):
        assert f">{label}<" in page
    member = client_for(app, "member@acme.test")
    page = member.get(f"{BASE}/").get_data(as_text=True)
    assert "Build cache" in page and "Connected" in page and "Replace credentials" not in page
    for path in ("rename", "credentials", "remove"):
        assert member.get(f"{BASE}/{registry_id}/{path}").status_code == 403
    assert member.post_form(f"{BASE}/{registry_id}/check", token_from=f"{BASE}/").status_code == 403


def test_rename_inline_with_htmx(env, hx):
    app, registry_id = env
    admin = client_for(app, "admin@acme.test")
    form = admin.get(f"{BASE}/{registry_id}/rename", headers=hx).get_data(as_text=True)
    assert form.lstrip().startswith("<tr") and 'for="name"' in form and "Escape cancels" in form
    response = admin.post(f"{BASE}/{registry_id}/rename", headers=hx, data={
        "csrf_token": admin.csrf_token(f"{BASE}/"), "name": "Release cache",
        "version": version_of(app, registry_id)})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith("<tr") and "Release cache" in body
    assert ("registry.renamed", {"from": "Build cache", "to": "Release cache"}) in actions(app)


@pytest.mark.parametrize("name, message", [("", "Give the registry a name."),
                                           ("x" * 65, "64 characters or fewer")])
def test_rename_errors_beside_the_field(env, name, message, hx):
    app, registry_id = env
    admin = client_for(app, "admin@acme.test")
    response = admin.post(f"{BASE}/{registry_id}/rename", headers=hx, data={
        "csrf_token": admin.csrf_token(f"{BASE}/"), "name": name, "version": version_of(app, registry_id)})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert load(app, registry_id).name == "Build cache"


def test_stale_rename_gets_409_and_keeps_the_first_change(env, hx):
    app, registry_id = env
    first, second = client_for(app, "admin@acme.test"), client_for(app, "admin@acme.test")
    opened = version_of(app, registry_id)
    for client, name in ((first, "From tab one"),):
        assert client.post(f"{BASE}/{registry_id}/rename", data={
            "csrf_token": client.csrf_token(f"{BASE}/"), "name": name, "version": opened}).status_code == 302
    stale = second.post(f"{BASE}/{registry_id}/rename", headers=hx, data={
        "csrf_token": second.csrf_token(f"{BASE}/"), "name": "From tab two", "version": opened})
    assert stale.status_code == 409
    assert "changed since you opened it" in stale.get_data(as_text=True)
    page = second.post(f"{BASE}/{registry_id}/rename", data={
        "csrf_token": second.csrf_token(f"{BASE}/"), "name": "From tab two", "version": opened})
    assert page.status_code == 409 and "reload" in page.get_data(as_text=True)
    assert load(app, registry_id).name == "From tab one"


def test_a_background_check_does_not_make_an_open_form_stale(env):
    app, registry_id = env
    admin = client_for(app, "admin@acme.test")
    opened = version_of(app, registry_id)
    with app.app_context():
        checks.check_registry(registry_id, "scheduled")
    response = admin.post(f"{BASE}/{registry_id}/rename", data={
        "csrf_token": admin.csrf_token(f"{BASE}/"), "name": "Still fine", "version": opened})
    assert response.status_code == 302


def test_replace_credentials_changes_the_fingerprint_and_checks(env, htpasswd_registry):
    app, registry_id = env
    before = load(app, registry_id)
    admin = client_for(app, "admin@acme.test")
    url = f"{BASE}/{registry_id}/credentials"
    page = admin.get(url).get_data(as_text=True)
    assert CANARY not in page and before.secret_fingerprint in page
    fields = {"csrf_token": admin.csrf_token(url), "version": str(before.version), "name": "Build cache",
              "registry_url": htpasswd_registry.host_port, "username": "alice",
              "ca_certificate": htpasswd_registry.ca_pem}
    wrong = admin.post(url, data=dict(fields, password="wrong-password"))
    assert wrong.status_code == 302
    after_wrong = load(app, registry_id)
    assert after_wrong.status == "auth_failed"
    assert after_wrong.secret_fingerprint != before.secret_fingerprint
    assert after_wrong.secret_replaced_at > before.secret_replaced_at
    moved = admin.post(url, data=dict(fields, version=str(after_wrong.version), password="",
                                      registry_url=f"localhost:{htpasswd_registry.port}"))
    assert moved.status_code == 422
    assert "The registry address changed" in moved.get_data(as_text=True)
    right = admin.post(url, data=dict(fields, version=str(after_wrong.version), password="s3cret-alice"))
    assert right.status_code == 302 and load(app, registry_id).status == "connected"
    assert "registry.credentials_replaced" in [a for a, _ in actions(app)]


def test_check_now_updates_the_row(env, hx):
    app, registry_id = env
    admin = client_for(app, "admin@acme.test")
    response = admin.post(f"{BASE}/{registry_id}/check", headers=hx,
                          data={"csrf_token": admin.csrf_token(f"{BASE}/")})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith("<tr") and "Connected" in body
    assert ("registry.checked", {"trigger": "manual", "from": "connected", "to": "connected"}) in actions(app)


def test_remove_with_htmx_and_without(env, hx):
    app, registry_id = env
    admin = client_for(app, "admin@acme.test")
    confirm = admin.get(f"{BASE}/{registry_id}/remove", headers=hx).get_data(as_text=True)
    assert "Remove <bdi>Build cache</bdi>?" in confirm and "no longer pull" in confirm
    page = admin.get(f"{BASE}/{registry_id}/remove").get_data(as_text=True)
    assert "<html" in page and "Remove <bdi>Build cache</bdi>?" in page
    response = admin.post(f"{BASE}/{registry_id}/remove", headers=hx, data={
        "csrf_token": admin.csrf_token(f"{BASE}/"), "version": version_of(app, registry_id)})
    # Nothing in place of the row; the status region (out of band) says what happened.
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.strip().startswith('<div id="status-region"')
    assert 'hx-swap-oob="innerHTML"' in body and "Removed <bdi>Build cache</bdi>." in body
    tombstone = load(app, registry_id)
    assert tombstone.state == "removed" and tombstone.secret_ciphertext is None
    assert "Build cache" not in admin.get(f"{BASE}/").get_data(as_text=True)
    assert admin.get(f"{BASE}/{registry_id}").status_code == 404
    assert "registry.removed" in [a for a, _ in actions(app)]


def test_stale_remove_is_refused(env):
    app, registry_id = env
    admin = client_for(app, "admin@acme.test")
    response = admin.post(f"{BASE}/{registry_id}/remove", data={
        "csrf_token": admin.csrf_token(f"{BASE}/"), "version": "999"})
    assert response.status_code == 409 and load(app, registry_id).state == "active"


def test_detail_page(env):
    app, registry_id = env
    registry = load(app, registry_id)
    page = client_for(app, "admin@acme.test").get(f"{BASE}/{registry_id}").get_data(as_text=True)
    assert registry.secret_fingerprint in page and "Check history" in page
    assert "registry.checked" in page and "Connected" in page
    # Members see the registry and its checks, not the audit trail (that is for admins).
    page = client_for(app, "member@acme.test").get(f"{BASE}/{registry_id}").get_data(as_text=True)
    assert "Check history" in page and "Audit trail" not in page


def test_failing_banner_until_recovered_or_dismissed(env):
    app, registry_id = env
    failing = CheckResult(Status.AUTH_FAILED, "The registry refused the credentials.", 401, None,
                          None, 5, None, "signing_in")
    with app.app_context():
        checks.store_result(registry_id, failing, "scheduled", None, utcnow())
    admin = client_for(app, "admin@acme.test")
    for path in (f"{BASE}/", "/orgs/acme/settings/private-tools/", "/orgs/acme/settings/audit-log/"):
        assert "1 registry is failing — private tools that use it cannot pull" in admin.get(path).get_data(as_text=True)
    assert "is failing" not in client_for(app, "member@acme.test").get(f"{BASE}/").get_data(as_text=True)
    dismissed = admin.post_form(f"{BASE}/alerts/dismiss", {"next": "/orgs/acme/settings/audit-log/"},
                                token_from=f"{BASE}/")
    assert dismissed.headers["Location"] == "/orgs/acme/settings/audit-log/"
    assert "is failing" not in admin.get(f"{BASE}/").get_data(as_text=True)
    assert "registry.status_changed" in [a for a, _ in actions(app)]


def test_the_secret_never_appears_for_admins_or_members(env, hx):
    app, registry_id = env
    registry = load(app, registry_id)
    ciphertext = base64.b64encode(registry.secret_ciphertext).decode()
    paths = [f"{BASE}/", f"{BASE}/{registry_id}", f"{BASE}/{registry_id}/rename",
             f"{BASE}/{registry_id}/credentials", f"{BASE}/{registry_id}/remove",
             f"{BASE}/{registry_id}/row", "/orgs/acme/settings/audit-log/"]
    for email in ("admin@acme.test", "member@acme.test"):
        client = client_for(app, email)
        for path in paths:
            for headers in ({}, hx):
                response = client.get(path, headers=headers)
                text = response.get_data(as_text=True) + str(response.headers)
                assert CANARY not in text and base64.b64encode(CANARY.encode()).decode() not in text
                assert ciphertext[:16] not in text
        bad = client.post(f"{BASE}/{registry_id}/credentials", data={
            "csrf_token": client.csrf_token(f"{BASE}/"), "version": "1", "name": "x",
            "registry_url": "bad url", "username": "", "password": CANARY})
        assert CANARY not in bad.get_data(as_text=True)
    with app.app_context():
        audit_text = repr([(e.details, e.target_label) for e in db.session.query(AuditEvent)])
    assert CANARY not in audit_text


def test_check_requests_are_throttled_per_user(tmp_path, htpasswd_registry):
    app = build_app(f"sqlite:///{tmp_path / 'limits.db'}", RATELIMIT_ENABLED=True,
                    CHECK_REQUESTS_PER_USER="2 per minute",
                                 OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32")
    make = Factory(app)
    make.org("acme")
    make.user("admin@acme.test", org="acme")
    with app.app_context():
        registry_id = registry_row(secret="s3cret-alice", host=htpasswd_registry.host_port,
                                   ca_pem=htpasswd_registry.ca_pem).id
    admin = client_for(app, "admin@acme.test")
    token = admin.csrf_token(f"{BASE}/")
    statuses = [admin.post(f"{BASE}/{registry_id}/check", data={"csrf_token": token}).status_code
                for _ in range(3)]
    assert statuses == [302, 302, 429]
    refused = admin.post(f"{BASE}/{registry_id}/check", data={"csrf_token": token})
    assert int(refused.headers["Retry-After"]) > 0
    from webapp.extensions import limiter
    limiter.reset()
    with app.app_context():
        db.engine.dispose()


def test_remove_with_dependent_tools_lists_them_and_needs_the_name(env, htpasswd_registry):
    from webapp.services import tools

    app, registry_id = env
    with app.app_context():
        tools.add(accounts.find_org("acme"), "Builder", f"{htpasswd_registry.host_port}/team/builder:1")
        db.session.commit()
    admin = client_for(app, "admin@acme.test")
    confirm = admin.get(f"{BASE}/{registry_id}/remove").get_data(as_text=True)
    assert "These private tools will stop pulling" in confirm and "Builder" in confirm
    wrong = admin.post(f"{BASE}/{registry_id}/remove", data={
        "csrf_token": admin.csrf_token(f"{BASE}/"), "version": version_of(app, registry_id),
        "confirm_name": "build"})
    assert wrong.status_code == 422 and "name exactly to confirm" in wrong.get_data(as_text=True)
    assert load(app, registry_id).state == "active"
    right = admin.post(f"{BASE}/{registry_id}/remove", data={
        "csrf_token": admin.csrf_token(f"{BASE}/"), "version": version_of(app, registry_id),
        "confirm_name": "Build cache"})
    assert right.status_code == 302 and load(app, registry_id).state == "removed"
    page = admin.get("/orgs/acme/settings/private-tools/").get_data(as_text=True)
    assert "Builder" in page and "no registry" in page.lower()
