"""Check pull off the request (issue 12, item 1): the queue in the database, the per-org slots,
the live row with and without JavaScript, queued tools starting when a slot frees, the sweep
picking up what a crash left, and the throttle on adding tools.

A recording executor stands in for the thread pool where a test needs checks to stay "running";
the checks themselves are of tools no registry serves, so they make no request at all. Parallel
requests against a trickling registry, served by gunicorn, are in
tests/integration/test_pull_checks_served.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.functional.test_tools import PAGE, add_tool, row_of, tool_id
from tests.support.apps import Client, build_app, make_app, make_config, signed_in
from webapp.extensions import db, limiter
from webapp.models import AuditEvent, PrivateTool, utcnow
from webapp.services import accounts, pull_checks, sweep

NOWHERE = "registry.example.com:5000/team/tool{}"  # no registry serves it: no request is made


class HoldingExecutor:
    """Takes pull checks and runs them only when told: they stay running meanwhile."""

    def __init__(self) -> None:
        self.pulls: list[tuple[int, int, object]] = []

    def submit(self, *args, **kwargs):
        raise AssertionError("no registry check expected here")

    def submit_pull(self, org_id, tool_id, lease):
        self.pulls.append((org_id, tool_id, lease))

    def run_one(self, app) -> int:
        org_id, tool_id, lease = self.pulls.pop(0)
        with app.app_context():
            return pull_checks.run(org_id, tool_id, lease)


@pytest.fixture
def holding(app, org_admin) -> HoldingExecutor:
    """Acme's admin is signed in; pull checks wait until `run_one`."""
    executor = HoldingExecutor()
    app.extensions["checks_executor"] = executor
    return executor


def tools(app, client, count: int) -> list[int]:
    for n in range(count):
        add_tool(client, f"Tool {n}", NOWHERE.format(n))
    return [tool_id(app, f"Tool {n}") for n in range(count)]


def check(client, tid: int, **kwargs):
    return client.post_form(f"{PAGE}{tid}/check", token_from=PAGE, **kwargs)


def leased(app) -> set[int]:
    with app.app_context():
        now = utcnow()
        return {t.id for t in db.session.scalars(select(PrivateTool))
                if t.pull_lease_until is not None and t.pull_lease_until > now}


def test_check_pull_answers_with_a_live_row_and_runs_on_the_executor(app, client, holding, hx):
    [tid] = tools(app, client, 1)
    response = check(client, tid, headers=hx)
    row = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in row
    assert "Checking pull…" in row
    assert f'hx-get="{PAGE}{tid}/row"' in row and 'hx-trigger="every 2s"' in row
    assert holding.pulls and holding.pulls[0][1] == tid  # handed over, not run in the request
    with app.app_context():
        assert db.session.get(PrivateTool, tid).pull_status is None

    assert holding.run_one(app) == 1
    done = client.get(f"{PAGE}{tid}/row", headers=hx).get_data(as_text=True)
    assert "No registry — pulls will fail" in done
    assert "hx-trigger" not in done.split(">", 1)[0]  # the poll stops: terminal markup
    [event] = _pull_events(app)
    assert (event.actor_kind, event.actor_label) == ("user", "admin@acme.test")


def test_without_javascript_the_page_says_so_and_links_to_itself(app, client, holding):
    [tid] = tools(app, client, 1)
    response = check(client, tid)
    assert response.status_code == 303 and response.headers["Location"] == f"{PAGE}#tool-{tid}"
    page = client.get(PAGE).get_data(as_text=True)
    row = row_of(page, tid)
    assert "Checking pull…" in row and f'href="{PAGE}?refresh={tid}#tool-{tid}">Refresh</a>' in row
    assert re.search(rf'<noscript><meta http-equiv="refresh" content="3; url={PAGE}'
                     rf'\?refresh=\d+#tool-{tid}"></noscript>', page)
    holding.run_one(app)
    assert "http-equiv" not in client.get(PAGE).get_data(as_text=True)  # done: no more reloads


def test_at_most_the_org_slots_run_and_the_rest_queue(app, client, holding, hx):
    ids = tools(app, client, 6)
    rows = [check(client, tid, headers=hx).get_data(as_text=True) for tid in ids]
    assert app.config["PULL_CHECKS_PER_ORG"] == 4
    assert ["Checking pull…" in row for row in rows] == [True] * 4 + [False] * 2
    assert all("Queued" in row and 'hx-trigger="every 2s"' in row for row in rows[4:])
    assert "4 pull checks at a time" in rows[4]
    assert len(holding.pulls) == 4 and leased(app) == set(ids[:4])

    # Asking again while queued or running starts nothing new.
    check(client, ids[0], headers=hx)
    check(client, ids[5], headers=hx)
    assert len(holding.pulls) == 4

    # The finishing job takes the queued tools as slots free: no sweep needed.
    assert holding.run_one(app) == 3  # its own, then both queued ones, one after the other
    assert leased(app) == set(ids[1:4])
    with app.app_context():
        statuses = {t.id: t.pull_status for t in db.session.scalars(select(PrivateTool))}
    assert [statuses[tid] for tid in ids] == ["no_registry", None, None, None,
                                              "no_registry", "no_registry"]


