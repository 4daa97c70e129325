"""Runner token scope through the runner API: an org token only ever gets its own org's
credentials, and learns nothing about other orgs; platform tokens serve every Enterprise org;
expiry, revocation and the token's shape."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.functional.test_runner_api import CANARY, add_registry, ask, assert_error
from webapp.extensions import db
from webapp.models import AuditEvent, RunnerToken, utcnow
from webapp.services import accounts, runner_tokens


@pytest.fixture
def orgs(make):
    make.org("acme", plan="enterprise")
    make.org("beta", plan="enterprise")
    make.org("gamma", plan="team")


def org_token(app, slug: str, name: str = "self-hosted", **kwargs) -> str:
    with app.app_context():
        token, _ = runner_tokens.create(name, org=accounts.find_org(slug), **kwargs)
        db.session.commit()
        return token


def platform_token(app, name: str = "fleet") -> str:
    with app.app_context():
        token, _ = runner_tokens.create(name)
        db.session.commit()
        return token


def test_an_org_token_gets_its_own_orgs_credentials_with_or_without_the_slug(app, client, orgs):
    add_registry(app, "acme")
    token = org_token(app, "acme")
    named = ask(client, token, organization="acme")
    assert named.status_code == 200, named.get_data(as_text=True)
    omitted = client.post("/api/v1/pull-credentials", json={"image": "ghcr.io/acme/tool:1"},
                          headers={"Authorization": f"Bearer {token}"})
    assert omitted.status_code == 200, omitted.get_data(as_text=True)
    assert omitted.get_json()["auths"] == named.get_json()["auths"]


@pytest.mark.parametrize("other", ["beta", "gamma"])  # Enterprise or not: the same 404
def test_another_org_answers_exactly_like_a_made_up_one(app, client, orgs, other):
    add_registry(app, "acme")
    add_registry(app, other)  # the same image path, in the other org
    token = org_token(app, "acme")
    made_up = ask(client, token, organization="no-such-org")
    real = ask(client, token, organization=other)
    assert_error(real, 404, "no_matching_registry")
    assert real.get_data() == made_up.get_data()
    assert CANARY not in real.get_data(as_text=True)
    assert {k: v for k, v in real.headers.items() if k not in ("Date",)} == {
        k: v for k, v in made_up.headers.items() if k not in ("Date",)}


def test_a_platform_token_serves_every_enterprise_org(app, client, orgs):
    add_registry(app, "acme")
    add_registry(app, "beta")
    add_registry(app, "gamma")
    token = platform_token(app)
    for slug in ("acme", "beta"):
        assert ask(client, token, organization=slug).status_code == 200
    assert_error(ask(client, token, organization="gamma"), 403, "not_enterprise")
    # A platform token must say which org.
    missing = client.post("/api/v1/pull-credentials", json={"image": "ghcr.io/acme/tool:1"},
                          headers={"Authorization": f"Bearer {token}"})
    assert_error(missing, 400, "malformed_reference")


def test_an_expired_token_is_refused(app, client, orgs):
    add_registry(app, "acme")
    token = org_token(app, "acme", expires_in_days=30)
    assert ask(client, token).status_code == 200
    with app.app_context():
        row = db.session.query(RunnerToken).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert_error(ask(client, token), 401, "invalid_token")


def test_a_revoked_org_token_is_refused_on_the_next_call(app, client, orgs):
    add_registry(app, "acme")
    token = org_token(app, "acme")
    assert ask(client, token).status_code == 200
    with app.app_context():
        runner_tokens.revoke("self-hosted", accounts.find_org("acme"))
        db.session.commit()
    assert_error(ask(client, token), 401, "invalid_token")


def test_tokens_have_a_recognisable_prefix_and_a_checksum(app, client, orgs):
    add_registry(app, "acme")
    token = org_token(app, "acme")
    assert token.startswith("prt_") and runner_tokens.looks_like_token(token)
    # One changed character fails the checksum before any lookup.
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    assert not runner_tokens.looks_like_token(tampered)
    assert_error(ask(client, tampered), 401, "invalid_token")


def test_use_is_recorded_with_its_address_and_audited_in_the_orgs_log(app, client, orgs):
    add_registry(app, "acme")
    token = org_token(app, "acme")
    ask(client, token, environ_base={"REMOTE_ADDR": "127.0.0.9"})
    with app.app_context():
        row = db.session.query(RunnerToken).one()
        assert row.last_used_at is not None and row.last_used_address == "127.0.0.9"
    from webapp.services import audit

    with app.app_context():
        audit.flush_counts()
        event = db.session.query(AuditEvent).filter_by(
            action="registry.credentials_handed_out").one()
        assert event.org_id == accounts.find_org("acme").id
        assert event.actor_label == "runner token self-hosted"
