"""The three-step Add Registry wizard through the test client (CSRF on), against a real
docker-registry on 127.0.0.1. Checks run inline (TestingConfig), so each Connect is finished
by the time its redirect is followed."""

import base64
import re
import uuid

import pytest

from tests.support.apps import build_app
from tests.support.factories import Factory
from webapp.extensions import db
from webapp.models import AuditEvent, Registry

BASE = "/orgs/acme/settings/infrastructure/container-registry"
CANARY = "CANARY-" + uuid.uuid4().hex


@pytest.fixture
def wizard_app(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'wizard.db'}",
                    OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32", CHECK_TIMEOUT_SECONDS=5)
    make = Factory(app)
    make.org("acme", plan="enterprise")
    make.user("admin@acme.test", org="acme", role="admin")
    make.user("member@acme.test", org="acme", role="member")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def admin(wizard_app):
    client = wizard_app.test_client()
    client.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})
    return client


def step2(client, kind="docker_registry", **fields):
    """POST step 2 with a fresh draft token from its GET."""
    page = client.get(f"{BASE}/new/{kind}").get_data(as_text=True)
    token = re.search(r'name="draft" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": client.csrf_token(f"{BASE}/new/{kind}"), "draft": token}
    data.update(fields)
    return client.post(f"{BASE}/new/{kind}", data=data), token


def registry_fields(registry, password, **extra):
    fields = {"name": "Build cache", "registry_url": registry.host_port, "username": "alice",
              "password": password, "ca_certificate": registry.ca_pem}
    fields.update(extra)
    return fields


def rows(app):
    with app.app_context():
        return db.session.query(Registry).all()


def test_step1_offers_the_three_types(admin):
    page = admin.get(f"{BASE}/new").get_data(as_text=True)
    for label in ("Docker Registry", "Docker Hub", "GitHub"):
        assert f">{label}<" in page
    response = admin.post_form(f"{BASE}/new", {})
    assert response.status_code == 422
    assert "Choose a registry type" in response.get_data(as_text=True)


@pytest.mark.parametrize("typed, location", [
    ("ghcr.io/acme/tool:1.0", f"{BASE}/new/github?namespace=acme"),
    ("acme/tool", f"{BASE}/new/docker_hub?namespace=acme"),
    # The key `docker login` writes: Docker Hub, with no namespace "v1".
    ("https://index.docker.io/v1/", f"{BASE}/new/docker_hub"),
    ("registry-1.docker.io/acme/tool:1", f"{BASE}/new/docker_hub?namespace=acme"),
    ("https://registry.example.com/v1/",
     f"{BASE}/new/docker_registry?registry_url=registry.example.com"),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/ns",
     f"{BASE}/new/aws_ecr?registry_url=123456789012.dkr.ecr.eu-west-1.amazonaws.com/ns"),
])
def test_step1_address_preselects_and_prefills(admin, typed, location):
    response = admin.post_form(f"{BASE}/new", {"address": typed})
    assert response.status_code == 302
    assert response.headers["Location"] == location


def test_step1_unreadable_address_is_explained(admin):
    response = admin.post_form(f"{BASE}/new", {"address": "https://user:pw@registry.example.com"})
    assert response.status_code == 422
    assert "Do not put a user name or password in the address" in response.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["not a url", "ghcr.io/acme/app tool"])
def test_step1_text_that_is_no_address_gets_an_example(admin, typed):
    response = admin.post_form(f"{BASE}/new", {"address": typed})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a registry address like registry.example.com/team" in body
    assert f"&#39;{typed}" not in body and "must not contain" not in body  # no parser's repr


def test_step2_errors_beside_each_field_page_and_fragment(admin, hx):
    response, _ = step2(admin, name="", registry_url="", username="", password="")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in body
    for message in ("Give the registry a name.", "Enter the registry URL.", "Enter the username."):
        assert message in body
    response, _ = step2(admin, name="x", registry_url="ftp://r.example.com", username="u",
                        password="p")
    assert "Only https:// registry addresses are supported." in response.get_data(as_text=True)
    fragment = admin.post(f"{BASE}/new/docker_registry", headers=hx, data={
        "csrf_token": admin.csrf_token(f"{BASE}/new/docker_registry"), "name": ""})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 422 and "<html" not in body and 'id="settings-form"' in body


