"""The runner API (POST /api/v1/pull-credentials) through the test client, as design.md's
contract states it: tokens, orgs, plans, references, sessions, unreadable secrets, rate limits,
audit rows, and a secret that never reaches a log or the audit table."""

from __future__ import annotations

import base64
import logging
import time
import uuid
from datetime import UTC, datetime

import pytest

from tests.support.apps import Client, build_app, make_app, make_config
from webapp.extensions import db, limiter
from webapp.models import AuditEvent, Registry, RunnerToken
from webapp.services import accounts, audit, credentials, pull_credentials, runner_tokens
from webapp.services.vault import new_key_line

API = "/api/v1/pull-credentials"
CANARY = "CANARY-" + uuid.uuid4().hex


def add_registry(app, slug: str = "acme", *, kind: str = "github", host: str = "ghcr.io",
                 namespace: str = "acme", username: str = "octocat", name: str | None = None,
                 state: str = "active") -> str:
    with app.app_context():
        org = accounts.find_org(slug)
        name = name or f"{host}/{namespace}"
        registry = Registry(id=uuid.uuid4(), org_id=org.id, kind=kind, name=name,
                            name_key=name.lower(), host=host, namespace=namespace,
                            username=username, state=state, status="connected",
                            last_checked_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
        credentials.store_secret(registry, CANARY)
        db.session.add(registry)
        db.session.commit()
        return str(registry.id)


def make_token(app, name: str = "runner-1") -> str:
    with app.app_context():
        token, _ = runner_tokens.create(name)
        db.session.commit()
        return token


def ask(client, token: str | None, organization: object = "acme",
        image: object = "ghcr.io/acme/tool:1", **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kwargs.pop("headers", {}))
    if "data" not in kwargs:
        kwargs.setdefault("json", {"organization": organization, "image": image})
    return client.post(API, headers=headers, **kwargs)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == code
    assert response.get_json()["message"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def acme(make):
    return make.org("acme", plan="enterprise")


@pytest.fixture
def token(app):
    return make_token(app)


def test_hands_out_credentials_of_the_matching_registry(app, client, acme, token):
    registry_id = add_registry(app, name="GitHub packages")
    response = ask(client, token)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {
        "registry": {"id": registry_id, "name": "GitHub packages", "status": "connected",
                     "checked_at": "2030-01-02T03:04:05+00:00"},
        "credential": {"kind": "password", "expires_at": None},
        "auths": {"ghcr.io": {
            "username": "octocat", "password": CANARY,
            "auth": base64.b64encode(f"octocat:{CANARY}".encode()).decode(),
        }},
    }


@pytest.mark.parametrize("kind, host, namespace, image, key", [
    ("docker_hub", "docker.io", "library", "ubuntu", "https://index.docker.io/v1/"),
    ("docker_hub", "docker.io", "acme", "index.docker.io/acme/tool", "https://index.docker.io/v1/"),
    # Docker Hub's API host is Docker Hub (it used to match no registry: 404).
    ("docker_hub", "docker.io", "acme", "registry-1.docker.io/acme/tool",
     "https://index.docker.io/v1/"),
    ("docker_registry", "registry.example.com:5000", "", "registry.example.com:5000/a/b:1",
     "registry.example.com:5000"),
    ("docker_registry", "[::1]:5000", "team", "[::1]:5000/team/app", "[::1]:5000"),
])
def test_server_keys_are_what_docker_looks_up(app, client, acme, token, kind, host, namespace,
                                              image, key):
    add_registry(app, kind=kind, host=host, namespace=namespace)
    response = ask(client, token, image=image)
    assert response.status_code == 200
    assert list(response.get_json()["auths"]) == [key]


def test_hands_out_whatever_the_last_check_said(app, client, acme, token):
    registry_id = add_registry(app)
    with app.app_context():
        db.session.get(Registry, uuid.UUID(registry_id)).status = "unreachable"
        db.session.commit()
    response = ask(client, token)
    assert response.status_code == 200
    assert response.get_json()["registry"]["status"] == "unreachable"


@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer rt_not-a-real-token", "Basic cnVubmVyOnNlY3JldA==", "rt_bare",
])
def test_missing_and_bad_tokens_are_refused(app, client, acme, token, header):
    add_registry(app)
    headers = {"Authorization": header} if header else {}
    response = client.post(API, json={"organization": "acme", "image": "ghcr.io/acme/tool"},
                           headers=headers)
    assert_error(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(app, client, acme, token):
    add_registry(app)
    assert ask(client, token).status_code == 200
    with app.app_context():
        runner_tokens.revoke("runner-1")
        db.session.commit()
    assert_error(ask(client, token), 401, "invalid_token")


def test_a_browser_session_alone_is_refused(app, client, acme, make, auth):
    add_registry(app)
    auth.login(make.user("admin@acme.test", org="acme", role="admin"))
    csrf = client.csrf_token("/orgs/acme/settings/private-tools/")
    assert_error(ask(client, None, headers={"X-CSRFToken": csrf}), 401, "invalid_token")


def test_another_orgs_registries_never_match(app, client, acme, make, token):
    make.org("other", plan="enterprise")
    add_registry(app, "other")
    assert_error(ask(client, token), 404, "no_matching_registry")
    assert ask(client, token, organization="other").status_code == 200


@pytest.mark.parametrize("organization, image", [
    ("acme", "ghcr.io/acme-evil/tool"),  # a namespace prefix, not a path segment
    ("acme", "quay.io/acme/tool"),
    ("nobody", "ghcr.io/acme/tool"),  # an unknown org reads like one without a registry
])
def test_no_matching_registry(app, client, acme, token, organization, image):
    add_registry(app)
    assert_error(ask(client, token, organization=organization, image=image), 404,
                 "no_matching_registry")


def test_removed_registries_never_match(app, client, acme, token):
    add_registry(app, state="removed")
    assert_error(ask(client, token), 404, "no_matching_registry")


def test_a_team_plan_org_is_refused(app, client, make, token):
    make.org("acme", plan="team")
    add_registry(app)
    response = ask(client, token)
    assert_error(response, 403, "not_enterprise")
    assert CANARY not in response.get_data(as_text=True)


@pytest.mark.parametrize("body", [
    {"json": {"organization": "acme", "image": "Acme/Tool"}},
    {"json": {"organization": "acme", "image": ""}},
    {"json": {"organization": "acme", "image": "ghcr.io/acme/tool:bad tag"}},
    {"json": {"organization": "acme"}},
    {"json": {"organization": ["acme"], "image": "ghcr.io/acme/tool"}},
    {"json": {"organization": "acme", "image": "ghcr.io/acme/tool", "credential": "oauth"}},
    {"json": {"organization": "acme", "image": "ghcr.io/acme/tool", "credential": ["auto"]}},
    {"json": ["acme", "ghcr.io/acme/tool"]},
    {"data": "organization=acme&image=x", "content_type": "application/x-www-form-urlencoded"},
    {"data": "{not json", "content_type": "application/json"},
])
def test_malformed_requests_are_400(app, client, acme, token, body):
    add_registry(app)
    assert_error(ask(client, token, **body), 400, "malformed_reference")


def test_unreadable_after_a_key_change(app, client, acme, token, database_url):
    add_registry(app)
    rekeyed = make_app(make_config(database_url, CREDENTIAL_KEYS=new_key_line("t1")))
    rekeyed.test_client_class = Client
    response = ask(rekeyed.test_client(), token)
    assert_error(response, 409, "credentials_unreadable")
    assert CANARY not in response.get_data(as_text=True)
    with rekeyed.app_context():
        db.engine.dispose()


def test_routing_errors_under_the_api_are_json(client):
    response = client.get(API)
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert_error(client.post("/api/v1/nothing-here", json={}), 404, "not_found")


def test_the_token_records_its_last_use(app, client, acme, token):
    add_registry(app)
    ask(client, token)
    with app.app_context():
        used = db.session.query(RunnerToken).one().last_used_at
    assert used is not None
    ask(client, token)
    with app.app_context():
        assert db.session.query(RunnerToken).one().last_used_at == used  # at most once a minute


def test_hand_offs_are_audited_once_per_token_registry_and_hour(app, client, acme, token,
                                                                monkeypatch):
    first = add_registry(app)
    second = add_registry(app, kind="docker_registry", host="registry.example.com:5000",
                          namespace="")
    other_token = make_token(app, "runner-2")
    for _ in range(3):
        assert ask(client, token).status_code == 200
    ask(client, token, image="registry.example.com:5000/x/y")
    ask(client, other_token)
    later = datetime(2031, 5, 6, 7, 59, tzinfo=UTC)
    monkeypatch.setattr(pull_credentials, "utcnow", lambda: later)
    ask(client, token)
    with app.app_context():
        # Repeats are added up in memory and flushed every few seconds, by the sweep too.
        first_row = db.session.query(AuditEvent).filter_by(target_id=first).order_by(AuditEvent.id).first()
        assert first_row.count == 1
        assert audit.flush_counts() == 1
        rows = db.session.query(AuditEvent).filter_by(
            action="registry.credentials_handed_out").order_by(AuditEvent.id).all()
        summary = [(row.actor_label, row.target_id, row.count, row.actor_kind) for row in rows]
        texts = [repr((row.details, row.target_label, row.actor_label, row.bucket)) for row in rows]
    assert summary == [
        ("runner token runner-1", first, 3, "runner"),
        ("runner token runner-1", second, 1, "runner"),
        ("runner token runner-2", first, 1, "runner"),
        ("runner token runner-1", first, 1, "runner"),
    ]
    assert not any(CANARY in text or token in text for text in texts)


def test_the_secret_and_the_token_never_reach_the_logs(app, client, acme, token, caplog,
                                                      database_url):
    caplog.set_level(logging.DEBUG)
    add_registry(app)
    ask(client, token)
    ask(client, token, image="Bad")
    ask(client, token, organization="nobody")
    ask(client, "rt_wrong")
    rekeyed = make_app(make_config(database_url, CREDENTIAL_KEYS=new_key_line("t1")))
    rekeyed.test_client_class = Client
    assert ask(rekeyed.test_client(), token).status_code == 409
    with rekeyed.app_context():
        db.engine.dispose()
    assert caplog.records, "nothing was logged, so this test would prove nothing"
    encoded = base64.b64encode(f"octocat:{CANARY}".encode()).decode()
    for secret in (CANARY, encoded, token):
        assert secret not in caplog.text
    with app.app_context():
        for event in db.session.query(AuditEvent):
            assert CANARY not in repr((event.details, event.target_label, event.actor_label))


def test_rate_limited_per_token(tmp_path, caplog):
    app = build_app(f"sqlite:///{tmp_path / 'limits.db'}", RATELIMIT_ENABLED=True,
                    RUNNER_API_RATE_LIMIT="3 per minute")
    with app.app_context():
        accounts.create_org("acme", "Acme", "enterprise")
        db.session.commit()
    add_registry(app)
    token, other = make_token(app, "busy"), make_token(app, "quiet")
    client = app.test_client()
    caplog.set_level(logging.INFO)
    statuses = [ask(client, token).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = ask(client, token)
    assert_error(limited, 429, "rate_limited")
    assert limited.headers["Retry-After"]
    assert ask(client, other).status_code == 200
    assert "exceeded" in caplog.text and token not in caplog.text
    with app.app_context():
        db.engine.dispose()


# --- the throttle tells the truth (issue 12, item 5) -------------------------------------------


@pytest.fixture
def throttled(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'throttle.db'}", RATELIMIT_ENABLED=True,
                    RUNNER_API_RATE_LIMIT="5 per minute", RUNNER_API_FAILURES_PER_ADDRESS="3 per minute")
    with app.app_context():
        accounts.create_org("acme", "Acme", "enterprise")
        db.session.commit()
    add_registry(app)
    yield app
    limiter.reset()
    with app.app_context():
        db.engine.dispose()


def throttle_headers(response) -> tuple[str, str, str | None]:
    headers = response.headers
    reset = int(headers["X-RateLimit-Reset"])
    assert 0 < reset - time.time() <= 61
    return headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"], headers.get("Retry-After")


def test_refused_tokens_from_an_address_never_lock_out_a_good_runner_there(throttled):
    """30 bad tokens from a shared NAT used to lock out every good runner behind it."""
    client = throttled.test_client()
    token = make_token(throttled)
    refused = [ask(client, f"rt_made-up-{n}").status_code for n in range(5)]
    assert refused == [401, 401, 401, 429, 429]
    assert [ask(client, token).status_code for _ in range(5)] == [200] * 5
    assert ask(client, token).status_code == 429  # its own limit, not the address's


def test_the_headers_describe_the_limit_that_applied(throttled):
    client = throttled.test_client()
    token = make_token(throttled)
    good = ask(client, token)
    assert good.status_code == 200 and throttle_headers(good) == ("5", "4", None)
    bad = ask(client, "rt_made-up")
    assert bad.status_code == 401 and throttle_headers(bad) == ("3", "2", None)
    # The refusal did not touch the token's budget, nor the token's calls the address's.
    assert throttle_headers(ask(client, token)) == ("5", "3", None)
    assert throttle_headers(ask(client, "rt_made-up")) == ("3", "1", None)
    unmatched = ask(client, token, image="ghcr.io/other/tool:1")
    assert unmatched.status_code == 404 and throttle_headers(unmatched) == ("5", "2", None)
    malformed = ask(client, token, data="[]", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and throttle_headers(malformed) == ("5", "1", None)

    ask(client, token)
    limited = ask(client, token)
    assert_error(limited, 429, "rate_limited")
    limit, remaining, retry_after = throttle_headers(limited)
    assert (limit, remaining) == ("5", "0") and 0 < int(retry_after) <= 60
    ask(client, "rt_made-up")
    refused = ask(client, "rt_made-up")
    assert_error(refused, 429, "rate_limited")
    limit, remaining, retry_after = throttle_headers(refused)
    assert (limit, remaining) == ("3", "0") and 0 < int(retry_after) <= 60


def test_without_throttling_there_are_no_throttle_headers(app, client, acme, token):
    add_registry(app)
    response = ask(client, token)
    assert response.status_code == 200
    assert not [name for name, _ in response.headers.items() if name.startswith("X-RateLimit")]
