"""The support console: read-only across orgs, audited, one action (Check now), no secret."""

import base64
import uuid

import pytest

from tests.support.apps import build_app
from tests.support.factories import Factory, registry_row
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.services import checks

CANARY = "CANARY-" + uuid.uuid4().hex


@pytest.fixture
def env(tmp_path, htpasswd_registry):
    app = build_app(f"sqlite:///{tmp_path / 'support.db'}",
                    OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32", CHECK_TIMEOUT_SECONDS=5)
    make = Factory(app)
    make.org("acme")
    make.user("admin@acme.test", org="acme")
    make.user("help@platform.test", support=True)
    username = f"user-{uuid.uuid4().hex[:6]}"
    htpasswd_registry.add_user(username, CANARY)
    with app.app_context():
        registry = registry_row(secret=CANARY, name="Build cache", host=htpasswd_registry.host_port,
                                username=username, ca_pem=htpasswd_registry.ca_pem)
        registry_id, ciphertext = registry.id, registry.secret_ciphertext
        checks.check_registry(registry_id, "connect")
    client = app.test_client()
    client.post_form("/login", {"email": "help@platform.test", "password": "correct horse battery"})
    yield app, client, registry_id, ciphertext
    with app.app_context():
        db.engine.dispose()


def org_actions(app):
    with app.app_context():
        return [(e.action, e.actor_kind) for e in
                db.session.query(AuditEvent).filter(AuditEvent.org_id.is_not(None)).order_by(AuditEvent.id)]


def test_support_reads_across_orgs_and_every_look_is_audited(env):
    app, client, registry_id, ciphertext = env
    Factory(app).org("other", name="Other Co", plan="team")
    index = client.get("/support/").get_data(as_text=True)
    assert "Build cache" in index and "Acme" in index
    orgs = client.get("/support/orgs/").get_data(as_text=True)
    assert "Acme" in orgs and "Other Co" in orgs
    org_page = client.get("/support/orgs/acme").get_data(as_text=True)
    assert "Build cache" in org_page and "Connected" in org_page
    page = client.get(f"/support/registries/{registry_id}").get_data(as_text=True)
    assert "Check history" in page and "Check now" in page
    for text in (org_page, page):
        assert CANARY not in text and base64.b64encode(ciphertext).decode()[:16] not in text
    assert ("support.viewed_org", "support") in org_actions(app)
    assert ("support.viewed_registry", "support") in org_actions(app)


def test_check_now_is_the_one_action(env):
    app, client, registry_id, _ = env
    response = client.post_form(f"/support/registries/{registry_id}/check",
                                token_from=f"/support/registries/{registry_id}")
    assert response.status_code == 302
    assert ("registry.checked", "support") in org_actions(app)


def test_others_get_404_and_unknown_ids_too(env):
    app, client, registry_id, _ = env
    assert client.get(f"/support/registries/{uuid.uuid4()}").status_code == 404
    assert client.get("/support/orgs/nope").status_code == 404
    admin = app.test_client()
    admin.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})
    for path in ("/support/", "/support/orgs/acme", f"/support/registries/{registry_id}"):
        assert admin.get(path).status_code == 404
    assert admin.post_form(f"/support/registries/{registry_id}/check",
                           token_from="/orgs/acme/settings/audit-log/").status_code == 404


def looks(app):
    with app.app_context():
        return [(e.action, e.actor_label, e.target_id) for e in db.session.query(AuditEvent)
                .filter(AuditEvent.action.like("support.viewed%")).order_by(AuditEvent.id)]


def test_a_look_is_recorded_once_per_support_user_target_and_hour(env):
    app, client, registry_id, _ = env
    for _ in range(3):
        assert client.get(f"/support/registries/{registry_id}").status_code == 200
        assert client.get("/support/orgs/acme").status_code == 200
    assert looks(app) == [("support.viewed_registry", "help@platform.test", str(registry_id)),
                          ("support.viewed_org", "help@platform.test", "acme")]
    Factory(app).user("second@platform.test", support=True)
    second = app.test_client()
    second.post_form("/login", {"email": "second@platform.test", "password": "correct horse battery"})
    second.get(f"/support/registries/{registry_id}")
    assert len(looks(app)) == 3
    # The next hour counts again.
    from datetime import timedelta
    from unittest import mock

    from webapp.models import utcnow
    later = utcnow() + timedelta(hours=1)
    with mock.patch("webapp.services.support.utcnow", return_value=later):
        client.get(f"/support/registries/{registry_id}")
    assert len(looks(app)) == 4


