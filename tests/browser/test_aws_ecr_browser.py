"""The AWS ECR wizard in a real Chromium: the IAM role way by keyboard only, the access key way
without JavaScript, both axe-clean, against moto's AWS and a real docker-registry standing in
for the ECR host. Screenshots at 1280 and 360 px go to SHOTS (outside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.aws import enroll_ecr_password
from tests.support.browser import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.allow_hosts(["127.0.0.1"])]

REGISTRIES = "/orgs/acme/settings/infrastructure/container-registry/"
ACCOUNT = "444455556666"
HOST = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/registry-pull"
SHOTS = Path(os.environ.get("ECR_SHOTS_DIR", "/work/wt/shots/i18"))


def shoot(page, name: str) -> None:
    if not SHOTS.parent.exists():
        return  # not on the team's machine: nothing to keep
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def server(make_live_server, aws_env, htpasswd_registry):
    enroll_ecr_password(htpasswd_registry, f"{ACCOUNT}-auth-token")  # what moto mints
    server = make_live_server(
        CHECK_EXECUTOR="threads",
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
        REGISTRY_CA_BUNDLE=htpasswd_registry.ca_file,
        CHECK_TIMEOUT_SECONDS=8,
        ECR_REGISTRY_URL=htpasswd_registry.url,
        AWS_PLATFORM_ROLE_ARN=aws_env.platform.arn,
    )
    runner = server.app.test_cli_runner()
    runner.invoke(args=["org", "create", "acme", "--name", "Acme Corp", "--plan", "enterprise"])
    runner.invoke(args=["user", "create", "admin@acme.test", "--org", "acme", "--role", "admin",
                        "--password-stdin"], input="correct horse battery\n")
    return server


def sign_in(page, server):
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill("admin@acme.test")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_label("Password").press("Enter")
    page.wait_for_url("**" + REGISTRIES)


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the focus is on `selector` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_iam_role_by_keyboard_only(page, server):
    sign_in(page, server)
    page.goto(server.url + REGISTRIES + "new")
    tab_to(page, "input[name=kind]")
    for _ in range(4):  # arrow keys move the choice within the radio group
        if page.evaluate("document.activeElement.value") == "aws_ecr":
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == "aws_ecr"
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Connect AWS ECR")).to_be_visible()
    assert axe_violations(page) == []
    external_id = page.locator("#aws-external-id").inner_text()
    assert external_id.startswith("rc-")
    expect(page.locator("#aws-trust-policy")).to_contain_text(external_id)
    expect(page.get_by_role("button", name="Copy trust policy")).to_be_visible()
    shoot(page, "step2-role-empty")

    tab_to(page, "input[name=name]")
    page.keyboard.type("Production ECR")
    tab_to(page, "input[name=registry_url]")
    page.keyboard.type(f"{HOST}/team")
    tab_to(page, "input[name=role_arn]")
    page.keyboard.type(ROLE_ARN)
    tab_to(page, "button[name=refresh]")
    page.keyboard.press("Enter")  # Update policies: account and region read from the URL
    expect(page.locator("#registry_url-read")).to_contain_text(ACCOUNT)
    expect(page.locator("#registry_url-read")).to_contain_text("eu-west-1")
    expect(page.locator("#aws-permissions-policy")).to_contain_text(
        f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/team/*")
    assert page.locator("#aws-external-id").inner_text() == external_id  # never changes
    assert axe_violations(page) == []
    shoot(page, "step2-role-filled")
    tab_to(page, "button.btn--primary")
    page.keyboard.press("Enter")
    page.wait_for_url("**" + REGISTRIES + "?added=*", timeout=20_000)
    row = page.locator("#registry-table tr", has_text="Production ECR")
    expect(row).to_contain_text("Connected")
    assert axe_violations(page) == []
    shoot(page, "list-connected")


def test_access_key_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, server)
        page.goto(server.url + REGISTRIES + "new")
        page.get_by_text("AWS ECR", exact=True).click()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Connect AWS ECR")).to_be_visible()
        page.get_by_label("Access key", exact=True).check()
        # Only the chosen way shows (CSS), and no copy button without JS.
        expect(page.get_by_label("Role ARN")).to_be_hidden()
        expect(page.get_by_role("button", name="Copy permissions policy")).to_be_hidden()
        page.get_by_label("Name", exact=True).fill("Keyed ECR")
        page.get_by_label("Registry URL").fill("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil")
        page.get_by_label("Access key ID").fill("AKIAEXAMPLEKEY000001")
        page.get_by_label("Secret access key").fill("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        page.get_by_role("button", name="Connect").click()
        expect(page.locator("#registry_url-error")).to_contain_text("not an AWS ECR")
        shoot(page, "step2-key-error")  # (axe needs JavaScript: see the keyboard test)
        page.get_by_label("Registry URL").fill(HOST)
        page.get_by_label("Secret access key").fill("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        page.get_by_role("button", name="Connect").click()
        for _ in range(30):
            if "?added=" in page.url:
                break
            page.wait_for_timeout(500)
            page.get_by_role("link", name="Refresh").click()
        assert "?added=" in page.url
        expect(page.locator("#registry-table tr", has_text="Keyed ECR")).to_contain_text(
            "Connected")
        assert "wJalrXUtnFEMI" not in page.content()
    finally:
        context.close()
