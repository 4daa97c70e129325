"""Which connected registry pulls an image: boundary cases and properties of resolution.

Hypothesis settings: this module applies ``settings(deadline=None)`` to its property tests
itself (no profile is loaded here, so nothing global changes).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.registry_client.reference import parse_reference
from webapp.registry_client.resolve import (
    Resolution,
    candidate_hosts,
    covers,
    explain,
    host_key,
    select_registry,
)

PROPERTY = settings(deadline=None)


@dataclass(frozen=True)
class Registry:
    """Stands in for a registry row: only ``host`` and ``namespace`` are read."""

    host: str
    namespace: str = ""
    org: str = "acme-org"
    label: str = ""


def resolve(image: str, *registries: Registry) -> Registry | None:
    return select_registry(parse_reference(image), registries)


# --- path-segment boundaries --------------------------------------------------------------------

ACME = Registry("ghcr.io", "acme")


@pytest.mark.parametrize(
    "image",
    ["ghcr.io/acme/tool", "ghcr.io/acme/sub/tool", "ghcr.io/acme/tool:1", "ghcr.io/acme"],
)
def test_namespace_serves_its_own_repositories(image: str) -> None:
    assert resolve(image, ACME) is ACME


@pytest.mark.parametrize(
    "image", ["ghcr.io/acme-evil/tool", "ghcr.io/acmetool", "ghcr.io/acme.x/tool", "ghcr.io/ac/me"]
)
def test_namespace_never_serves_a_longer_name_sharing_its_prefix(image: str) -> None:
    assert resolve(image, ACME) is None


def test_nested_namespace_stops_at_a_segment_boundary() -> None:
    team = Registry("ghcr.io", "acme/sub")
    assert resolve("ghcr.io/acme/sub/tool", team) is team
    assert resolve("ghcr.io/acme/subway/tool", team) is None
    assert resolve("ghcr.io/acme/tool", team) is None


def test_explain_says_which_registry_does_not_cover_the_image() -> None:
    evil = Registry("ghcr.io", "acme-evil")
    result = explain(parse_reference("ghcr.io/acme/tool"), [evil])
    assert result == Resolution(
        registry=None,
        reason="registry for ghcr.io/acme-evil does not cover acme/tool",
        host="ghcr.io",
        is_public_host=True,
    )


def test_explain_names_at_most_three_non_covering_registries() -> None:
    others = [Registry("ghcr.io", f"team{i}") for i in range(5)]
    reason = explain(parse_reference("ghcr.io/acme/tool"), others).reason
    assert reason == (
        "registries for ghcr.io/team0, ghcr.io/team1, ghcr.io/team2 and 2 more "
        "do not cover acme/tool"
    )


@pytest.mark.parametrize(
    ("namespace", "path", "expected"),
    [
        ("", "anything/at/all", True),
        ("acme", "acme", True),
        ("acme", "acme/tool", True),
        ("acme", "acme-evil/tool", False),
        ("acme", "acmetool", False),
        ("acme/tool", "acme", False),
        ("library", "library/ubuntu", True),
    ],
)
def test_covers(namespace: str, path: str, expected: bool) -> None:
    assert covers(namespace, path) is expected


# --- hosts and ports ----------------------------------------------------------------------------

WITH_PORT = Registry("registry.example.com:5000", label="5000")
NO_PORT = Registry("registry.example.com", label="none")


def test_port_distinguishes_registries() -> None:
    assert resolve("registry.example.com:5000/team/app", NO_PORT, WITH_PORT) is WITH_PORT
    assert resolve("registry.example.com/team/app", WITH_PORT, NO_PORT) is NO_PORT


def test_no_registry_for_the_host_without_port() -> None:
    result = explain(parse_reference("registry.example.com/team/app"), [WITH_PORT])
    assert result.registry is None
    assert result.reason == "no connected registry for host registry.example.com"
    assert result.is_public_host is False


def test_an_explicit_default_port_is_another_registry() -> None:
    assert resolve("registry.example.com:443/team/app", NO_PORT) is None


def test_ipv6_host_with_port() -> None:
    loopback = Registry(host_key("::1", 5000))
    assert loopback.host == "[::1]:5000"
    assert resolve("[::1]:5000/x", loopback) is loopback
    assert resolve("[::1]/x", loopback) is None
    assert resolve("[::2]:5000/x", loopback) is None


def test_hosts_compare_case_insensitively() -> None:
    documentation = Registry(host_key("2001:db8::1", 5000))
    assert resolve("[2001:DB8::1]:5000/x", documentation) is documentation
    example = Registry("registry.example.com")
    assert resolve("Registry.Example.COM/team/app", example) is example
    assert resolve("ghcr.io/acme/tool", Registry("GHCR.io", "acme")) is not None


@pytest.mark.parametrize(
    ("image", "hosts"),
    [
        ("ubuntu", ["docker.io"]),
        ("index.docker.io/acme/tool", ["docker.io"]),
        ("registry-1.docker.io/acme/tool", ["docker.io"]),
        ("ghcr.io/acme/tool", ["ghcr.io"]),
        ("Registry.Example.COM:5000/a", ["registry.example.com:5000"]),
        ("localhost:05000/a", ["localhost:5000"]),
        ("[::1]:5000/x", ["[::1]:5000"]),
        ("[2001:DB8::1]/x", ["[2001:db8::1]"]),
        ("Acme/tool", ["acme"]),
    ],
)
def test_candidate_hosts(image: str, hosts: list[str]) -> None:
    assert candidate_hosts(parse_reference(image)) == hosts


@pytest.mark.parametrize(
    ("host", "port", "key"),
    [
        ("Registry.Example.COM", 5000, "registry.example.com:5000"),
        ("registry.example.com", None, "registry.example.com"),
        ("::1", 5000, "[::1]:5000"),
        ("[::1]", 5000, "[::1]:5000"),
        ("::1", None, "[::1]"),
        ("index.docker.io", None, "docker.io"),
        ("Docker.IO", None, "docker.io"),
        ("docker.io", 443, "docker.io:443"),
        ("registry-1.docker.io", None, "docker.io"),
        ("Registry-1.Docker.io", None, "docker.io"),
        ("registry-1.docker.io", 443, "registry-1.docker.io:443"),
    ],
)
def test_host_key(host: str, port: int | None, key: str) -> None:
    assert host_key(host, port) == key


# --- Docker Hub ---------------------------------------------------------------------------------

HUB_ALL = Registry("docker.io", "", label="all")
HUB_LIBRARY = Registry("docker.io", "library", label="library")
HUB_ACME = Registry("docker.io", "acme", label="acme")


@pytest.mark.parametrize(
    "image",
    ["ubuntu", "docker.io/ubuntu", "index.docker.io/library/ubuntu", "library/ubuntu:22.04"],
)
def test_docker_hub_library_namespace_serves_official_images(image: str) -> None:
    assert resolve(image, HUB_ACME, HUB_LIBRARY) is HUB_LIBRARY


@pytest.mark.parametrize(
    "image",
    ["acme/tool", "docker.io/acme/tool", "index.docker.io/acme/tool:1", "Docker.IO/acme/x",
     "registry-1.docker.io/acme/tool", "Registry-1.Docker.IO/acme/x:2"],
)
def test_docker_hub_images_resolve_through_docker_hub_registries(image: str) -> None:
    assert resolve(image, HUB_LIBRARY, HUB_ACME) is HUB_ACME


def test_docker_hub_namespace_does_not_serve_official_images() -> None:
    assert resolve("ubuntu", HUB_ACME) is None
    assert resolve("acme", HUB_ACME) is None  # docker.io/library/acme, not the acme namespace


def test_registry_1_docker_io_is_docker_hub() -> None:
    """It used to resolve to no registry, and none could be connected for it."""
    assert resolve("registry-1.docker.io/acme/tool", HUB_ALL) is HUB_ALL
    assert resolve("registry-1.docker.io/ubuntu", HUB_ACME, HUB_LIBRARY) is HUB_LIBRARY


def test_other_hosts_are_not_docker_hub_registries() -> None:
    assert resolve("registry-1.docker.io:443/acme/tool", HUB_ALL) is None
    assert resolve("docker.io:443/acme/tool", HUB_ALL) is None
    assert resolve("ghcr.io/acme/tool", HUB_ALL) is None


def test_github_registries_serve_ghcr_images_only() -> None:
    github = Registry("ghcr.io", "acme")
    assert resolve("ghcr.io/acme/tool", github, HUB_ACME) is github
    assert resolve("acme/tool", github) is None


# --- longest namespace wins ---------------------------------------------------------------------

NESTED = [
    Registry("ghcr.io", "", label="host"),
    Registry("ghcr.io", "acme", label="acme"),
    Registry("ghcr.io", "acme/team", label="team"),
    Registry("quay.io", "acme/team/tool", label="other host"),
]


@pytest.mark.parametrize("order", list(itertools.permutations(NESTED)))
@pytest.mark.parametrize(
    ("image", "label"),
    [
        ("ghcr.io/acme/team/tool", "team"),
        ("ghcr.io/acme/team", "team"),
        ("ghcr.io/acme/other", "acme"),
        ("ghcr.io/acme-team/tool", "host"),
        ("ghcr.io/zzz", "host"),
    ],
)
def test_longest_namespace_wins_whatever_the_order(
    order: tuple[Registry, ...], image: str, label: str
) -> None:
    chosen = resolve(image, *order)
    assert chosen is not None
    assert chosen.label == label


def test_explain_gives_the_matched_host_and_namespace() -> None:
    result = explain(parse_reference("ghcr.io/acme/tool:1"), NESTED)
    assert result.registry is NESTED[1]
    assert result.reason == "matched host ghcr.io and namespace acme"
    assert result.is_public_host is True


def test_explain_a_registry_for_the_whole_host() -> None:
    own = Registry("registry.example.com:5000")
    result = explain(parse_reference("registry.example.com:5000/team/app"), [own])
    assert result.registry is own
    assert result.reason.startswith("matched host registry.example.com:5000 (")
    assert result.is_public_host is False


def test_duplicate_registries_the_first_given_wins_and_the_reason_says_so() -> None:
    first, second = Registry("ghcr.io", "acme", label="1"), Registry("ghcr.io", "acme", label="2")
    result = explain(parse_reference("ghcr.io/acme/tool"), [first, second])
    assert result.registry is first
    assert "2 registries have this host and namespace, using the first" in result.reason
    assert explain(parse_reference("ghcr.io/acme/tool"), [second, first]).registry is second


# --- the org filter is the caller's ---------------------------------------------------------


def test_only_the_given_candidates_are_considered_so_the_caller_filters_by_org() -> None:
    ours = Registry("ghcr.io", "acme", org="acme-org")
    theirs = Registry("ghcr.io", "acme", org="other-org")
    image = parse_reference("ghcr.io/acme/tool")
    # Given another org's registry, the function uses it: it knows nothing about orgs ...
    assert select_registry(image, [theirs]) is theirs
    # ... so the caller passes only its own org's rows, and another org's never match.
    everything = [theirs, ours]
    assert select_registry(image, [r for r in everything if r.org == "acme-org"]) is ours
    assert select_registry(image, [r for r in everything if r.org == "third-org"]) is None


def test_no_candidates_at_all() -> None:
    result = explain(parse_reference("ghcr.io/acme/tool"), [])
    assert result == Resolution(None, "no connected registry for host ghcr.io", "ghcr.io", True)


def test_candidates_may_be_a_one_shot_iterator() -> None:
    candidates = iter([Registry("quay.io", "x"), ACME])
    assert select_registry(parse_reference("ghcr.io/acme/tool"), candidates) is ACME


# --- public hosts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "public"),
    [
        ("ubuntu", True),
        ("index.docker.io/acme/tool", True),
        ("registry-1.docker.io/library/ubuntu", True),
        ("ghcr.io/acme/tool", True),
        ("quay.io/acme/tool", True),
        ("public.ecr.aws/acme/tool", True),
        ("gcr.io/acme/tool", True),
        ("registry.k8s.io/pause", True),
        ("mcr.microsoft.com/dotnet/runtime", True),
        ("docker.io:443/acme/tool", False),
        ("ghcr.io:5000/acme/tool", False),
        ("registry.example.com/acme/tool", False),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/tool", False),
        ("localhost:5000/tool", False),
    ],
)
def test_is_public_host(image: str, public: bool) -> None:
    assert explain(parse_reference(image), []).is_public_host is public


# --- properties ---------------------------------------------------------------------------------

_HOSTS = ["docker.io", "ghcr.io", "registry.example.com", "registry.example.com:5000", "[::1]:5000"]
_SEGMENTS = ["acme", "acme-evil", "team", "tool", "library"]
_path = st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=4).map("/".join)
_registries = st.lists(
    st.builds(Registry, host=st.sampled_from(_HOSTS), namespace=st.just("") | _path), max_size=30
)
_images = st.builds(
    lambda host, path: f"{host}/{path}", st.sampled_from(_HOSTS + ["index.docker.io"]), _path
)


def _oracle(image: str, registries: list[Registry]) -> Registry | None:
    """Resolution restated over segment lists: longest covering namespace, first on a tie."""
    reference = parse_reference(image)
    segments = reference.path.split("/")
    best: Registry | None = None
    best_length = -1
    for registry in registries:
        wanted = registry.namespace.split("/") if registry.namespace else []
        same_host = registry.host == reference.domain.lower()
        if same_host and segments[: len(wanted)] == wanted and len(wanted) > best_length:
            best, best_length = registry, len(wanted)
    return best


@PROPERTY
@given(_images, _registries)
def test_resolution_matches_a_segment_list_oracle(image: str, registries: list[Registry]) -> None:
    assert resolve(image, *registries) is _oracle(image, registries)


@PROPERTY
@given(_images, _registries)
def test_fetching_only_candidate_hosts_rows_changes_nothing(
    image: str, registries: list[Registry]
) -> None:
    """What makes an index on host enough: rows of other hosts can never be chosen."""
    reference = parse_reference(image)
    hosts = candidate_hosts(reference)
    indexed = [r for r in registries if r.host in hosts]
    assert explain(reference, indexed) == explain(reference, registries)
