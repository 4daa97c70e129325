"""/support: registries across all orgs, searched and filtered on the server, 50 a page."""

from datetime import timedelta

import pytest

from tests.support.factories import registry_row
from tests.support.queries import queries_of_get
from webapp.extensions import db
from webapp.models import utcnow


@pytest.fixture
def console(app, make, auth):
    make.org("acme", name="Acme Corp")
    make.org("globex", name="Globex", plan="team")
    make.user("help@platform.test", support=True)
    now = utcnow()
    with app.app_context():
        for n in range(60):
            registry = registry_row("acme", secret=f"s{n}", name=f"Acme {n:02d}",
                                    host=f"reg{n}.acme.test", username=f"robot{n}",
                                    status="connected", commit=False)
            registry.created_at = now - timedelta(minutes=n)
            registry.last_success_at = now
        broken = registry_row("globex", secret="x", name="Prod ECR", kind="docker_registry",
                              host="1234.dkr.ecr.eu-west-1.amazonaws.com", namespace="team",
                              username="AWS", status="auth_failed", commit=False)
        broken.status_reason = "401 from the registry"
        broken.last_success_at = now - timedelta(days=3)
        fresh = registry_row("globex", secret="x", name="New failing", status="unreachable",
                             commit=False)
        fresh.last_success_at = now - timedelta(hours=2)
        db.session.commit()
    auth.login("help@platform.test")


def names(body):
    import re
    return re.findall(r'<bdi class="truncate" title="([^"]+)">[^<]*</bdi></a><span class="table__sub">user', body)


def test_newest_first_fifty_a_page_with_a_pager_keeping_the_filters(client, console):
    body = client.get("/support/").get_data(as_text=True)
    assert "62 registries" in body and len(names(body)) == 50
    second = client.get("/support/?q=acme&page=2").get_data(as_text=True)
    assert len(names(second)) == 10 and names(second)[-1] == "Acme 59"
    assert 'href="/support/?q=acme"' in second  # "Previous" keeps the search
    assert client.get("/support/?page=999999999").status_code == 200


@pytest.mark.parametrize("query, expected", [
    ("q=globex", {"Prod ECR", "New failing"}),
    ("q=GLOBEX&status=auth_failed", {"Prod ECR"}),
    ("q=dkr.ecr", {"Prod ECR"}),
    ("q=robot7", {"Acme 07"}),
    ("status=failing", {"Prod ECR", "New failing"}),
    ("status=failing&failing_day=1", {"Prod ECR"}),
    ("plan=team", {"Prod ECR", "New failing"}),
    ("kind=github", set()),
    ("q=%25", set()),
    ("q=_", set()),
])
def test_search_and_filters(client, console, query, expected):
    body = client.get(f"/support/?{query}").get_data(as_text=True)
    assert set(names(body)) == expected


def test_unknown_filter_values_are_ignored_not_errors(client, console):
    for query in ("status=bogus", "kind=<script>", "plan=x", "page=-1", "page=abc",
                  "q=" + "x" * 5000, "failing_day=maybe"):
        assert client.get(f"/support/?{query}").status_code == 200


def test_the_filters_swap_only_the_table_with_htmx(client, console, hx):
    fragment = client.get("/support/?status=failing", headers=hx).get_data(as_text=True)
    assert fragment.startswith('<div id="support-results"') and "<html" not in fragment
    assert set(names(fragment)) == {"Prod ECR", "New failing"}


def test_the_plain_form_works_without_js(client, console):
    page = client.get("/support/?status=failing").get_data(as_text=True)
    assert '<form class="filters" method="get" action="/support/"' in page
    assert '<option value="failing" selected>' in page
    assert 'href="/support/orgs/globex"' in page  # the org overview, one click away


def test_the_list_sends_as_many_queries_at_62_registries_as_at_2(client, console):
    small = len(queries_of_get(client, "/support/?q=globex"))
    large = len(queries_of_get(client, "/support/"))
    assert small == large, (small, large)