def test_docker_hub_address_in_the_generic_type_points_to_docker_hub(admin):
    response, _ = step2(admin, name="Hub", registry_url="docker.io/acme", username="u", password="p")
    assert "This is a Docker Hub address" in response.get_data(as_text=True)


def test_connect_with_the_right_password_lands_on_the_list(wizard_app, admin, htpasswd_registry):
    response, _ = step2(admin, **registry_fields(htpasswd_registry, "s3cret-alice"))
    assert response.status_code == 302
    step3 = admin.get(response.headers["Location"])
    [registry] = rows(wizard_app)
    assert step3.status_code == 302
    assert step3.headers["Location"].startswith(f"{BASE}/?added={registry.id}")
    page = admin.get(step3.headers["Location"]).get_data(as_text=True)
    assert "Build cache" in page and "Connected" in page and "row--new" in page
    assert registry.state == "active" and registry.status == "connected"
    with wizard_app.app_context():
        actions = [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions[-3:] == ["registry.draft_saved", "registry.checked", "registry.added"]


def test_wrong_password_then_fixed_through_edit_details(wizard_app, admin, htpasswd_registry):
    response, token = step2(admin, **registry_fields(htpasswd_registry, "wrong-password"))
    outcome = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sign-in failed" in outcome and "Edit details" in outcome and "Save anyway" in outcome
    [registry] = rows(wizard_app)
    assert registry.state == "draft"
    edit = admin.get(f"{BASE}/new/docker_registry?draft={registry.id}").get_data(as_text=True)
    assert 'value="Build cache"' in edit and "wrong-password" not in edit
    fixed = admin.post(f"{BASE}/new/docker_registry?draft={registry.id}", data={
        "csrf_token": admin.csrf_token(f"{BASE}/new/docker_registry?draft={registry.id}"),
        "draft": re.search(r'name="draft" type="hidden" value="([^"]+)"', edit).group(1),
        **registry_fields(htpasswd_registry, "s3cret-alice")})
    assert fixed.status_code == 302
    [registry] = rows(wizard_app)
    assert registry.state == "active" and registry.status == "connected"


def test_edit_details_keeps_the_secret_unless_the_address_changes(wizard_app, admin, htpasswd_registry):
    step2(admin, **registry_fields(htpasswd_registry, "wrong-password"))
    [registry] = rows(wizard_app)
    fingerprint = registry.secret_fingerprint
    edit_url = f"{BASE}/new/docker_registry?draft={registry.id}"

    def submit(**fields):
        page = admin.get(edit_url).get_data(as_text=True)
        token = re.search(r'name="draft" type="hidden" value="([^"]+)"', page).group(1)
        return admin.post(edit_url, data={"csrf_token": admin.csrf_token(edit_url), "draft": token,
                                          **registry_fields(htpasswd_registry, "", **fields)})

    moved = submit(registry_url=f"localhost:{htpasswd_registry.port}")
    assert moved.status_code == 422
    assert "The registry address changed — enter the password or token again." in moved.get_data(as_text=True)
    kept = submit(name="Renamed cache")
    assert kept.status_code == 302
    [registry] = rows(wizard_app)
    # The stored (wrong) password was kept and checked again.
    assert registry.name == "Renamed cache" and registry.status == "auth_failed"
    assert registry.secret_fingerprint == fingerprint and registry.state == "draft"


def test_double_submit_creates_one_registry(wizard_app, admin, htpasswd_registry):
    first, token = step2(admin, **registry_fields(htpasswd_registry, "wrong-password"))
    again = admin.post(f"{BASE}/new/docker_registry", data={
        "csrf_token": admin.csrf_token(f"{BASE}/new/docker_registry"), "draft": token,
        **registry_fields(htpasswd_registry, "wrong-password")})
    assert first.headers["Location"] == again.headers["Location"]
    assert len(rows(wizard_app)) == 1


def test_duplicate_name_and_address_are_refused_with_a_link(wizard_app, admin, htpasswd_registry):
    step2(admin, **registry_fields(htpasswd_registry, "s3cret-alice"))
    same_name, _ = step2(admin, **registry_fields(htpasswd_registry, "s3cret-alice",
                                                  registry_url=htpasswd_registry.host_port + "/other",
                                                  name="BUILD CACHE"))
    body = same_name.get_data(as_text=True)
    assert same_name.status_code == 422 and "Another registry already has this name." in body
    same_address, _ = step2(admin, **registry_fields(htpasswd_registry, "s3cret-alice", name="Other"))
    body = same_address.get_data(as_text=True)
    assert "already connected as “Build cache”" in body and "#registry-" in body


def test_save_anyway_and_discard(wizard_app, admin, htpasswd_registry):
    response, _ = step2(admin, **registry_fields(htpasswd_registry, "wrong-password"))
    [registry] = rows(wizard_app)
    saved = admin.post_form(f"{BASE}/{registry.id}/save-anyway", token_from=response.headers["Location"])
    assert saved.status_code == 302
    [registry] = rows(wizard_app)
    assert registry.state == "active" and registry.status == "auth_failed"
    response, _ = step2(admin, **registry_fields(htpasswd_registry, "wrong", name="Second",
                                                 registry_url=htpasswd_registry.host_port + "/two"))
    second = next(r for r in rows(wizard_app) if r.name == "Second")
    admin.post_form(f"{BASE}/{second.id}/discard", token_from=response.headers["Location"])
    assert [r.name for r in rows(wizard_app)] == ["Build cache"]
    with wizard_app.app_context():
        actions = {e.action for e in db.session.query(AuditEvent)}
    assert {"registry.added", "registry.draft_discarded"} <= actions


def test_members_cannot_use_the_wizard(wizard_app):
    client = wizard_app.test_client()
    client.post_form("/login", {"email": "member@acme.test", "password": "correct horse battery"})
    assert client.get(f"{BASE}/new").status_code == 403
    assert client.get(f"{BASE}/new/docker_hub").status_code == 403


def test_the_secret_never_comes_back(wizard_app, admin, htpasswd_registry, hx):
    """A canary secret is absent from every response: plain, base64, or as its ciphertext."""
    bodies = []

    def seen(response):
        bodies.append(response.get_data(as_text=True) + str(response.headers))
        return response

    seen(step2(admin, name="", registry_url="bad url", username="alice", password=CANARY)[0])
    response, _ = step2(admin, **registry_fields(htpasswd_registry, CANARY))
    seen(response)
    [registry] = rows(wizard_app)
    for path in [response.headers["Location"], f"{BASE}/", f"{BASE}/new",
                 f"{BASE}/new/docker_registry?draft={registry.id}",
                 f"{BASE}/{registry.id}/connect/status", "/orgs/acme/settings/audit-log/"]:
        seen(admin.get(path))
        seen(admin.get(path, headers=hx))
    ciphertext = base64.b64encode(registry.secret_ciphertext).decode()
    for body in bodies:
        assert CANARY not in body
        assert base64.b64encode(CANARY.encode()).decode() not in body
        assert ciphertext[:16] not in body


def test_resubmitting_a_removed_registrys_form_is_not_a_500(wizard_app, admin, htpasswd_registry):
    response, token = step2(admin, **registry_fields(htpasswd_registry, "wrong-password"))
    [registry] = rows(wizard_app)
    admin.post_form(f"{BASE}/{registry.id}/discard", token_from=response.headers["Location"])
    again = admin.post(f"{BASE}/new/docker_registry", data={
        "csrf_token": admin.csrf_token(f"{BASE}/new/docker_registry"), "draft": token,
        **registry_fields(htpasswd_registry, "wrong-password")})
    assert again.status_code == 302  # the draft was deleted, so this is a new one
    response, token = step2(admin, **registry_fields(htpasswd_registry, "wrong-password", name="B",
                                                     registry_url=htpasswd_registry.host_port + "/b"))
    draft = next(r for r in rows(wizard_app) if r.name == "B")
    admin.post_form(f"{BASE}/{draft.id}/save-anyway", token_from=response.headers["Location"])
    with wizard_app.app_context():
        saved = db.session.get(Registry, draft.id)
        saved.state = "removed"
        db.session.commit()
    replay = admin.post(f"{BASE}/new/docker_registry", data={
        "csrf_token": admin.csrf_token(f"{BASE}/new/docker_registry"), "draft": token,
        **registry_fields(htpasswd_registry, "wrong-password", name="B",
                          registry_url=htpasswd_registry.host_port + "/b")})
    assert replay.status_code == 422
    assert "removed meanwhile" in replay.get_data(as_text=True)


def test_https_to_http_needs_the_secret_again(tmp_path, htpasswd_registry):
    app = build_app(f"sqlite:///{tmp_path / 'insecure.db'}", ALLOW_INSECURE_REGISTRIES=True,
                    OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32", CHECK_TIMEOUT_SECONDS=3)
    make = Factory(app)
    make.org("acme")
    make.user("admin@acme.test", org="acme")
    client = app.test_client()
    client.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})
    step2(client, **registry_fields(htpasswd_registry, "wrong-password"))
    [registry] = rows(app)
    edit_url = f"{BASE}/new/docker_registry?draft={registry.id}"
    page = client.get(edit_url).get_data(as_text=True)
    token = re.search(r'name="draft" type="hidden" value="([^"]+)"', page).group(1)
    cleartext = client.post(edit_url, data={
        "csrf_token": client.csrf_token(edit_url), "draft": token,
        **registry_fields(htpasswd_registry, "", registry_url="http://" + htpasswd_registry.host_port)})
    assert cleartext.status_code == 422
    assert "enter the password or token again" in cleartext.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_downgraded_org_audit_log_hides_registries(wizard_app, admin, htpasswd_registry):
    step2(admin, **registry_fields(htpasswd_registry, "s3cret-alice"))
    assert "Build cache" in admin.get("/orgs/acme/settings/audit-log/").get_data(as_text=True)
    wizard_app.test_cli_runner().invoke(args=["org", "set-plan", "acme", "team"])
    page = admin.get("/orgs/acme/settings/audit-log/").get_data(as_text=True)
    assert "Build cache" not in page and htpasswd_registry.host_port not in page


