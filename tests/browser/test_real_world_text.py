"""Pages that hold up to real-world text and say what happened, in a real Chromium against a
real docker-registry: 64-character names never make a page scroll sideways (1280 and 360 px),
names with direction controls are refused, an empty submit flags every field at once, each
action ends with a message in the status region, and nothing reaches the console (no CSP
violation, no script error) through the whole wizard and the action menu."""

import socket
import uuid

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.factories import registry_row
from webapp.extensions import db
from webapp.models import Registry
from webapp.services import checks

pytestmark = pytest.mark.browser

REGISTRIES = "/orgs/acme/settings/infrastructure/container-registry/"
WIDTHS = (1280, 360)
# 64 characters each, with no space to break at: what people paste.
NAME = "ProductionRegistryForThePlatformTeamInEuropeWestRegionReplicaNo1"
ORG_NAME = "AcmeCorporationInternationalHoldingsEuropeanDivisionPlatformTeam"
USERNAME = "robot$platform-team-europe-west-replica-pull-only-service-user01"
NAMESPACE = "platform-team-europe-west/builds-and-release-candidates-nightly1"
assert {len(NAME), len(ORG_NAME), len(USERNAME), len(NAMESPACE)} == {64}

# The innermost elements that stick out of the window, to name in a failure.
WIDEST = """width => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width
               && ![...e.children].some(c => c.getBoundingClientRect().right > width))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + '.' + e.className + ' '
                        + Math.round(e.getBoundingClientRect().right))"""

WATCH = """
window.__problems = [];
document.addEventListener('securitypolicyviolation',
  e => window.__problems.push('CSP ' + e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def server(make_live_server, test_ca, htpasswd_registry):
    server = make_live_server(CHECK_EXECUTOR="threads", OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
                              REGISTRY_CA_BUNDLE=str(test_ca.cert_path), CHECK_TIMEOUT_SECONDS=5,
                              ALLOW_INSECURE_REGISTRIES=True)
    runner = server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "acme", "--name", ORG_NAME, "--plan", "enterprise"])
    runner.invoke(args=["user", "create", "admin@acme.test", "--org", "acme", "--role", "admin",
                        "--password-stdin"], input="correct horse battery\n")
    runner.invoke(args=["user", "create", "help@platform.test", "--support",
                        "--password-stdin"], input="correct horse battery\n")
    return server


@pytest.fixture
def silent_port():
    """A port that takes connections and never answers: a check of it runs to its timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def watched(browser):
    """A page whose console errors, uncaught script errors and CSP violations are collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.problems = []
    page.add_init_script(WATCH)
    page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: page.problems.append(f"script error: {error}"))
    yield page
    context.close()


def problems(page):
    return page.problems + page.evaluate("() => window.__problems || []")


def sign_in(page, server, email="admin@acme.test", landing=REGISTRIES):
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**" + landing)


def settled(page):
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling,"
        " .htmx-added')"
    )


def fits(page, what, shot=None):
    """At 1280 and 360 px the page is no wider than the window; `shot` names its screenshots."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        settled(page)
        if shot:
            screenshot(page, f"{shot}-{width}")
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll_width <= width, (f"{what} at {width} px is {scroll_width} px wide: "
                                       f"{page.evaluate(WIDEST, width)}")
    page.set_viewport_size({"width": 1280, "height": 900})


def long_registries(server, registry):
    with server.app.app_context():
        failing = registry_row(secret="s3cret-alice", name=NAME, host=registry.host_port,
                               username=USERNAME, namespace=NAMESPACE)
        plain = registry_row(secret="s3cret", name=NAME[:-1] + "2", username=USERNAME,
                             host="build-cache-for-the-platform-team.internal.example.com:5000",
                             namespace=NAMESPACE, status="connected")
        plain.scheme = "http"
        db.session.commit()
        checks.check_registry(failing.id, "connect")
        return failing.id, plain.id


