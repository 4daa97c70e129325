"""Provider knowledge and client settings: one module per kind, GitHub token facts, ECR expiry,
configuration parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import pytest

from webapp.registry_client import providers
from webapp.registry_client.client_settings import ClientSettings
from webapp.registry_client.providers import docker_hub, github
from webapp.registry_client.providers.ecr import expiry as ecr_expiry
from webapp.registry_client.providers.ecr import is_ecr_host
from webapp.registry_client.providers.github import GitHubTokenFacts, parse_github_expiry
from webapp.registry_client.statuses import KIND_HINTED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-31 00:00:00 UTC", datetime(2026, 12, 31, tzinfo=UTC)),
        ("2026-03-30 16:01:29 -0700", datetime(2026, 3, 30, 23, 1, 29, tzinfo=UTC)),
        (" 2026-01-02 03:04:05 GMT ", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("next tuesday", None),
        ("", None),
        (None, None),
    ],
)
def test_github_expiry_header(value, expected):
    assert parse_github_expiry(value) == expected


@pytest.mark.parametrize(
    ("scopes", "readable"),
    [
        (frozenset({"repo", "read:packages"}), True),
        (frozenset({"write:packages"}), True),
        (frozenset({"repo", "delete_repo"}), False),
        (frozenset(), False),
        (None, None),
    ],
)
def test_package_scopes(scopes, readable):
    assert GitHubTokenFacts(scopes, None).can_read_packages is readable


def test_ecr_expiry_keeps_first_seen_and_renews_a_wrong_guess():
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert ecr_expiry(None, now) == now + timedelta(hours=12)
    later = now + timedelta(hours=3)
    assert ecr_expiry(later, now) == later
    assert ecr_expiry(now - timedelta(minutes=1), now) == now + timedelta(hours=12)


@pytest.mark.parametrize(
    ("host", "ecr"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", True),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", True),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com.example.com", False),
        ("public.ecr.aws", False),
    ],
)
def test_ecr_hosts(host, ecr):
    assert is_ecr_host(host) is ecr


def test_settings_from_config():
    settings = ClientSettings.from_config(
        {
            "OUTBOUND_ALLOWED_NETWORKS": "10.0.0.0/8, fd12::/16 192.168.5.0/24",
            "ALLOW_INSECURE_REGISTRIES": "true",
            "CHECK_TIMEOUT_SECONDS": "7.5",
            "REGISTRY_CA_BUNDLE": "/etc/ssl/extra.pem",
            "GHCR_URL": "https://127.0.0.1:8443",
            "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
            "DOCKER_HUB_AUTH_URL": "",
        }
    )
    assert settings.policy.allowed_networks == tuple(
        ip_network(n) for n in ("10.0.0.0/8", "fd12::/16", "192.168.5.0/24")
    )
    assert settings.policy.allow_insecure is True
    assert settings.deadline_seconds == 7.5
    assert settings.ca_bundle_path == "/etc/ssl/extra.pem"
    assert settings.endpoints["GHCR_URL"].host_port == "127.0.0.1:8443"
    assert github.api_base(settings.endpoints) == "https://ghe.example.com/api/v3"
    assert settings.endpoints["DOCKER_HUB_AUTH_URL"].base_url == "https://auth.docker.io"


def test_settings_defaults_are_the_real_services():
    settings = ClientSettings.from_config({})
    assert (
        settings.endpoints["DOCKER_HUB_REGISTRY_URL"].base_url,
        settings.endpoints["GHCR_URL"].base_url,
    ) == ("https://registry-1.docker.io", "https://ghcr.io")
    assert github.api_base(settings.endpoints) == "https://api.github.com"
    assert settings.deadline_seconds == 10
    assert settings.policy.allowed_networks == () and not settings.policy.allow_insecure


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"OUTBOUND_ALLOWED_NETWORKS": "10.0.0.0/8, nonsense"}, "OUTBOUND_ALLOWED_NETWORKS"),
        ({"GHCR_URL": "http://ghcr.example"}, "GHCR_URL"),
        ({"CHECK_TIMEOUT_SECONDS": "-1"}, "CHECK_TIMEOUT_SECONDS"),
    ],
)
def test_bad_settings_fail_at_startup(config, message):
    with pytest.raises(ValueError, match=message):
        ClientSettings.from_config(config)


def test_every_provider_says_everything_a_kind_must():
    for kind, provider in providers.PROVIDERS.items():
        assert provider.kind == kind and provider.label and provider.description.endswith(".")
        assert set(provider.hints) == KIND_HINTED, kind
        assert provider.username.label and provider.username.missing and provider.secret.label
        assert (provider.fixed_host is None) == (provider.display_host is None), kind
        assert provider.fixed_host is None or provider.fixed_host in provider.hosts, kind
    assert list(providers.PROVIDERS) == ["docker_registry", "docker_hub", "github", "aws_ecr"]


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("docker.io", "https://index.docker.io/v1/"),
        ("ghcr.io", "ghcr.io"),
        ("registry.example.com:5000", "registry.example.com:5000"),
        ("docker.io:443", "docker.io:443"),
    ],
)
def test_the_auths_key_has_one_home(host, key):
    assert providers.auth_key(host) == key


@pytest.mark.parametrize(
    ("host", "port", "kind"),
    [
        ("docker.io", None, "docker_hub"),
        ("index.docker.io", None, "docker_hub"),
        ("registry-1.docker.io", None, "docker_hub"),
        ("docker.io", 5000, "docker_registry"),
        ("ghcr.io", None, "github"),
        ("ghcr.io", 5000, "docker_registry"),  # another registry, as resolution keys it
        ("registry.example.com", None, "docker_registry"),
    ],
)
def test_whose_host_an_image_is_on(host, port, kind):
    assert providers.for_image_host(host, port).kind == kind


def test_providers_own_their_endpoint_settings():
    assert providers.ENDPOINT_SETTINGS == {
        "DOCKER_HUB_REGISTRY_URL": "https://registry-1.docker.io",
        "DOCKER_HUB_AUTH_URL": "https://auth.docker.io",
        "GHCR_URL": "https://ghcr.io",
        "GITHUB_API_URL": "https://api.github.com",
        "ECR_REGISTRY_URL": "",  # unset: every ECR host is its own registry
    }
    with pytest.raises(ValueError, match="NO_SUCH_URL"):
        ClientSettings(endpoint_urls={"NO_SUCH_URL": "https://example.com"})
    assert docker_hub.PROVIDER.repository("ubuntu") == "library/ubuntu"
    assert docker_hub.PROVIDER.namespace_of("library/ubuntu") == ""
    assert github.PROVIDER.namespace_of("acme/team/tool") == "acme"
    assert providers.get("docker_registry").namespace_of("team/app") == "team"
    with pytest.raises(ValueError, match="unknown registry kind"):
        providers.get("quay")
