"""Inputs found by the security reviews: each must get a clear answer, never a 500."""

import pytest

from tests.functional.test_runner_api import add_registry, ask, make_token
from tests.support.apps import build_app
from webapp.extensions import db, limiter
from webapp.models import PrivateTool
from webapp.services import accounts, sweep


@pytest.fixture
def acme(make):
    return make.org("acme", plan="enterprise")


def test_huge_tool_ids_and_nul_in_the_path_are_not_500(client, org_admin):
    assert client.get(f"/orgs/acme/settings/private-tools/{2**63}/row").status_code == 404
    assert client.get("/orgs/ac%00me/settings/private-tools/").status_code == 400


@pytest.mark.parametrize("organization", ["ac\x00me", "\ud800", "ACME", "a" * 300])
def test_the_runner_api_refuses_impossible_org_slugs(app, client, acme, organization):
    token = make_token(app)
    response = ask(client, token, organization=organization)
    assert response.status_code == 404 and response.get_json()["error"] == "no_matching_registry"


def test_the_runner_api_answers_deep_json_with_400(app, client, acme):
    token = make_token(app)
    response = client.post("/api/v1/pull-credentials", data="[" * 100_000,
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/json"})
    assert response.status_code == 400


def test_unknown_org_and_no_match_read_the_same(app, client, acme):
    add_registry(app)
    token = make_token(app)
    unknown = ask(client, token, organization="nope", image="ghcr.io/other/tool:1").get_json()
    no_match = ask(client, token, image="ghcr.io/other/tool:1").get_json()
    assert unknown == no_match


def test_made_up_tokens_are_capped_per_address(database_url):
    app = build_app(database_url, RATELIMIT_ENABLED=True, RUNNER_API_FAILURES_PER_ADDRESS="3 per minute")
    client = app.test_client()
    statuses = [ask(client, f"rt_made-up-{n}").status_code for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    limiter.reset()
    with app.app_context():
        db.engine.dispose()


def test_tools_that_cannot_be_checked_do_not_block_the_pull_sweep(app, acme):
    with app.app_context():
        org = accounts.find_org("acme")
        for n in range(5):
            db.session.add(PrivateTool(org_id=org.id, name=f"public {n}", name_key=f"public {n}",
                                       image="ubuntu"))
        db.session.commit()
        report = sweep.run_due()
        assert report.pull_checks == []  # nothing here has a registry to probe
        stamped = [t.pull_checked_at for t in db.session.query(PrivateTool)]
        assert all(stamped)  # looked at, so they leave the head of the queue
