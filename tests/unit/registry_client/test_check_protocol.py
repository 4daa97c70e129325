"""`run_check` and `probe_manifest` against small HTTPS servers on 127.0.0.1.

The provider fakes (`fake_docker_hub`, `fake_ghcr`, `misc_servers`) come from the registry
harness; the odd cases are small apps started with `serve`. pytest-socket lets these tests
connect to 127.0.0.1 only.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import fake_providers as fp
from tests.support.token_server import Request, Response, json_response
from webapp.registry_client.check import CheckTarget, probe_manifest, run_check

from .conftest import (
    API_VERSION,
    SECRET,
    UNAUTHORIZED,
    NamedCA,
    basic_registry,
    bearer_challenge,
    loopback_settings,
    registry_target,
)

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])


# --- Docker Registry: Basic ------------------------------------------------------------------


def test_basic_auth_right_credentials_connect(serve):
    server = serve(basic_registry())
    stages: list[str] = []
    result = run_check(
        registry_target(server.url, ca_pem=server.ca_pem), loopback_settings(), stages.append
    )
    assert (result.status, result.http_status) == ("connected", 200)
    assert stages == ["reaching", "signing_in"]
    assert result.stage == "signing_in"
    assert [r.auth_scheme for r in server.requests] == [None, "Basic"]


def test_basic_auth_wrong_password_fails(serve):
    server = serve(basic_registry())
    target = registry_target(server.url, ca_pem=server.ca_pem, secret="wrong")
    result = run_check(target, loopback_settings())
    assert (result.status, result.http_status) == ("auth_failed", 401)


def test_registry_without_sign_in_is_connected_anonymous(serve):
    server = serve(lambda req: json_response(200, {}, [API_VERSION]))
    result = run_check(registry_target(server.url, ca_pem=server.ca_pem), loopback_settings())
    assert result.status == "connected_anonymous"
    assert server.requests[0].auth_scheme is None and server.count == 1


def test_untrusted_certificate_is_a_tls_error_that_the_ca_fixes(serve, untrusted_ca):
    server = serve(basic_registry())
    without = run_check(registry_target(server.url), loopback_settings())
    wrong_ca = run_check(
        registry_target(server.url, ca_pem=untrusted_ca.cert_pem), loopback_settings()
    )
    with_ca = run_check(registry_target(server.url, ca_pem=server.ca_pem), loopback_settings())
    assert without.status == wrong_ca.status == "tls_error"
    assert "not signed by a trusted CA" in without.reason
    assert with_ca.status == "connected"


def test_installation_ca_bundle_is_trusted(serve, test_ca):
    server = serve(basic_registry())
    settings = loopback_settings(ca_bundle_path=str(test_ca.cert_path))
    assert run_check(registry_target(server.url), settings).status == "connected"


# --- Docker Registry: Bearer -----------------------------------------------------------------


def test_bearer_with_realm_on_another_loopback_port(fake_docker_hub):
    target = registry_target(
        fake_docker_hub.url,
        username=fp.DOCKER_HUB_USER,
        secret=fp.DOCKER_HUB_PAT,
        ca_pem=fake_docker_hub.ca_pem,
    )
    result = run_check(target, loopback_settings())
    assert result.status == "connected"
    assert result.realm_host == fake_docker_hub.auth.host_port
    token_request = fake_docker_hub.auth_requests[0]
    assert token_request.auth_scheme == "Basic"
    assert token_request.param("account") == fp.DOCKER_HUB_USER
    assert token_request.param("service") == "registry.docker.io"
    assert token_request.param("scope") is None
    assert [r.auth_scheme for r in fake_docker_hub.requests] == [None, "Bearer"]


def test_bearer_token_endpoint_401_is_auth_failed(fake_docker_hub):
    target = registry_target(fake_docker_hub.url, ca_pem=fake_docker_hub.ca_pem, secret="nope")
    result = run_check(target, loopback_settings())
    assert (result.status, result.http_status) == ("auth_failed", 401)
    assert result.stage == "signing_in"


def test_realm_over_http_for_an_https_registry_is_refused(serve):
    token_service = serve(lambda req: json_response(200, {"token": "t"}))
    realm = f"http://127.0.0.1:{token_service.port}/token"
    registry = serve(bearer_challenge(realm))
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings())
    assert result.status == "blocked"
    assert "credentials were not sent" in result.reason
    assert token_service.count == 0


@pytest.mark.parametrize(
    "realm",
    ["https://127.0.0.1:22/token", "https://2130706433/token", "ftp://127.0.0.1/token"],
)
def test_realm_failing_the_address_rules_is_refused(serve, realm):
    registry = serve(bearer_challenge(realm))
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings())
    assert result.status == "blocked"
    assert registry.count == 1


def test_token_the_registry_refuses_is_an_error_not_a_bad_password(serve):
    tokens = serve(lambda req: json_response(200, {"access_token": "opaque-token"}))
    registry = serve(bearer_challenge(f"{tokens.url}/token"))
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings())
    assert result.status == "error"
    assert "refused the token" in result.reason
    assert [r.auth_scheme for r in registry.requests] == [None, "Bearer"]


@pytest.mark.parametrize("body", [b"{}", b'{"token": ""}', b"<html>", b'{"token": "a b"}'])
def test_token_answer_without_a_usable_token_is_an_error(serve, body):
    tokens = serve(lambda req: Response(200, [("Content-Type", "application/json")], body))
    registry = serve(bearer_challenge(f"{tokens.url}/token"))
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings())
    assert (result.status, result.reason) == (
        "error",
        "The registry's sign-in service answered without a usable token.",
    )


def _token_registry(serve, challenge_for):
    """A token service and a registry whose /v2/ challenge is `challenge_for(token_url)`."""
    tokens = serve(lambda req: json_response(200, {"token": "good-token"}))

    def registry_app(req):
        if req.authorization == "Bearer good-token":
            return json_response(200, {}, [API_VERSION])
        challenge = ("WWW-Authenticate", challenge_for(f"{tokens.url}/token"))
        return json_response(401, UNAUTHORIZED, [challenge, API_VERSION])

    return tokens, serve(registry_app)


@pytest.mark.parametrize(
    "ending",
    [",scope=", ',scope="repository:never-closed', ",scope", ' scope="x"'],
    ids=["empty", "unterminated", "no-value", "no-comma"],
)
def test_a_malformed_last_parameter_is_read_as_far_as_it_is_well_formed(serve, ending):
    """Docker reads `Bearer realm=…,service=…,scope=` as a challenge with its realm and service;
    it used to fail the check as "could not be read"."""
    tokens, registry = _token_registry(
        serve, lambda realm: f'Bearer realm="{realm}",service="test-registry"{ending}'
    )
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings())
    assert result.status == "connected", result.reason
    assert tokens.requests[0].param("service") == "test-registry"
    assert tokens.requests[0].auth_scheme == "Basic"


@pytest.mark.parametrize("challenge", ['Bearer realm="https://127.0.0.1/never-closed',
                                       'Bearer service="test-registry",realm=', "Bearer"])
def test_the_realm_is_still_required(serve, challenge):
    tokens, registry = _token_registry(serve, lambda realm: challenge)
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings())
    assert result.status == "error"
    assert "names no sign-in service (realm)" in result.reason
    assert tokens.count == 0


@pytest.mark.parametrize("realm", ["https://169.254.169.254/token", "https://10.0.0.1/token"])
def test_a_leniently_read_realm_still_meets_the_outbound_policy(serve, realm):
    tokens, registry = _token_registry(
        serve, lambda _: f'Bearer realm="{realm}",service="test-registry",scope='
    )
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings())
    assert result.status == "blocked"
    assert "credentials were not sent" in result.reason
    assert tokens.count == 0


def test_unsupported_challenge_scheme_is_an_error(serve):
    challenge = ("WWW-Authenticate", 'Digest realm="x", nonce="y"')
    registry = serve(lambda req: json_response(401, UNAUTHORIZED, [challenge]))
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings())
    assert result.status == "error"
    assert registry.requests[0].auth_scheme is None and registry.count == 1


def test_401_without_a_challenge_is_not_a_registry(serve):
    registry = serve(lambda req: json_response(401, UNAUTHORIZED))
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings())
    assert result.status == "not_a_registry"


# --- answers that are not a registry ---------------------------------------------------------


def _misc_target(server):
    return registry_target(server.url, ca_pem=server.ca_pem)


def test_html_page_on_v2_is_not_a_registry(misc_servers):
    result = run_check(_misc_target(misc_servers.html_server), loopback_settings())
    assert (result.status, result.http_status) == ("not_a_registry", 200)
    assert "web page" in result.reason


def test_404_on_v2_is_not_a_registry(misc_servers):
    result = run_check(_misc_target(misc_servers.not_found_server), loopback_settings())
    assert (result.status, result.http_status) == ("not_a_registry", 404)


def test_redirect_is_reported_not_followed(misc_servers):
    result = run_check(_misc_target(misc_servers.redirect_server), loopback_settings())
    assert (result.status, result.http_status) == ("not_a_registry", 302)
    assert "redirect" in result.reason and "localhost" not in result.reason
    assert misc_servers.redirect_count == 1
    assert misc_servers.redirect_target.count == 0


def test_garbage_json_on_v2_is_not_a_registry(serve):
    server = serve(lambda req: Response(200, [("Content-Type", "text/plain")], b"hello"))
    assert run_check(_misc_target(server), loopback_settings()).status == "not_a_registry"


def test_server_error_is_an_error(serve):
    server = serve(lambda req: Response(503, [], b""))
    result = run_check(_misc_target(server), loopback_settings())
    assert (result.status, result.http_status) == ("error", 503)


# --- unreachable and the deadline ------------------------------------------------------------


def test_connection_refused_is_unreachable(serve):
    server = serve(basic_registry())
    url = server.url
    server.stop()
    result = run_check(registry_target(url), loopback_settings())
    assert result.status == "unreachable"
    assert "refused" in result.reason


def test_unknown_host_name_is_unreachable(monkeypatch):
    def no_such_name(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)  # no real DNS traffic
    result = run_check(registry_target("https://registry.invalid"), loopback_settings())
    assert result.status == "unreachable"
    assert "could not be found" in result.reason


def test_silent_server_times_out(serve):
    server = serve(lambda req: Response(raw=b"HTTP/1.1 200 OK\r\n", byte_delay=30))
    result = run_check(_misc_target(server), loopback_settings(deadline_seconds=1.0))
    assert result.status == "unreachable"
    assert "time" in result.reason


def test_trickling_server_cannot_stretch_the_deadline(misc_servers):
    started = time.monotonic()
    result = run_check(
        _misc_target(misc_servers.trickle_server), loopback_settings(deadline_seconds=2.0)
    )
    elapsed = time.monotonic() - started
    assert result.status == "unreachable"
    assert "ran out of time" in result.reason
    assert 1.5 <= elapsed < 4.0  # the server would trickle for 90 s; slack for a loaded machine


# --- Docker Hub -------------------------------------------------------------------------------


def _hub_settings(hub, auth_url=None):
    endpoints = {"DOCKER_HUB_REGISTRY_URL": hub.url, "DOCKER_HUB_AUTH_URL": auth_url or hub.auth_url}
    return loopback_settings(endpoint_urls=endpoints, ca_bundle_path=hub.ca_file)


def _hub_target(secret=fp.DOCKER_HUB_PAT, **overrides):
    values = {"username": fp.DOCKER_HUB_USER, "secret": secret, **overrides}
    return CheckTarget(kind="docker_hub", address=None, **values)


def test_docker_hub_access_token_connects(fake_docker_hub):
    result = run_check(_hub_target(), _hub_settings(fake_docker_hub))
    assert result.status == "connected"
    assert result.realm_host == fake_docker_hub.auth.host_port


def test_docker_hub_bad_token_fails(fake_docker_hub):
    result = run_check(_hub_target(secret="wrong"), _hub_settings(fake_docker_hub))
    assert result.status == "auth_failed"


def test_docker_hub_rate_limit_reports_retry_after(fake_docker_hub):
    fake_docker_hub.rate_limited = True
    result = run_check(_hub_target(), _hub_settings(fake_docker_hub))
    assert (result.status, result.http_status, result.retry_after) == ("rate_limited", 429, 120)
    assert "pull rate limit" not in result.reason


def test_docker_hub_realm_must_be_the_auth_host(fake_docker_hub, serve):
    other_auth = serve(lambda req: json_response(200, {}))
    settings = _hub_settings(fake_docker_hub, auth_url=other_auth.url)
    result = run_check(_hub_target(), settings)
    assert result.status == "blocked"
    assert result.realm_host == fake_docker_hub.auth.host_port
    assert len(fake_docker_hub.auth_requests) == 0


@pytest.mark.parametrize(
    ("image", "status", "words"),
    [
        ("hubuser/private-app:v1", "connected", "can be pulled"),
        ("alpine", "connected", "can be pulled"),
        ("hubuser/private-app:nope", "missing_scope", "was not found"),
        ("someone/else", "missing_scope", "cannot be pulled"),
    ],
)
def test_docker_hub_test_image(fake_docker_hub, image, status, words):
    stages: list[str] = []
    result = run_check(_hub_target(test_image=image), _hub_settings(fake_docker_hub), stages.append)
    assert (result.status, stages[-1]) == (status, "checking_access")
    assert words in result.reason
    head = fake_docker_hub.requests.matching(method="HEAD")[0]
    assert head.auth_scheme == "Bearer"
    assert "application/vnd.oci.image.index.v1+json" in head.headers["accept"]
    scoped = [r.param("scope") for r in fake_docker_hub.auth_requests if r.param("scope")]
    assert scoped and scoped[0].endswith(":pull")


def test_probe_manifest_outcomes(fake_docker_hub):
    settings = _hub_settings(fake_docker_hub)
    assert probe_manifest(_hub_target(), settings, "hubuser/private-app:v1").outcome == "pulls"
    assert probe_manifest(_hub_target(), settings, "hubuser/nothing").outcome == "no_access"
    fake_docker_hub.add_repository("hubuser/tagless", public=True, tags=())
    assert probe_manifest(_hub_target(), settings, "hubuser/tagless:x").outcome == "not_found"
    bad = probe_manifest(_hub_target(secret="wrong"), settings, "hubuser/private-app")
    assert bad.outcome == "auth_failed"
    assert probe_manifest(_hub_target(), settings, "Bad Name").outcome == "error"


def test_probe_signs_in_when_only_the_repository_needs_it(serve):
    def app(req: Request) -> Response:
        if req.path == "/v2/":
            return json_response(200, {}, [API_VERSION])
        if req.authorization is None:
            challenge = ("WWW-Authenticate", 'Basic realm="repos"')
            return json_response(401, UNAUTHORIZED, [challenge])
        return Response(200, [("Content-Type", "application/json"), API_VERSION], b"{}")

    registry = serve(app)
    target = registry_target(registry.url, ca_pem=registry.ca_pem, test_image="team/app:1.0")
    result = run_check(target, loopback_settings())
    assert result.status == "connected"
    assert [(r.method, r.auth_scheme) for r in registry.requests] == [
        ("GET", None),
        ("HEAD", None),
        ("HEAD", "Basic"),
    ]
    assert registry.requests[2].path == "/v2/team/app/manifests/1.0"


# --- GitHub Container Registry ---------------------------------------------------------------


def _ghcr_settings(ghcr, api_url=None):
    endpoints = {"GHCR_URL": ghcr.url, "GITHUB_API_URL": api_url or ghcr.api_url}
    return loopback_settings(endpoint_urls=endpoints, ca_bundle_path=ghcr.ca_file)


def _ghcr_target(token=fp.GHCR_CLASSIC_TOKEN, **overrides):
    return CheckTarget(
        kind="github", address=None, username=fp.GHCR_USER, secret=token, **overrides
    )


def test_ghcr_classic_token_connects_and_records_expiry(fake_ghcr):
    stages: list[str] = []
    result = run_check(_ghcr_target(), _ghcr_settings(fake_ghcr), stages.append)
    assert result.status == "connected"
    assert result.expires_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert stages == ["reaching", "signing_in", "checking_access"]
    token_request = fake_ghcr.requests.matching(path="/token")[0]
    assert token_request.param("scope") is None  # the placeholder scope is not requested
    assert fake_ghcr.api_requests[0].auth_scheme == "token"


@pytest.mark.parametrize("token", [fp.GHCR_NO_PACKAGES_TOKEN, fp.GHCR_FINE_GRAINED_TOKEN, "x"])
def test_ghcr_denied_at_token_endpoint_is_auth_failed(fake_ghcr, token):
    result = run_check(_ghcr_target(token), _ghcr_settings(fake_ghcr))
    assert (result.status, result.http_status) == ("auth_failed", 403)


def _api(headers):
    return lambda req: json_response(200, {"login": "octocat"}, headers)


def test_ghcr_token_without_read_packages_is_missing_scope(fake_ghcr, serve):
    api = serve(_api([("X-OAuth-Scopes", "repo, user")]))
    result = run_check(_ghcr_target(), _ghcr_settings(fake_ghcr, api.url))
    assert result.status == "missing_scope"
    assert "read:packages" in result.reason


def test_ghcr_write_packages_is_enough(fake_ghcr, serve):
    api = serve(_api([("X-OAuth-Scopes", "write:packages")]))
    assert run_check(_ghcr_target(), _ghcr_settings(fake_ghcr, api.url)).status == "connected"


def test_ghcr_token_without_scope_header_is_connected_but_unverified(fake_ghcr, serve):
    api = serve(_api([("GitHub-Authentication-Token-Expiration", "2031-05-06 07:08:09 UTC")]))
    result = run_check(_ghcr_target(), _ghcr_settings(fake_ghcr, api.url))
    assert result.status == "connected"
    assert "not verified" in result.reason
    assert result.expires_at == datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_ghcr_unverified_token_settled_by_the_test_image(fake_ghcr, serve):
    api = serve(_api([]))
    settings = _ghcr_settings(fake_ghcr, api.url)
    pulls = run_check(_ghcr_target(test_image="octocat/private-app:v1"), settings)
    cannot = run_check(_ghcr_target(test_image="octocat/private-app:v9"), settings)
    assert (pulls.status, cannot.status) == ("connected", "missing_scope")


def test_ghcr_api_failure_does_not_fail_the_check(fake_ghcr, serve):
    api = serve(lambda req: json_response(500, {}))
    assert run_check(_ghcr_target(), _ghcr_settings(fake_ghcr, api.url)).status == "connected"


# --- expiry ------------------------------------------------------------------------------------

ECR_HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def test_ecr_expiry_is_12_hours_after_first_seen(serve, test_ca, resolve_to_loopback):
    resolve_to_loopback(ECR_HOST)
    server = serve(basic_registry("AWS", SECRET), ca=NamedCA(test_ca, (ECR_HOST,)))
    url = f"https://{ECR_HOST}:{server.port}"
    first = run_check(
        registry_target(url, username="AWS", ca_pem=server.ca_pem), loopback_settings()
    )
    assert first.status == "connected"
    assert first.expires_at - datetime.now(UTC) == pytest.approx(
        timedelta(hours=12), abs=timedelta(minutes=1)
    )
    again = run_check(
        registry_target(
            url, username="AWS", ca_pem=server.ca_pem, previous_expiry=first.expires_at
        ),
        loopback_settings(),
    )
    assert again.expires_at == first.expires_at


def test_certificate_for_another_name_is_a_hostname_error(serve, test_ca, resolve_to_loopback):
    resolve_to_loopback(ECR_HOST)
    server = serve(basic_registry(), ca=NamedCA(test_ca, ("other.example",)))
    target = registry_target(f"https://{ECR_HOST}:{server.port}", ca_pem=server.ca_pem)
    result = run_check(target, loopback_settings())
    assert result.status == "tls_error"
    assert "does not match" in result.reason


def test_refused_credentials_past_their_expiry_are_expired(serve):
    server = serve(basic_registry())
    past = datetime.now(UTC) - timedelta(hours=1)
    target = registry_target(server.url, ca_pem=server.ca_pem, secret="stale", previous_expiry=past)
    result = run_check(target, loopback_settings())
    assert result.status == "expired"
    assert result.expires_at == past


# --- nothing secret leaks ---------------------------------------------------------------------


def test_no_secret_token_or_body_in_reasons_or_logs(serve, caplog):
    caplog.set_level(logging.DEBUG)
    body = b'{"token": "TOKEN-canary-42", "note": "SECRET-BODY"}'
    tokens = serve(lambda req: Response(200, [("Content-Type", "application/json")], body))
    registry = serve(bearer_challenge(f"{tokens.url}/token"))
    html = serve(lambda req: Response(200, [("Content-Type", "text/html")], b"<p>SECRET-BODY"))
    results = [
        run_check(registry_target(registry.url, ca_pem=registry.ca_pem), loopback_settings()),
        run_check(registry_target(html.url, ca_pem=html.ca_pem), loopback_settings()),
        run_check(registry_target(registry.url), loopback_settings()),
    ]
    text = caplog.text + " ".join(f"{r!r}" for r in results)
    for canary in (SECRET, "TOKEN-canary-42", "SECRET-BODY"):
        assert canary not in text
    assert [r.status for r in results] == ["error", "not_a_registry", "tls_error"]
    assert "SECRET" not in repr(registry_target(registry.url))