def test_64_character_names_never_scroll_sideways(page, browser, server, htpasswd_registry):
    failing_id, plain_id = long_registries(server, htpasswd_registry)
    sign_in(page, server)
    row = page.locator(f"#registry-{failing_id}")
    expect(row).to_contain_text("Sign-in failed")
    # In the list a long name is cut with an ellipsis (only drawn so: screen readers read it
    # whole), and no tooltip: the whole name is on the detail page it links to.
    name = row.locator(".table__name bdi")
    assert name.text_content() == NAME and name.get_attribute("title") is None
    assert name.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    expect(page.locator(f"#registry-{plain_id}")).to_contain_text("HTTP — not encrypted")
    fits(page, "registry list", shot="list")
    assert axe_violations(page) == []

    page.goto(f"{server.url}{REGISTRIES}{failing_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(NAME)  # the full name here
    crumb = page.locator(".breadcrumb [aria-current=page]")
    expect(crumb).to_contain_text(NAME[:10])
    fits(page, "detail page", shot="detail")
    assert axe_violations(page) == []
    # The address wraps after / or : only: every line of it ends at one, or is the last.
    page.set_viewport_size({"width": 360, "height": 900})
    lines = page.locator(".dl dd .address").first.evaluate("""e => {
        const range = document.createRange(), ends = [];
        const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
        let node, last = null, lastTop = null;
        while ((node = walker.nextNode())) {
            for (let i = 0; i < node.length; i++) {
                range.setStart(node, i); range.setEnd(node, i + 1);
                const rect = range.getClientRects()[0];
                if (!rect) continue;
                if (lastTop !== null && rect.top > lastTop + 2) ends.push(last);
                lastTop = rect.top; last = node.data[i];
            }
        }
        return ends;
    }""")
    assert lines and set(lines) <= {"/", ":"}, lines
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Check now").click()
    expect(page.locator("#status-region")).to_contain_text("Checking")
    page.goto(server.url + "/orgs/acme/settings/audit-log/")
    expect(page.locator("main")).to_contain_text(NAME[:20])
    fits(page, "audit log", shot="audit-log")

    page.goto(server.url + "/orgs/acme/settings/")
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    fits(page, "settings overview")

    page.goto(server.url + "/orgs/acme/settings/private-tools/")
    page.get_by_label("Name", exact=True).fill(NAME[:-1] + "T")
    page.get_by_label("Image").fill(f"{htpasswd_registry.host_port}/{NAMESPACE}/scanner:1.0")
    page.get_by_role("button", name="Add tool").click()
    expect(page.locator("#tools-table")).to_contain_text(NAME[:16])
    fits(page, "private tools", shot="tools")

    # The wizard's three steps with the same text.
    page.goto(server.url + REGISTRIES + "new")
    fits(page, "wizard step 1", shot="wizard-step1")
    page.get_by_text("Docker Registry", exact=True).click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Name", exact=True).fill(NAME[:-1] + "3")
    page.get_by_label("Registry URL").fill(f"{htpasswd_registry.host_port}/{NAMESPACE[:-1]}2")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password / Token").fill("wrong")
    fits(page, "wizard step 2", shot="wizard-step2")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#connect-status")).to_contain_text("How to fix it", timeout=15_000)
    fits(page, "wizard step 3", shot="wizard-step3")
    assert axe_violations(page) == []

    support = browser.new_context(viewport={"width": 1280, "height": 900})
    other = support.new_page()
    sign_in(other, server, "help@platform.test", landing="/support/")
    fits(other, "support index", shot="support-index")
    expect(other.locator("main")).to_contain_text("HTTP — not encrypted")
    other.goto(server.url + "/support/orgs/acme")
    fits(other, "support org", shot="support-org")
    other.goto(f"{server.url}/support/registries/{failing_id}")
    fits(other, "support registry", shot="support-registry")
    assert axe_violations(other) == []
    support.close()


@pytest.mark.parametrize("name", ["invoice\u202egpj.exe", "a\u2067b\u2069", "zero\u200bwidth"])
def test_a_name_with_direction_controls_is_refused(page, server, name):
    sign_in(page, server)
    page.goto(server.url + REGISTRIES + "new/docker_registry")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Connect").click()
    error = page.locator("#name-error")
    expect(error).to_contain_text("Remove the invisible character")
    expect(page.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")


def test_an_empty_submit_flags_every_field_at_once(page, server):
    sign_in(page, server)
    page.goto(server.url + REGISTRIES + "new/docker_registry")
    page.get_by_role("button", name="Connect").click()
    for field, text in [("name", "Give the registry a name."),
                        ("registry_url", "Enter the registry URL."),
                        ("username", "Enter the username."),
                        ("password", "Enter the password")]:
        expect(page.locator(f"#{field}-error")).to_contain_text(text)
    assert axe_violations(page) == []
    # A typed secret is never sent back: after an error the field says to type it again.
    page.get_by_label("Password / Token").fill("s3cret-alice")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#password-retype")).to_contain_text("Type the password / token again")
    expect(page.get_by_label("Password / Token")).to_have_value("")
    # In the person's words, not the parser's.
    settled(page)
    page.get_by_label("Registry URL").fill("not a url")
    expect(page.get_by_label("Registry URL")).to_have_value("not a url")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#registry_url-error")).to_contain_text(
        "Enter a registry address like registry.example.com/team")


def test_status_messages_and_a_clean_console_through_wizard_and_menu(
        watched, server, htpasswd_registry, silent_port):
    page = watched
    status = page.locator("#status-region")
    sign_in(page, server)

    # Cancel while the check runs: the draft goes, step 2 comes back with the fields kept.
    page.get_by_role("link", name="Add Registry").click()
    page.get_by_text("Docker Registry", exact=True).click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Name", exact=True).fill("Slow one")
    page.get_by_label("Registry URL").fill(f"127.0.0.1:{silent_port}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password / Token").fill("s3cret-alice")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#connect-status")).to_contain_text("Checking for")
    expect(page.locator("#connect-lead")).to_contain_text("We are checking")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Connect Docker Registry")).to_be_visible()
    expect(status).to_contain_text("Cancelled. Nothing was saved")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Slow one")
    expect(page.get_by_label("Registry URL")).to_have_value(f"127.0.0.1:{silent_port}")
    with server.app.app_context():
        assert db.session.query(Registry).filter_by(name="Slow one").count() == 0

    # A failure: the lead text changes once the result is in, one primary action.
    page.get_by_label("Name", exact=True).fill("Build cache")
    page.get_by_label("Registry URL").fill(htpasswd_registry.host_port)
    page.get_by_label("Password / Token").fill("wrong")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#connect-status")).to_contain_text("How to fix it", timeout=15_000)
    expect(page.locator("#connect-lead")).to_contain_text("The check did not pass")
    assert page.locator("main .btn--primary").count() == 1
    page.get_by_role("link", name="Edit details").click()
    page.get_by_label("Password / Token").fill("s3cret-alice")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url("**" + REGISTRIES + "?added=*")
    expect(status).to_contain_text("Connected Build cache.")
    expect(status).to_have_attribute("role", "status")

    def menu(item):
        settled(page)
        page.get_by_role("button", name="Actions for Build cache").click()
        page.get_by_role("menuitem", name=item).click()

    menu("Rename")
    page.get_by_label("Name", exact=True).fill("Build cache EU")
    page.keyboard.press("Enter")
    expect(status).to_contain_text("Renamed to Build cache EU.")
    settled(page)
    page.get_by_role("button", name="Actions for Build cache EU").click()
    page.get_by_role("menuitem", name="Check now").click()
    expect(status).to_contain_text("Checking Build cache EU now")
    settled(page)
    page.get_by_role("button", name="Actions for Build cache EU").click()
    page.get_by_role("menuitem", name="Replace credentials").click()
    page.get_by_label("Password / Token").fill("s3cret-alice")
    page.get_by_role("button", name="Save and check").click()
    expect(status).to_contain_text("Replaced the credentials of Build cache EU")
    settled(page)
    page.get_by_role("button", name="Actions for Build cache EU").click()
    page.get_by_role("menuitem", name="Remove").click()
    page.get_by_role("button", name="Remove Build cache EU").click()
    expect(status).to_contain_text("Removed Build cache EU.")
    expect(page.locator("#registry-table tbody tr")).to_have_count(0)
    assert axe_violations(page) == []
    assert problems(page) == []


def test_the_settings_breadcrumb_and_sidebar_lead_to_real_pages(page, server):
    sign_in(page, server)
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs.locator("[aria-current=page]")).to_have_text("Container Registry")
    crumbs.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    assert page.url.endswith("/orgs/acme/settings/")
    sidebar = page.get_by_role("navigation", name="Settings")
    expect(sidebar.locator("[aria-current=page]")).to_have_text("Settings")
    page.get_by_role("main").get_by_role("link", name="Container Registry").click()
    expect(sidebar.locator("[aria-current=page]")).to_have_text("Container Registry")
    assert axe_violations(page) == []
    registry_id = uuid.uuid4()  # another org's or nobody's: 404, never a page
    assert page.goto(f"{server.url}{REGISTRIES}{registry_id}").status == 404


