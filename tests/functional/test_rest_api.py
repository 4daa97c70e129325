"""The REST API (/api/v1/registries, tools, audit-events) through the test client, as a script
and an attacker would meet it: permissions, org isolation, ETags, idempotent creates, the one
error shape, throttling headers, closed CORS, no cookies, audit rows, and a canary secret that
never comes back."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from sqlalchemy import select

from tests.support.apps import build_app
from webapp.extensions import db, limiter
from webapp.models import AuditEvent, PrivateTool, Registry
from webapp.services import accounts, runner_tokens

CANARY = "CANARY-" + uuid.uuid4().hex
API = "/api/v1/registries"


def token_for(app, slug: str | None, *permissions: str, name: str | None = None) -> str:
    with app.app_context():
        org = accounts.find_org(slug) if slug else None
        token, _ = runner_tokens.create(name or f"t-{uuid.uuid4().hex[:8]}", org=org,
                                        permissions=permissions or ("pull",))
        db.session.commit()
        return token


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


def settings(name: str = "Mirror", port: int = 5999, **more: object) -> dict[str, object]:
    # Loopback: the outbound policy refuses it (status "blocked"), so no check leaves the host.
    return {"kind": "docker_registry", "name": name, "registry_url": f"https://127.0.0.1:{port}",
            "username": "robot", "password": CANARY, **more}


@pytest.fixture
def orgs(make):
    make.org("acme", plan="enterprise")
    make.org("beta", plan="enterprise")


@pytest.fixture
def manage(app, orgs) -> str:
    return token_for(app, "acme", "read", "manage", name="acme-manage")


@pytest.fixture
def read(app, orgs) -> str:
    return token_for(app, "acme", "read", name="acme-read")


def create(client, token: str, body: dict | None = None, **headers: str):
    return client.post(API, json=body or settings(), headers=bearer(token, **headers))


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == code and isinstance(body["message"], str)
    assert set(body) <= {"error", "message", "fields"}
    return body


def registry_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Registry)).all())


def test_create_saves_a_draft_runs_its_check_and_answers_202_with_location(client, manage):
    response = create(client, manage)
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == f"{API}/{body['id']}"
    assert response.headers["ETag"] == f'"v{body["version"]}"'
    # The check ran (inline in tests) and failed: the outbound policy refuses loopback.
    assert body["state"] == "draft" and body["status"] == "blocked"
    polled = client.get(response.headers["Location"], headers=bearer(manage))
    assert polled.status_code == 200 and polled.get_json()["state"] == "draft"


def test_save_anyway_makes_a_failing_registry_active_and_is_audited(app, client, manage):
    response = create(client, manage, settings(save_anyway=True))
    assert response.status_code == 202
    assert response.get_json()["state"] == "active"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "registry.added"))
        assert event.details["check"] == "saved anyway"
        assert event.actor_kind == "token" and event.actor_label == "API token acme-manage"


def test_field_errors_are_the_forms_words(client, manage):
    response = create(client, manage, {"kind": "docker_registry", "name": "", "username": 5})
    body = assert_error(response, 422, "invalid_fields")
    assert body["fields"]["name"] == ["Give the registry a name."]
    assert body["fields"]["username"] == ["Expected a string, not a number."]


def test_a_read_token_cannot_write(app, client, manage, read):
    made = create(client, manage, settings(save_anyway=True)).get_json()
    etag = f'"v{made["version"]}"'
    before = registry_count(app)
    assert_error(create(client, read, settings(name="Other", port=5998)), 403,
                 "insufficient_permission")
    url = f"{API}/{made['id']}"
    assert_error(client.patch(url, json=settings(name="Renamed"),
                              headers=bearer(read, **{"If-Match": etag})),
                 403, "insufficient_permission")
    assert_error(client.delete(url, headers=bearer(read, **{"If-Match": etag})), 403,
                 "insufficient_permission")
    assert_error(client.post(f"{url}/check", headers=bearer(read)), 403,
                 "insufficient_permission")
    assert_error(client.post("/api/v1/tools", json={"name": "T", "image": "acme/t:1"},
                             headers=bearer(read)), 403, "insufficient_permission")
    assert registry_count(app) == before
    assert client.get(url, headers=bearer(read)).get_json()["name"] == "Mirror"


def test_a_pull_token_cannot_read_and_a_read_token_cannot_pull(app, client, orgs):
    pull = token_for(app, "acme", "pull")
    assert_error(client.get(API, headers=bearer(pull)), 403, "insufficient_permission")
    reader = token_for(app, "acme", "read")
    answer = client.post("/api/v1/pull-credentials", headers=bearer(reader),
                         json={"organization": "acme", "image": "ghcr.io/acme/tool:1"})
    assert_error(answer, 403, "insufficient_permission")


def test_another_orgs_token_never_sees_this_orgs_registries(app, client, manage):
    made = create(client, manage, settings(save_anyway=True)).get_json()
    theirs = token_for(app, "beta", "read", "manage")
    url = f"{API}/{made['id']}"
    missing = f"{API}/{uuid.uuid4()}"
    for path in (url, missing):
        assert_error(client.get(path, headers=bearer(theirs)), 404, "not_found")
    assert client.get(url, headers=bearer(theirs)).get_json() == \
        client.get(missing, headers=bearer(theirs)).get_json()
    assert_error(client.patch(url, json=settings(), headers=bearer(theirs, **{"If-Match": "*"})),
                 404, "not_found")
    assert_error(client.delete(url, headers=bearer(theirs, **{"If-Match": "*"})), 404,
                 "not_found")
    assert_error(client.get(f"{url}/checks", headers=bearer(theirs)), 404, "not_found")
    assert_error(client.post(f"{url}/check", headers=bearer(theirs)), 404, "not_found")
    assert client.get(API, headers=bearer(theirs)).get_json()["items"] == []
    assert registry_count(app) == 1


def test_if_match_is_required_and_a_stale_one_is_refused(client, manage):
    made = create(client, manage, settings(save_anyway=True))
    url, etag = made.headers["Location"], made.headers["ETag"]
    assert_error(client.patch(url, json=settings(name="Renamed"), headers=bearer(manage)),
                 428, "precondition_required")
    renamed = client.patch(url, json=settings(name="Renamed"),
                           headers=bearer(manage, **{"If-Match": etag}))
    assert renamed.status_code in (200, 202), renamed.get_data(as_text=True)
    assert renamed.headers["ETag"] != etag
    stale = client.patch(url, json=settings(name="Again"),
                         headers=bearer(manage, **{"If-Match": etag}))
    assert_error(stale, 412, "precondition_failed")
    assert_error(client.delete(url, headers=bearer(manage, **{"If-Match": etag})), 412,
                 "precondition_failed")
    assert client.get(url, headers=bearer(manage)).get_json()["name"] == "Renamed"


def test_a_retried_idempotency_key_creates_one_registry(app, client, manage):
    first = create(client, manage, **{"Idempotency-Key": "create-mirror-1"})
    again = create(client, manage, **{"Idempotency-Key": "create-mirror-1"})
    assert first.status_code == again.status_code == 202
    assert first.get_json()["id"] == again.get_json()["id"]
    assert registry_count(app) == 1
    other = create(client, manage, settings(name="Second", port=5998),
                   **{"Idempotency-Key": "create-mirror-2"})
    assert other.get_json()["id"] != first.get_json()["id"]
    assert registry_count(app) == 2


def test_removing_a_registry_tools_depend_on_needs_its_name(app, client, manage):
    made = create(client, manage, settings(save_anyway=True))
    url = made.headers["Location"]
    tool = client.post("/api/v1/tools", json={"name": "Scanner", "image": "127.0.0.1:5999/t:1"},
                       headers=bearer(manage))
    assert tool.status_code == 201, tool.get_data(as_text=True)
    assert tool.get_json()["registry"]["id"] == made.get_json()["id"]
    etag = client.get(url, headers=bearer(manage)).headers["ETag"]
    refused = client.delete(url, headers=bearer(manage, **{"If-Match": etag}))
    body = assert_error(refused, 409, "has_dependents")
    assert "Scanner" in body["message"] and "confirm_name" in body["fields"]
    removed = client.delete(f"{url}?confirm_name=Mirror",
                            headers=bearer(manage, **{"If-Match": etag}))
    assert removed.status_code == 204
    assert_error(client.get(url, headers=bearer(manage)), 404, "not_found")


def test_deleting_a_draft_discards_it(app, client, manage):
    made = create(client, manage)
    url = made.headers["Location"]
    gone = client.delete(url, headers=bearer(manage, **{"If-Match": made.headers["ETag"]}))
    assert gone.status_code == 204
    assert registry_count(app) == 0


def test_list_filters_and_follows_the_link_header(client, manage):
    for number in range(5):
        create(client, manage, settings(name=f"Mirror {number}", port=6000 + number,
                                        save_anyway=True))
    seen: list[str] = []
    url = f"{API}?limit=2&kind=docker_registry"
    while url:
        page = client.get(url, headers=bearer(manage))
        assert page.status_code == 200
        seen += [item["name"] for item in page.get_json()["items"]]
        link = page.headers.get("Link")
        url = link[1:link.index(">")] if link else None
        assert (link is None) == (page.get_json()["next_cursor"] is None)
    assert seen == [f"Mirror {n}" for n in range(5)]
    found = client.get(f"{API}?q=ROR 3", headers=bearer(manage)).get_json()["items"]
    assert [item["name"] for item in found] == ["Mirror 3"]
    assert client.get(f"{API}?status=connected", headers=bearer(manage)).get_json()["items"] == []
    assert_error(client.get(f"{API}?kind=nope", headers=bearer(manage)), 400,
                 "invalid_parameter")
    assert_error(client.get(f"{API}?cursor=garbage", headers=bearer(manage)), 400,
                 "invalid_cursor")


def test_the_check_history_and_check_now(client, manage):
    made = create(client, manage, settings(save_anyway=True))
    url = made.headers["Location"]
    checked = client.post(f"{url}/check", headers=bearer(manage))
    assert checked.status_code == 202
    history = client.get(f"{url}/checks", headers=bearer(manage)).get_json()["items"]
    assert len(history) == 2 and {check["outcome"] for check in history} == {"blocked"}


def test_writes_are_audited_as_the_token_and_reads_counted_per_hour(app, client, manage):
    create(client, manage, settings(save_anyway=True))
    for _ in range(3):
        assert client.get(API, headers=bearer(manage)).status_code == 200
    with app.app_context():
        added = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "registry.draft_saved"))
        assert (added.actor_kind, added.actor_label) == ("token", "API token acme-manage")
        reads = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api.read")).all()
        from webapp.services import audit

        audit.flush_counts()
        db.session.expire_all()
        reads = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api.read")).all()
        assert len(reads) == 1 and reads[0].count == 3
    events = client.get("/api/v1/audit-events?actor_kind=token", headers=bearer(manage))
    assert {"registry.draft_saved", "registry.added"} <= {
        event["action"] for event in events.get_json()["items"]}


def test_a_session_cookie_is_no_credential(client, org_admin):
    response = client.get(API)
    assert_error(response, 401, "invalid_token")
    assert client.post(API, json=settings()).status_code == 401


def test_cors_is_closed(client, manage):
    origin = {"Origin": "https://elsewhere.example"}
    for response in (
        client.get(API, headers=bearer(manage, **origin)),
        client.options(API, headers={**origin, "Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "authorization"}),
    ):
        assert not any(name.lower().startswith("access-control-") for name, _ in response.headers.items())


def test_every_answer_says_its_rate_limit_and_a_429_says_when_to_retry(tmp_path, orgs):
    app = build_app(f"sqlite:///{tmp_path / 'limits.db'}", RATELIMIT_ENABLED=True,
                    API_RATE_LIMIT="2 per hour", RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        accounts.create_org("acme", "Acme", "enterprise")
        db.session.commit()
    token = token_for(app, "acme", "read")
    client = app.test_client()
    first, second, third = (client.get(API, headers=bearer(token)) for _ in range(3))
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert [first.headers["X-RateLimit-Remaining"], second.headers["X-RateLimit-Remaining"]] == \
        ["1", "0"]
    assert_error(third, 429, "rate_limited")
    assert 1 <= int(third.headers["Retry-After"]) <= 3600
    assert int(third.headers["X-RateLimit-Reset"]) > 0
    with app.app_context():
        limiter.reset()


def test_tools_add_rename_remove_with_etags(client, manage):
    added = client.post("/api/v1/tools", json={"name": "Scanner", "image": "acme/scanner:1"},
                        headers=bearer(manage))
    assert added.status_code == 201
    url = added.headers["Location"]
    assert added.get_json()["pulls_through"] == "public"
    renamed = client.patch(url, json={"name": "Scanner 2"},
                           headers=bearer(manage, **{"If-Match": added.headers["ETag"]}))
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Scanner 2"
    assert_error(client.delete(url, headers=bearer(manage, **{"If-Match": added.headers["ETag"]})),
                 412, "precondition_failed")
    assert client.delete(url, headers=bearer(manage, **{"If-Match": renamed.headers["ETag"]})
                         ).status_code == 204
    bad = client.post("/api/v1/tools", json={"name": "X", "image": "NOT AN IMAGE"},
                      headers=bearer(manage))
    assert assert_error(bad, 422, "invalid_fields")["fields"]["image"][0].startswith(
        "That is not an image reference")


def test_the_canary_secret_is_in_no_answer_and_not_in_the_document(app, client, manage):
    made = create(client, manage, settings(save_anyway=True))
    url = made.headers["Location"]
    answers = [made, client.get(url, headers=bearer(manage)),
               client.get(API, headers=bearer(manage)),
               client.get(f"{url}/checks", headers=bearer(manage)),
               client.get("/api/v1/audit-events", headers=bearer(manage)),
               client.patch(url, json=settings(password=CANARY + "x"),
                            headers=bearer(manage, **{"If-Match": made.headers["ETag"]})),
               create(client, manage, settings(name="", password=CANARY)),
               client.get("/api/v1/openapi.json"), client.get("/api/docs")]
    for answer in answers:
        assert CANARY not in answer.get_data(as_text=True)
        assert CANARY not in json.dumps(dict(answer.headers))
    document = client.get("/api/v1/openapi.json").get_json()
    password = document["components"]["schemas"]["DockerRegistrySettings"]["properties"][
        "password"]
    assert password["writeOnly"] is True and "example" not in password
    with app.app_context():
        assert all(CANARY not in json.dumps(event.details)
                   for event in db.session.scalars(select(AuditEvent)))
        assert db.session.scalar(select(PrivateTool)) is None


def test_a_rename_alone_runs_no_check_and_answers_200(client, manage):
    made = create(client, manage, settings(save_anyway=True))
    body = {key: value for key, value in settings(name="Renamed").items() if key != "password"}
    renamed = client.patch(made.headers["Location"], json=body,
                           headers=bearer(manage, **{"If-Match": made.headers["ETag"]}))
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    assert renamed.get_json()["name"] == "Renamed" and renamed.get_json()["has_secret"]
    history = client.get(made.headers["Location"] + "/checks", headers=bearer(manage))
    assert len(history.get_json()["items"]) == 1  # the connect check only


def test_no_view_under_api_sees_the_session(app, client, org_admin):
    manage = token_for(app, "acme", "manage", name="acme-manage")
    # The reference page is a page under /api/: it renders signed out, whoever is signed in.
    page = client.get("/api/docs").get_data(as_text=True)
    assert "admin@acme.test" not in page
    # A token's write with a session cookie beside it is the token's, never the person's.
    assert create(client, manage, settings(save_anyway=True)).status_code == 202
    with client.application.app_context():
        actors = {event.actor_label for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(
                ("registry.draft_saved", "registry.added"))))}
    assert actors == {"API token acme-manage"}


def test_the_reference_page_renders_the_document_without_script(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "<script>" not in text and " on" not in text.split("<body", 1)[1].split(">", 1)[0]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for operation in ("POST /api/v1/registries", "DELETE /api/v1/registries/{registry_id}",
                      "GET /api/v1/audit-events"):
        assert operation in text
    assert "Give the registry a name." not in text  # form messages are not schema text
    assert "(write-only)" in text  # the password


def test_checks_a_token_asks_for_count_against_the_check_budget(tmp_path):
    # Fixed windows of an hour: a run never straddles two (a minute's could, at :59).
    app = build_app(f"sqlite:///{tmp_path / 'checks.db'}", RATELIMIT_ENABLED=True,
                    RATELIMIT_STORAGE_URI="memory://", CHECK_REQUESTS_PER_USER="2 per hour")
    with app.app_context():
        accounts.create_org("acme", "Acme", "enterprise")
        db.session.commit()
    token = token_for(app, "acme", "manage")
    client = app.test_client()
    made = create(client, token, settings(save_anyway=True))  # the connect check: 1 of 2
    assert made.status_code == 202
    assert made.headers["X-RateLimit-Limit"] == "600"  # the answer describes the token's limit
    url = made.headers["Location"]
    assert client.post(f"{url}/check", headers=bearer(token)).status_code == 202  # 2 of 2
    refused = client.post(f"{url}/check", headers=bearer(token))
    assert_error(refused, 429, "rate_limited")
    assert refused.headers["X-RateLimit-Limit"] == "2" and "Retry-After" in refused.headers
    assert client.get(url, headers=bearer(token)).status_code == 200  # reads go on
    with app.app_context():
        limiter.reset()


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("url", [
    API + "?limit=%C2%B2",  # "²".isdigit() is true, int("²") is not a number
    API + "?limit=%E2%91%A0",
    "/api/v1/tools/%C2%B2",
    "/api/v1/audit-events?limit=%C2%B2",
    "/api/v1/audit-events?since=9999-12-31T23:59:59-23:00",  # past the calendar in UTC
    "/api/v1/audit-events?since=0001-01-01T00:00:00%2B01:00",
    "/api/v1/audit-events?cursor=" + _cursor([99999999999999999999]),  # past 64 bits
    "/api/v1/audit-events?cursor=" + _cursor([-1]),
    API + "?cursor=" + _cursor(["\ud800", str(uuid.UUID(int=0))]),  # a lone surrogate
    API + "?cursor=" + _cursor(["a\x00b", str(uuid.UUID(int=0))]),
    "/api/v1/tools?cursor=" + _cursor(["\ud800", 1]),
])
def test_odd_numbers_times_and_cursors_are_refused_not_a_500(client, manage, url):
    response = client.get(url, headers=bearer(manage))
    assert response.status_code in (400, 404), (url, response.get_data(as_text=True))
    assert set(response.get_json()) >= {"error", "message"}
