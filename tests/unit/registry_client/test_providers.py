"""Provider knowledge and settings: GitHub token facts, ECR expiry, configuration parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import pytest

from webapp.registry_client.providers import (
    GitHubTokenFacts,
    ecr_expiry,
    is_ecr_host,
    parse_github_expiry,
)
from webapp.registry_client.settings import ClientSettings


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
    assert settings.ghcr.host_port == "127.0.0.1:8443"
    assert settings.github_api_base == "https://ghe.example.com/api/v3"
    assert settings.docker_hub_auth.base_url == "https://auth.docker.io"


def test_settings_defaults_are_the_real_services():
    settings = ClientSettings.from_config({})
    assert (settings.docker_hub_registry.base_url, settings.ghcr.base_url) == (
        "https://registry-1.docker.io",
        "https://ghcr.io",
    )
    assert settings.github_api_base == "https://api.github.com"
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
