"""The Add Registry wizard in a real Chromium against a real docker-registry and the local
Docker Hub and GitHub protocol servers; checks run on the background thread pool."""

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot

pytestmark = pytest.mark.browser

REGISTRIES = "/orgs/acme/settings/infrastructure/container-registry/"
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective));
"""


@pytest.fixture
def server(make_live_server, test_ca, fake_docker_hub, fake_ghcr):
    server = make_live_server(
        CHECK_EXECUTOR="threads",
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
        REGISTRY_CA_BUNDLE=str(test_ca.cert_path),
        CHECK_TIMEOUT_SECONDS=5,
        DOCKER_HUB_REGISTRY_URL=fake_docker_hub.url,
        DOCKER_HUB_AUTH_URL=fake_docker_hub.auth_url,
        GHCR_URL=fake_ghcr.url,
        GITHUB_API_URL=fake_ghcr.api_url,
    )
    runner = server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "acme", "--name", "Acme Corp", "--plan", "enterprise"])
    runner.invoke(args=["user", "create", "admin@acme.test", "--org", "acme", "--role", "admin",
                        "--password-stdin"], input="correct horse battery\n")
    return server


def sign_in(page, server):
    page.add_init_script(WATCH_CSP)
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill("admin@acme.test")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**" + REGISTRIES)


def assert_clean(page, name):
    assert axe_violations(page) == [], name
    assert page.evaluate("window.__csp || []") == [], name


def fill_docker_registry(page, registry, password, name="Build cache"):
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Registry URL").fill(registry.host_port)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password / Token").fill(password)


def row(page, name):
    return page.locator("#registry-table tr", has_text=name)


def test_add_a_docker_registry_and_see_it_connected(page, server, htpasswd_registry):
    sign_in(page, server)
    assert_clean(page, "empty list")
    page.get_by_role("link", name="Add Registry").click()
    expect(page.get_by_role("heading", name="Add Registry")).to_be_visible()
    assert_clean(page, "step 1")
    for width in (360, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"wizard-step1-{width}")
    page.get_by_text("Docker Registry", exact=True).click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Connect Docker Registry")).to_be_visible()
    assert_clean(page, "step 2")
    for width in (360, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"wizard-step2-{width}")
    fill_docker_registry(page, htpasswd_registry, "s3cret-alice")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url("**" + REGISTRIES + "?added=*")
    expect(row(page, "Build cache")).to_contain_text("Connected")
    assert_clean(page, "list")
    for width in (360, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"registry-list-{width}")


def test_wrong_password_hint_then_fix_and_address_change(page, server, htpasswd_registry):
    sign_in(page, server)
    page.goto(server.url + REGISTRIES + "new/docker_registry")
    fill_docker_registry(page, htpasswd_registry, "wrong-password")
    page.get_by_role("button", name="Connect").click()
    status = page.locator("#connect-status")
    expect(status).to_contain_text("Sign-in failed", timeout=15_000)
    expect(status).to_contain_text("How to fix it")
    assert_clean(page, "outcome")
    for width in (360, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"wizard-step3-failed-{width}")

    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Build cache")
    expect(page.get_by_label("Password / Token")).to_have_value("")
    # A new address with no password: the secret is asked for again.
    page.get_by_label("Registry URL").fill(f"localhost:{htpasswd_registry.port}")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text("The registry address changed — enter the password or token again.")).to_be_visible()
    assert_clean(page, "step 2 with errors")
    page.get_by_label("Password / Token").fill("s3cret-alice")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url("**" + REGISTRIES + "?added=*")
    expect(row(page, "Build cache")).to_contain_text("Connected")


def test_keyboard_only(page, server, htpasswd_registry):
    sign_in(page, server)
    keyboard = page.keyboard

    def tab_to(text):
        name = """() => { const e = document.activeElement;
            return (e.labels && e.labels.length ? e.labels[0].textContent : e.textContent) || ''; }"""
        for _ in range(40):
            keyboard.press("Tab")
            if text in page.evaluate(name):
                return
        raise AssertionError(f"Tab never reached {text!r}")

    tab_to("Add Registry")
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Add Registry")).to_be_visible()
    expect(page.locator("#main")).to_be_focused()
    tab_to("Docker Registry")  # the first choice card's radio
    keyboard.press("Space")
    tab_to("Continue")
    keyboard.press("Enter")
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    # After a boosted navigation the page moves focus to <main>; start tabbing from there.
    expect(page.locator("#main")).to_be_focused()
    tab_to("Name")
    keyboard.type("Keyboard cache")
    keyboard.press("Tab")
    keyboard.type(htpasswd_registry.host_port)
    keyboard.press("Tab")
    keyboard.type("alice")
    keyboard.press("Tab")
    keyboard.type("s3cret-alice")
    keyboard.press("Enter")
    page.wait_for_url("**" + REGISTRIES + "?added=*")
    expect(row(page, "Keyboard cache")).to_contain_text("Connected")


def test_without_javascript(browser, server, htpasswd_registry):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(server.url + "/login")
        page.get_by_label("Email").fill("admin@acme.test")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Add Registry").click()
        page.get_by_text("Docker Registry", exact=True).click()
        page.get_by_role("button", name="Continue").click()
        fill_docker_registry(page, htpasswd_registry, "s3cret-alice", name="No JS cache")
        page.get_by_role("button", name="Connect").click()
        for _ in range(20):
            if "?added=" in page.url:
                break
            page.wait_for_timeout(500)
            page.get_by_role("link", name="Refresh").click()
        assert "?added=" in page.url
        expect(row(page, "No JS cache")).to_contain_text("Connected")
    finally:
        context.close()


def test_docker_hub_and_github(page, server, fake_ghcr):
    sign_in(page, server)
    page.goto(server.url + REGISTRIES + "new/docker_hub")
    page.get_by_label("Name", exact=True).fill("Hub")
    page.get_by_label("Docker Hub Username").fill("hubuser")
    page.get_by_label("Access Token").fill("hub-s3cret")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url("**" + REGISTRIES + "?added=*")
    expect(row(page, "Hub")).to_contain_text("Connected")

    page.goto(server.url + REGISTRIES + "new/github")
    page.get_by_label("Name", exact=True).fill("GitHub packages")
    page.get_by_label("GitHub Username").fill("octocat")
    page.get_by_label("Personal Access Token").fill("ghp_fakeClassicRepoOnly00000000000000000")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#connect-status")).to_contain_text("read:packages", timeout=15_000)
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Personal Access Token").fill("ghp_fakeClassicReadPackages0123456789abc")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url("**" + REGISTRIES + "?added=*")
    expect(row(page, "GitHub packages")).to_contain_text("Connected")
    expect(row(page, "GitHub packages")).to_contain_text("GitHub Container Registry")
