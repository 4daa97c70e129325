"""Support in a real Chromium against a real docker-registry: find a failing registry by search
and status filter, open it, read the reason and history, Check now; then the org's admin sees
that support access in the audit log and filters the log to it."""

import shutil
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.browser import axe_violations, screenshot
from tests.support.factories import registry_row
from webapp.services import checks

pytestmark = pytest.mark.browser

SHOTS = Path("/work/wt/shots/i15")


def shot(page, name):
    path = screenshot(page, f"support-{name}")
    if SHOTS.parent.exists():  # a copy outside the repository for the report, when there is one
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


@pytest.fixture
def server(make_live_server, test_ca, htpasswd_registry):
    server = make_live_server(CHECK_EXECUTOR="threads", OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
                              REGISTRY_CA_BUNDLE=str(test_ca.cert_path), CHECK_TIMEOUT_SECONDS=5)
    runner = server.app.test_cli_runner()
    for slug, name in (("acme", "Acme Corp"), ("globex", "Globex")):
        runner.invoke(args=["org", "create", slug, "--name", name, "--plan", "enterprise"])
    runner.invoke(args=["user", "create", "admin@acme.test", "--org", "acme", "--role", "admin",
                        "--password-stdin"], input="correct horse battery\n")
    runner.invoke(args=["user", "create", "help@platform.test", "--support",
                        "--password-stdin"], input="correct horse battery\n")
    with server.app.app_context():
        for org, name, password in (("acme", "Build cache", "s3cret-alice"),
                                    ("acme", "Release cache", "wrong-password"),
                                    ("globex", "Globex mirror", "wrong-password")):
            registry_id = registry_row(org, secret=password, name=name,
                                       host=htpasswd_registry.host_port,
                                       namespace=uuid.uuid4().hex[:8]).id
            checks.check_registry(registry_id, "connect")
    return server


def sign_in(page, server, email):
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def settled(page):
    """Wait until no htmx request is in flight and nothing is being swapped."""
    # A function, not an expression: Playwright evals expressions, which our CSP forbids.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling,"
        " .htmx-added')"
    )


def result_rows(page):
    return page.locator("#support-results tbody tr")


def test_support_finds_a_failing_registry_checks_it_and_the_admin_sees_it(browser, page, server):
    sign_in(page, server, "help@platform.test")
    page.goto(server.url + "/support/")
    expect(result_rows(page)).to_have_count(3)

    page.get_by_label("Search").fill("acme")  # htmx, debounced: no button pressed
    expect(result_rows(page)).to_have_count(2)
    page.get_by_label("Status").select_option(label="Sign-in failed")
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page)).to_contain_text("Release cache")
    assert "q=acme" in page.url and "status=auth_failed" in page.url  # a link for the ticket
    assert axe_violations(page) == []
    shot(page, "search-1280")

    settled(page)
    result_rows(page).get_by_role("link", name="Release cache").click()
    expect(page.get_by_role("heading", name="Release cache", level=1)).to_be_visible()
    assert "/support/registries/" in page.url
    status = page.locator("#support-status")
    expect(status).to_contain_text("Sign-in failed")
    expect(status.locator(".status__reason")).not_to_be_empty()
    history = page.get_by_role("table", name="Recent checks")
    expect(history).to_contain_text("Sign-in failed")
    checks_before = history.locator("tbody tr").count()
    assert axe_violations(page) == []
    shot(page, "registry-1280")

    with page.expect_response(lambda answer: answer.url.endswith("/check")) as answer:
        page.get_by_role("button", name="Check now").click()
    assert answer.value.status == 200
    # The panel follows the check live (it polls while the check runs), then shows its outcome.
    done = page.locator("#support-status:not([hx-trigger])")
    expect(done).to_contain_text("Sign-in failed", timeout=15_000)
    shot(page, "registry-checked-1280")
    page.reload()
    expect(page.get_by_role("table", name="Recent checks").locator("tbody tr")).to_have_count(
        checks_before + 1)
    expect(page.get_by_role("table", name="Recent checks")).to_contain_text("support")
    assert page.csp_violations == []

    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = admin_context.new_page()
    try:
        sign_in(admin, server, "admin@acme.test")
        admin.goto(server.url + "/orgs/acme/settings/audit-log/")
        looks = admin.locator(".audit-event--support", has_text="viewed registry")
        expect(looks).to_have_count(1)  # once per support user, registry and hour
        expect(looks).to_contain_text("Support (help@platform.test) viewed registry Release cache")
        expect(admin.locator(".audit-event--support", has_text="checked registry")).to_have_count(1)
        admin.get_by_label("Action").select_option(label="Support access")
        expect(admin.locator(".audit-event")).to_have_count(1)
        expect(admin.locator(".audit-event")).to_contain_text("Support access")
        assert "action=support" in admin.url
        assert axe_violations(admin) == []
        shot(admin, "audit-log-filtered-1280")
    finally:
        admin_context.close()
