"""SSRF tests of the outbound guard (security.md §3.5, SSRF-01..05).

Tests marked `disable_socket` mock name resolution and forbid real sockets: a bug can never reach
a private or metadata address, it can only fail the test. The loopback tests (redirects, proxies,
body cap, realm) may connect to 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

import pytest
import pytest_socket
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.support.token_server import Response, json_response
from webapp.registry_client import transport
from webapp.registry_client.address import parse_registry_url
from webapp.registry_client.check import run_check
from webapp.registry_client.client_settings import ClientSettings
from webapp.registry_client.errors import AddressError, BlockedAddress, BodyTooLarge, Unreachable
from webapp.registry_client.policy import OutboundPolicy, port_allowed
from webapp.registry_client.tls import build_ssl_context
from webapp.registry_client.transport import OutboundSession

from .conftest import LOOPBACK_ONLY, bearer_challenge, loopback_settings, registry_target

METADATA = ["169.254.169.254", "fd00:ec2::254", "fd20:ce::254", "100.100.100.200"]

# Every address of §3.5 that a host name might resolve to.
FORBIDDEN_ANSWERS = [
    "127.0.0.1",
    "127.127.127.127",
    "127.0.1.3",
    "0.0.0.0",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "169.254.169.254",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "192.0.0.8",
    "198.18.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "224.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::",
    "fd00:ec2::254",
    "fd20:ce::254",
    "100.100.100.200",
    "fe80::1",
    "fc00::1",
    "192.88.99.1",
    # Deprecated IPv6 forms CPython 3.11 calls "global". IPv4-compatible (::/96), some embedding
    # the metadata address, loopback or a private address; IPv4-translated (::ffff:0:0:0/96).
    "::a9fe:a9fe",
    "::7f00:1",
    "::a00:1",
    "::6464:64c8",
    "::ffff:0:a9fe:a9fe",
    "::ffff:0:7f00:1",
    "::ffff:0:a00:1",
    # Reserved ::/8 even when the IPv4 inside is public (nothing legitimate lives there).
    "::5db8:d822",
    "::ffff:0:5db8:d822",
    "::1:0:0:1",
    # Site-local (fec0::/10, deprecated), documentation (3fff::/20), outside global unicast.
    "fec0::1",
    "feff::1",
    "3fff::1",
    "3fff:fff:ffff::1",
    "4000::1",
    "fe00::1",
]

# What admins might type. Each is refused by the parser, or parses and must then be blocked when
# its name resolves (value: the resolver's answer for the host).
TYPED: dict[str, list[str] | None] = {
    "127.0.0.1": ["127.0.0.1"],
    "127.127.127.127": ["127.127.127.127"],
    "127.0.1.3": ["127.0.1.3"],
    "127.1": None,
    "0": None,
    "0.0.0.0": ["0.0.0.0"],
    "localhost": ["127.0.0.1", "::1"],
    "LOCALHOST": ["127.0.0.1", "::1"],
    "[::]": ["::"],
    "[::1]": ["::1"],
    "[0000::1]": ["::1"],
    "[0:0:0:0:0:ffff:127.0.0.1]": ["::ffff:127.0.0.1"],
    "[::ffff:169.254.169.254]": ["::ffff:169.254.169.254"],
    "2130706433": None,
    "3232235521": None,
    "2852039166": None,
    "0177.0.0.1": None,
    "0x7f.0.0.1": None,
    "0x7f.1": None,
    "017700000001": None,
    "127.0.0.1.nip.io": ["127.0.0.1"],
    "localtest.me": ["127.0.0.1"],
    "customer1.app.localhost.my.company.127.0.0.1.nip.io": ["127.0.0.1"],
    "make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms": ["1.2.3.4", "169.254.169.254"],
    "file:///etc/passwd": None,
    "gopher://127.0.0.1:6379/_INFO": None,
    "dict://127.0.0.1:11211/": None,
    "ftp://127.0.0.1/": None,
    "jar:": None,
    "http://1.1.1.1 &@2.2.2.2# @3.3.3.3/": None,
    "http://127.1.1.1:80\\@127.2.2.2:80/": None,
    "http://127.1.1.1:80:\\@@127.2.2.2:80/": None,
    "http://expected@evil/": None,
    "http://evil#@expected/": None,
    "localhost%00.example.com": None,
    "\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3": None,
    "%2561dmin": None,
    "registry.example.com:22": None,
    "registry.example.com:25": None,
    "registry.example.com:6379": None,
    "registry.example.com:11211": None,
    "localhost:+11211aaa": None,
    "100.64.0.1": ["100.64.0.1"],
    "192.0.0.8": ["192.0.0.8"],
    "198.18.0.1": ["198.18.0.1"],
    "240.0.0.1": ["240.0.0.1"],
    "255.255.255.255": ["255.255.255.255"],
    "224.0.0.1": ["224.0.0.1"],
    "[64:ff9b::a9fe:a9fe]": ["64:ff9b::a9fe:a9fe"],
    "[2002:a9fe:a9fe::]": ["2002:a9fe:a9fe::"],
    "[fd00:ec2::254]": ["fd00:ec2::254"],
    "[fd20:ce::254]": ["fd20:ce::254"],
    "100.100.100.200": ["100.100.100.200"],
    # The parser stays permissive for these bracketed literals (it checks syntax, not
    # destinations); the guard refuses them at connect time, before any connection.
    "[::a9fe:a9fe]": ["::a9fe:a9fe"],
    "[::169.254.169.254]": ["::a9fe:a9fe"],
    "[::7f00:1]": ["::7f00:1"],
    "[::127.0.0.1]": ["::7f00:1"],
    "[::a00:1]": ["::a00:1"],
    "[::ffff:0:a9fe:a9fe]": ["::ffff:0:a9fe:a9fe"],
    "[::ffff:0:169.254.169.254]": ["::ffff:0:a9fe:a9fe"],
    "[0:0:0:0:ffff:0:7f00:1]": ["::ffff:0:7f00:1"],
    "[::5db8:d822]": ["::5db8:d822"],
    "[fec0::1]": ["fec0::1"],
    "[3fff::1]": ["3fff::1"],
}


def _answer(ip: str, port: int) -> tuple[Any, ...]:
    if ip_address(ip).version == 6:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))


class FakeNet:
    """A mocked resolver plus a record of every connection attempt (which always fails)."""

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}
        self.lookups: list[str] = []
        self.connects: list[tuple[Any, ...]] = []
        self.hanging = threading.Event()  # lookups of "hang.example" wait until it is set

    def getaddrinfo(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        self.lookups.append(host)
        if host == "hang.example":
            self.hanging.wait(10)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "not known")
        return [_answer(ip, port) for ip in self.names[host]]

    def connect(self, family: int, kind: int, proto: int, sockaddr: Any, timeout: float) -> Any:
        self.connects.append(sockaddr)
        raise ConnectionRefusedError("fake network: nothing listens")


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNet]:
    """The fake network. Used with `disable_socket`, whose guard it replaces for getaddrinfo."""
    fake = FakeNet()
    monkeypatch.setattr(transport, "_connect_pinned", fake.connect)
    guarded = socket.getaddrinfo
    socket.getaddrinfo = fake.getaddrinfo
    yield fake
    fake.hanging.set()
    socket.getaddrinfo = guarded
    # pytest-socket's teardown ran while our fake was installed, so it could not restore the real
    # getaddrinfo; do it here or its guard would leak into the following tests.
    pytest_socket.enable_socket()


PUBLIC_ONLY = OutboundPolicy()


def _get(url: str, policy: OutboundPolicy = PUBLIC_ONLY) -> transport.Response:
    with OutboundSession(policy, build_ssl_context([], None), 5) as session:
        return session.request("GET", url)


# --- the address policy ---------------------------------------------------------------------


@pytest.mark.parametrize("ip", FORBIDDEN_ANSWERS)
def test_forbidden_addresses_are_not_allowed(ip):
    assert not OutboundPolicy().address_allowed(ip_address(ip))


@pytest.mark.parametrize("ip", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"])
def test_public_addresses_are_allowed(ip):
    assert OutboundPolicy().address_allowed(ip_address(ip))


def test_allowed_networks_open_private_ranges_but_never_metadata():
    everything = tuple(ip_network(n) for n in ("0.0.0.0/0", "::/0", "169.254.0.0/16"))
    policy = OutboundPolicy(allowed_networks=everything)
    assert policy.address_allowed(ip_address("10.1.2.3"))
    assert policy.address_allowed(ip_address("127.0.0.1"))
    for ip in [*METADATA, "169.254.1.1", "fe80::1", "0.0.0.0", "64:ff9b::a9fe:a9fe"]:
        assert not policy.address_allowed(ip_address(ip)), ip
    # IPv4-compatible / -translated forms of the metadata and link-local addresses.
    for ip in ["::a9fe:a9fe", "::a9fe:1", "::6464:64c8", "::ffff:0:a9fe:a9fe", "::ffff:0:a9fe:1"]:
        assert not policy.address_allowed(ip_address(ip)), ip


def test_reserved_site_local_and_documentation_ipv6_open_only_when_allowed():
    listed = tuple(
        ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "10.0.0.0/8", "fec0::/10", "3fff::/20")
    )
    policy = OutboundPolicy(allowed_networks=listed)
    for ip in ["::a00:1", "::ffff:0:a00:1", "fec0::1", "3fff::1"]:
        assert policy.address_allowed(ip_address(ip)), ip
        assert not PUBLIC_ONLY.address_allowed(ip_address(ip)), ip
    # An IPv4-compatible or -translated address is treated like the IPv4 inside it: listing ::/96
    # does not open loopback, and listing 127.0.0.0/8 does not open ::/96.
    for ip in ["::7f00:1", "::ffff:0:7f00:1", "::a9fe:a9fe", "::ffff:0:a9fe:a9fe"]:
        assert not policy.address_allowed(ip_address(ip)), ip
    only_ipv4 = OutboundPolicy(allowed_networks=(ip_network("10.0.0.0/8"),))
    assert only_ipv4.address_allowed(ip_address("10.0.0.1"))
    assert not only_ipv4.address_allowed(ip_address("::a00:1"))
    assert not only_ipv4.address_allowed(ip_address("::ffff:0:a00:1"))


def test_ipv6_loopback_and_mapped_addresses_keep_their_meaning():
    # :: and ::1 are not IPv4-compatible addresses (RFC 4291 2.5.5.1): ::1 stays loopback, which
    # an operator may list, and ::ffff:a.b.c.d stays the plain IPv4 address.
    assert not PUBLIC_ONLY.address_allowed(ip_address("::1"))
    assert OutboundPolicy(allowed_networks=(ip_network("::1/128"),)).address_allowed(
        ip_address("::1")
    )
    assert not OutboundPolicy(allowed_networks=(ip_network("::/0"),)).address_allowed(
        ip_address("::")
    )
    assert PUBLIC_ONLY.address_allowed(ip_address("::ffff:93.184.216.34"))


_ALLOW_ALL = OutboundPolicy(
    allowed_networks=tuple(ip_network(n) for n in ("0.0.0.0/0", "::/0", "169.254.0.0/16"))
)
_POLICIES = [
    PUBLIC_ONLY,
    _ALLOW_ALL,
    OutboundPolicy(allowed_networks=(ip_network("::/0"),)),
    OutboundPolicy(allowed_networks=(ip_network("0.0.0.0/0"),)),
    OutboundPolicy(allowed_networks=tuple(ip_network(n) for n in ("10.0.0.0/8", "::/96"))),
]


_INTERESTING_V4 = ("169.254.0.0/16", "127.0.0.0/8", "10.0.0.0/8", "100.100.100.200/32", "0.0.0.0/8")


@given(
    v4=st.one_of(st.ip_addresses(v=4), *(st.ip_addresses(network=n) for n in _INTERESTING_V4)),
    policy=st.sampled_from(_POLICIES),
)
def test_an_ipv6_form_is_never_more_reachable_than_the_ipv4_inside_it(v4, policy):
    assume(int(v4) > 1)  # :: and ::1 are not IPv4-compatible addresses
    assert isinstance(v4, IPv4Address)
    forms = {
        "compatible": IPv6Address(int(v4)),
        "translated": IPv6Address(0xFFFF << 48 | int(v4)),
        "mapped": IPv6Address(0xFFFF << 32 | int(v4)),
    }
    for form, ip in forms.items():
        if policy.address_allowed(ip):
            assert policy.address_allowed(v4), (form, str(ip))
    if not PUBLIC_ONLY.address_allowed(v4) and not _ALLOW_ALL.address_allowed(v4):
        for ip in forms.values():  # metadata, link-local, "this host", broadcast, multicast
            assert not _ALLOW_ALL.address_allowed(ip), str(ip)


@pytest.mark.parametrize(
    ("port", "insecure", "allowed"),
    [
        (443, False, True),
        (80, False, False),
        (80, True, True),
        (5000, False, True),
        (65535, False, True),
        (1023, False, False),
        (22, False, False),
        (0, False, False),
        (65536, False, False),
        *[(p, True, False) for p in (2375, 2376, 2379, 3306, 5432, 6379, 9200, 11211, 27017)],
    ],
)
def test_port_rule(port, insecure, allowed):
    assert port_allowed(port, allow_insecure=insecure) is allowed


# --- typed addresses: refused by the parser or blocked at connect time -----------------------


@pytest.mark.disable_socket
@pytest.mark.parametrize("typed", list(TYPED))
def test_every_ssrf_payload_is_refused_before_any_connection(typed, net):
    answers = TYPED[typed]
    try:
        address = parse_registry_url(typed, allow_insecure=True)
    except AddressError:
        assert answers is None, f"{typed!r} should have parsed"
        return
    assert answers is not None, f"{typed!r} should have been refused by the parser"
    net.names[address.host] = answers
    settings = ClientSettings(policy=OutboundPolicy(allow_insecure=True))
    result = run_check(registry_target(address.base_url), settings)
    assert result.status == "blocked"
    assert net.connects == []
    assert net.lookups == [address.host]


@pytest.mark.disable_socket
@pytest.mark.parametrize("ip", FORBIDDEN_ANSWERS)
def test_host_name_resolving_to_a_forbidden_address_is_blocked(ip, net):
    net.names["registry.example.com"] = [ip]
    with pytest.raises(BlockedAddress) as caught:
        _get("https://registry.example.com/v2/")
    assert net.connects == []
    assert ip not in str(caught.value)  # no resolved-IP oracle in messages


@pytest.mark.disable_socket
def test_one_forbidden_answer_among_public_ones_blocks_the_name(net):
    net.names["registry.example.com"] = ["93.184.216.34", "10.0.0.5", "2606:2800:220:1::1"]
    with pytest.raises(BlockedAddress):
        _get("https://registry.example.com/v2/")
    assert net.connects == []


@pytest.mark.disable_socket
def test_public_address_is_connected_to_exactly_once_as_resolved(net):
    net.names["registry.example.com"] = ["93.184.216.34"]
    with pytest.raises(Unreachable) as caught:
        _get("https://registry.example.com/v2/")
    assert caught.value.cause == "refused"
    assert net.lookups == ["registry.example.com"]
    assert net.connects == [("93.184.216.34", 443)]


@pytest.mark.disable_socket
def test_ipv6_public_address_is_pinned_with_its_sockaddr(net):
    net.names["registry.example.com"] = ["2606:2800:220:1:248:1893:25c8:1946"]
    with pytest.raises(Unreachable):
        _get("https://registry.example.com:5000/v2/")
    assert net.connects == [("2606:2800:220:1:248:1893:25c8:1946", 5000, 0, 0)]


@pytest.mark.disable_socket
def test_allowed_network_lets_a_private_registry_through_but_not_metadata(net):
    policy = ClientSettings.from_config(
        {"OUTBOUND_ALLOWED_NETWORKS": "10.0.0.0/8, 169.254.169.254/32"}
    ).policy
    net.names["registry.corp.example"] = ["10.1.2.3"]
    net.names["metadata.corp.example"] = ["169.254.169.254"]
    with pytest.raises(Unreachable):
        _get("https://registry.corp.example/v2/", policy)
    with pytest.raises(BlockedAddress):
        _get("https://metadata.corp.example/v2/", policy)
    assert net.connects == [("10.1.2.3", 443)]


@pytest.mark.disable_socket
def test_allowed_site_local_network_is_reached_but_embedded_metadata_never(net):
    policy = ClientSettings.from_config(
        {"OUTBOUND_ALLOWED_NETWORKS": "fec0::/10, ::/96, ::ffff:0:0:0/96, 169.254.0.0/16"}
    ).policy
    net.names["registry.corp.example"] = ["fec0::1"]
    net.names["compat.corp.example"] = ["::a9fe:a9fe"]
    net.names["translated.corp.example"] = ["::ffff:0:a9fe:a9fe"]
    with pytest.raises(Unreachable):
        _get("https://registry.corp.example/v2/", policy)
    for name in ("compat.corp.example", "translated.corp.example"):
        with pytest.raises(BlockedAddress):
            _get(f"https://{name}/v2/", policy)
    assert net.connects == [("fec0::1", 443, 0, 0)]


@pytest.mark.disable_socket
@pytest.mark.parametrize(
    "literal", ["::a9fe:a9fe", "::ffff:0:a9fe:a9fe", "::7f00:1", "::a00:1", "fec0::1", "3fff::1"]
)
def test_deprecated_ipv6_literal_in_a_url_is_blocked_at_connect_time(literal, net):
    net.names[literal] = [literal]  # what getaddrinfo answers for a numeric host
    with pytest.raises(BlockedAddress):
        _get(f"https://[{literal}]:5000/v2/")
    assert net.lookups == [literal]
    assert net.connects == []


@pytest.mark.disable_socket
@pytest.mark.parametrize("port", [22, 6379, 2375, 80])
def test_port_rule_is_checked_before_resolving(port, net):
    net.names["registry.example.com"] = ["93.184.216.34"]
    with pytest.raises(BlockedAddress) as caught:
        _get(f"https://registry.example.com:{port}/v2/")
    assert caught.value.what == "port"
    assert net.lookups == [] and net.connects == []


@pytest.mark.disable_socket
def test_plain_http_needs_the_insecure_setting(net):
    with pytest.raises(BlockedAddress) as caught:
        _get("http://registry.example.com:5000/v2/")
    assert caught.value.what == "scheme"
    assert net.lookups == []


@pytest.mark.disable_socket
def test_a_hanging_resolver_cannot_outlast_the_deadline(net):
    context = build_ssl_context([], None)
    started = time.monotonic()
    with OutboundSession(PUBLIC_ONLY, context, 1.0) as s, pytest.raises(Unreachable) as caught:
        s.request("GET", "https://hang.example/v2/")
    assert caught.value.cause == "timed_out"
    # The resolver hangs far longer; slack for a loaded CI machine.
    assert time.monotonic() - started < 3.0
    assert net.connects == []


# --- the token realm --------------------------------------------------------------------------


@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize("realm", ["https://169.254.169.254/token", "https://[fd00:ec2::254]/t"])
def test_metadata_realm_is_refused_without_sending_credentials(serve, monkeypatch, realm):
    attempts: list[Any] = []
    real_connect = transport._connect_pinned

    def record(*args: Any) -> Any:
        attempts.append(args[3][0])
        return real_connect(*args)

    monkeypatch.setattr(transport, "_connect_pinned", record)
    registry = serve(bearer_challenge(realm))
    listed = (ip_network("127.0.0.1/32"), ip_network("169.254.0.0/16"), ip_network("fd00::/8"))
    settings = loopback_settings(policy=OutboundPolicy(allowed_networks=listed))
    result = run_check(registry_target(registry.url, ca_pem=registry.ca_pem), settings)
    assert result.status == "blocked"
    assert "credentials were not sent" in result.reason
    assert [r.auth_scheme for r in registry.requests] == [None]
    assert attempts == ["127.0.0.1"]


# --- loopback: redirects, proxies, body cap ---------------------------------------------------


@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_redirects_are_returned_never_followed(serve, code):
    target = serve(lambda req: json_response(200, {}))
    for location in (f"{target.url}/v2/", "https://169.254.169.254/latest/meta-data/"):
        source = serve(lambda req, loc=location: Response(code, [("Location", loc)], b""))
        with OutboundSession(LOOPBACK_ONLY, build_ssl_context([source.ca_pem], None), 5) as s:
            response = s.request("GET", f"{source.url}/v2/", headers={"Authorization": "Basic x"})
        assert response.status == code
        assert source.count == 1
    assert target.count == 0


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_proxy_environment_is_ignored(serve, monkeypatch):
    listener = socket.create_server(("127.0.0.1", 0))
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    registry = serve(lambda req: json_response(200, {}))
    try:
        with OutboundSession(LOOPBACK_ONLY, build_ssl_context([registry.ca_pem], None), 5) as s:
            assert s.request("GET", f"{registry.url}/v2/").status == 200
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected to the "proxy"
    finally:
        listener.close()
    assert registry.count == 1


class BigBodyServer:
    """TLS on loopback: answers once with 50 MB, counting how much it managed to send."""

    SIZE = 50 * 1024 * 1024

    def __init__(self, context: ssl.SSLContext, *, with_length: bool) -> None:
        self.sent = 0
        self.context = context
        self.head = b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
        self.head += b"Content-Length: %d\r\n\r\n" % self.SIZE if with_length else b"\r\n"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        chunk = b"x" * 65536
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(65536)
                tls.sendall(self.head)
                while self.sent < self.SIZE:
                    tls.sendall(chunk)
                    self.sent += len(chunk)
        except OSError:
            pass  # the client hung up, as it should

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.listener.close()


@pytest.fixture
def big_body(test_ca) -> Iterator[Callable[[bool], BigBodyServer]]:
    servers: list[BigBodyServer] = []

    def start(with_length: bool) -> BigBodyServer:
        servers.append(BigBodyServer(test_ca.server_context(), with_length=with_length))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize("with_length", [True, False])
def test_a_50_mb_body_is_cut_at_the_cap(big_body, test_ca, with_length):
    server = big_body(with_length)
    context = build_ssl_context([test_ca.cert_pem], None)
    with OutboundSession(LOOPBACK_ONLY, context, 5) as session, pytest.raises(BodyTooLarge):
        session.request("GET", f"https://127.0.0.1:{server.port}/v2/")
    server.close()
    assert server.sent < 10 * 1024 * 1024
