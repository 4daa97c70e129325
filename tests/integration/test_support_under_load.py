"""Support pages under write load (issue 12, item 3), on SQLite and PostgreSQL.

Support views record every look in the audit log. Written inside the page's read transaction,
that row made the read a writer half-way, and on SQLite 630 of 691 support page loads answered
500 ("database is locked") while members added tools. A bounded load test over HTTP on
127.0.0.1: members add tools and support staff load the support pages at the same time, for a
few seconds; no answer may be a 5xx.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from tests.support.apps import CSRF_INPUT, PASSWORD, make_config
from tests.support.browser import start_live_server
from tests.support.factories import registry_row
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.services import accounts

SECONDS = 3.0
WRITERS = 4
READERS = 4


@pytest.fixture
def server(backend_url):
    live = start_live_server(make_config(backend_url))
    with live.app.app_context():
        org = accounts.create_org("acme", "Acme", "enterprise")
        for n in range(WRITERS):
            accounts.create_user(f"member{n}@acme.test", PASSWORD, org=org, role="member")
        for n in range(READERS):
            accounts.create_user(f"help{n}@platform.test", PASSWORD, support=True)
        db.session.commit()
        registry_id = registry_row(secret="s3cret", name="Main", status="connected").id
    yield live, registry_id
    live.stop()
    with live.app.app_context():
        db.session.remove()
        db.engine.dispose()


def token_in(page: str) -> str:
    match = CSRF_INPUT.search(page)
    assert match
    return match.group(1) or match.group(2)


def sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    token = token_in(session.get(f"{base}/login", timeout=10).text)
    answer = session.post(f"{base}/login", timeout=10, allow_redirects=False,
                          data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.text[:300]
    return session


def test_support_pages_answer_while_members_write(server):
    live, registry_id = server
    base = live.url
    tools = f"{base}/orgs/acme/settings/private-tools/"
    support_pages = [f"{base}/support/orgs/acme", f"{base}/support/registries/{registry_id}"]
    writers = [sign_in(base, f"member{n}@acme.test") for n in range(WRITERS)]
    readers = [sign_in(base, f"help{n}@platform.test") for n in range(READERS)]
    statuses: dict[str, Counter[int]] = {"write": Counter(), "read": Counter()}
    lock = threading.Lock()
    start = threading.Barrier(WRITERS + READERS)

    def write(n: int, session: requests.Session) -> None:
        token = token_in(session.get(tools, timeout=10).text)
        start.wait()
        count = 0
        while time.monotonic() < deadline:
            answer = session.post(tools, timeout=30, allow_redirects=False,
                                  data={"name": f"w{n}-{count}", "image": "ubuntu",
                                        "csrf_token": token})
            count += 1
            with lock:
                statuses["write"][answer.status_code] += 1

    def read(n: int, session: requests.Session) -> None:
        start.wait()
        count = 0
        while time.monotonic() < deadline:
            answer = session.get(support_pages[count % 2], timeout=30)
            count += 1
            with lock:
                statuses["read"][answer.status_code] += 1

    deadline = time.monotonic() + SECONDS + 2  # + the time to sign in and line up
    threads = [threading.Thread(target=write, args=(n, s)) for n, s in enumerate(writers)]
    threads += [threading.Thread(target=read, args=(n, s)) for n, s in enumerate(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)

    failures = {kind: {code: n for code, n in counts.items() if code >= 500}
                for kind, counts in statuses.items()}
    assert failures == {"write": {}, "read": {}}, statuses
    assert set(statuses["write"]) == {303} and statuses["write"][303] >= 10, statuses
    assert set(statuses["read"]) == {200} and statuses["read"][200] >= 10, statuses
    with live.app.app_context():
        looks = db.session.query(AuditEvent).filter(
            AuditEvent.action.in_(["support.viewed_org", "support.viewed_registry"])).count()
    # Every look recorded, none lost: once per support user, target and hour (a run that
    # crosses the hour may record a second one).
    assert READERS * len(support_pages) <= looks <= 2 * READERS * len(support_pages)