def test_back_keeps_what_was_typed_but_never_the_secret(admin):
    response = admin.post(f"{BASE}/new/docker_registry", data={
        "csrf_token": admin.csrf_token(f"{BASE}/new/docker_registry"), "back": "1",
        "name": "Kept name", "registry_url": "registry.example.com/team", "username": "robot",
        "password": "typed-secret"})
    assert response.status_code == 302 and "typed-secret" not in response.headers["Location"]
    step1 = admin.get(response.headers["Location"])
    assert "typed-secret" not in step1.get_data(as_text=True)
    onward = admin.post(response.headers["Location"].split("?")[0], data={
        "csrf_token": admin.csrf_token(f"{BASE}/new"), "kind": "docker_registry",
        "kept": re.search(r'name="kept" value="([^"]+)"', step1.get_data(as_text=True)).group(1)})
    page = admin.get(onward.headers["Location"]).get_data(as_text=True)
    assert 'value="Kept name"' in page and 'value="registry.example.com/team"' in page
    assert 'value="robot"' in page and "typed-secret" not in page


def test_step2_empty_submit_flags_every_field_and_the_address_in_words(admin):
    response, _ = step2(admin, registry_url="not a url")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    for text in ("Give the registry a name.", "Enter the username.", "Enter the password",
                 "Enter a registry address like registry.example.com/team"):
        assert text in body, text
