"""The runner tokens page in a real Chromium: an admin creates a token with the keyboard, uses
it from the runner API, revokes it, and the next call is 401 within 2 s, also from a second app
on the same database; a member sees the list but cannot create; without JavaScript it all works.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.support.apps import make_config
from tests.support.browser import axe_violations, screenshot, start_live_server
from tests.support.factories import registry_row

pytestmark = pytest.mark.browser

TOKENS = "/orgs/acme/settings/infrastructure/runner-tokens/"
PASSWORD = "correct horse battery"


@pytest.fixture
def server(make_live_server):
    server = make_live_server()
    runner = server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "acme", "--name", "Acme Corp", "--plan", "enterprise"])
    for email, role in (("admin@acme.test", "admin"), ("member@acme.test", "member")):
        runner.invoke(args=["user", "create", email, "--org", "acme", "--role", role,
                            "--password-stdin"], input=PASSWORD + "\n")
    with server.app.app_context():
        registry_row(secret="s3cret", name="Acme packages", host="ghcr.io", kind="github",
                     namespace="acme", status="connected")
    return server


@pytest.fixture
def second_app(server):
    """Another app on the same database: its own caches, as another process has."""
    other = start_live_server(make_config(server.app.config["SQLALCHEMY_DATABASE_URI"]))
    yield other
    other.stop()


def sign_in(page, server, email="admin@acme.test"):
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_load_state()
    page.goto(server.url + TOKENS)


def call_api(url: str, token: str) -> int:
    request = urllib.request.Request(
        url + "/api/v1/pull-credentials", method="POST",
        data=json.dumps({"image": "ghcr.io/acme/tool:1"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def create_with_keyboard(page, name: str) -> str:
    page.get_by_label("Name").focus()
    page.keyboard.type(name)
    page.keyboard.press("Tab")  # to Expires
    page.keyboard.press("ArrowDown")  # In 30 days
    page.keyboard.press("Tab")  # to the permissions (Pull images checked by default)
    expect(page.get_by_role("checkbox", name="Pull images", exact=False)).to_be_focused()
    for _ in ("Read", "Manage", "the button"):
        page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Create token")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Runner token {name} created")).to_be_visible()
    return page.get_by_role("textbox", name="Token").input_value()


def test_admin_creates_uses_and_revokes_a_token(page, server, second_app):
    sign_in(page, server)
    assert axe_violations(page) == []
    token = create_with_keyboard(page, "edge-1")
    assert token.startswith("prt_")
    expect(page.get_by_role("button", name="Copy token")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "runner-token-created-1280")
    assert call_api(server.url, token) == 200
    assert call_api(second_app.url, token) == 200

    page.goto(server.url + TOKENS)
    row = page.locator("#runner-tokens tbody tr", has_text="edge-1")
    expect(row).to_contain_text("127.0.0.1")  # last used from
    expect(row).to_contain_text("Active")
    row.get_by_role("link", name="Revoke edge-1").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Revoke edge-1?")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Revoke edge-1").click()
    revoked_at = time.monotonic()
    expect(page.get_by_text("Revoked edge-1.")).to_be_visible()
    statuses = []
    while time.monotonic() - revoked_at < 2:
        statuses = [call_api(server.url, token), call_api(second_app.url, token)]
        if statuses == [401, 401]:
            break
    assert statuses == [401, 401]
    expect(row).to_contain_text("Revoked")
    screenshot(page, "runner-token-revoked-1280")


def test_a_member_sees_the_list_but_cannot_create(page, server):
    sign_in(page, server)
    create_with_keyboard(page, "edge-1")
    page.context.clear_cookies()
    sign_in(page, server, "member@acme.test")
    expect(page.locator("#runner-tokens")).to_contain_text("edge-1")
    expect(page.get_by_role("button", name="Create token")).to_have_count(0)
    expect(page.get_by_role("link", name="Revoke edge-1")).to_have_count(0)
    assert axe_violations(page) == []
    screenshot(page, "runner-tokens-member-1280")


def test_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, server)
        page.get_by_label("Name").fill("no-js")
        page.get_by_role("button", name="Create token").click()
        token = page.get_by_role("textbox", name="Token").input_value()
        # No clipboard API without JS: the button stays hidden, the field is there to copy.
        expect(page.get_by_role("button", name="Copy token")).to_have_count(0)
        assert call_api(server.url, token) == 200
        page.goto(server.url + TOKENS)
        page.get_by_role("link", name="Revoke no-js").click()
        page.get_by_role("button", name="Revoke no-js").click()
        expect(page.get_by_text("Revoked no-js.")).to_be_visible()
        assert call_api(server.url, token) == 401
        screenshot(page, "runner-tokens-no-js-1280")
    finally:
        context.close()


def test_the_registry_page_says_it_hands_out_pull_tokens(page, make_live_server, token_registry):
    import secrets as _secrets
    import uuid as _uuid

    from tests.integration.test_pull_end_to_end import connect

    server = make_live_server(OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32")
    runner = server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "acme", "--name", "Acme Corp", "--plan", "enterprise"])
    runner.invoke(args=["user", "create", "admin@acme.test", "--org", "acme", "--role", "admin",
                        "--password-stdin"], input=PASSWORD + "\n")
    username, password = f"puller-{_uuid.uuid4().hex[:6]}", _secrets.token_urlsafe(16)
    token_registry.add_user(username, password, actions=("pull",))
    registry_id = connect(server.app, token_registry, username, password, "Token registry")
    sign_in(page, server)
    page.goto(f"{server.url}/orgs/acme/settings/infrastructure/container-registry/{registry_id}")
    expect(page.get_by_text("Pull tokens: yes, 300 s")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "registry-detail-pull-tokens-1280")
