"""The action menu in a real Chromium against a real docker-registry: rename (mouse and
keyboard), replace credentials, check now, remove, each also without JavaScript; a stale rename
in a second tab; accessibility of every state; the page weight."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.factories import registry_row
from webapp.services import checks

pytestmark = pytest.mark.browser

REGISTRIES = "/orgs/acme/settings/infrastructure/container-registry/"


@pytest.fixture
def server(make_live_server, test_ca, htpasswd_registry):
    server = make_live_server(CHECK_EXECUTOR="threads", OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
                              REGISTRY_CA_BUNDLE=str(test_ca.cert_path), CHECK_TIMEOUT_SECONDS=5)
    runner = server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "acme", "--name", "Acme Corp", "--plan", "enterprise"])
    runner.invoke(args=["user", "create", "admin@acme.test", "--org", "acme", "--role", "admin",
                        "--password-stdin"], input="correct horse battery\n")
    return server


def add_registry(server, registry, password="s3cret-alice", name="Build cache"):
    with server.app.app_context():
        registry_id = registry_row(secret=password, name=name, host=registry.host_port,
                                   namespace=uuid.uuid4().hex[:8]).id
        checks.check_registry(registry_id, "connect")
        return registry_id


def sign_in(page, server):
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill("admin@acme.test")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**" + REGISTRIES)


def row(page, name):
    return page.locator("#registry-table tbody tr", has_text=name)


def actions(page, name):
    """Without JavaScript: the row's Actions link, to the detail page's actions."""
    row(page, name).get_by_role("link", name=f"Actions for {name}").click()
    return page.locator("#actions")


def settled(page):
    """Wait until htmx has swapped, settled and processed what it swapped in."""
    # A function, not an expression: Playwright evals expressions, which our CSP forbids.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling,"
        " .htmx-added')"
    )


def open_menu(page, name):
    settled(page)
    page.get_by_role("button", name=f"Actions for {name}").click()
    return page.get_by_role("menu", name=f"Actions for {name}")


def test_rename_check_replace_and_remove_from_the_menu(page, server, htpasswd_registry):
    add_registry(server, htpasswd_registry)
    add_registry(server, htpasswd_registry, password="wrong", name="Broken cache")
    sign_in(page, server)
    menu = open_menu(page, "Build cache")
    expect(menu).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "menu-open-1280")

    menu.get_by_role("menuitem", name="Rename").click()
    name = page.get_by_role("textbox", name="Name")
    expect(name).to_be_focused()
    assert axe_violations(page) == []
    name.fill("Release cache")
    name.press("Enter")
    expect(row(page, "Release cache")).to_be_visible()

    open_menu(page, "Release cache").get_by_role("menuitem", name="Check now").click()
    expect(row(page, "Release cache")).to_contain_text("Connected")

    # The banner counts the broken one once it was connected before; here it never was.
    expect(row(page, "Broken cache")).to_contain_text("Sign-in failed")
    open_menu(page, "Broken cache").get_by_role("menuitem", name="Replace credentials").click()
    page.get_by_label("Password / Token").fill("s3cret-alice")
    page.get_by_role("button", name="Save and check").click()
    expect(row(page, "Broken cache")).to_contain_text("Connected", timeout=15_000)

    open_menu(page, "Broken cache").get_by_role("menuitem", name="Remove").click()
    expect(page.get_by_text("Remove Broken cache?")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Remove Broken cache").click()
    expect(row(page, "Broken cache")).to_have_count(0)
    page.reload()
    expect(row(page, "Broken cache")).to_have_count(0)


def test_keyboard_only_menu_and_rename(page, server, htpasswd_registry):
    add_registry(server, htpasswd_registry)
    sign_in(page, server)
    button = page.get_by_role("button", name="Actions for Build cache")
    button.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="Actions for Build cache")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    page.keyboard.press("End")
    expect(menu.get_by_role("menuitem", name="Remove")).to_be_focused()
    page.keyboard.press("Home")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Home")  # Rename
    page.keyboard.press("Enter")
    name = page.get_by_role("textbox", name="Name")
    expect(name).to_be_focused()
    page.keyboard.press("Escape")  # cancels
    expect(page.get_by_role("textbox", name="Name")).to_have_count(0)
    expect(row(page, "Build cache")).to_be_visible()
    settled(page)
    page.get_by_role("button", name="Actions for Build cache").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Home")
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Name")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Typed cache")
    page.keyboard.press("Enter")
    expect(row(page, "Typed cache")).to_be_visible()


def test_stale_rename_in_a_second_tab(page, server, htpasswd_registry):
    add_registry(server, htpasswd_registry)
    sign_in(page, server)
    second = page.context.new_page()
    second.goto(server.url + REGISTRIES)
    for tab in (page, second):
        open_menu(tab, "Build cache").get_by_role("menuitem", name="Rename").click()
    page.get_by_role("textbox", name="Name").fill("First tab")
    page.get_by_role("textbox", name="Name").press("Enter")
    expect(row(page, "First tab")).to_be_visible()
    second.get_by_role("textbox", name="Name").fill("Second tab")
    second.get_by_role("textbox", name="Name").press("Enter")
    expect(second.get_by_text("This registry changed since you opened it — reload the page.")).to_be_visible()
    second.reload()
    expect(row(second, "First tab")).to_be_visible()


def test_everything_without_javascript(browser, server, htpasswd_registry):
    add_registry(server, htpasswd_registry)
    add_registry(server, htpasswd_registry, password="wrong", name="Broken cache")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, server)
        # Without JavaScript a row's Actions link opens its detail page, whose actions are
        # plain links and forms (the list's one shared menu needs JavaScript).
        actions(page, "Build cache").get_by_role("link", name="Rename").click()
        page.get_by_label("Name", exact=True).fill("Plain cache")
        page.get_by_role("button", name="Save").click()
        expect(row(page, "Plain cache")).to_be_visible()
        actions(page, "Plain cache").get_by_role("button", name="Check now").click()
        for _ in range(20):
            if "Connected" in row(page, "Plain cache").inner_text():
                break
            page.wait_for_timeout(300)
            page.reload()
        expect(row(page, "Plain cache")).to_contain_text("Connected")
        actions(page, "Broken cache").get_by_role("link", name="Replace credentials").click()
        page.get_by_label("Password / Token").fill("s3cret-alice")
        page.get_by_role("button", name="Save and check").click()
        for _ in range(20):
            if "Connected" in row(page, "Broken cache").inner_text():
                break
            page.wait_for_timeout(300)
            page.reload()
        expect(row(page, "Broken cache")).to_contain_text("Connected")
        actions(page, "Broken cache").get_by_role("link", name="Remove").click()
        page.get_by_role("button", name="Remove Broken cache").click()
        page.wait_for_url("**" + REGISTRIES)
        expect(row(page, "Broken cache")).to_have_count(0)
    finally:
        context.close()


def test_detail_page_banner_accessibility_and_page_weight(page, server, htpasswd_registry):
    from webapp.models import utcnow
    from webapp.registry_client.check import CheckResult
    from webapp.registry_client.statuses import Status

    registry_id = add_registry(server, htpasswd_registry)
    with server.app.app_context():
        checks.store_result(registry_id, CheckResult(Status.UNREACHABLE, "The connection was refused.",
                                                     None, None, None, 3, None, "reaching"),
                            "scheduled", None, utcnow())
    transferred = {}

    def measure(response):
        if response.url.endswith((".js", ".css")):
            transferred[response.url] = len(response.body())

    page.on("response", measure)
    sign_in(page, server)
    banner = page.locator("#failing-registries")
    expect(banner).to_contain_text("1 registry is failing")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Build cache").first.click()
    expect(page.get_by_role("heading", name="Check history")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "registry-detail-1280")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "registry-detail-360")
    total = sum(transferred.values())
    print(f"\nJS+CSS bytes over the wire (uncompressed by the dev server): {total}")
    assert total > 0
