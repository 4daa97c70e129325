"""Every route × every kind of visitor × every method → the status the rules say, and nothing
refused changes the database.

The routes come from the URL map (`tests.routes.all_routes`) and the expected answer from the
rules below, by URL prefix, endpoint and the views' own markers (`@admin_only`), so a route
added later is covered without editing this file. The visitors: an org admin, a member, the
admin of another org, support staff, the admin of a Team-plan org (on its own org's pages) and
an anonymous visitor. For every refused request, a checksum of every table is the same before
and after (the audit log and the "last used" columns excepted, as security.md WEB-04 says: a
support look and a token's use are recorded by design). Support staff never get an action menu.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid

import pytest
from sqlalchemy import inspect, text

from tests.routes import SAMPLE_VALUES, all_routes
from tests.support.apps import PASSWORD, Client, make_app, make_config
from tests.support.factories import Factory, registry_row
from webapp.extensions import db
from webapp.models import PrivateTool, RunnerToken

ROLES = ("admin", "member", "other_admin", "support", "team_admin", "anonymous")
EMAILS = {
    "admin": "admin@acme.test",
    "member": "member@acme.test",
    "other_admin": "admin@other.test",
    "support": "help@platform.test",
    "team_admin": "admin@team.test",
}
#: Each visitor's pages: the team admin's own (Team-plan) org, everyone else acme's.
HOME = {"team_admin": "team"}
ACTIVE_ID = {"acme": uuid.UUID(int=1), "team": uuid.UUID(int=2)}
DRAFT_ID = {"acme": uuid.UUID(int=3), "team": uuid.UUID(int=4)}
DRAFT_ENDPOINTS = {"registries.connect", "registries.connect_status", "registries.save_anyway",
                   "registries.discard", "registries.cancel_connect"}
#: Columns a request may change without changing anything (WEB-04's exceptions).
UNCHECKED = {"audit_events": None, "runner_tokens": {"last_used_at"}, "users": {"last_login_at"}}
#: Open to everyone: sign-in and out, the landing redirect, static files, and the API's own
#: description (its OpenAPI document and reference page hold no org's data).
OPEN = {"static", "auth.login", "auth.logout", "auth.home", "auth.no_org",
        "api.openapi_json", "api_docs.docs"}
REFUSED = {401, 403, 404, 405}

APP = make_app(make_config("sqlite://"))
ROUTES = all_routes()
VIEWS = APP.view_functions


def admin_only(endpoint: str) -> bool:
    return getattr(VIEWS.get(endpoint), "admin_only", False)


def expected(role: str, method: str, path: str, endpoint: str) -> int | None:
    """The status the rules give, or None for "served" (not refused, no 5xx)."""
    if endpoint in OPEN:
        return None
    if path.startswith("/api/"):
        return 401  # no runner token: a session grants nothing
    if role == "anonymous":
        return 302  # to sign in
    if path.startswith("/support/"):
        return None if role == "support" else 404
    if path.startswith("/orgs/"):
        if role in ("support", "other_admin"):
            return 404
        if role == "team_admin" and endpoint.startswith(("registries.", "runner_tokens.")):
            return 403  # the Enterprise gate
        if role == "member" and admin_only(endpoint):
            return 403
        return None
    raise AssertionError(f"no rule for {endpoint} ({path}): add one")


CASES = [pytest.param(role, method, endpoint, id=f"{role}-{method}-{endpoint}")
         for method, _, endpoint in ROUTES for role in ROLES]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One seeded database file; each case runs on a copy of it."""
    path = tmp_path_factory.mktemp("matrix") / "seed.db"
    app = make_app(make_config(f"sqlite:///{path}"))
    with app.app_context():
        db.create_all()
    make = Factory(app)
    make.org("acme")
    make.org("other")
    make.org("team", plan="team")
    for role, email in EMAILS.items():
        org = {"admin": "acme", "member": "acme", "other_admin": "other",
               "team_admin": "team"}.get(role)
        make.user(email, org=org, role="member" if role == "member" else "admin",
                  support=role == "support")
    with app.app_context():
        for slug in ("acme", "team"):
            # Loopback: the outbound guard refuses it, so no check sends any traffic.
            registry_row(slug, secret="s3cret", name="Main", host="127.0.0.1:5999",
                         registry_id=ACTIVE_ID[slug], status="connected")
            registry_row(slug, secret="s3cret", name="Draft", host="127.0.0.1:5998",
                         registry_id=DRAFT_ID[slug], state="draft")
            org_id = db.session.execute(text("select id from organizations where slug=:s"),
                                        {"s": slug}).scalar()
            db.session.add(PrivateTool(org_id=org_id, name="Tool", name_key="tool",
                                       image="127.0.0.1:5999/team/tool:1"))
            # acme's is runner token 1 (SAMPLE_VALUES' token_id).
            db.session.add(RunnerToken(org_id=org_id, name="edge", token_hash=slug * 8))
        db.session.commit()
        db.engine.dispose()
    return path


