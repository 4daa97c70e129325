"""What the pages tell people: the settings overview the breadcrumb links to, the rate-limit
answer that says when to retry, the plain-HTTP badge, and what members are told."""

import pytest

from tests.support.apps import build_app
from tests.support.factories import Factory, registry_row
from webapp.extensions import db

from .test_registry_actions import client_for

BASE = "/orgs/acme/settings/infrastructure/container-registry"


@pytest.fixture
def app(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'feedback.db'}", RATELIMIT_ENABLED=True,
                    CHECK_REQUESTS_PER_USER="1 per minute")
    make = Factory(app)
    make.org("acme")
    make.org("other")
    make.user("admin@acme.test", org="acme", role="admin")
    make.user("member@acme.test", org="acme", role="member")
    with app.app_context():
        plain = registry_row(secret="s3cret", name="Cache", host="cache.internal:5000",
                             status="connected")
        plain.scheme = "http"
        db.session.commit()
    yield app
    from webapp.extensions import limiter
    limiter.reset()
    with app.app_context():
        db.engine.dispose()


def test_the_settings_overview_answers_and_links_every_settings_page(app):
    admin = client_for(app, "admin@acme.test")
    page = admin.get("/orgs/acme/settings/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for path in (f"{BASE}/", "/orgs/acme/settings/private-tools/", "/orgs/acme/settings/audit-log/"):
        assert f'href="{path}' in body
    assert '<a href="/orgs/acme/settings/" aria-current="page">' in body
    registries = admin.get(f"{BASE}/").get_data(as_text=True)
    assert '<li><a href="/orgs/acme/settings/"><bdi class="truncate">Settings' in registries
    assert 'href="/orgs/acme/settings/#infrastructure"' in registries
    member = client_for(app, "member@acme.test").get("/orgs/acme/settings/").get_data(as_text=True)
    assert "audit-log" not in member  # the audit log is the admins'
    assert client_for(app, "admin@acme.test").get("/orgs/other/settings/").status_code == 404


def test_a_plain_http_registry_says_so_and_members_are_told_who_may_change_it(app):
    admin = client_for(app, "admin@acme.test").get(f"{BASE}/").get_data(as_text=True)
    assert "HTTP — not encrypted" in admin
    member = client_for(app, "member@acme.test")
    body = member.get(f"{BASE}/").get_data(as_text=True)
    assert "HTTP — not encrypted" in body and "Only admins of" in body
    refused = member.get(f"{BASE}/new")
    assert refused.status_code == 403
    assert "Only admins of this organization can make this change" in refused.get_data(as_text=True)


def test_a_refused_check_says_when_to_try_again_and_the_message_leaves_then(app):
    admin = client_for(app, "admin@acme.test")
    with app.app_context():
        registry_id = registry_row(secret="s3cret", name="Other").id
    token = admin.csrf_token(f"{BASE}/")
    hx = {"HX-Request": "true", "X-CSRFToken": token}
    assert admin.post(f"{BASE}/{registry_id}/check", headers=hx).status_code == 200
    refused = admin.post(f"{BASE}/{registry_id}/check", headers=hx)
    body = refused.get_data(as_text=True)
    retry = int(refused.headers["Retry-After"])
    assert refused.status_code == 429 and "<html" not in body
    assert "Try again in " in body and "second" in body
    assert any(f'data-expires-in="{seconds}"' in body for seconds in (retry - 1, retry, retry + 1))
