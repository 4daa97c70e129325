"""The registry address parser: accepted forms, each refusal's message, suggestions, properties."""

from __future__ import annotations

import contextlib

import pytest
import urllib3.util
from hypothesis import given
from hypothesis import strategies as st

from webapp.registry_client.address import RegistryAddress, parse_registry_url
from webapp.registry_client.errors import AddressError
from webapp.registry_client.providers import Suggestion, suggest_for_address
from webapp.registry_client.providers.ecr import EXPIRY_NOTE as ECR_EXPIRY_NOTE

ACCEPTED = [
    ("registry.example.com", ("https", "registry.example.com", None, "")),
    ("  Registry.Example.COM  ", ("https", "registry.example.com", None, "")),
    (
        "https://registry.example.com:5000/team/ns/",
        ("https", "registry.example.com", 5000, "team/ns"),
    ),
    ("HTTPS://registry.example.com:443/", ("https", "registry.example.com", None, "")),
    (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/namespace",
        ("https", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", None, "namespace"),
    ),
    ("[2001:db8::1]:5000", ("https", "2001:db8::1", 5000, "")),
    ("[2001:DB8:0::1]", ("https", "2001:db8::1", None, "")),
    ("192.0.2.10:8443/a/b.c/d__e/f-g/h---i", ("https", "192.0.2.10", 8443, "a/b.c/d__e/f-g/h---i")),
    ("localhost:5000", ("https", "localhost", 5000, "")),
    ("ghcr.io/octo-org", ("https", "ghcr.io", None, "octo-org")),
]


@pytest.mark.parametrize(("text", "parts"), ACCEPTED)
def test_accepted_addresses(text, parts):
    address = parse_registry_url(text)
    assert (address.scheme, address.host, address.port, address.namespace) == parts


# The spellings moby's TestResolveAuthConfigFullURL (registry/auth_test.go) resolves to one
# registry: `/v1/` is Docker's legacy API path, and the key `docker login` writes for Docker Hub
# is `https://index.docker.io/v1/`. Each used to become a namespace "v1".
DOCKER_CONFIG_KEYS = {
    ("registry.example.com", None): [
        "https://registry.example.com/v1/", "http://registry.example.com/v1/",
        "registry.example.com", "registry.example.com/v1/", "registry.example.com/v1",
    ],
    ("localhost", 8000): [
        "https://localhost:8000/v1/", "http://localhost:8000/v1/", "localhost:8000",
        "localhost:8000/v1/",
    ],
    ("registry.com", None): [
        "https://registry.com/v1/", "http://registry.com/v1/", "registry.com", "registry.com/v1/",
    ],
    ("index.docker.io", None): ["https://index.docker.io/v1/", "index.docker.io/v1/"],
}


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [(text, host, port) for (host, port), texts in DOCKER_CONFIG_KEYS.items() for text in texts],
)
def test_docker_config_keys_name_the_registry_without_a_namespace(text, host, port):
    address = parse_registry_url(text, allow_insecure=True)
    assert (address.host, address.port, address.namespace) == (host, port, "")


def test_the_docker_login_key_is_docker_hub():
    address = parse_registry_url("https://index.docker.io/v1/")
    assert suggest_for_address(address) == Suggestion(kind="docker_hub")
    assert address.display == "index.docker.io"


def test_v1_below_a_namespace_is_part_of_the_namespace():
    assert parse_registry_url("registry.example.com/team/v1").namespace == "team/v1"


def test_derived_forms():
    address = parse_registry_url("https://Registry.example.com:5000/team/")
    assert address.base_url == "https://registry.example.com:5000"
    assert address.host_port == "registry.example.com:5000"
    assert address.netloc == "registry.example.com:5000"
    assert address.display == "registry.example.com:5000/team"
    plain = parse_registry_url("registry.example.com")
    assert (plain.host_port, plain.netloc, plain.display) == (
        "registry.example.com:443",
        "registry.example.com",
        "registry.example.com",
    )
    v6 = parse_registry_url("[2001:db8::1]/ns")
    assert (v6.base_url, v6.host_port, v6.display) == (
        "https://[2001:db8::1]",
        "[2001:db8::1]:443",
        "[2001:db8::1]/ns",
    )


def test_http_only_when_insecure_registries_are_allowed():
    with pytest.raises(AddressError, match="Plain http"):
        parse_registry_url("http://registry.example.com")
    address = parse_registry_url("http://registry.example.com:80/x", allow_insecure=True)
    assert (address.scheme, address.port, address.host_port) == (
        "http",
        None,
        "registry.example.com:80",
    )
    with pytest.raises(AddressError, match="Port 80"):
        parse_registry_url("https://registry.example.com:80")


