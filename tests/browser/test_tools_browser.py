"""Check pull in a real Chromium (issue 12, item 1): the row follows a check that runs on the
thread pool against a registry that trickles a byte a second, without a page load; and without
JavaScript the page says the check is running and links to itself."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_actions_browser import open_menu, settled
from tests.browser.test_actions_browser import sign_in as sign_in_to_registries
from tests.support.browser import axe_violations, screenshot
from tests.support.factories import registry_row
from webapp.extensions import db
from webapp.models import PrivateTool
from webapp.services import accounts

pytestmark = pytest.mark.browser

TOOLS = "/orgs/acme/settings/private-tools/"
TIMEOUT = 2  # CHECK_TIMEOUT_SECONDS: how long each trickled pull check lasts


@pytest.fixture
def server(make_live_server, misc_servers):
    server = make_live_server(CHECK_EXECUTOR="threads", OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
                              CHECK_TIMEOUT_SECONDS=TIMEOUT)
    runner = server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "acme", "--name", "Acme Corp", "--plan", "enterprise"])
    runner.invoke(args=["user", "create", "admin@acme.test", "--org", "acme", "--role", "admin",
                        "--password-stdin"], input="correct horse battery\n")
    trickle = misc_servers.trickle_server
    with server.app.app_context():
        registry_row(secret="s3cret", name="Slow registry", host=trickle.host_port,
                     ca_pem=trickle.ca_pem, status="connected")
        org = accounts.find_org("acme")
        db.session.add(PrivateTool(org_id=org.id, name="Scanner", name_key="scanner",
                                   image=f"{trickle.host_port}/team/scanner:{uuid.uuid4().hex[:6]}"))
        db.session.commit()
    return server


def sign_in(page, server):
    sign_in_to_registries(page, server)
    page.goto(server.url + TOOLS)


def test_the_row_follows_the_check_live(page, server):
    sign_in(page, server)
    menu = open_menu(page, "Scanner")
    menu.get_by_role("menuitem", name="Check pull").click()
    row = page.locator("#tools-table tbody tr", has_text="Scanner")
    expect(row).to_contain_text("Checking pull…", timeout=TIMEOUT * 1000)
    settled(page)
    assert axe_violations(page) == []
    screenshot(page, "tools-check-pull-running-1280")
    # The trickle ends at the deadline; the row swaps itself to the outcome and stops polling.
    expect(row).to_contain_text("Unreachable", timeout=(4 * TIMEOUT + 5) * 1000)
    expect(row).not_to_have_attribute("hx-trigger", "every 2s")
    assert page.csp_violations == []
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "tools-check-pull-done-360")


def test_without_javascript_the_page_links_to_itself(browser, server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, server)
        row = page.locator("#tools-table tbody tr", has_text="Scanner")
        row.get_by_role("button", name="Check pull").click()  # without JS, items show as buttons
        page.wait_for_url("**" + TOOLS + "#tool-*")
        expect(row).to_contain_text("Checking pull…")
        screenshot(page, "tools-check-pull-no-js-1280")
        row.get_by_role("link", name="Refresh").click()
        page.wait_for_url("**?refresh=*")  # a reload, not a jump to the row's anchor
        # And without a click: the page reloads itself (<noscript> meta refresh) until done.
        expect(row).to_contain_text("Unreachable", timeout=(4 * TIMEOUT + 8) * 1000)
        screenshot(page, "tools-check-pull-no-js-done-1280")
    finally:
        context.close()
