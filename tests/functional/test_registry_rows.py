"""A registry row as people see it: the status is one line (the badge, "checked 5 min ago",
the reason) that CSS cuts with an ellipsis, and the whole reason is on the detail page, with no
title-only tooltip; names and addresses are isolated (<bdi>) and escaped; the row's actions are
one shared menu filled on demand, and without JavaScript its Actions link opens the detail
page's actions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.support.factories import registry_row
from webapp.extensions import db
from webapp.models import utcnow

PAGE = "/orgs/acme/settings/infrastructure/container-registry/"
REASON = ("The registry answered 401 Unauthorized to the token for puller-1: the password or token "
          "was refused; it may have expired or been revoked by an administrator of the registry.")


@pytest.fixture
def failing(app, make, auth):
    make.org("acme")
    make.user("member@acme.test", org="acme", role="member")
    auth.login(make.user("admin@acme.test", org="acme"))
    with app.app_context():
        registry = registry_row(secret="s3cret", name='Build "cache" <b>', status="auth_failed",
                                username="puller-1", commit=False)
        registry.status_reason = REASON
        registry.last_checked_at = registry.last_success_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        return str(registry.id)


def row_of(page: str, registry_id: str) -> str:
    match = re.search(rf'<tr id="registry-{registry_id}".*?</tr>', page, re.S)
    assert match, "no row"
    return match.group(0)


def test_the_status_is_one_line_and_the_detail_page_has_the_whole_reason(client, failing):
    row = row_of(client.get(PAGE).get_data(as_text=True), failing)
    line = re.search(r'<p class="status__row">(.*?)</p>', row, re.S).group(1)
    assert "Sign-in failed" in line and "badge--bad" in line
    assert re.search(r"checked <time datetime=\"[^\"]+\">5 min ago</time>", line)
    assert REASON in line  # all of it in the markup; CSS cuts it on screen
    assert "title=" not in row  # no tooltip only a mouse can open
    detail = client.get(PAGE + failing).get_data(as_text=True)
    assert f'<p class="status__reason">{REASON}</p>' in detail


def test_user_text_is_isolated_and_escaped(client, failing):
    row = row_of(client.get(PAGE).get_data(as_text=True), failing)
    assert '<bdi class="truncate">Build &#34;cache&#34; &lt;b&gt;</bdi>' in row and "<b>" not in row
    assert '<bdi class="truncate">puller-1</bdi>' in row


def test_one_shared_menu_and_a_link_to_the_detail_page_per_row(app, client, failing):
    with app.app_context():
        for index in range(3):
            registry_row(secret="s3cret", name=f"Other {index}")
    page = client.get(PAGE).get_data(as_text=True)
    assert page.count('id="row-menu"') == 1 and page.count('menu__item"') + page.count('menu__item menu__item--danger"') == 4
    row = row_of(page, failing)
    assert f'href="{PAGE}{failing}#actions">Actions' in row and "<form" not in row
    detail = client.get(PAGE + failing).get_data(as_text=True)
    actions = re.search(r'<div class="page-header__actions[^"]*" id="actions">(.*?)</div>',
                        detail, re.S).group(1)
    for label in ("Check now", "Replace credentials", "Rename", "Remove"):
        assert f">{label}<" in actions


def test_members_get_neither_the_menu_nor_the_actions(client, auth, failing):
    auth.logout()
    auth.login("member@acme.test")
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="row-menu"' not in page and "#actions" not in page
    assert 'id="actions"' not in client.get(PAGE + failing).get_data(as_text=True)
