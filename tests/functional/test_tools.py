"""Settings > Private tools through the test client with CSRF on: add, rename, remove and Check
pull, as full pages and as htmx fragments; which registry each row pulls through. Check pull
against real registries is in tests/integration/test_pull_end_to_end.py."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.support.apps import Client, make_app, make_config
from tests.support.queries import counting_queries
from webapp.extensions import db
from webapp.models import AuditEvent, PrivateTool, Registry
from webapp.services import accounts, credentials
from webapp.services.vault import new_key_line

PAGE = "/orgs/acme/settings/private-tools/"


@pytest.fixture
def acme(make, auth):
    make.org("acme", plan="enterprise")
    auth.login(make.user("admin@acme.test", org="acme", role="admin"))


def add_registry(app, slug: str = "acme", *, host: str = "ghcr.io", namespace: str = "acme",
                 name: str = "Acme packages", kind: str = "github") -> str:
    with app.app_context():
        org = accounts.find_org(slug)
        registry = Registry(id=uuid.uuid4(), org_id=org.id, kind=kind, name=name,
                            name_key=name.lower(), host=host, namespace=namespace,
                            username="octocat", state="active", status="connected")
        credentials.store_secret(registry, "s3cret")
        db.session.add(registry)
        db.session.commit()
        return str(registry.id)


def add_tool(client, name: str, image: str, **kwargs):
    return client.post_form(PAGE, {"name": name, "image": image}, token_from=PAGE, **kwargs)


def tool_id(app, name: str) -> int:
    with app.app_context():
        return db.session.query(PrivateTool).filter_by(name=name).one().id


def row_of(page: str, tool: int) -> str:
    match = re.search(rf'<tr id="tool-{tool}".*?</tr>', page, re.S)
    assert match, f"no row for tool {tool}"
    return match.group(0)


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="field__error" id="{field}-error">([^<]*)</p>', page)
    return match.group(1) if match else ""


def actions(app) -> list[str]:
    with app.app_context():
        return [event.action for event in db.session.query(AuditEvent).order_by(AuditEvent.id)
                if event.action.startswith("tool.")]


def test_rows_show_the_registry_public_hosts_and_warnings(app, client, acme):
    registry_id = add_registry(app)
    add_tool(client, "Scanner", "ghcr.io/acme/scanner:1.4")
    add_tool(client, "Base", "ubuntu:22.04")
    add_tool(client, "Internal", "registry.example.com:5000/team/tool")
    page = client.get(PAGE).get_data(as_text=True)
    scanner = row_of(page, tool_id(app, "Scanner"))
    detail = f"/orgs/acme/settings/infrastructure/container-registry/{registry_id}"
    assert f'href="{detail}"><bdi>Acme packages</bdi></a>' in scanner
    assert "Connected" in scanner and "Matched host ghcr.io and namespace acme." in scanner
    assert "Not checked yet" in scanner and "Check pull" in scanner
    base = row_of(page, tool_id(app, "Base"))
    assert "Public — no credentials" in base and "Check pull" not in base
    internal = row_of(page, tool_id(app, "Internal"))
    assert "No registry — pulls will fail" in internal and "badge--warn" in internal
    assert "No connected registry for host registry.example.com:5000." in internal


def test_a_namespace_prefix_is_not_a_match(app, client, acme):
    add_registry(app, host="registry.example.com", namespace="acme")
    add_tool(client, "Evil", "registry.example.com/acme-evil/tool")
    row = row_of(client.get(PAGE).get_data(as_text=True), tool_id(app, "Evil"))
    assert "No registry — pulls will fail" in row
    assert "Registry for registry.example.com/acme does not cover acme-evil/tool." in row


def test_add_redirects_to_the_new_row_and_is_audited(app, client, acme):
    response = add_tool(client, "Scanner", "ghcr.io/acme/scanner:1.4")
    new_id = tool_id(app, "Scanner")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}?added={new_id}#tool-{new_id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="row--new"' in row_of(page, new_id)
    assert actions(app) == ["tool.added"]


def test_add_over_htmx_swaps_the_section(app, client, acme, hx):
    response = add_tool(client, "Scanner", "ghcr.io/acme/scanner:1.4", headers=hx)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert "<html" not in body and body.lstrip().startswith('<section id="tools"')
    assert 'class="row--new"' in row_of(body, tool_id(app, "Scanner"))
    assert 'value="Scanner"' not in body  # a fresh form


@pytest.mark.parametrize("name, image, field, message", [
    ("", "ghcr.io/acme/tool", "name", "Give the tool a name."),
    ("x" * 65, "ghcr.io/acme/tool", "name", "Keep the name to 64 characters or fewer."),
    ("Tool", "", "image", "Enter the image."),
    ("Tool", "Acme/Tool", "image",
     "That is not an image reference: repository name must be lowercase: &#39;Acme/Tool&#39;."),
    ("Tool", "ghcr.io/acme/tool:bad:tag", "image", "That is not an image reference: invalid tag"),
])
@pytest.mark.parametrize("partial", [False, True], ids=["page", "htmx"])
def test_add_errors_are_shown_beside_their_field(app, client, acme, name, image, field, message,
                                                 partial, hx):
    headers = hx if partial else {}
    response = add_tool(client, name, image, headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(body, field).startswith(message)
    assert ("<html" in body) == (not headers)
    with app.app_context():
        assert db.session.query(PrivateTool).count() == 0


def test_names_are_unique_per_org_ignoring_case(app, client, acme, make, hx):
    add_tool(client, "Scanner", "ghcr.io/acme/scanner")
    response = add_tool(client, "SCANNER", "ghcr.io/acme/other", headers=hx)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "name") == (
        "Another private tool already has this name.")
    make.org("other")
    with app.app_context():
        other = accounts.find_org("other")
        db.session.add(PrivateTool(org_id=other.id, name="Scanner", name_key="scanner",
                                   image="ubuntu"))
        db.session.commit()
        assert db.session.query(PrivateTool).count() == 2


def test_rename_in_place(app, client, acme, hx):
    add_tool(client, "Scanner", "ghcr.io/acme/scanner")
    add_tool(client, "Linter", "ghcr.io/acme/linter")
    tid = tool_id(app, "Scanner")
    form = client.get(f"{PAGE}{tid}/rename", headers=hx)
    body = form.get_data(as_text=True)
    assert form.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith(f'<tr id="tool-{tid}">') and 'value="Scanner"' in body
    clash = client.post_form(f"{PAGE}{tid}/rename", {"name": "linter"}, token_from=PAGE,
                             headers=hx)
    assert clash.status_code == 422
    assert field_error(clash.get_data(as_text=True), "name") == (
        "Another private tool already has this name.")
    renamed = client.post_form(f"{PAGE}{tid}/rename", {"name": "Scanner 2"}, token_from=PAGE,
                               headers=hx)
    assert renamed.status_code == 200
    assert 'class="table__name"><bdi class="truncate">Scanner 2</bdi></th>' in row_of(
        renamed.get_data(as_text=True), tid)
    cancel = client.get(f"{PAGE}{tid}/row", headers=hx).get_data(as_text=True)
    assert "Scanner 2" in row_of(cancel, tid)
    assert actions(app) == ["tool.added", "tool.added", "tool.renamed"]


def test_rename_without_javascript(app, client, acme):
    add_tool(client, "Scanner", "ghcr.io/acme/scanner")
    tid = tool_id(app, "Scanner")
    page = client.get(f"{PAGE}{tid}/rename").get_data(as_text=True)
    assert "<html" in page and "Rename private tool" in page
    empty = client.post_form(f"{PAGE}{tid}/rename", {"name": " "}, token_from=PAGE)
    assert empty.status_code == 422 and "<html" in empty.get_data(as_text=True)
    done = client.post_form(f"{PAGE}{tid}/rename", {"name": "Renamed"}, token_from=PAGE)
    assert done.status_code == 303 and done.headers["Location"] == f"{PAGE}#tool-{tid}"
    assert tool_id(app, "Renamed") == tid


@pytest.mark.parametrize("partial", [False, True], ids=["page", "htmx"])
def test_remove(app, client, acme, partial, hx):
    headers = hx if partial else {}
    add_tool(client, "Scanner", "ghcr.io/acme/scanner")
    tid = tool_id(app, "Scanner")
    response = client.post_form(f"{PAGE}{tid}/remove", token_from=PAGE, headers=headers)
    if headers:
        assert response.status_code == 200 and response.get_data(as_text=True) == ""
    else:
        assert response.status_code == 303 and response.headers["Location"] == PAGE
    with app.app_context():
        assert db.session.query(PrivateTool).count() == 0
    assert actions(app) == ["tool.added", "tool.removed"]


def test_members_manage_tools_too(app, client, make, auth):
    make.org("acme")
    auth.login(make.user("member@acme.test", org="acme", role="member"))
    assert add_tool(client, "Scanner", "ghcr.io/acme/scanner").status_code == 303
    tid = tool_id(app, "Scanner")
    for action, data in [("rename", {"name": "S"}), ("check", {}), ("remove", {})]:
        response = client.post_form(f"{PAGE}{tid}/{action}", data, token_from=PAGE)
        assert response.status_code == 303, action


def test_another_orgs_tool_is_404(app, client, acme, make):
    make.org("other")
    with app.app_context():
        other = accounts.find_org("other")
        tool = PrivateTool(org_id=other.id, name="Theirs", name_key="theirs", image="ubuntu")
        db.session.add(tool)
        db.session.commit()
        theirs = tool.id
    for method, path in [("GET", "rename"), ("GET", "row"), ("POST", "rename"),
                         ("POST", "check"), ("POST", "remove")]:
        token = client.csrf_token(PAGE)
        response = client.open(f"{PAGE}{theirs}/{path}", method=method,
                                data={"csrf_token": token, "name": "Mine"})
        assert response.status_code == 404, (method, path)
    with app.app_context():
        assert db.session.get(PrivateTool, theirs).name == "Theirs"


def test_check_pull_without_a_registry_shows_the_failure(app, client, acme, hx):
    add_tool(client, "Internal", "registry.example.com:5000/team/tool")
    tid = tool_id(app, "Internal")
    response = client.post_form(f"{PAGE}{tid}/check", token_from=PAGE, headers=hx)
    row = response.get_data(as_text=True)
    assert response.status_code == 200 and row.lstrip().startswith(f'<tr id="tool-{tid}"')
    assert "No registry — pulls will fail" in row
    with app.app_context():
        tool = db.session.get(PrivateTool, tid)
        assert (tool.pull_status, tool.version) == ("no_registry", 1)
        check = db.session.query(AuditEvent).filter_by(action="tool.pull_checked").one()
        assert check.details["outcome"] == "no_registry"


def test_check_pull_with_unreadable_credentials_makes_no_request(app, client, acme,
                                                                 database_url, monkeypatch, hx):
    add_registry(app)
    add_tool(client, "Scanner", "ghcr.io/acme/scanner")
    tid = tool_id(app, "Scanner")
    rekeyed = make_app(make_config(database_url, CREDENTIAL_KEYS=new_key_line("t1")))
    rekeyed.test_client_class = Client
    other = rekeyed.test_client()
    other.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})

    def no_network(*args, **kwargs):
        raise AssertionError("a pull check with unreadable credentials must not probe")

    monkeypatch.setattr("webapp.services.pull_credentials.probe_manifest", no_network)
    response = other.post_form(f"{PAGE}{tid}/check", token_from=PAGE, headers=hx)
    assert response.status_code == 200
    assert "Credentials unreadable" in row_of(response.get_data(as_text=True), tid)
    with rekeyed.app_context():
        db.engine.dispose()


def test_a_team_plan_org_pulls_through_no_registry(app, client, make, auth):
    make.org("acme", plan="team")
    auth.login(make.user("admin@acme.test", org="acme"))
    add_registry(app)
    add_tool(client, "Scanner", "registry.example.com/acme/scanner")
    page = client.get(PAGE).get_data(as_text=True)
    assert "Pulling through private registries is an Enterprise feature" in page
    assert "Acme packages" not in page
    assert "No registry — pulls will fail" in row_of(page, tool_id(app, "Scanner"))


def test_the_page_query_count_does_not_grow_with_rows(app, client, acme):
    add_registry(app)
    add_registry(app, host="registry.example.com:5000", namespace="", name="Internal",
                 kind="docker_registry")
    images = ["ghcr.io/acme/a", "registry.example.com:5000/b", "ubuntu", "quay.io/x/y",
              "registry.example.com/nowhere/z"]

    def queries_for(count: int) -> int:
        with app.app_context():
            db.session.query(PrivateTool).delete()
            db.session.commit()
        for n in range(count):
            add_tool(client, f"tool {n}", images[n % len(images)])
        with counting_queries(app) as statements:
            assert client.get(PAGE).status_code == 200
        return len(statements)

    assert queries_for(5) == queries_for(25)


def test_names_and_images_are_escaped(app, client, acme):
    add_tool(client, '"><img src=x onerror=alert(1)>', "ghcr.io/acme/tool")
    page = client.get(PAGE).get_data(as_text=True)
    assert "<img src=x" not in page and "&#34;&gt;&lt;img src=x" in page