def test_the_slots_are_counted_in_the_database_across_processes(app, client, holding,
                                                                database_url, hx):
    """A second app on the same database (another worker process) sees the first one's leases."""
    ids = tools(app, client, 5)
    other = make_app(make_config(database_url))
    other.test_client_class = Client
    other.extensions["checks_executor"] = elsewhere = HoldingExecutor()
    other_client = other.test_client()
    other_client.post_form("/login", {"email": "admin@acme.test",
                                      "password": "correct horse battery"})
    for n, tid in enumerate(ids):
        check(client if n % 2 else other_client, tid, headers=hx)
    assert len(holding.pulls) + len(elsewhere.pulls) == 4
    assert len(leased(app)) == 4
    with other.app_context():
        db.engine.dispose()


def test_another_orgs_checks_do_not_use_this_orgs_slots(app, client, holding, make, hx):
    for tid in tools(app, client, 4):
        check(client, tid)
    make.org("beta")
    beta = signed_in(app, make.user("admin@beta.test", org="beta"))
    page = "/orgs/beta/settings/private-tools/"
    beta.post_form(page, {"name": "Theirs", "image": NOWHERE.format("x")}, token_from=page)
    theirs = tool_id(app, "Theirs")
    row = beta.post_form(f"{page}{theirs}/check", token_from=page, headers=hx)
    assert "Checking pull…" in row.get_data(as_text=True) and len(holding.pulls) == 5


def test_a_crashed_pull_check_is_run_again_by_the_sweep_as_who_asked(app, client, holding):
    [tid] = tools(app, client, 1)
    check(client, tid)
    holding.pulls.clear()  # the worker died with it
    del app.extensions["checks_executor"]  # the inline executor from now on
    with app.app_context():
        assert sweep.run_due(utcnow()).pull_checks == []  # its lease still holds
        report = sweep.run_due(utcnow() + pull_checks.lease_length() + timedelta(seconds=1))
        assert [future.result() for future in report.pull_checks] == [1]
        tool = db.session.get(PrivateTool, tid)
        assert (tool.pull_status, tool.pull_requested_at, tool.pull_lease_until) == (
            "no_registry", None, None)
    [event] = _pull_events(app)
    assert (event.actor_kind, event.actor_label) == ("user", "admin@acme.test")


def test_a_removed_tool_leaves_nothing_queued(app, client, holding):
    [tid] = tools(app, client, 1)
    check(client, tid)
    client.post_form(f"{PAGE}{tid}/remove", token_from=PAGE)
    assert holding.run_one(app) == 0


def test_adding_tools_is_throttled(tmp_path, hx):
    app = build_app(f"sqlite:///{tmp_path / 'adds.db'}", RATELIMIT_ENABLED=True,
                    TOOL_ADDS_PER_USER="3 per minute")
    with app.app_context():
        org = accounts.create_org("acme", "Acme", "enterprise")
        accounts.create_user("admin@acme.test", "correct horse battery", org=org, role="admin")
        db.session.commit()
    client = app.test_client()
    client.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})
    statuses = [add_tool(client, f"T{n}", "ubuntu").status_code for n in range(4)]
    assert statuses == [303, 303, 303, 429]
    refused = add_tool(client, "T9", "ubuntu", headers=hx)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(PrivateTool).count() == 3
        db.engine.dispose()
    limiter.reset()


def _pull_events(app) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "tool.pull_checked")))


def test_the_running_badge_has_its_spinner_and_label(app, client, holding, hx):
    [tid] = tools(app, client, 1)
    row = check(client, tid, headers=hx).get_data(as_text=True)
    assert re.search(r'<span class="badge badge--pending"><span class="spinner"[^>]*></span>'
                     r"Checking pull…</span>", row)


def test_clicks_at_the_same_instant_never_take_more_than_the_slots(backend_app):
    """On SQLite and PostgreSQL: the org row's lock makes the count and the claim one step."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    backend_app.extensions["checks_executor"] = holding = HoldingExecutor()
    with backend_app.app_context():
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()
        for n in range(8):
            db.session.add(PrivateTool(org_id=org.id, name=f"t{n}", name_key=f"t{n}",
                                       image=NOWHERE.format(n)))
        db.session.commit()
        ids = [t.id for t in db.session.scalars(select(PrivateTool))]
    barrier = threading.Barrier(len(ids))

    def click(tool_id: int) -> None:
        with backend_app.app_context():
            tool = db.session.get(PrivateTool, tool_id)
            barrier.wait()
            pull_checks.request(tool, None)

    with ThreadPoolExecutor(len(ids)) as pool:
        list(pool.map(click, ids))
    assert len(holding.pulls) == 4
    assert len(leased(backend_app)) == 4
