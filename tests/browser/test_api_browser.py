"""Issue 19 in a real Chromium: the API reference page reads without JavaScript under the app's
CSP and is axe-clean; the runner tokens page offers the permissions as keyboard-usable
checkboxes, and a token created there with "Manage" works on the REST API."""

import re
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.test_actions_browser import sign_in
from tests.support.browser import axe_violations, screenshot

pytestmark = pytest.mark.browser

TOKENS = "/orgs/acme/settings/infrastructure/runner-tokens/"


@pytest.fixture
def server(make_live_server):
    server = make_live_server()
    runner = server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "acme", "--name", "Acme Corp", "--plan", "enterprise"])
    runner.invoke(args=["user", "create", "admin@acme.test", "--org", "acme", "--role", "admin",
                        "--password-stdin"], input="correct horse battery\n")
    return server


def test_the_reference_page_reads_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        page.goto(server.url + "/api/docs")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Container registry connections API")
        expect(page.get_by_role("heading", name="POST /api/v1/registries: Connect a registry")
               ).to_be_visible()
        page.get_by_role("link", name="DELETE /api/v1/registries/{registry_id}").click()
        expect(page).to_have_url(re.compile(r"#removeRegistry$"))
        screenshot(page, "api-docs-no-js-1280")
        assert violations == []
    finally:
        context.close()


def test_the_reference_page_is_axe_clean(page, server):
    page.goto(server.url + "/api/docs")
    assert axe_violations(page) == []
    assert page.csp_violations == []


def test_an_admin_creates_a_manage_token_with_the_keyboard_and_it_works(page, server):
    sign_in(page, server)
    page.goto(server.url + TOKENS)
    pull = page.get_by_label(re.compile("^Pull images"))
    expect(pull).to_be_checked()
    page.get_by_label("Name").fill("terraform")
    manage = page.get_by_label(re.compile("^Manage"))
    manage.focus()
    page.keyboard.press("Space")
    expect(manage).to_be_checked()
    pull.focus()
    page.keyboard.press("Space")
    expect(pull).not_to_be_checked()
    assert axe_violations(page) == []
    screenshot(page, "runner-tokens-permissions-1280")
    page.get_by_role("button", name=re.compile("Create")).click()
    token = page.locator("#token-value").input_value()
    expect(page.locator("table")).to_contain_text("Manage")
    screenshot(page, "runner-tokens-created-manage-1280")
    request = urllib.request.Request(server.url + "/api/v1/registries",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
        assert answer.status == 200
    assert page.csp_violations == []
