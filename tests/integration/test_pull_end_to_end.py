"""Issue 8's Show, with real components: a real docker-registry (TLS + htpasswd) holding an
image the test pushed with skopeo, connected through the service layer; a private tool that
"pulls" after Check pull; a runner token from the CLI; the runner API's answer written to an
auth file that skopeo pulls with; then the registry removed, and both the API and the tool say
so. Also the other Check pull outcomes against real registries."""

from __future__ import annotations

import json
import re
import secrets
import uuid

import pytest

from tests.support.apps import Client, build_app
from tests.support.factories import Factory
from webapp.extensions import db
from webapp.models import PrivateTool, Registry
from webapp.registry_client.address import parse_registry_url
from webapp.services import accounts, checks, credentials, registries

PAGE = "/orgs/acme/settings/private-tools/"
API = "/api/v1/pull-credentials"


@pytest.fixture
def pull_app(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'pull.db'}",
                    OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
                                 CHECK_TIMEOUT_SECONDS=10)
    make = Factory(app)
    make.org("acme", plan="enterprise")
    make.user("admin@acme.test", org="acme", role="admin")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def admin(pull_app) -> Client:
    client = pull_app.test_client()
    client.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})
    return client  # type: ignore[return-value]


def connect(app, registry, username: str, password: str, name: str,
            namespace: str = "") -> uuid.UUID:
    """Connect `registry` as the wizard does: a draft, a real check, then active."""
    address = parse_registry_url(registry.url)
    with app.app_context():
        org = accounts.find_org("acme")
        user = accounts.find_user("admin@acme.test")
        details = registries.RegistryDetails(
            kind="docker_registry", name=name, scheme=address.scheme, host=address.netloc,
            namespace=namespace, username=username, secret=password, ca_certificate=registry.ca_pem,
        )
        draft = registries.save_draft(org, user, details, uuid.uuid4())
        db.session.commit()
        registry_id = draft.id
        check = checks.check_registry(registry_id, "connect")
        assert check is not None
        row = db.session.get(Registry, registry_id)
        registries.activate(row, row.version)
        db.session.commit()
        return registry_id


def add_tool(client: Client, name: str, image: str) -> int:
    response = client.post_form(PAGE, {"name": name, "image": image}, token_from=PAGE)
    assert response.status_code == 303, response.get_data(as_text=True)
    with client.application.app_context():
        return db.session.query(PrivateTool).filter_by(name=name).one().id


def check_pull(client: Client, tool_id: int, hx: dict[str, str]) -> str:
    """Check pull as the row's menu asks for it (htmx): the row, once it finished (inline)."""
    response = client.post_form(f"{PAGE}{tool_id}/check", token_from=PAGE, headers=hx)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def badge(row: str) -> list[str]:
    """The badge labels of a row, in order: the registry's status, then the pull check's."""
    return re.findall(r'<span class="badge[^"]*">(?:<span[^>]*></span>)*([^<]+)</span>', row)