def test_the_admin_sees_support_access_marked_in_the_audit_log(env):
    app, client, registry_id, _ = env
    client.get(f"/support/registries/{registry_id}")
    admin = app.test_client()
    admin.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})
    page = admin.get("/orgs/acme/settings/audit-log/?action=support").get_data(as_text=True)
    assert "audit-event--support" in page and "Support access" in page
    assert "Support (help@platform.test)</bdi> viewed registry <em><bdi>Build cache</bdi></em>" in page


def test_registry_detail_shows_what_the_admin_sees_but_the_fingerprint(env):
    app, client, registry_id, _ = env
    with app.app_context():
        from webapp.models import Registry
        fingerprint = db.session.get(Registry, registry_id).secret_fingerprint
    page = client.get(f"/support/registries/{registry_id}").get_data(as_text=True)
    for words in ("Details", "Username", "Replaced", "Check history", "Audit trail",
                  "Private tools pulling through it", "Runner tokens that used it lately"):
        assert words in page, words
    assert fingerprint and fingerprint not in page and "fingerprint" not in page.lower()


def test_check_now_with_htmx_answers_the_status_panel(env, hx):
    app, client, registry_id, _ = env
    token = client.csrf_token(f"/support/registries/{registry_id}")
    response = client.post(f"/support/registries/{registry_id}/check",
                           headers={**hx, "X-CSRFToken": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.startswith('<div id="support-status"')


def test_support_can_post_nothing_but_check_now_even_to_a_route_added_later(tmp_path):
    """A POST route that forgets about support staff still refuses them (access.py)."""
    app = build_app(f"sqlite:///{tmp_path / 'probe.db'}")
    changed = []
    app.add_url_rule("/probe", "probe", lambda: changed.append(1) or "changed", methods=["POST"])
    Factory(app).user("help@platform.test", support=True)
    Factory(app).user("someone@example.test")
    for email, status in (("help@platform.test", 404), ("someone@example.test", 200)):
        client = app.test_client()
        client.post_form("/login", {"email": email, "password": "correct horse battery"})
        assert client.post_form("/probe", token_from="/login").status_code == status
    assert changed == [1]


def test_the_canary_secret_is_on_no_support_page_and_not_in_the_audit_log(env, hx):
    """Every support GET route (read from the URL map, so new ones are scanned too), as a page
    and as an htmx fragment, with filters, and the org's audit log: no secret, no ciphertext,
    no fingerprint."""
    from tests.routes import all_routes
    from webapp.models import Registry

    app, client, registry_id, ciphertext = env
    with app.app_context():
        fingerprint = db.session.get(Registry, registry_id).secret_fingerprint
    client.post_form(f"/support/registries/{registry_id}/check",
                     token_from=f"/support/registries/{registry_id}")
    paths = [path for method, path, _ in
             all_routes("/support/", methods={"GET"}, values={"registry_id": str(registry_id)})]
    paths += ["/support/?q=build&status=failing&failing_day=1", "/support/?q=" + CANARY,
              "/support/orgs/acme?page=1"]
    admin = app.test_client()
    admin.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})
    pages = [(client, path) for path in paths]
    pages += [(admin, "/orgs/acme/settings/audit-log/" + query)
              for query in ("", "?action=support", "?actor=support", "?action=check")]
    seen = 0
    for who, path in pages:
        for headers in ({}, hx):
            response = who.get(path, headers=headers)
            body = response.get_data(as_text=True) + str(response.headers)
            assert response.status_code == 200, path
            if "q=" + CANARY not in path:
                assert CANARY not in body, path
            assert base64.b64encode(CANARY.encode()).decode() not in body, path
            assert base64.b64encode(ciphertext).decode()[:16] not in body, path
            if who is client:
                assert fingerprint not in body, path
            seen += 1
    assert seen >= 2 * (len(paths) + 4)