def checksum(app) -> dict[str, str]:
    sums = {}
    with app.app_context():
        for table in inspect(db.engine).get_table_names():
            skipped = UNCHECKED.get(table, set())
            if skipped is None:
                continue
            columns = [c["name"] for c in inspect(db.engine).get_columns(table)
                       if c["name"] not in skipped]
            rows = db.session.execute(text(
                f"select {', '.join(columns)} from {table} order by 1")).all()
            sums[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
        db.session.rollback()
    return sums


TOOL_IDS = {"acme": 1, "team": 2}
RULES = {(method, endpoint): rule.rule for rule in APP.url_map.iter_rules()
         for method, endpoint in ((m, rule.endpoint) for m in rule.methods)}


def path_for(role: str, endpoint: str, method: str) -> str:
    """The route's path on the visitor's own org, naming rows that exist there."""
    slug = HOME.get(role, "acme")
    registry_id = DRAFT_ID[slug] if endpoint in DRAFT_ENDPOINTS else ACTIVE_ID[slug]
    values = {"slug": slug, "registry_id": str(registry_id), "tool_id": str(TOOL_IDS[slug])}
    path = RULES[(method, endpoint)]
    for name, value in {**SAMPLE_VALUES, **values}.items():
        for converter in ("", "uuid:", "int:", "path:"):
            path = path.replace(f"<{converter}{name}>", value)
    assert "<" not in path, f"no sample value for {path}: add one to tests/routes.py"
    return path


@pytest.mark.parametrize("role, method, endpoint", CASES)
def test_every_route_answers_each_visitor_by_the_rules(seeded, tmp_path, role, method, endpoint):
    database = tmp_path / "case.db"
    shutil.copy(seeded, database)
    app = make_app(make_config(f"sqlite:///{database}", OUTBOUND_ALLOWED_NETWORKS=""))
    app.test_client_class = Client
    client = app.test_client()
    if role != "anonymous":
        client.post_form("/login", {"email": EMAILS[role], "password": PASSWORD})
    token = client.csrf_token("/login")
    path = path_for(role, endpoint, method)
    want = expected(role, method, path, endpoint)
    before = checksum(app)
    response = client.open(path, method=method, data={"csrf_token": token},
                           headers={"X-CSRFToken": token})
    body = response.get_data(as_text=True)
    response.close()
    try:
        assert response.status_code < 500, body[:500]
        if want is None:
            assert response.status_code not in REFUSED, (path, response.status_code)
        else:
            assert response.status_code == want, (path, response.status_code)
            if want == 302:
                assert "/login" in response.headers["Location"]
            assert checksum(app) == before, f"{method} {path} refused yet changed the database"
        if role == "support" and response.mimetype == "text/html":
            assert "data-menu" not in body, "support got an action menu"
    finally:
        with app.app_context():
            db.engine.dispose()
