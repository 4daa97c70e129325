"""Image reference parsing: Docker's grammar and normalisation (registry-protocol.md §5.1-5.2).

Hypothesis settings: this module applies ``settings(deadline=None)`` to its property tests
itself (no profile is loaded here, so nothing global changes); every other setting, such as
``max_examples``, comes from whatever profile a conftest or CI has loaded.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from webapp.registry_client.providers.docker_hub import AUTH_KEY as DOCKER_HUB_AUTH_KEY
from webapp.registry_client.reference import ImageReference, InvalidReference, parse_reference

SHA256 = "sha256:" + "0123456789abcdef" * 4
SHA512 = "sha512:" + "0123456789abcdef" * 8
PROPERTY = settings(deadline=None)


# --- accepted references ------------------------------------------------------------------------

# text, domain, host, port, path, tag, digest
ACCEPTED = [
    ("ubuntu", "docker.io", "docker.io", None, "library/ubuntu", "latest", None),
    ("ubuntu:22.04", "docker.io", "docker.io", None, "library/ubuntu", "22.04", None),
    ("docker.io/ubuntu", "docker.io", "docker.io", None, "library/ubuntu", "latest", None),
    ("docker.io/library/ubuntu", "docker.io", "docker.io", None, "library/ubuntu", "latest", None),
    ("index.docker.io/x/y", "docker.io", "docker.io", None, "x/y", "latest", None),
    ("index.docker.io/ubuntu", "docker.io", "docker.io", None, "library/ubuntu", "latest", None),
    # Deliberate: Docker Hub's domains are recognised whatever their case.
    ("Docker.IO/ubuntu", "docker.io", "docker.io", None, "library/ubuntu", "latest", None),
    # Deliberate: Docker Hub's API host is Docker Hub too (containers/image normalizeRegistry).
    ("registry-1.docker.io/x/y", "docker.io", "docker.io", None, "x/y", "latest", None),
    ("registry-1.docker.io/ubuntu", "docker.io", "docker.io", None, "library/ubuntu", "latest", None),
    ("Registry-1.Docker.IO/x/y:2", "docker.io", "docker.io", None, "x/y", "2", None),
    # With a port it is some other registry (as docker.io:443 is).
    ("registry-1.docker.io:443/x", "registry-1.docker.io:443", "registry-1.docker.io", 443, "x",
     "latest", None),
    ("docker.io:443/ubuntu", "docker.io:443", "docker.io", 443, "ubuntu", "latest", None),
    ("acme/tool", "docker.io", "docker.io", None, "acme/tool", "latest", None),
    ("acme/sub/tool:1", "docker.io", "docker.io", None, "acme/sub/tool", "1", None),
    ("localhost/x", "localhost", "localhost", None, "x", "latest", None),
    ("localhost:5000/x", "localhost:5000", "localhost", 5000, "x", "latest", None),
    ("[::1]:5000/x", "[::1]:5000", "::1", 5000, "x", "latest", None),
    ("[2001:DB8::1]/x", "[2001:DB8::1]", "2001:db8::1", None, "x", "latest", None),
    (
        "127.0.0.1:5000/a_b/c__d/e---f.g",
        "127.0.0.1:5000",
        "127.0.0.1",
        5000,
        "a_b/c__d/e---f.g",
        "latest",
        None,
    ),
    (
        "registry.example.com:5000/team/app@" + SHA256,
        "registry.example.com:5000",
        "registry.example.com",
        5000,
        "team/app",
        None,
        SHA256,
    ),
    (
        "Registry.Example.COM/team/app",
        "Registry.Example.COM",
        "registry.example.com",
        None,
        "team/app",
        "latest",
        None,
    ),
    # An upper-case first component is a domain (repository paths cannot have capitals).
    ("Foo/bar", "Foo", "foo", None, "bar", "latest", None),
    (
        "ghcr.io/acme/tool:v1.2.3@" + SHA256,
        "ghcr.io",
        "ghcr.io",
        None,
        "acme/tool",
        "v1.2.3",
        SHA256,
    ),
    ("ubuntu@" + SHA512, "docker.io", "docker.io", None, "library/ubuntu", None, SHA512),
    (
        "ubuntu:_Tag.With-Caps",
        "docker.io",
        "docker.io",
        None,
        "library/ubuntu",
        "_Tag.With-Caps",
        None,
    ),
    # Docker's FIXME: with no "/", "localhost:5000" is the official image "localhost", tag 5000.
    ("localhost:5000", "docker.io", "docker.io", None, "library/localhost", "5000", None),
    ("ubuntu:" + "t" * 128, "docker.io", "docker.io", None, "library/ubuntu", "t" * 128, None),
    # 64 hex characters are a name when they are not the whole reference.
    ("a" * 64 + ":1", "docker.io", "docker.io", None, "library/" + "a" * 64, "1", None),
]


@pytest.mark.parametrize(
    ("text", "domain", "host", "port", "path", "tag", "digest"),
    ACCEPTED,
    ids=[a[0][:40] for a in ACCEPTED],
)
def test_accepts_and_normalises(
    text: str,
    domain: str,
    host: str,
    port: int | None,
    path: str,
    tag: str | None,
    digest: str | None,
) -> None:
    assert parse_reference(text) == ImageReference(
        domain=domain, host=host, port=port, path=path, tag=tag, digest=digest
    )


@pytest.mark.parametrize(
    ("text", "canonical", "familiar"),
    [
        ("ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"),
        ("index.docker.io/x/y", "docker.io/x/y:latest", "x/y:latest"),
        ("docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"),
        # Docker would print "a.b/c" and "localhost/x", which name other registries.
        ("docker.io/a.b/c", "docker.io/a.b/c:latest", "docker.io/a.b/c:latest"),
        ("docker.io/localhost/x", "docker.io/localhost/x:latest", "docker.io/localhost/x:latest"),
        ("docker.io/a.b", "docker.io/library/a.b:latest", "a.b:latest"),
        ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
        ("[::1]:5000/x:2", "[::1]:5000/x:2", "[::1]:5000/x:2"),
        ("registry-1.docker.io/library/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"),
        ("ubuntu@" + SHA256, "docker.io/library/ubuntu@" + SHA256, "ubuntu@" + SHA256),
        (
            "ghcr.io/acme/tool:1@" + SHA256,
            "ghcr.io/acme/tool:1@" + SHA256,
            "ghcr.io/acme/tool:1@" + SHA256,
        ),
        (
            "Registry.Example.COM/app",
            "Registry.Example.COM/app:latest",
            "Registry.Example.COM/app:latest",
        ),
    ],
)
def test_canonical_and_familiar(text: str, canonical: str, familiar: str) -> None:
    parsed = parse_reference(text)
    assert (parsed.canonical, parsed.familiar) == (canonical, familiar)


@pytest.mark.parametrize(
    ("text", "registry_key", "api_host", "name", "manifest"),
    [
        (
            "ubuntu",
            DOCKER_HUB_AUTH_KEY,
            "registry-1.docker.io",
            "docker.io/library/ubuntu",
            "latest",
        ),
        (
            "index.docker.io/acme/tool:2",
            DOCKER_HUB_AUTH_KEY,
            "registry-1.docker.io",
            "docker.io/acme/tool",
            "2",
        ),
        (
            "registry-1.docker.io/acme/tool",
            DOCKER_HUB_AUTH_KEY,
            "registry-1.docker.io",
            "docker.io/acme/tool",
            "latest",
        ),
        (
            "docker.io:443/acme/tool",
            "docker.io:443",
            "docker.io:443",
            "docker.io:443/acme/tool",
            "latest",
        ),
        ("ghcr.io/acme/tool:1@" + SHA256, "ghcr.io", "ghcr.io", "ghcr.io/acme/tool", SHA256),
        ("[::1]:5000/x", "[::1]:5000", "[::1]:5000", "[::1]:5000/x", "latest"),
    ],
)
def test_registry_key_api_host_name_and_manifest_reference(
    text: str, registry_key: str, api_host: str, name: str, manifest: str
) -> None:
    parsed = parse_reference(text)
    assert parsed.registry_key == registry_key
    assert parsed.api_host == api_host
    assert parsed.name == name
    assert parsed.manifest_reference == manifest


def test_parsed_value_is_frozen() -> None:
    parsed = parse_reference("ubuntu")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.tag = "other"  # type: ignore[misc]


def test_path_length_limit_counts_the_normalised_path() -> None:
    assert parse_reference("a/" + "b" * 253).path == "a/" + "b" * 253  # 255: the limit
    with pytest.raises(InvalidReference, match=r"too long \(over 255 characters\)"):
        parse_reference("a/" + "b" * 254)
    # 248 written characters become 256 with "library/".
    with pytest.raises(InvalidReference, match=r"too long \(over 255 characters\)"):
        parse_reference("b" * 248)


# --- refused references -------------------------------------------------------------------------

REFUSED = [
    ("", "the reference is empty"),
    ("Acme/Tool", "repository name must be lowercase: 'Acme/Tool'"),
    ("acme/Tool", "repository name must be lowercase: 'acme/Tool'"),
    ("Ubuntu", "repository name must be lowercase: 'Ubuntu'"),
    ("ghcr.io/Acme/tool:1", "repository name must be lowercase: 'Acme/tool'"),
    ("ubuntu:-x", "invalid tag '-x'"),
    ("ubuntu:.x", "invalid tag '.x'"),
    ("ubuntu:", "invalid tag ''"),
    ("ubuntu:a:b", "invalid tag 'a:b'"),
    ("ubuntu:" + "t" * 129, "invalid tag: longer than 128 characters"),
    ("ubuntu@sha256:" + "a" * 40, "invalid digest: sha256 needs exactly 64 hex digits, got 40"),
    ("ubuntu@sha256:short", "invalid digest 'sha256:short'"),
    ("ubuntu@", "invalid digest ''"),
    ("ubuntu@sha256:" + "A" * 64, "invalid digest: the hex digits must be lowercase"),
    ("ubuntu@md5:" + "a" * 32, "invalid digest: unsupported algorithm 'md5'"),
    ("ubuntu@" + SHA256 + "@" + SHA256, "invalid digest"),
    ("a//b", "repository name has an empty component"),
    ("/a", "repository name has an empty component"),
    ("a/", "repository name must not end with '/'"),
    ("ghcr.io/acme/", "repository name must not end with '/'"),
    ("localhost/", "no repository name"),
    (":tag", "no repository name in ':tag'"),
    ("@sha256:short", "no repository name"),
    ("@" + SHA256, "no repository name"),
    ("a-/b", "invalid repository name component 'a-'"),
    ("a..b", "invalid repository name component 'a..b'"),
    ("acme/___x", "invalid repository name component '___x'"),
    ("ubuntu latest", "must not contain spaces"),
    (" ubuntu", "must not contain spaces"),
    ("ubuntu\n", "must not contain spaces"),
    ("ubuntu\x00", "character not allowed: '\\x00'"),
    ("ubüntu", "character not allowed: 'ü'"),
    ("ghcr.io/acme/tool:tág", "character not allowed: 'á'"),
    ("ubuntu:١٢", "character not allowed"),  # Python's \w would take Arabic-Indic digits
    ("a" * 64, "a 64-character hex string is an image ID, not a name"),
    ("-x.com/y", "invalid registry host '-x.com'"),
    ("a:b/c", "invalid registry host 'a:b'"),
    ("[fe80::1%eth0]:5000/x", "invalid registry host"),
    ("host.example:0/x", "invalid registry port in 'host.example:0': must be 1-65535"),
    ("host.example:65536/x", "must be 1-65535"),
    ("x" * 1025, "the reference is too long (over 1024 characters)"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED, ids=[repr(r[0])[:40] for r in REFUSED])
def test_refuses_with_an_actionable_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference) as excinfo:
        parse_reference(text)
    assert reason in str(excinfo.value)


def test_invalid_reference_is_a_value_error() -> None:
    assert issubclass(InvalidReference, ValueError)


# --- properties ---------------------------------------------------------------------------------

_ALPHANUMERIC = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@st.composite
def _path_component(
    draw: st.DrawFn, separators: tuple[str, ...] = (".", "_", "__", "-", "--")
) -> str:
    """``alpha-numeric [separator alpha-numeric]*``, built rather than filtered (fast to draw)."""
    parts = [draw(_ALPHANUMERIC)]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        parts += [draw(st.sampled_from(separators)), draw(_ALPHANUMERIC)]
    return "".join(parts)


# A first component that splitDockerDomain does not take for a domain: no ".", not localhost.
_hub_first_component = _path_component(("_", "__", "-", "--")).filter(lambda c: c != "localhost")
_label = st.from_regex(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", fullmatch=True)
_port = st.none() | st.integers(min_value=1, max_value=65535)


def _random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def _host(draw: st.DrawFn) -> tuple[str, str]:
    """(host as written, bracketed for IPv6; the lower-case host without brackets)."""
    kind = draw(st.sampled_from(["dotted", "capital", "localhost", "ipv4", "ipv6", "hub"]))
    if kind == "dotted":
        written = ".".join(draw(st.lists(_label, min_size=2, max_size=4)))
    elif kind == "capital":  # one label, a domain only because of an upper-case letter
        written = draw(st.sampled_from("ABCXYZ")) + draw(_label)
    elif kind == "localhost":
        written = "localhost"
    elif kind == "ipv4":
        written = str(draw(st.ip_addresses(v=4)))
    elif kind == "ipv6":
        address = str(draw(st.ip_addresses(v=6).filter(lambda a: "." not in str(a))))
        written = "[" + _random_case(draw, address) + "]"
    else:
        written = draw(st.sampled_from(["docker.io", "index.docker.io", "registry-1.docker.io"]))
        written = _random_case(draw, written)
    return written, written.lower().strip("[]")


@st.composite
def valid_references(draw: st.DrawFn) -> tuple[str, ImageReference]:
    """A valid reference and the value Docker's rules give it, built from the grammar."""
    tag = draw(st.none() | st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", fullmatch=True))
    digest = draw(
        st.none()
        | st.text("0123456789abcdef", min_size=64, max_size=64).map("sha256:".__add__)
        | st.text("0123456789abcdef", min_size=128, max_size=128).map("sha512:".__add__)
    )
    if draw(st.booleans()):  # with a domain
        written_host, host = draw(_host())
        port = draw(_port)
        domain = written_host if port is None else f"{written_host}:{port}"
        components = draw(st.lists(_path_component(), min_size=1, max_size=4))
        written_path = "/".join(components)
        name = f"{domain}/{written_path}"
        if host in {"docker.io", "index.docker.io", "registry-1.docker.io"} and port is None:
            domain = host = "docker.io"
    else:  # Docker Hub, domain omitted
        port = None
        components = draw(st.lists(_path_component(), min_size=1, max_size=4))
        if len(components) > 1:
            components[0] = draw(_hub_first_component)
        written_path = name = "/".join(components)
        domain = host = "docker.io"
    path = written_path
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    text = name + (f":{tag}" if tag is not None else "") + (f"@{digest}" if digest else "")
    if len(path) > 255 or re.fullmatch(r"[a-f0-9]{64}", text):
        reject()  # over the path limit, or a bare image ID: refusals tested above
    expected = ImageReference(
        domain=domain,
        host=host,
        port=port,
        path=path,
        tag=tag if tag is not None or digest is not None else "latest",
        digest=digest,
    )
    return text, expected


@PROPERTY
@given(valid_references())
def test_valid_references_parse_to_their_normalised_value_and_round_trip(
    case: tuple[str, ImageReference],
) -> None:
    text, expected = case
    parsed = parse_reference(text)
    assert parsed == expected
    assert parse_reference(parsed.canonical) == parsed
    assert parse_reference(parsed.familiar) == parsed
    assert parse_reference(parsed.canonical).canonical == parsed.canonical


# Text made of the grammar's own characters reaches deeper than random Unicode does.
_grammar_text = st.lists(
    st.sampled_from(list("abcxyz019ABZ:/@._-[]%é ") + ["sha256:", "docker.io", "localhost"]),
    max_size=40,
).map("".join)


@PROPERTY
@given(st.text(max_size=300) | _grammar_text)
def test_arbitrary_text_raises_only_invalid_reference(text: str) -> None:
    try:
        parsed = parse_reference(text)
    except InvalidReference as error:
        assert str(error)  # a reason, never an empty message
    else:
        assert parse_reference(parsed.canonical) == parsed