def test_a_private_tool_pulls_through_the_connected_registry(pull_app, admin, htpasswd_registry,
                                                             skopeo, tmp_path, hx):
    repo = f"e2e-{uuid.uuid4().hex[:8]}/tool"
    pushed = skopeo.copy_test_image(htpasswd_registry, repo, "v1")
    assert pushed.ok, pushed.output
    username, password = f"puller-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(16)
    htpasswd_registry.add_user(username, password)
    registry_id = connect(pull_app, htpasswd_registry, username, password, "Build registry")
    with pull_app.app_context():
        assert db.session.get(Registry, registry_id).status == "connected"

    image = f"{htpasswd_registry.host_port}/{repo}:v1"
    tool_id = add_tool(admin, "Builder", image)
    row = check_pull(admin, tool_id, hx)
    assert "Build registry</bdi></a>" in row
    assert badge(row) == ["Connected", "Pulls"]

    created = pull_app.test_cli_runner().invoke(args=["runner-token", "create", "e2e-runner", "--platform"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    runner = pull_app.test_client()
    answer = runner.post(API, json={"organization": "acme", "image": image},
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["registry"]["id"] == str(registry_id)
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps({"auths": answer.get_json()["auths"]}))

    without = skopeo.inspect(image, authfile=skopeo.authfile, cert_dir=htpasswd_registry.cert_dir)
    assert not without.ok  # the registry wants credentials: the auth file is what makes it pull
    pulled = skopeo.inspect(image, authfile=authfile, cert_dir=htpasswd_registry.cert_dir)
    assert pulled.ok, pulled.output
    assert pulled.digest == pushed.digest

    with pull_app.app_context():
        registry = db.session.get(Registry, registry_id)
        registry.state = "removed"
        credentials.forget_secret(registry)
        db.session.commit()
    gone = runner.post(API, json={"organization": "acme", "image": image},
                       headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 404
    assert gone.get_json()["error"] == "no_matching_registry"
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Build registry" not in page and "No registry — pulls will fail" in page
    row = check_pull(admin, tool_id, hx)
    assert "No registry — pulls will fail" in row
    with pull_app.app_context():
        assert db.session.get(PrivateTool, tool_id).pull_status == "no_registry"


def test_check_pull_outcomes_agree_with_skopeo(pull_app, admin, htpasswd_registry, token_registry,
                                               skopeo, hx):
    """not found, no access (signed in but not allowed to pull), and the registry's failure."""
    repo = f"outcomes-{uuid.uuid4().hex[:8]}/tool"
    assert skopeo.copy_test_image(htpasswd_registry, repo, "v1").ok
    assert skopeo.copy_test_image(token_registry, repo, "v1").ok
    connect(pull_app, htpasswd_registry, htpasswd_registry.username, htpasswd_registry.password,
            "Basic registry")
    outsider, outsider_password = f"no-pull-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(12)
    token_registry.add_user(outsider, outsider_password, actions=())
    connect(pull_app, token_registry, outsider, outsider_password, "Token registry")

    missing = add_tool(admin, "Missing", f"{htpasswd_registry.host_port}/{repo}:v2")
    assert badge(check_pull(admin, missing, hx))[-1] == "Not found"
    assert not skopeo.inspect(f"{htpasswd_registry.host_port}/{repo}:v2",
                              creds=(htpasswd_registry.username, htpasswd_registry.password),
                              cert_dir=htpasswd_registry.cert_dir).ok

    refused = add_tool(admin, "Refused", f"{token_registry.host_port}/{repo}:v1")
    assert badge(check_pull(admin, refused, hx))[-1] == "No access"
    assert not skopeo.inspect(f"{token_registry.host_port}/{repo}:v1",
                              creds=(outsider, outsider_password),
                              cert_dir=token_registry.cert_dir).ok

    rotated = "rotated-" + outsider
    htpasswd_registry.add_user(rotated, "old-password")
    connect(pull_app, htpasswd_registry, rotated, "old-password", "Stale", repo.split("/")[0])
    htpasswd_registry.add_user(rotated, "new-password")  # changed on the registry since
    failing = add_tool(admin, "Failing", f"{htpasswd_registry.host_port}/{repo}:v1")
    row = check_pull(admin, failing, hx)
    assert "Stale</bdi></a>" in row and badge(row)[-1] == "Sign-in failed"


def test_the_sweep_checks_pulls_of_tools_on_connected_registries(pull_app, admin,
                                                               htpasswd_registry, skopeo):
    """The periodic sweep finds the case a login check misses: credentials that sign in but
    cannot read one image."""
    from concurrent.futures import wait

    from webapp.services import sweep

    repo = f"sweep/{secrets.token_hex(3)}"
    assert skopeo.copy_test_image(htpasswd_registry, repo, "v1").ok
    connect(pull_app, htpasswd_registry, "alice", "s3cret-alice", "Sweep registry", namespace="sweep")
    present = add_tool(admin, "Present", f"{htpasswd_registry.host_port}/{repo}:v1")
    absent = add_tool(admin, "Absent", f"{htpasswd_registry.host_port}/sweep/missing:v1")
    with pull_app.app_context():
        report = sweep.run_due()
        done, _ = wait(report.pull_checks, timeout=30)
        assert len(done) == 2
        outcomes = {t.name: t.pull_status for t in db.session.query(PrivateTool)}
        again = sweep.run_due()  # checked just now: not due again
        assert again.pull_checks == []
    assert outcomes["Present"] == "pulls"
    assert outcomes["Absent"] in {"not_found", "no_access"}
    assert present != absent
