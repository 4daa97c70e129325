"""The page shell in a real Chromium: sign-in, the empty registry page, sign-out, CSP, htmx."""

import pytest
from playwright.sync_api import expect

from tests.support.browser import screenshot
from webapp.cli import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser

REGISTRY_PATH = "/orgs/acme/settings/infrastructure/container-registry/"

# Records CSP violations in the page itself; injected by the browser, so CSP does not apply.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
  e.violatedDirective + ' ' + e.blockedURI));
"""


def sign_in(page, base, email=DEMO_EMAIL, password=DEMO_PASSWORD):
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def csp_violations(page):
    return page.evaluate("window.__cspViolations || []") + page.csp_violations


def test_demo_admin_signs_in_sees_the_empty_page_and_signs_out(live_server, page):
    assert live_server.app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    page.add_init_script(WATCH_CSP)
    sign_in(page, live_server.url)
    page.wait_for_url("**" + REGISTRY_PATH)
    assert page.get_by_role("heading", name="Container Registry", level=1).is_visible()
    assert page.get_by_text("No registries connected yet").is_visible()
    nav = page.get_by_role("navigation", name="Settings")
    assert nav.get_by_role("link", name="Container Registry").get_attribute("aria-current") == "page"
    screenshot(page, "registry-empty-1280")
    assert csp_violations(page) == []

    old_cookies = page.context.cookies()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    assert page.get_by_text("You are signed out.").is_visible()

    # The cookie from before the logout, replayed, no longer gets in.
    page.context.clear_cookies()
    page.context.add_cookies(old_cookies)
    page.goto(live_server.url + REGISTRY_PATH)
    assert "/login" in page.url
    assert page.get_by_role("heading", name="Sign in").is_visible()


def test_htmx_requests_carry_the_csrf_header_and_no_csp_violation(live_server, page):
    live_server.app.test_cli_runner().invoke(args=["demo"])
    page.add_init_script(WATCH_CSP)
    sign_in(page, live_server.url)
    page.wait_for_url("**" + REGISTRY_PATH)
    with page.expect_request(lambda r: "/audit-log/" in r.url) as navigation:
        page.get_by_role("link", name="Audit log").click()
    assert navigation.value.headers.get("hx-request") == "true"  # boosted navigation
    page.wait_for_url("**/audit-log/")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()

    # A state-changing htmx request: the token travels in the X-CSRFToken header, the server
    # accepts it (the sign-out happens), and nothing violates the CSP along the way.
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    with page.expect_request(lambda r: r.url.endswith("/logout")) as posted:
        page.evaluate("htmx.ajax('POST', '/logout', {target: '#request-error'})")
    assert posted.value.method == "POST"
    assert posted.value.headers.get("x-csrftoken") == token
    page.goto(live_server.url + REGISTRY_PATH)
    assert "/login" in page.url
    assert csp_violations(page) == []


def test_injected_hx_on_does_not_run(live_server, page):
    live_server.app.test_cli_runner().invoke(args=["demo"])
    sign_in(page, live_server.url)
    page.wait_for_url("**" + REGISTRY_PATH)
    page.evaluate("""() => {
        window.__ran = false;
        document.addEventListener('htmx:evalDisallowedError', () => { window.__blocked = true; });
        const b = document.createElement('button');
        b.id = 'evil'; b.setAttribute('hx-on:click', 'window.__ran = true');
        b.textContent = 'x'; document.body.appendChild(b); htmx.process(b);
    }""")
    page.click("#evil")
    assert page.evaluate("window.__ran") is False


def test_team_plan_admin_sees_enterprise_only(live_server, page):
    runner = live_server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "smallco", "--name", "Small Co", "--plan", "team"])
    runner.invoke(args=["user", "create", "admin@smallco.test", "--org", "smallco", "--role",
                        "admin", "--password-stdin"], input="correct horse battery\n")
    sign_in(page, live_server.url, "admin@smallco.test", "correct horse battery")
    page.wait_for_url("**/orgs/smallco/settings/infrastructure/container-registry/")
    assert page.get_by_text("Private container registries are an Enterprise feature").is_visible()
    assert page.get_by_role("link", name="Contact us about Enterprise").is_visible()
    assert page.get_by_role("link", name="Add Registry").count() == 0
    screenshot(page, "enterprise-only-1280")