@pytest.fixture
def throttled(make_live_server, test_ca):
    server = make_live_server(CHECK_EXECUTOR="threads", OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
                              REGISTRY_CA_BUNDLE=str(test_ca.cert_path), CHECK_TIMEOUT_SECONDS=5,
                              RATELIMIT_ENABLED=True, CHECK_REQUESTS_PER_USER="1 per 4 seconds")
    runner = server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "acme", "--name", "Acme", "--plan", "enterprise"])
    runner.invoke(args=["user", "create", "admin@acme.test", "--org", "acme", "--role", "admin",
                        "--password-stdin"], input="correct horse battery\n")
    yield server
    from webapp.extensions import limiter
    limiter.reset()


def test_the_rate_limit_message_says_when_to_retry_and_goes_away(watched, throttled):
    page = watched
    with throttled.app.app_context():
        registry_row(secret="s3cret", name="Cache", status="connected")
    sign_in(page, throttled)

    def check_now():
        settled(page)
        page.get_by_role("button", name="Actions for Cache").click()
        page.get_by_role("menuitem", name="Check now").click()

    check_now()
    expect(page.locator("#status-region")).to_contain_text("Checking Cache now")
    check_now()
    banner = page.locator("#request-error")
    expect(banner).to_contain_text("Try again in")
    expect(banner).to_contain_text("second")
    expect(banner).to_be_empty(timeout=8_000)
    assert [p for p in problems(page) if "429" not in p] == []
