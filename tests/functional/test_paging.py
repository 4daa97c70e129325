"""Big orgs: the registry list and the private tools list show 50 rows a page past 50, with a
search, both in the URL (`?q=…&page=…`) so that they work as plain GET forms and links; htmx
swaps only the list. Neither page's query count grows with its rows."""

from __future__ import annotations

import re

import pytest

from tests.support.factories import registry_row
from tests.support.queries import queries_of_get
from webapp.extensions import db
from webapp.services import accounts, tools

REGISTRIES = "/orgs/{slug}/settings/infrastructure/container-registry/"
TOOLS = "/orgs/{slug}/settings/private-tools/"
REGISTRY_ROW = re.compile(r'<tr id="registry-[^"]+"')
TOOL_ROW = re.compile(r'<tr id="tool-\d+"')


def add_registries(app, slug: str, count: int) -> None:
    with app.app_context():
        for index in range(count):
            registry_row(slug, secret="s3cret", kind="docker_registry", name=f"Registry {index:03d}",
                         host=f"registry-{index}.example.com:5000", namespace="team",
                         status="connected", commit=False)
        db.session.commit()


def add_tools(app, slug: str, count: int) -> None:
    with app.app_context():
        org = accounts.find_org(slug)
        for index in range(count):
            tools.add(org, f"Tool {index:03d}", f"registry-{index}.example.com:5000/team/tool:1")
        db.session.commit()


@pytest.fixture
def orgs(app, make, auth):
    """An admin of "small" (10 registries, 10 tools) and "large" (120 of each)."""
    make.org("small")
    make.org("large")
    email = make.user("admin@small.test", org="small")
    with app.app_context():
        from webapp.models import Membership

        db.session.add(Membership(user=accounts.find_user(email),
                                  org=accounts.find_org("large"), role="admin"))
        db.session.commit()
    for slug, count in (("small", 10), ("large", 120)):
        add_registries(app, slug, count)
        add_tools(app, slug, count)
    auth.login(email)


@pytest.mark.parametrize("page, row, noun", [(REGISTRIES, REGISTRY_ROW, "registry"),
                                             (TOOLS, TOOL_ROW, "tool")])
def test_a_long_list_pages_and_searches_in_the_url(orgs, client, page, row, noun):
    small = client.get(page.format(slug="small")).get_data(as_text=True)
    assert len(row.findall(small)) == 10 and 'class="search"' not in small
    assert 'class="pager"' not in small

    large = page.format(slug="large")
    first = client.get(large).get_data(as_text=True)
    assert len(row.findall(first)) == 50 and 'class="search"' in first
    assert "1–50 of 120" in first and "Page 1 of 3" in first
    assert " 000<" in first and " 049<" in first and " 050<" not in first
    assert 'href="' + large + '?page=2"' in first

    third = client.get(large + "?page=3").get_data(as_text=True)
    assert len(row.findall(third)) == 20 and "101–120 of 120" in third
    assert " 119<" in third and 'rel="next"' not in third

    # The search (any case, blanks folded) keeps its text in the URL.
    found = client.get(large + f"?q=%20{noun.upper()}%20%2001").get_data(as_text=True)
    assert f'value="{noun.upper()} 01"' in found and "1–10 of 10" in found
    assert len(row.findall(found)) == 10 and 'class="pager"' not in found
    assert " 010<" in found and " 019<" in found and " 000<" not in found
    # Past 50 matches the pager's links keep the search.
    wide = client.get(large + f"?q={noun}").get_data(as_text=True)
    assert "of 120" in wide and f"?q={noun}&amp;page=2" in wide


@pytest.mark.parametrize("page", [REGISTRIES, TOOLS])
def test_odd_paging_input_gets_a_page_not_an_error(orgs, client, page):
    large = page.format(slug="large")
    for query in ("?page=0", "?page=-1", "?page=abc", "?page=99999999999999", "?q=" + "x" * 500,
                  "?q=%25", "?q=_", "?page=%EF%BC%91", "?page=%C2%B2", "?page=%E2%91%A0"):
        response = client.get(large + query)
        assert response.status_code == 200, query
    past = client.get(large + "?page=9").get_data(as_text=True)
    assert "on this page" in past and 'href="' + large + '"' in past  # back to page 1
    # LIKE's wildcards are searched for as text, not as wildcards.
    assert "No " in client.get(large + "?q=%25").get_data(as_text=True)


def test_the_search_answers_htmx_with_the_list_alone(orgs, client):
    large = REGISTRIES.format(slug="large")
    answer = client.get(large + "?q=Registry+11", headers={"HX-Request": "true"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and body.lstrip().startswith('<div id="registry-list"')
    assert "<html" not in body and len(REGISTRY_ROW.findall(body)) == 10
    assert "HX-Request" in answer.headers["Vary"]


@pytest.mark.parametrize("page, row", [(REGISTRIES, REGISTRY_ROW), (TOOLS, TOOL_ROW)])
def test_the_query_count_does_not_grow_with_the_rows(orgs, client, page, row):
    counts = {}
    for label, path in (("10", page.format(slug="small")),
                        ("120", page.format(slug="large")),
                        ("120, page 3", page.format(slug="large") + "?page=3"),
                        ("120, search", page.format(slug="large") + "?q=0")):
        client.get(path)
        counts[label] = len(queries_of_get(client, path))
    assert len(set(counts.values())) == 1, counts
