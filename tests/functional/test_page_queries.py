"""No page's query count grows with its rows (design.md, Performance): the registry page at 10
and at 100 registries, with every kind of row a page can show (each type, a failing registry in
the banner, a check running), sends the same statements; bench/pages.py prints the counts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.support.factories import registry_row
from tests.support.queries import queries_of_get
from webapp.extensions import db
from webapp.models import Membership, Registry, utcnow
from webapp.services import accounts

PAGE = "/orgs/{slug}/settings/infrastructure/container-registry/"
KINDS = (
    ("docker_registry", None, "apps"),
    ("docker_hub", "docker.io", None),
    ("github", "ghcr.io", None),
)


def add_rows(app, slug: str, count: int) -> None:
    now = utcnow()
    with app.app_context():
        for index in range(count):
            kind, host, namespace = KINDS[index % len(KINDS)]
            registry = registry_row(
                slug, secret=f"secret-{index}", kind=kind, name=f"Registry {index:03d}",
                host=host or f"registry-{index}.example.com:5000",
                namespace=namespace or f"team-{index}", status="connected", commit=False,
            )
            registry.last_checked_at = registry.last_success_at = now - timedelta(minutes=5)
            if index % 10 == 1:  # worked before, fails now: listed in the banner too
                registry.status, registry.status_reason = "auth_failed", "401 from the registry"
            if index % 10 == 2:  # a check under way: the row polls itself
                registry.check_requested_at = now
        db.session.commit()


def test_the_registry_page_sends_as_many_queries_at_100_rows_as_at_10(app, make, auth, client):
    make.org("small")
    make.org("large")
    email = make.user("admin@small.test", org="small")
    with app.app_context():
        db.session.add(Membership(user=accounts.find_user(email), org=accounts.find_org("large"),
                                  role="admin"))
        db.session.commit()
    add_rows(app, "small", 10)
    add_rows(app, "large", 100)
    auth.login(email)
    counts = {}
    # 100 registries show in pages of 50: the first, the second, and a search.
    for label, path, rows in (("10", PAGE.format(slug="small"), 10),
                              ("100", PAGE.format(slug="large"), 50),
                              ("100, page 2", PAGE.format(slug="large") + "?page=2", 50),
                              ("100, search", PAGE.format(slug="large") + "?q=registry+0", 50)):
        page = client.get(path).get_data(as_text=True)
        assert page.count('<tr id="registry-') == rows and "badge" in page, label
        counts[label] = len(queries_of_get(client, path))
    assert len(set(counts.values())) == 1, counts


def test_the_detail_page_sends_as_many_queries_at_100_registries_as_at_10(
    app, make, auth, client
):
    make.org("small")
    make.org("large")
    email = make.user("admin@small.test", org="small")
    with app.app_context():
        db.session.add(Membership(user=accounts.find_user(email), org=accounts.find_org("large"),
                                  role="admin"))
        db.session.commit()
    add_rows(app, "small", 10)
    add_rows(app, "large", 100)
    auth.login(email)
    counts = {}
    for slug in ("small", "large"):
        with app.app_context():
            org = accounts.find_org(slug)
            registry_id = db.session.scalar(
                select(Registry.id).where(Registry.org_id == org.id).order_by(Registry.name)
            )
        path = PAGE.format(slug=slug) + str(registry_id)
        assert "Check history" in client.get(path).get_data(as_text=True)
        counts[slug] = len(queries_of_get(client, path))
    assert counts["small"] == counts["large"], counts


def test_the_registry_page_reads_the_banner_with_its_rows(app, make, auth, client):
    """The banner on the registry page, read in the same statement as its rows, says what every
    other settings page's banner says from its own query, on any page of any search; members
    see none."""
    make.org("small")
    email = make.user("admin@small.test", org="small")
    make.user("member@small.test", org="small", role="member")
    add_rows(app, "small", 60)  # 6 that worked before and fail now; 2 pages
    with app.app_context():
        dismissed = db.session.scalar(select(Registry).where(Registry.name == "Registry 011"))
        dismissed.alert_dismissed_at = utcnow()  # hidden from the banner until it fails again
        never = db.session.scalar(select(Registry).where(Registry.name == "Registry 021"))
        never.last_success_at = None  # never worked: not an alert
        db.session.commit()
    auth.login(email)

    def banner(path: str) -> str:
        page = client.get(path).get_data(as_text=True)
        start = page.find('<div class="banner banner--bad"')
        return page[start:page.find("</div>", start)] if start > -1 else ""

    on_the_list = banner(PAGE.format(slug="small"))
    assert "4 registries are failing" in on_the_list
    assert "Registry 001" in on_the_list and "Registry 051" in on_the_list
    assert "Registry 011" not in on_the_list and "Registry 021" not in on_the_list
    assert on_the_list == banner("/orgs/small/settings/private-tools/")
    assert on_the_list == banner(PAGE.format(slug="small") + "?page=2")
    assert on_the_list == banner(PAGE.format(slug="small") + "?q=registry+05")
    assert len(queries_of_get(client, PAGE.format(slug="small"))) == 2  # the user, the rows
    auth.logout()
    auth.login("member@small.test")
    assert banner(PAGE.format(slug="small")) == ""


def test_the_runner_tokens_page_sends_as_many_queries_at_30_tokens_as_at_3(app, make, auth,
                                                                          client):
    from webapp.services import runner_tokens

    make.org("acme")
    email = make.user("admin@acme.test", org="acme")
    auth.login(email)
    page = "/orgs/acme/settings/infrastructure/runner-tokens/"
    counts = {}
    creators = [make.user(f"admin{n}@acme.test", org="acme") for n in range(30)]
    with app.app_context():
        org = accounts.find_org("acme")
        made = 0
        for total in (3, 30):
            while made < total:
                # Each from another admin, or from the CLI (no creator).
                creator = accounts.find_user(creators[made]) if made % 3 else None
                runner_tokens.create(f"edge-{made}", org=org, created_by=creator)
                made += 1
            db.session.commit()
            counts[total] = len(queries_of_get(client, page))
    assert counts[30] == counts[3], counts


def test_the_registry_page_reads_only_its_orgs_registries_in_order(app, make, auth, client):
    """The list and its banner come from an index on the org (no other org's failing registries
    read, as through the support console's index on status), the page in index order (no sort
    of all the org's registries): the page costs the same in a database of 10,000 orgs."""
    from sqlalchemy import event

    make.org("small")
    make.org("other")
    email = make.user("admin@small.test", org="small")
    add_rows(app, "small", 12)
    add_rows(app, "other", 30)
    auth.login(email)
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:
        if "registries" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    for path in (PAGE.format(slug="small"), PAGE.format(slug="small") + "?q=registry+01",
                 "/orgs/small/settings/private-tools/"):
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", grab)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", grab)
    assert len(seen) == 3
    with app.app_context(), db.engine.connect() as connection:
        plans = [
            [(row[1], row[-1]) for row in
             connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
            for statement, parameters in seen
        ]
    for plan in plans:  # (parent step, detail) each
        reads = [detail for _, detail in plan if " registries" in detail]
        assert reads and all(
            detail.startswith("SEARCH registries USING") and "(org_id=?" in detail
            for detail in reads
        ), plan
    for plan in plans[:2]:  # the list, then its search: a page read in name order, not sorted
        in_order = {parent for parent, detail in plan if "uq_registries_org_name_active" in detail}
        assert in_order, plan
        assert not any("TEMP B-TREE" in detail and parent in in_order for parent, detail in plan)
