"""Where a check may connect: the address policy of the SSRF guard, with no network code.

Registry URLs are typed by tenant admins and token realms are chosen by the registry's server, so
both may point at loopback, the operator's private network or a cloud metadata service. This
module says which resolved addresses and which ports are allowed (design.md's rules, and
`OUTBOUND_ALLOWED_NETWORKS`); `transport` applies it to the address each connection actually
reaches, and `address` applies the port rule to what an admin types.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

from .errors import BlockedAddress

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Never a destination, whatever OUTBOUND_ALLOWED_NETWORKS says: link-local (where cloud metadata
# services live) and the metadata addresses outside it, "this host" (connecting to 0.0.0.0
# reaches loopback), broadcast and multicast.
NEVER_ALLOWED: tuple[IPNetwork, ...] = tuple(
    ip_network(n)
    for n in (
        "169.254.0.0/16",
        "fe80::/10",
        "fd00:ec2::254/128",
        "fd20:ce::254/128",
        "100.100.100.200/32",
        "0.0.0.0/8",
        "::/128",
        "255.255.255.255/32",
        "224.0.0.0/4",
        "ff00::/8",
    )
)

# Refused unless allowed explicitly, on top of everything `is_global` already excludes: CPython
# 3.11 calls NAT64, 6to4, 192.0.0.8 and 6to4 relays "global" although they reach other networks,
# and also the deprecated IPv4-compatible (::/96) and IPv4-translated (::ffff:0:0:0/96) forms, the
# rest of the reserved ::/8, site-local fec0::/10 and the documentation prefix 3fff::/20.
DENIED_UNLESS_ALLOWED: tuple[IPNetwork, ...] = tuple(
    ip_network(n)
    for n in (
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "192.88.99.0/24",
        "240.0.0.0/4",
        "::/8",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
        "2001:20::/28",
        "3fff::/20",
        "5f00::/16",
        "fec0::/10",
    )
)

# The only IPv6 space IANA hands out for public unicast. Anything outside it that CPython still
# calls global (reserved or unassigned blocks such as 4000::/3, fe00::/9) needs an allowed network.
_GLOBAL_UNICAST_V6 = ip_network("2000::/3")

_NAT64 = ip_network("64:ff9b::/96")
# Deprecated forms that carry an IPv4 address in their low 32 bits and can reach it (through a
# sit tunnel or an SIIT translator): IPv4-compatible (RFC 4291 2.5.5.1) and IPv4-translated
# (RFC 2765). `::` and `::1` are not IPv4-compatible addresses (RFC 4291 2.5.5.1 excludes them).
_IPV4_COMPATIBLE = ip_network("::/96")
_NOT_IPV4_COMPATIBLE = ip_network("::/127")
_IPV4_TRANSLATED = ip_network("::ffff:0:0:0/96")

# Well-known service ports that are never a registry (Docker API, etcd, databases, caches).
BLOCKED_PORTS = frozenset({2375, 2376, 2379, 3306, 5432, 6379, 9200, 11211, 27017})


def port_allowed(port: int, *, allow_insecure: bool) -> bool:
    """design.md's port rule: 443; 80 only for insecure registries; 1024-65535 minus services."""
    if port == 443:
        return True
    if port == 80:
        return allow_insecure
    return 1024 <= port <= 65535 and port not in BLOCKED_PORTS


def parse_networks(value: str | Iterable[str] | None) -> tuple[IPNetwork, ...]:
    """Read OUTBOUND_ALLOWED_NETWORKS: CIDRs separated by commas or spaces (or a list of them)."""
    if not value:
        return ()
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    try:
        return tuple(ip_network(item.strip(), strict=False) for item in items if item.strip())
    except ValueError as exc:
        raise ValueError(f"OUTBOUND_ALLOWED_NETWORKS holds an invalid network: {exc}") from None


def _translated_ipv4(ip: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv4-compatible or IPv4-translated IPv6 address stands for."""
    if isinstance(ip, IPv6Address) and (
        (ip in _IPV4_COMPATIBLE and ip not in _NOT_IPV4_COMPATIBLE) or ip in _IPV4_TRANSLATED
    ):
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _embedded_ipv4(ip: IPAddress) -> list[IPv4Address]:
    """IPv4 addresses inside an IPv6 one (6to4, Teredo, NAT64, IPv4-compatible, IPv4-translated):
    they must not reach metadata."""
    if isinstance(ip, IPv4Address):
        return []
    found: list[IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64:
        found.append(IPv4Address(int(ip) & 0xFFFFFFFF))
    translated = _translated_ipv4(ip)
    if translated is not None:
        found.append(translated)
    return found


@dataclass(frozen=True)
class OutboundPolicy:
    """Where checks may connect. Built once from configuration; immutable and shareable."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    allow_insecure: bool = False
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_body_bytes: int = 1024 * 1024

    def address_allowed(self, address: IPAddress) -> bool:
        """True when a resolved address may be connected to."""
        ip: IPAddress = address
        if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(
            candidate in net for candidate in (ip, *_embedded_ipv4(ip)) for net in NEVER_ALLOWED
        ):
            return False
        # An IPv4-compatible or -translated address is at least as restricted as its IPv4
        # address, and being in the reserved ::/8 it also needs an allowed network of its own.
        translated = _translated_ipv4(ip)
        if translated is not None and not self.address_allowed(translated):
            return False
        if any(ip in net for net in self.allowed_networks):
            return True
        # Multicast is already in NEVER_ALLOWED; is_global alone would let NAT64, 6to4 etc. through.
        if isinstance(ip, IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
            return False
        return ip.is_global and not any(ip in net for net in DENIED_UNLESS_ALLOWED)

    def check_port(self, port: int) -> None:
        if not port_allowed(port, allow_insecure=self.allow_insecure):
            raise BlockedAddress("port")
