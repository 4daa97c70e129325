"""Short-lived pull tokens (issue 14) with real parts: the real docker-registry behind the tests'
token server, skopeo reading with `--registry-token`, the Docker Hub and GHCR fakes, and a realm
that trickles a byte a second."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.integration.test_pull_end_to_end import connect
from tests.support.apps import Client, make_config, signed_in
from tests.support.browser import start_live_server
from tests.support.factories import Factory, registry_row
from tests.support.fake_providers import (
    DOCKER_HUB_PASSWORD,
    DOCKER_HUB_USER,
    GHCR_CLASSIC_TOKEN,
    GHCR_USER,
)
from tests.support.token_server import HTTPSServer, Response
from webapp.extensions import db
from webapp.services import runner_tokens

API = "/api/v1/pull-credentials"


@pytest.fixture
def server(tmp_path, fake_docker_hub, fake_ghcr):
    server = start_live_server(make_config(
        f"sqlite:///{tmp_path / 'tokens.db'}", OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
        CHECK_TIMEOUT_SECONDS=10, PULL_TOKEN_TIMEOUT_SECONDS=5,
        DOCKER_HUB_REGISTRY_URL=fake_docker_hub.url, DOCKER_HUB_AUTH_URL=fake_docker_hub.auth_url,
        GHCR_URL=fake_ghcr.url, GITHUB_API_URL=fake_ghcr.api_url))
    Factory(server.app).org("acme", plan="enterprise")
    Factory(server.app).user("admin@acme.test", org="acme", role="admin")
    yield server
    server.stop()
    with server.app.app_context():
        db.engine.dispose()


@pytest.fixture
def runner(server) -> str:
    with server.app.app_context():
        token, _ = runner_tokens.create("fleet")
        db.session.commit()
    return token


def ask(server, runner: str, image: str, credential: str | None = "pull_token",
        timeout: float = 20) -> tuple[int, dict]:
    body = {"organization": "acme", "image": image}
    if credential:
        body["credential"] = credential
    request = urllib.request.Request(
        server.url + API, method="POST", data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {runner}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def pushed(token_registry, skopeo):
    """Two repositories on the token registry, and a pull-only user."""
    base = f"pt-{uuid.uuid4().hex[:8]}"
    mine, other = f"{base}/tool", f"{base}/other"
    for repo in (mine, other):
        assert skopeo.copy_test_image(token_registry, repo, "v1").ok
    username, password = f"puller-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(16)
    token_registry.add_user(username, password, actions=("pull",))
    return mine, other, username, password


def test_a_pull_token_reads_the_image_and_nothing_else(server, runner, token_registry, skopeo,
                                                       pushed, tmp_path):
    mine, other, username, password = pushed
    connect(server.app, token_registry, username, password, "Token registry")
    host = token_registry.host_port
    mark = token_registry.token_server.requests.mark()
    status, answer = ask(server, runner, f"{host}/{mine}:v1")
    assert status == 200, answer
    assert answer["credential"]["kind"] == "pull_token"
    assert answer["credential"]["expires_at"]
    assert answer["auths"] == {host: {"registrytoken": answer["token"]}}
    text = json.dumps(answer)
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    assert password not in text and basic not in text and '"password"' not in text
    # The token service was asked for exactly this repository, pull only.
    asked = token_registry.token_server.requests.since(mark)
    assert [r.param("scope") for r in asked if r.param("scope")] == [f"repository:{mine}:pull"]

    token, cert_dir = answer["token"], token_registry.cert_dir
    read = skopeo.run("inspect", "--registry-token", token, "--cert-dir", str(cert_dir),
                      f"docker://{host}/{mine}:v1")
    assert read.ok, read.output
    elsewhere = skopeo.run("inspect", "--registry-token", token, "--cert-dir", str(cert_dir),
                           f"docker://{host}/{other}:v1")
    assert not elsewhere.ok
    push = skopeo.run("copy", "--retry-times", "0", "--src-registry-token", token,
                      "--dest-registry-token", token, "--src-cert-dir", str(cert_dir),
                      "--dest-cert-dir", str(cert_dir), f"docker://{host}/{mine}:v1",
                      f"docker://{host}/{mine}:pushed")
    assert not push.ok

    # Served from the cache: no second exchange.
    mark = token_registry.token_server.requests.mark()
    again = ask(server, runner, f"{host}/{mine}:v2")
    assert again[0] == 200 and again[1]["token"] == token
    assert token_registry.token_server.requests.since(mark) == []

    # The password answer names its kind too.
    status, answer = ask(server, runner, f"{host}/{mine}:v1", credential=None)
    assert status == 200 and answer["credential"] == {"kind": "password", "expires_at": None}


def test_a_refused_exchange_is_502_and_auto_never_falls_back(server, runner, token_registry,
                                                             pushed):
    mine, _, username, password = pushed
    connect(server.app, token_registry, username, password, "Token registry")
    token_registry.token_server.remove_user(username)
    for credential in ("pull_token", "auto"):
        status, answer = ask(server, runner, f"{token_registry.host_port}/{mine}:v1", credential)
        assert status == 502, answer
        assert answer["error"] == "token_exchange_failed" and answer["reason"] == "auth_failed"
        assert password not in json.dumps(answer)


def test_a_basic_only_registry_is_409_and_auto_gets_the_password(server, runner,
                                                                 htpasswd_registry):
    username, password = f"basic-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(16)
    htpasswd_registry.add_user(username, password)
    connect(server.app, htpasswd_registry, username, password, "Basic registry")
    image = f"{htpasswd_registry.host_port}/team/tool:1"
    status, answer = ask(server, runner, image)
    assert status == 409 and answer["error"] == "pull_token_unsupported"
    status, answer = ask(server, runner, image, "auto")
    assert status == 200 and answer["credential"]["kind"] == "password"
    assert answer["auths"][htpasswd_registry.host_port]["password"] == password


def test_docker_hub_and_ghcr_see_the_service_and_scope_they_expect(server, runner,
                                                                   fake_docker_hub, fake_ghcr):
    with server.app.app_context():
        registry_row(secret=DOCKER_HUB_PASSWORD, kind="docker_hub", host="docker.io",
                     username=DOCKER_HUB_USER, name="Hub", ca_pem=fake_docker_hub.ca_pem,
                     status="connected")
        registry_row(secret=GHCR_CLASSIC_TOKEN, kind="github", host="ghcr.io", username=GHCR_USER,
                     name="GHCR", ca_pem=fake_ghcr.ca_pem, status="connected")
    mark = fake_docker_hub.auth_requests.mark()
    status, answer = ask(server, runner, f"docker.io/{DOCKER_HUB_USER}/private-app:v1")
    assert status == 200, answer
    asked = fake_docker_hub.auth_requests.since(mark)[-1]
    assert asked.param("service") == "registry.docker.io"
    assert asked.param("scope") == f"repository:{DOCKER_HUB_USER}/private-app:pull"
    assert list(answer["auths"]) == ["https://index.docker.io/v1/"]
    status, answer = ask(server, runner, "alpine")  # an official image: library/
    assert status == 200, answer
    assert fake_docker_hub.auth_requests.since(mark)[-1].param("scope") == \
        "repository:library/alpine:pull"

    mark = fake_ghcr.requests.mark()
    status, answer = ask(server, runner, f"ghcr.io/{GHCR_USER}/private-app:v1")
    assert status == 200, answer
    token_requests = [r for r in fake_ghcr.requests.since(mark) if r.path == "/token"]
    assert [(r.param("service"), r.param("scope")) for r in token_requests] == [
        ("ghcr.io", f"repository:{GHCR_USER}/private-app:pull")]
    # GHCR sends no expires_in: the token spec's 60 s.
    from datetime import datetime

    expires = datetime.fromisoformat(answer["credential"]["expires_at"])
    left = (expires - datetime.now(expires.tzinfo)).total_seconds()
    assert 50 < left <= 61


def test_a_trickling_realm_holds_no_thread_past_the_deadline(server, runner, test_ca,
                                                             misc_servers):
    trickle = misc_servers.trickle_server
    challenge = f'Bearer realm="{trickle.url}/token",service="slow"'
    registry = HTTPSServer(test_ca, lambda req: Response(
        401, [("WWW-Authenticate", challenge), ("Content-Type", "application/json")], b"{}"),
        name="slow-realm-registry").start()
    try:
        with server.app.app_context():
            registry_row(secret="s3cret", host=registry.host_port, name="Slow",
                         ca_pem=test_ca.cert_pem, status="connected")
        mark = trickle.requests.mark()
        results: list[tuple[float, int, dict]] = []

        def slow_call():
            started = time.monotonic()
            status, answer = ask(server, runner, f"{registry.host_port}/team/tool:1")
            results.append((time.monotonic() - started, status, answer))

        callers = [threading.Thread(target=slow_call) for _ in range(3)]
        for caller in callers:
            caller.start()
        time.sleep(0.5)
        # Meanwhile other runner calls answer at once.
        quick = time.monotonic()
        status, answer = ask(server, runner, f"{registry.host_port}/team/tool:1", "password")
        assert status == 200 and time.monotonic() - quick < 2
        for caller in callers:
            caller.join(15)
        assert len(results) == 3
        for elapsed, status, answer in results:
            assert status == 502 and answer["error"] == "token_exchange_failed", answer
            assert elapsed < 7, elapsed  # the 5 s deadline, and a little
        # Single-flight: the three callers shared one exchange.
        assert len(trickle.requests.since(mark)) == 1
    finally:
        registry.stop()


def test_the_detail_page_says_what_the_registry_hands_out(server, token_registry, pushed,
                                                           htpasswd_registry):
    _, _, username, password = pushed
    bearer = connect(server.app, token_registry, username, password, "Token registry")
    basic_user, basic_password = f"basic-{uuid.uuid4().hex[:6]}", secrets.token_urlsafe(16)
    htpasswd_registry.add_user(basic_user, basic_password)
    basic = connect(server.app, htpasswd_registry, basic_user, basic_password, "Basic registry")
    server.app.test_client_class = Client
    admin = signed_in(server.app, "admin@acme.test")
    base = "/orgs/acme/settings/infrastructure/container-registry"
    page = admin.get(f"{base}/{bearer}").get_data(as_text=True)
    assert "Pull tokens: yes, 300 s" in page  # the token server's expires_in
    page = admin.get(f"{base}/{basic}").get_data(as_text=True)
    assert "Password only" in page


def test_the_exchange_goes_through_the_outbound_guard(tmp_path, token_registry, pushed):
    """Without 127.0.0.1 in OUTBOUND_ALLOWED_NETWORKS, loopback is a blocked address: the
    exchange is refused before any byte leaves, as every outbound request is."""
    mine, _, username, password = pushed
    guarded = start_live_server(make_config(f"sqlite:///{tmp_path / 'guarded.db'}"))
    try:
        Factory(guarded.app).org("acme", plan="enterprise")
        with guarded.app.app_context():
            registry_row(secret=password, host=token_registry.host_port, username=username,
                         name="Guarded", ca_pem=token_registry.ca_pem, status="connected")
            token, _ = runner_tokens.create("fleet")
            db.session.commit()
        registry_mark = len(token_registry.token_server.requests)
        status, answer = ask(guarded, token, f"{token_registry.host_port}/{mine}:v1")
        assert status == 502 and answer["reason"] == "blocked", answer
        assert len(token_registry.token_server.requests) == registry_mark
    finally:
        guarded.stop()
        with guarded.app.app_context():
            db.engine.dispose()
