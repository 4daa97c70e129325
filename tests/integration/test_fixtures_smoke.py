"""Smoke tests proving the registry harness fixtures are real (and clean up after themselves).

Run: PYTHONPATH=. .venv/bin/pytest -q -W error -p tests.support.registry_fixtures \
     tests/integration/test_fixtures_smoke.py
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import fake_providers as fp
from tests.support.pki import TestCA
from tests.support.registries import (
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    RunningRegistry,
    live_children,
    registry_process,
)
from tests.support.skopeo import Skopeo, build_oci_layout


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def _port_open(host_port: str) -> bool:
    host, port = host_port.rsplit(":", 1)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def _jwt_parts(token: str) -> tuple[dict, dict]:
    def dec(part: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    header, claims, _sig = token.split(".")
    return dec(header), dec(claims)


# -- real registries + skopeo ------------------------------------------------------------------


def test_skopeo_login_htpasswd_registry(
    skopeo: Skopeo, htpasswd_registry: RunningRegistry, registry_harness_dir: Path
) -> None:
    good = skopeo.login(htpasswd_registry, DEFAULT_USER, DEFAULT_PASSWORD)
    assert good.ok, good.output
    assert "Login Succeeded" in good.output
    assert htpasswd_registry.host_port in json.loads(skopeo.authfile.read_text())["auths"]
    bad = skopeo.login(
        htpasswd_registry, DEFAULT_USER, "wrong-password", authfile=skopeo.home / "other-auth.json"
    )
    assert not bad.ok
    assert "invalid username/password" in bad.output
    assert "wrong-password" not in " ".join(bad.args)


def test_htpasswd_registry_add_user(
    htpasswd_registry: RunningRegistry, http: requests.Session
) -> None:
    url = f"{htpasswd_registry.url}/v2/"
    r = http.get(url, verify=htpasswd_registry.ca_file)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="test-basic-realm"'
    assert (
        http.get(url, auth=("smoke-bob", "pw-bob"), verify=htpasswd_registry.ca_file).status_code
        == 401
    )
    htpasswd_registry.add_user("smoke-bob", "pw-bob")
    assert (
        http.get(url, auth=("smoke-bob", "pw-bob"), verify=htpasswd_registry.ca_file).status_code
        == 200
    )
    assert (
        http.get(
            url, auth=(DEFAULT_USER, DEFAULT_PASSWORD), verify=htpasswd_registry.ca_file
        ).status_code
        == 200
    )


def test_skopeo_login_token_registry(skopeo: Skopeo, token_registry: RunningRegistry) -> None:
    ts = token_registry.token_server
    assert ts is not None and ts.port != token_registry.port
    mark = ts.requests.mark()
    good = skopeo.login(token_registry, DEFAULT_USER, DEFAULT_PASSWORD)
    assert good.ok, good.output
    bad = skopeo.login(
        token_registry, DEFAULT_USER, "wrong-password", authfile=skopeo.home / "other-auth.json"
    )
    assert not bad.ok
    assert "invalid username/password" in bad.output
    seen = ts.requests.since(mark)
    logins = [r for r in seen if r.path == "/token" and r.param("account") == DEFAULT_USER]
    assert len(logins) >= 2, seen
    assert all(r.auth_scheme == "Basic" and "scope" not in r.query for r in logins)
    assert all(r.param("service") == "test-registry" for r in logins)
    # nothing secret was recorded
    assert DEFAULT_PASSWORD not in repr(seen) and "authorization" not in {
        h for r in seen for h in r.headers
    }


def test_token_server_jwt_shape(token_registry: RunningRegistry, http: requests.Session) -> None:
    ts = token_registry.token_server
    assert ts is not None
    r = http.get(
        ts.realm,
        params={
            "service": "test-registry",
            "scope": "repository:smoke/jwt:pull,push registry:catalog:*",
        },
        auth=(DEFAULT_USER, DEFAULT_PASSWORD),
        verify=token_registry.ca_file,
    )
    assert r.status_code == 200
    body = r.json()
    assert (
        set(body) == {"token", "access_token", "expires_in", "issued_at"}
        and body["expires_in"] == 300
    )
    header, claims = _jwt_parts(body["token"])
    assert header["typ"] == "JWT" and header["alg"] == "ES256"
    base64.b64decode(header["x5c"][0], validate=True)  # standard base64
    assert (
        claims["aud"] == "test-registry"
        and claims["iss"] == "test-token-issuer"
        and claims["sub"] == DEFAULT_USER
    )
    assert claims["access"] == [
        {"type": "repository", "name": "smoke/jwt", "actions": ["pull", "push"]}
    ]
    ok = http.get(
        f"{token_registry.url}/v2/",
        headers={"Authorization": f"Bearer {body['token']}"},
        verify=token_registry.ca_file,
    )
    assert ok.status_code == 200
    anon = http.get(
        ts.realm,
        params={"service": "test-registry", "scope": "repository:smoke/jwt:pull"},
        verify=token_registry.ca_file,
    )
    assert anon.status_code == 200 and _jwt_parts(anon.json()["token"])[1]["access"] == []
    bad = http.get(
        ts.realm,
        params={"service": "test-registry"},
        auth=(DEFAULT_USER, "nope"),
        verify=token_registry.ca_file,
    )
    assert bad.status_code == 401 and bad.json() == {"details": "incorrect username or password"}
    expired, _ = ts.make_token(DEFAULT_USER, [], lifetime=-120)
    r = http.get(
        f"{token_registry.url}/v2/",
        headers={"Authorization": f"Bearer {expired}"},
        verify=token_registry.ca_file,
    )
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "registry_fixture", ["htpasswd_registry", "token_registry", "open_registry"]
)
def test_copy_then_inspect(
    registry_fixture: str, skopeo: Skopeo, request: pytest.FixtureRequest
) -> None:
    registry: RunningRegistry = request.getfixturevalue(registry_fixture)
    repo = f"smoke/{registry.mode}"
    expected = build_oci_layout(skopeo.home / "expected-layout", "v1").manifest_digest
    mark = registry.token_server.requests.mark() if registry.token_server else 0
    pushed = skopeo.copy_test_image(registry, repo, "v1")
    assert pushed.ok, pushed.output
    assert pushed.digest == expected
    creds = (registry.username, registry.password) if registry.username else None
    info = skopeo.inspect(
        f"{registry.host_port}/{repo}:v1", creds=creds, cert_dir=registry.cert_dir
    )
    assert info.ok, info.output
    assert info.digest == expected
    assert info.json()["Name"] == f"{registry.host_port}/{repo}"
    if registry.token_server:
        scopes = {r.param("scope") for r in registry.token_server.requests.since(mark)}
        assert f"repository:{repo}:pull,push" in scopes and f"repository:{repo}:pull" in scopes
    if registry.username:
        anonymous = skopeo.inspect(f"{registry.host_port}/{repo}:v1", cert_dir=registry.cert_dir)
        assert not anonymous.ok


def test_untrusted_ca_is_rejected(
    open_registry: RunningRegistry, untrusted_ca: TestCA, http: requests.Session
) -> None:
    assert http.get(f"{open_registry.url}/v2/", verify=open_registry.ca_file).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        http.get(f"{open_registry.url}/v2/", verify=str(untrusted_ca.cert_path))


def test_registry_process_lifecycle(test_ca: TestCA, registry_harness_dir: Path) -> None:
    """What every registry fixture finalizer does: process gone, port closed, temp dir removed."""
    with registry_process("token", test_ca, workdir=registry_harness_dir) as reg:
        pid, directory, ts = reg.pid, reg.directory, reg.token_server
        assert ts is not None
        assert pid in [p for p, _ in live_children()]
        assert _port_open(reg.host_port) and _port_open(ts.host_port)
        host_ports = (reg.host_port, ts.host_port)
    assert pid not in [p for p, _ in live_children()]
    assert not any(_port_open(hp) for hp in host_ports)
    assert not directory.exists()
    assert not ts.running


# -- fakes -------------------------------------------------------------------------------------


def test_fake_docker_hub_challenge_and_token(
    fake_docker_hub: fp.FakeDockerHub, http: requests.Session
) -> None:
    hub, verify = fake_docker_hub, fake_docker_hub.ca_file
    r = http.get(f"{hub.url}/v2/", verify=verify, allow_redirects=False)
    assert r.status_code == 401
    assert (
        r.headers["WWW-Authenticate"]
        == f'Bearer realm="{hub.auth_url}/token",service="registry.docker.io"'
    )
    assert hub.auth.port != hub.registry.port
    bad = http.get(
        hub.realm,
        params={"service": "registry.docker.io", "account": "hubuser"},
        auth=("hubuser", "nope"),
        verify=verify,
    )
    assert bad.status_code == 401 and bad.json() == {"details": "incorrect username or password"}
    tok = http.get(
        hub.realm,
        params={
            "service": "registry.docker.io",
            "account": fp.DOCKER_HUB_USER,
            "scope": "repository:hubuser/private-app:pull",
        },
        auth=(fp.DOCKER_HUB_USER, fp.DOCKER_HUB_PAT),
        verify=verify,
    )
    assert tok.status_code == 200
    token = tok.json()["token"]
    assert tok.json()["expires_in"] == 300 and tok.json()["access_token"] == token
    bearer = {"Authorization": f"Bearer {token}"}
    assert http.get(f"{hub.url}/v2/", headers=bearer, verify=verify).status_code == 200
    head = http.head(
        f"{hub.url}/v2/hubuser/private-app/manifests/latest", headers=bearer, verify=verify
    )
    assert head.status_code == 200 and head.headers["Docker-Content-Digest"].startswith("sha256:")
    other = http.head(
        f"{hub.url}/v2/library/alpine/manifests/latest", headers=bearer, verify=verify
    )
    assert (
        other.status_code == 401
        and 'error="insufficient_scope"' in other.headers["WWW-Authenticate"]
    )
    assert [r.auth_scheme for r in hub.auth_requests] == ["Basic", "Basic"]
    hub.rate_limited = True
    limited = http.get(f"{hub.url}/v2/", verify=verify)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "120"
    assert limited.headers["Content-Type"].startswith("text/plain") and "rate limit" in limited.text


def test_fake_ghcr_and_github_api(fake_ghcr: fp.FakeGHCR, http: requests.Session) -> None:
    verify = fake_ghcr.ca_file
    r = http.get(f"{fake_ghcr.url}/v2/", verify=verify)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == (
        f'Bearer realm="{fake_ghcr.url}/token",service="ghcr.io",scope="repository:user/image:pull"'
    )
    for password in ("nope", fp.GHCR_FINE_GRAINED_TOKEN, fp.GHCR_NO_PACKAGES_TOKEN):
        bad = http.get(
            fake_ghcr.realm,
            params={"service": "ghcr.io"},
            auth=(fp.GHCR_USER, password),
            verify=verify,
        )
        assert bad.status_code == 403 and bad.json() == {
            "errors": [{"code": "DENIED", "message": "denied"}]
        }
    good = http.get(
        fake_ghcr.realm,
        params={"service": "ghcr.io"},
        auth=(fp.GHCR_USER, fp.GHCR_CLASSIC_TOKEN),
        verify=verify,
    )
    assert good.status_code == 200 and list(good.json()) == ["token"]
    assert (
        http.get(
            f"{fake_ghcr.url}/v2/",
            headers={"Authorization": f"Bearer {good.json()['token']}"},
            verify=verify,
        ).status_code
        == 200
    )

    api = f"{fake_ghcr.api_url}/user"
    classic = http.get(
        api, headers={"Authorization": f"token {fp.GHCR_CLASSIC_TOKEN}"}, verify=verify
    )
    assert classic.status_code == 200 and classic.headers["X-OAuth-Scopes"] == "read:packages, repo"
    assert classic.headers["GitHub-Authentication-Token-Expiration"] == "2030-01-01 00:00:00 UTC"
    repo_only = http.get(
        api, headers={"Authorization": f"Bearer {fp.GHCR_NO_PACKAGES_TOKEN}"}, verify=verify
    )
    assert repo_only.headers["X-OAuth-Scopes"] == "repo"
    fine = http.get(
        api, headers={"Authorization": f"Bearer {fp.GHCR_FINE_GRAINED_TOKEN}"}, verify=verify
    )
    assert fine.status_code == 200 and "X-OAuth-Scopes" not in fine.headers
    assert (
        http.get(api, headers={"Authorization": "token ghp_unknown"}, verify=verify).status_code
        == 401
    )
    assert [r.auth_scheme for r in fake_ghcr.api_requests] == ["token", "Bearer", "Bearer", "token"]


def test_misc_servers(misc_servers: fp.MiscServers, http: requests.Session) -> None:
    verify = misc_servers.ca.cert_path
    html = http.get(f"{misc_servers.html_server.url}/v2/", verify=verify)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    assert http.get(f"{misc_servers.not_found_server.url}/v2/", verify=verify).status_code == 404
    redirect = http.get(
        f"{misc_servers.redirect_server.url}/v2/",
        verify=verify,
        allow_redirects=False,
        auth=("u", "p"),
    )
    assert redirect.status_code == 302
    assert (
        redirect.headers["Location"] == f"https://localhost:{misc_servers.redirect_target.port}/v2/"
    )
    followed = http.get(f"{misc_servers.redirect_server.url}/v2/", verify=verify, auth=("u", "p"))
    assert followed.status_code == 200 and misc_servers.redirect_count == 2
    assert [r.auth_scheme for r in misc_servers.redirect_target.requests] == [
        None
    ]  # requests stripped it
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(f"{misc_servers.trickle_server.url}/v2/", verify=verify, timeout=(2, 0.3))
    assert misc_servers.trickle_server.count == 1
