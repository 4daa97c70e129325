"""Settings > Infrastructure > Runner tokens through the test client with CSRF on: admins create
(shown once) and revoke; members see the list only; another org's token is a 404."""

from __future__ import annotations

import re

import pytest

from tests.functional.test_runner_api import add_registry, ask, assert_error
from webapp.extensions import db
from webapp.models import AuditEvent, RunnerToken

PAGE = "/orgs/acme/settings/infrastructure/runner-tokens/"


@pytest.fixture
def acme(make, auth):
    make.org("acme", plan="enterprise")
    make.org("beta", plan="enterprise")
    auth.login(make.user("admin@acme.test", org="acme", role="admin"))


def create(client, name: str = "edge-1", expires: str = "never"):
    return client.post_form(PAGE, {"name": name, "expires": expires}, token_from=PAGE)


def shown_token(page: str) -> str:
    match = re.search(r'id="token-value" type="text" value="(prt_[^"]+)"', page)
    assert match, page
    return match.group(1)


def test_an_admin_creates_a_token_that_is_shown_once_and_works(app, client, acme):
    add_registry(app)
    response = create(client, expires="90")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    token = shown_token(page)
    assert "curl -sS -o answer.json -X POST" in page and "skopeo inspect --registry-token" in page
    assert "shown only this once" in page
    # The list never shows it again.
    listing = client.get(PAGE).get_data(as_text=True)
    assert token not in listing and "edge-1" in listing and "admin@acme.test" in listing
    assert ask(client, token, organization=None).status_code == 200
    with app.app_context():
        row = db.session.query(RunnerToken).one()
        assert row.org.slug == "acme" and row.created_by.email == "admin@acme.test"
        assert (row.expires_at - row.created_at).days == 90
        created = db.session.query(AuditEvent).filter_by(action="runner_token.created").one()
        assert created.org_id == row.org_id and created.actor_label == "admin@acme.test"
        assert token not in str(created.details)
    listing = client.get(PAGE).get_data(as_text=True)
    assert "127.0.0.1" in listing  # last used, and from where


def test_bad_names_and_duplicates_are_told_beside_the_field(app, client, acme):
    assert create(client).status_code == 201
    again = create(client)
    assert again.status_code == 422
    assert "already exists in acme" in again.get_data(as_text=True)
    bad = create(client, name="bad name")
    assert bad.status_code == 422 and "Use 1-64 letters" in bad.get_data(as_text=True)
    assert create(client, name="ok", expires="7").status_code == 422  # not offered


def test_revoke_asks_first_then_refuses_the_token(app, client, acme):
    add_registry(app)
    token = shown_token(create(client).get_data(as_text=True))
    with app.app_context():
        token_id = db.session.query(RunnerToken).one().id
    confirm = client.get(f"{PAGE}{token_id}/revoke")
    assert confirm.status_code == 200 and "Revoke edge-1?" in confirm.get_data(as_text=True)
    assert ask(client, token, organization=None).status_code == 200  # the GET changed nothing
    done = client.post_form(f"{PAGE}{token_id}/revoke", {}, token_from=f"{PAGE}{token_id}/revoke")
    assert done.status_code == 303
    assert "Revoked edge-1" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert_error(ask(client, token, organization=None), 401, "invalid_token")
    with app.app_context():
        assert db.session.query(AuditEvent).filter_by(action="runner_token.revoked").count() == 1


def test_members_see_the_list_without_actions(app, client, make, auth, acme):
    create(client)
    auth.logout()
    auth.login(make.user("member@acme.test", org="acme", role="member"))
    page = client.get(PAGE).get_data(as_text=True)
    assert "edge-1" in page and "Create a runner token" not in page and "Revoke" not in page
    with app.app_context():
        token_id = db.session.query(RunnerToken).one().id
    assert client.get(f"{PAGE}{token_id}/revoke").status_code == 403
    form_token = client.csrf_token(PAGE)
    refused = client.post(PAGE, data={"name": "mine", "expires": "never", "csrf_token": form_token})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.query(RunnerToken).count() == 1


def test_another_orgs_token_is_not_found(app, client, make, auth, acme):
    from webapp.services import accounts, runner_tokens

    with app.app_context():
        _, row = runner_tokens.create("theirs", org=accounts.find_org("beta"))
        db.session.commit()
        theirs = row.id
    assert client.get(f"{PAGE}{theirs}/revoke").status_code == 404
    form_token = client.csrf_token(PAGE)
    assert client.post(f"{PAGE}{theirs}/revoke", data={"csrf_token": form_token}).status_code == 404
    assert "theirs" not in client.get(PAGE).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(RunnerToken, theirs).revoked_at is None
