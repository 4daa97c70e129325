"""Every status has a label, a tone and a hint for every registry kind."""

from __future__ import annotations

import pytest

from webapp.registry_client.providers import describe
from webapp.registry_client.statuses import Status, StatusText

DESIGN_STATUSES = [
    "checking",
    "connected",
    "connected_anonymous",
    "auth_failed",
    "missing_scope",
    "expired",
    "unreachable",
    "tls_error",
    "not_a_registry",
    "rate_limited",
    "blocked",
    "unreadable",
    "error",
]


def test_the_status_list_is_design_md_s():
    assert [s.value for s in Status] == DESIGN_STATUSES


@pytest.mark.parametrize("status", DESIGN_STATUSES)
@pytest.mark.parametrize("kind", ["docker_registry", "docker_hub", "github"])
def test_every_status_is_described_for_every_kind(status, kind):
    text = describe(status, kind)
    assert isinstance(text, StatusText)
    assert text.label and text.hint.endswith(".")
    assert text.tone in ("ok", "warn", "bad", "pending")


def test_tones():
    tones = {s: describe(s, "docker_registry").tone for s in Status}
    assert tones[Status.CONNECTED] == "ok"
    assert tones[Status.CHECKING] == "pending"
    assert tones[Status.AUTH_FAILED] == "bad"


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        ("auth_failed", "github", ["classic", "read:packages", "single sign-on"]),
        ("missing_scope", "github", ["read:packages", "SSO"]),
        ("auth_failed", "docker_hub", ["access token", "two-factor"]),
        ("auth_failed", "docker_registry", ["ECR", "12 hours"]),
        ("expired", "docker_registry", ["12 hours"]),
        ("tls_error", "docker_registry", ["CA certificate", "Advanced"]),
    ],
)
def test_provider_specific_hints(status, kind, words):
    hint = describe(status, kind).hint
    for word in words:
        assert word in hint


@pytest.mark.parametrize(("status", "kind"), [("bogus", "github"), ("connected", "quay")])
def test_unknown_values_are_refused(status, kind):
    with pytest.raises(ValueError):
        describe(status, kind)
