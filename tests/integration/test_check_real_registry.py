"""`run_check` against the real Debian docker-registry (distribution 2.8), and skopeo agreeing.

The registries and the token server run on 127.0.0.1 with TLS from the session test CA (see
`tests.support.registry_fixtures`). Our outbound policy lets exactly 127.0.0.1 through.
"""

from __future__ import annotations

import uuid
from ipaddress import ip_network

import pytest

from webapp.registry_client.address import parse_registry_url
from webapp.registry_client.check import CheckResult, CheckTarget, ClientSettings, run_check
from webapp.registry_client.policy import OutboundPolicy

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

SETTINGS = ClientSettings(
    policy=OutboundPolicy(allowed_networks=(ip_network("127.0.0.1/32"),)), deadline_seconds=10
)
SUCCESS = ("connected", "connected_anonymous")


def check(registry, username=None, password=None, *, ca=True, **extra) -> CheckResult:
    target = CheckTarget(
        kind="docker_registry",
        address=parse_registry_url(registry.url),
        username=username if username is not None else registry.username or "someone",
        secret=password if password is not None else registry.password or "anything",
        ca_pem=registry.ca_pem if ca else None,
        **extra,
    )
    return run_check(target, SETTINGS)


# --- htpasswd (Basic) -------------------------------------------------------------------------


def test_htpasswd_right_credentials_connect(htpasswd_registry):
    result = check(htpasswd_registry)
    assert (result.status, result.http_status, result.realm_host) == ("connected", 200, None)


@pytest.mark.parametrize(("user", "password"), [("alice", "wrong"), ("nobody", "s3cret-alice")])
def test_htpasswd_wrong_password_or_unknown_user_fail(htpasswd_registry, user, password):
    result = check(htpasswd_registry, user, password)
    assert (result.status, result.http_status) == ("auth_failed", 401)


def test_htpasswd_without_its_ca_is_a_tls_error_that_the_ca_fixes(htpasswd_registry):
    assert check(htpasswd_registry, ca=False).status == "tls_error"
    assert check(htpasswd_registry, ca=True).status == "connected"


def test_htpasswd_test_image(htpasswd_registry, skopeo):
    repository = f"test/probe-{uuid.uuid4().hex[:8]}"
    assert skopeo.copy_test_image(htpasswd_registry, repository, "v1").ok
    assert check(htpasswd_registry, test_image=f"{repository}:v1").status == "connected"
    missing = check(htpasswd_registry, test_image=f"{repository}:v2")
    assert (missing.status, missing.http_status) == ("missing_scope", 404)


# --- open ---------------------------------------------------------------------------------------


def test_open_registry_is_connected_anonymous(open_registry):
    assert check(open_registry).status == "connected_anonymous"


# --- token auth ---------------------------------------------------------------------------------


def test_token_registry_good_credentials_with_realm_on_another_port(token_registry):
    tokens = token_registry.token_server
    mark = tokens.requests.mark()
    result = check(token_registry)
    assert result.status == "connected"
    assert result.realm_host == tokens.host_port != token_registry.host_port
    (request,) = tokens.requests.since(mark)
    assert request.auth_scheme == "Basic"
    assert request.param("account") == "alice" and request.param("scope") is None


def test_token_registry_bad_credentials(token_registry):
    result = check(token_registry, "alice", "wrong")
    assert (result.status, result.http_status) == ("auth_failed", 401)


def test_token_registry_test_image_needs_pull_access(token_registry, skopeo):
    repository = f"test/probe-{uuid.uuid4().hex[:8]}"
    assert skopeo.copy_test_image(token_registry, repository, "v1").ok
    user = f"nopull-{uuid.uuid4().hex[:6]}"
    token_registry.add_user(user, "pw-nopull", actions=())
    assert check(token_registry, test_image=f"{repository}:v1").status == "connected"
    denied = check(token_registry, user, "pw-nopull", test_image=f"{repository}:v1")
    assert (denied.status, denied.http_status) == ("missing_scope", 401)


def test_realm_outside_the_provider_rule_is_refused_and_gets_no_credentials(token_registry):
    """As "Docker Hub", the realm must be the configured auth host; this one is not."""
    tokens = token_registry.token_server
    mark = tokens.requests.mark()
    settings = ClientSettings(
        policy=SETTINGS.policy,
        endpoint_urls={"DOCKER_HUB_REGISTRY_URL": token_registry.url,
                       "DOCKER_HUB_AUTH_URL": token_registry.url},
        ca_bundle_path=token_registry.ca_file,
    )
    target = CheckTarget(kind="docker_hub", address=None, username="alice", secret="s3cret-alice")
    result = run_check(target, settings)
    assert result.status == "blocked"
    assert result.realm_host == tokens.host_port
    assert tokens.requests.since(mark) == []


# --- skopeo agrees ------------------------------------------------------------------------------

CASES = {
    "htpasswd, right password": ("htpasswd_registry", None, None, True),
    "htpasswd, wrong password": ("htpasswd_registry", "alice", "wrong", True),
    "htpasswd, unknown user": ("htpasswd_registry", "nobody", "s3cret-alice", True),
    "htpasswd, CA not trusted": ("htpasswd_registry", None, None, False),
    "token, right password": ("token_registry", None, None, True),
    "token, wrong password": ("token_registry", "alice", "wrong", True),
    "open registry": ("open_registry", "anyone", "anything", True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_skopeo_login_and_our_check_agree(case, request, skopeo):
    fixture, user, password, trust = CASES[case]
    registry = request.getfixturevalue(fixture)
    user = user or registry.username
    password = password or registry.password
    ours = check(registry, user, password, ca=trust)
    theirs = skopeo.login(
        registry if trust else registry.host_port,
        user,
        password,
        authfile=skopeo.authfile.parent / f"auth-{uuid.uuid4().hex[:8]}.json",
    )
    assert (ours.status in SUCCESS) is theirs.ok, (ours.status, theirs.output)
