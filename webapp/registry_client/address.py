"""The one parser for what an admin types as "Registry URL".

Accepts `registry.example.com`, `https://registry.example.com:5000/team/ns/`,
`123456789012.dkr.ecr.eu-west-1.amazonaws.com/namespace`, `[2001:db8::1]:5000`, and the keys of
Docker's config.json such as `https://index.docker.io/v1/` (a trailing `/v1` is Docker's legacy
API path, not a namespace). It is strict on
purpose: each refusal has its own message, and the result is rebuilt from validated parts, so the
URL the transport later parses cannot mean anything else (no userinfo, no odd IP spellings that
libc would read as 127.0.0.1, no percent-encoding). Whether the *resolved* address may be
reached is the outbound guard's job, at connect time. What an address suggests (ghcr.io is
GitHub) is the providers' (`providers.suggest_for_address`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from .errors import AddressError
from .policy import port_allowed

MAX_LENGTH = 255
#: The port each scheme means when none is written: the one home of that fact.
DEFAULT_PORTS = {"https": 443, "http": 80}
# Docker's API paths: the legacy v1 (still in config.json keys) and the Registry HTTP API v2.
LEGACY_API_PATH = "v1"
API_PATHS = frozenset({LEGACY_API_PATH, "v2"})

# A path component of the distribution reference grammar (registry-protocol.md §5.1).
PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")

# "file:", "jar:" and the like without "//"; not "host:5000" (a digit follows) and not "a.b:x"
# (schemes have no dots, so that is a host with a bad port).
_SCHEME_PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9+-]*):(?![\d+-])")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


@dataclass(frozen=True)
class RegistryAddress:
    """A validated registry address. `port` is None for the scheme's default port."""

    scheme: str
    host: str
    port: int | None
    namespace: str = ""

    @property
    def _host_literal(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def netloc(self) -> str:
        """Host and port as in a URL, the default port omitted."""
        return self._host_literal if self.port is None else f"{self._host_literal}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    @property
    def host_port(self) -> str:
        """Canonical `host:port`, the port always explicit: AEAD associated data, uniqueness."""
        return f"{self._host_literal}:{self.port or DEFAULT_PORTS[self.scheme]}"

    @property
    def display(self) -> str:
        return f"{self.netloc}/{self.namespace}" if self.namespace else self.netloc


def parse_registry_url(text: str, *, allow_insecure: bool = False) -> RegistryAddress:
    """Parse and normalise a registry address; raise `AddressError` with a specific message."""
    value = text.strip()
    if not value:
        raise AddressError("Enter the registry address, for example registry.example.com.")
    if len(value) > MAX_LENGTH:
        raise AddressError(f"The address is longer than {MAX_LENGTH} characters.")
    if not value.isascii():
        raise AddressError(
            "Use the plain ASCII form of the address (for an international name, its xn-- form)."
        )
    if any(char.isspace() or not char.isprintable() for char in value):
        raise AddressError(
            "Enter a registry address like registry.example.com/team, without spaces or "
            "invisible characters."
        )
    scheme, rest = _split_scheme(value)
    if scheme not in DEFAULT_PORTS:
        raise AddressError("Only https:// registry addresses are supported.")
    if scheme == "http" and not allow_insecure:
        raise AddressError("Plain http:// registries are not allowed here; use https://.")
    if "#" in rest:
        raise AddressError("Remove the #fragment: a registry address has none.")
    if "?" in rest:
        raise AddressError("Remove the ?query: a registry address has none.")
    authority, _, path = rest.partition("/")
    if "@" in authority:
        raise AddressError(
            "Do not put a user name or password in the address; use the credential fields."
        )
    if "\\" in value or "%" in value:
        raise AddressError("The address contains a character that is not allowed (\\ or %).")
    host, port = _split_authority(authority, scheme, allow_insecure)
    return RegistryAddress(scheme=scheme, host=host, port=port, namespace=_namespace(path))


def _split_scheme(value: str) -> tuple[str, str]:
    if "://" in value:
        scheme, _, rest = value.partition("://")
        return scheme.lower(), rest
    match = _SCHEME_PREFIX.match(value)
    if match:
        return match.group(1).lower(), value[match.end() :]
    return "https", value


def _split_authority(authority: str, scheme: str, allow_insecure: bool) -> tuple[str, int | None]:
    if authority.startswith("["):
        literal, bracket, after = authority[1:].partition("]")
        try:
            host = str(IPv6Address(literal)) if bracket else ""
        except ValueError:
            host = ""
        if not host:
            raise AddressError("The part in [brackets] is not a valid IPv6 address.")
        if after and not after.startswith(":"):
            raise AddressError("Only a :port may follow an IPv6 address in brackets.")
        has_port, port_text = bool(after), after[1:]
    else:
        if authority.count(":") > 1:
            raise AddressError("Put an IPv6 address in brackets, for example [2001:db8::1]:5000.")
        host_text, colon, port_text = authority.partition(":")
        host, has_port = _host(host_text.lower()), bool(colon)
    if not has_port:
        return host, None
    port = _port(port_text, allow_insecure)
    return host, None if port == DEFAULT_PORTS[scheme] else port


def _host(host: str) -> str:
    if not host:
        raise AddressError("The address has no host name.")
    if host.endswith("."):
        raise AddressError("Remove the trailing dot from the host name.")
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # Host names never end in a numeric label, so this is meant as an IPv4 address; only the
        # dotted-quad form is accepted (not 127.1, 2130706433, 0x7f.1 or 0177.0.0.1).
        try:
            IPv4Address(host)
        except ValueError:
            raise AddressError(
                "Write an IPv4 address as four decimal numbers, for example 192.0.2.10."
            ) from None
        return host
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise AddressError("The host name is not valid: use letters, digits, hyphens and dots.")
    return host


def _port(text: str, allow_insecure: bool) -> int:
    if not text:
        raise AddressError("The port is missing after ':'.")
    if not (text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535):
        raise AddressError("The port must be a number from 1 to 65535.")
    port = int(text)
    if not port_allowed(port, allow_insecure=allow_insecure):
        raise AddressError(
            f"Port {port} is not allowed: use 443 or a port from 1024 to 65535 "
            "(well-known database and service ports are refused)."
        )
    return port


def _namespace(path: str) -> str:
    path = path.removesuffix("/")
    if not path:
        return ""
    parts = path.split("/")
    if parts == [LEGACY_API_PATH]:
        # `https://index.docker.io/v1/` is the key `docker login` writes, and Docker reads any
        # `host/v1/` as the host alone (moby ResolveAuthConfig): an API path, never a namespace.
        return ""
    if parts[0] in API_PATHS:
        raise AddressError(
            f"Leave out /{parts[0]}/: enter the registry address and, optionally, a namespace."
        )
    for part in parts:
        if not part:
            raise AddressError("The namespace has an empty part (two slashes in a row).")
        if not PATH_COMPONENT.fullmatch(part):
            if PATH_COMPONENT.fullmatch(part.lower()):
                raise AddressError("The namespace must be lowercase.")
            raise AddressError(
                "The namespace may hold only lowercase letters and digits, "
                "separated by '.', '_', '__' or '-'."
            )
    return path