REFUSED = [
    ("", "Enter the registry address"),
    ("   ", "Enter the registry address"),
    ("r.example.com/" + "a" * 250, "longer than 255"),
    ("https://user:pass@registry.example.com", "user name or password"),
    ("https://token@registry.example.com", "user name or password"),
    ("https://registry.example.com/?token=abc", "query"),
    ("https://registry.example.com/#x", "fragment"),
    ("ftp://registry.example.com", "Only https://"),
    ("file:///etc/passwd", "Only https://"),
    ("jar:", "Only https://"),
    ("registry example.com", "spaces"),
    ("regi\x00stry.example.com", "invisible characters"),
    ("réGistry.example.com", "ASCII"),
    ("https:///v2", "no host"),
    (":5000", "no host"),
    ("-bad-.example.com", "host name is not valid"),
    ("under_score.example.com", "host name is not valid"),
    ("a..b.example.com", "host name is not valid"),
    ("registry.example.com.", "trailing dot"),
    ("0x7f.1", "four decimal numbers"),
    ("2130706433", "four decimal numbers"),
    ("0177.0.0.1", "four decimal numbers"),
    ("127.1", "four decimal numbers"),
    ("256.1.1.1", "four decimal numbers"),
    ("[::1", "IPv6"),
    ("[nonsense]", "IPv6"),
    ("[::1]x", "Only a :port"),
    ("2001:db8::1", "brackets"),
    ("registry.example.com:", "port is missing"),
    ("registry.example.com:abc", "number from 1 to 65535"),
    ("registry.example.com:0", "number from 1 to 65535"),
    ("registry.example.com:70000", "number from 1 to 65535"),
    ("registry.example.com:6379", "Port 6379 is not allowed"),
    ("registry.example.com:22", "Port 22 is not allowed"),
    ("registry.example.com/Team", "lowercase"),
    ("registry.example.com/team//x", "empty part"),
    ("registry.example.com/team/-x", "separated by"),
    ("registry.example.com/a.-b", "separated by"),
    ("registry.example.com/v2/", "Leave out /v2/"),
    ("registry.example.com/v1/team", "Leave out /v1/"),
    ("registry.example.com\\evil", "not allowed"),
    ("registry.example.com\\@evil.example.com", "user name or password"),
    ("registry.example.com/%2e%2e", "not allowed"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refusals_have_their_own_message(text, message):
    with pytest.raises(AddressError, match=message):
        parse_registry_url(text, allow_insecure=True)


def test_surrounding_whitespace_is_not_part_of_the_address():
    assert parse_registry_url("registry.example.com\t").host == "registry.example.com"


def test_exactly_255_characters_is_accepted():
    text = "r.example.com/" + "a" * 241
    assert len(text) == 255
    assert parse_registry_url(text).namespace == "a" * 241


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("ghcr.io", Suggestion(kind="github")),
        ("https://ghcr.io/octo-org", Suggestion(kind="github")),
        ("docker.io", Suggestion(kind="docker_hub")),
        ("index.docker.io", Suggestion(kind="docker_hub")),
        ("registry-1.docker.io/library", Suggestion(kind="docker_hub")),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ns",
            Suggestion(username="AWS", note=ECR_EXPIRY_NOTE, preferred_kind="aws_ecr"),
        ),
        (
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            Suggestion(username="AWS", note=ECR_EXPIRY_NOTE, preferred_kind="aws_ecr"),
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            Suggestion(username="AWS", note=ECR_EXPIRY_NOTE, preferred_kind="aws_ecr"),
        ),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example", Suggestion()),
        ("registry.gitlab.com", Suggestion()),
    ],
)
def test_suggestions(text, suggestion):
    assert suggest_for_address(parse_registry_url(text)) == suggestion


def test_ecr_note_says_twelve_hours():
    assert "12 hours" in ECR_EXPIRY_NOTE


# --- properties --------------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_parser_raises_only_address_error(text):
    with contextlib.suppress(AddressError):
        parse_registry_url(text, allow_insecure=True)


ADDRESSY = st.text(alphabet="abcxyz019.-_:/[]@#?%\\ AZ", max_size=60)


@given(ADDRESSY)
def test_parser_raises_only_address_error_on_address_like_text(text):
    with contextlib.suppress(AddressError):
        parse_registry_url(text, allow_insecure=True)


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_hosts = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join).filter(lambda h: not h[-1:].isdigit()),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
_component = st.from_regex(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+){0,2}", fullmatch=True)
_addresses = st.builds(
    RegistryAddress,
    scheme=st.sampled_from(["https", "http"]),
    host=_hosts,
    port=st.one_of(st.none(), st.sampled_from([5000, 8443, 1024, 65535])),
    # A first component v1 or v2 is one of Docker's API paths, never a namespace.
    namespace=st.lists(_component, max_size=3)
    .filter(lambda parts: parts[:1] not in (["v1"], ["v2"]))
    .map("/".join),
)


def _typed(address: RegistryAddress) -> str:
    return f"{address.base_url}/{address.namespace}" if address.namespace else address.base_url


@given(_addresses)
def test_formatted_address_parses_back_to_itself(address):
    text = _typed(address)
    if len(text) > 255:
        return
    assert parse_registry_url(text, allow_insecure=True) == address
    if address.scheme == "https":
        assert parse_registry_url(address.display) == address


@given(_addresses)
def test_transport_parser_agrees_on_host_and_port(address):
    parsed = urllib3.util.parse_url(address.base_url + "/v2/")
    assert parsed.host.strip("[]") == address.host
    assert parsed.port == address.port
