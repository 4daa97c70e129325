"""Issue 19's end-to-end Show, with real components: a script with a manage token connects a
real docker-registry (TLS + htpasswd) through the REST API, a pull token fetches credentials
for an image in it from the runner API, skopeo pulls with them, the script removes the
registry, and the pull token then gets 404. Both tokens come from the command line."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest

from tests.support.apps import build_app
from tests.support.factories import Factory
from webapp.extensions import db


@pytest.fixture
def api_app(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'api.db'}",
                    OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32", CHECK_TIMEOUT_SECONDS=10)
    Factory(app).org("acme", plan="enterprise")
    yield app
    with app.app_context():
        db.engine.dispose()


def cli_token(app, name: str, *options: str) -> str:
    created = app.test_cli_runner().invoke(
        args=["runner-token", "create", name, "--org", "acme", *options])
    assert created.exit_code == 0, created.output
    return created.stdout.strip().splitlines()[0]


def test_a_script_connects_a_registry_a_runner_pulls_through_it_then_it_is_removed(
        api_app, htpasswd_registry, skopeo, tmp_path):
    repo = f"api-e2e-{uuid.uuid4().hex[:8]}/tool"
    pushed = skopeo.copy_test_image(htpasswd_registry, repo, "v1")
    assert pushed.ok, pushed.output
    username, password = f"robot-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(16)
    htpasswd_registry.add_user(username, password)
    manage = cli_token(api_app, "terraform", "--permission", "read", "--permission", "manage")
    pull = cli_token(api_app, "runner")
    script, runner = api_app.test_client(), api_app.test_client()
    as_script = {"Authorization": f"Bearer {manage}"}

    created = script.post("/api/v1/registries", headers={**as_script, "Idempotency-Key": repo},
                          json={"kind": "docker_registry", "name": "Build registry",
                                "registry_url": htpasswd_registry.url, "username": username,
                                "password": password,
                                "ca_certificate": htpasswd_registry.ca_pem})
    assert created.status_code == 202, created.get_data(as_text=True)
    location = created.headers["Location"]
    polled = script.get(location, headers=as_script)  # the check ran inline in tests
    assert polled.get_json()["state"] == "active", polled.get_json()
    assert polled.get_json()["status"] == "connected"
    assert password not in created.get_data(as_text=True) + polled.get_data(as_text=True)

    image = f"{htpasswd_registry.host_port}/{repo}:v1"
    answer = runner.post("/api/v1/pull-credentials", json={"image": image},
                         headers={"Authorization": f"Bearer {pull}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps({"auths": answer.get_json()["auths"]}))
    pulled = skopeo.inspect(image, authfile=authfile, cert_dir=htpasswd_registry.cert_dir)
    assert pulled.ok, pulled.output
    assert pulled.digest == pushed.digest

    # The pull token reads nothing else; the manage token fetches no credentials.
    assert script.post("/api/v1/pull-credentials", json={"image": image},
                       headers=as_script).status_code == 403
    assert runner.get(location, headers={"Authorization": f"Bearer {pull}"}).status_code == 403

    removed = script.delete(location, headers={**as_script, "If-Match": polled.headers["ETag"]})
    assert removed.status_code == 204
    gone = runner.post("/api/v1/pull-credentials", json={"image": image},
                       headers={"Authorization": f"Bearer {pull}"})
    assert gone.status_code == 404
    assert gone.get_json()["error"] == "no_matching_registry"
    assert script.get(location, headers=as_script).status_code == 404
