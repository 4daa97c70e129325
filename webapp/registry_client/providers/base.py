"""What every provider module defines, with the defaults of a registry that the admin names by
its address (the Docker Registry kind): `Provider`, and the small values it hands out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..address import RegistryAddress
from ..statuses import Status

if TYPE_CHECKING:
    from ..transport import OutboundSession


@dataclass(frozen=True)
class Endpoints:
    """Where a kind's registry is, and which hosts (`host_port`) its token realm may use.

    `realm_hosts` None means any host, as long as the outbound guard lets it through.
    """

    registry: RegistryAddress
    realm_hosts: frozenset[str] | None


@dataclass(frozen=True)
class Suggestion:
    """What the form can propose from an address: another registry type, a username, a note."""

    kind: str | None = None
    username: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class FieldText:
    """A form field's words: its label, its help, and the message when it is left empty."""

    label: str
    help: str
    missing: str = ""


class TokenFacts(Protocol):
    """What a provider's API says of a token: whether it may pull (None: it cannot tell), and
    when it expires."""

    @property
    def can_pull(self) -> bool | None: ...

    @property
    def expires_at(self) -> datetime | None: ...


class Provider:
    """One registry kind's knowledge. A provider module subclasses it and exposes one instance
    as `PROVIDER`; `providers.PROVIDERS` lists them, and everything else asks them.

    The class attributes are data (hosts, words, hints); the methods are the rules.
    """

    #: The key stored in `Registry.kind` and used in URLs (`/new/<kind>`).
    kind: str
    #: How pages name the kind, and what the wizard's first step says of it.
    label: str
    description: str
    #: The host key its registries are stored under when the provider fixes it (the host image
    #: references name: docker.io, ghcr.io); None when the admin types the registry's address.
    fixed_host: str | None = None
    #: Every host name that means this provider in an address or an image reference.
    hosts: frozenset[str] = frozenset()
    #: How pages name the fixed host ("Docker Hub" rather than docker.io).
    display_host: str | None = None
    #: Whether the fixed host also serves public images, pulled with no credentials.
    serves_public_images: bool = False
    #: The `auths` key of config.json / auth.json for its registries, when it is not the host.
    auth_key: str | None = None
    #: The runner API's `credential.kind` when it hands out the stored secret (`"credential":
    #: "password"`); a provider whose secret is itself a short-lived token names its own kind
    #: (AWS ECR: "ecr_token"). The only other kind is "pull_token" (services/pull_tokens.py).
    password_credential_kind: str = "password"  # noqa: S105 - a kind, not a password
    #: The settings that name its endpoints (DOCKER_HUB_REGISTRY_URL, …) and their defaults:
    #: the real services. Tests point them at local servers that speak the same protocol.
    endpoint_settings: Mapping[str, str] = {}
    #: Its form's words for the username and the secret.
    username: FieldText
    secret: FieldText
    #: Fix-it hints of the statuses whose fix depends on the kind (`statuses.KIND_HINTED`).
    hints: Mapping[Status, str]
    #: Whether `read_token` asks the provider's API about a token once it signed in, and what a
    #: check says when the API answers that it cannot pull, or cannot tell.
    reads_token: bool = False
    no_pull_access_reason: str = ""
    pull_unverified_reason: str = ""

    def endpoints(
        self, address: RegistryAddress | None, urls: Mapping[str, RegistryAddress]
    ) -> Endpoints:
        """Where a check goes (`urls`: the parsed `endpoint_settings` of every provider). By
        default the typed address, with a token realm on any host the guard lets through."""
        if address is None:
            raise ValueError(f"A {self.label} target needs an address.")
        return Endpoints(address, None)

    def suggestion(self, address: RegistryAddress) -> Suggestion | None:
        """What to propose for a typed address that is this provider's; None when it is not."""
        return Suggestion(kind=self.kind) if address.host in self.hosts else None

    def serves(self, host: str, port: int | None) -> bool:
        """Whether an image on `host[:port]` is this provider's (a fixed host, default port)."""
        return port is None and host in self.hosts

    def expiry_after_success(
        self, host: str, previous: datetime | None, now: datetime
    ) -> datetime | None:
        """The credentials' expiry as a successful check leaves it; None: nothing known here
        (a kind whose API tells it says so through `read_token`)."""
        return None

    def repository(self, name: str) -> str:
        """A test image's repository path as the registry names it."""
        return name

    def namespace_of(self, path: str) -> str:
        """The namespace a registry of this kind needs to serve the image at `path` (the
        wizard's prefill): the image's parent path."""
        return path.rsplit("/", 1)[0] if "/" in path else ""

    def read_token(
        self, session: OutboundSession, urls: Mapping[str, RegistryAddress], secret: str
    ) -> TokenFacts | None:
        """Ask the provider's API about the token (only where `reads_token`)."""
        return None
