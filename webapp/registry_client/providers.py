"""Provider knowledge, one place per registry kind.

- Docker Hub: the registry and its token service live on different hosts (both from settings);
  a realm elsewhere is refused, so Docker Hub credentials only ever go to the auth host. The
  names that mean Docker Hub are `reference.DOCKER_HUB_HOSTS`, shared with image references.
- GitHub (GHCR): the realm is on the registry host; `/v2/` names a placeholder scope, which the
  scope-less sign-in ignores; a wrong token is a 403 DENIED at the token endpoint; a classic
  token's scopes and expiry are read from the GitHub API (`GET /user`).
- AWS ECR (a Docker Registry kind, recognised by host name): user `AWS`, passwords that expire
  12 hours after they are issued.
- Docker Registry (any Registry HTTP API v2 service): the realm may be on another host, but only
  through the outbound guard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .address import RegistryAddress
    from .outbound import OutboundSession
    from .settings import ClientSettings


class Kind(StrEnum):
    DOCKER_REGISTRY = "docker_registry"
    DOCKER_HUB = "docker_hub"
    GITHUB = "github"


GITHUB_HOSTS = frozenset({"ghcr.io"})

# amazon-ecr-credential-helper's pattern (ecr-login/api/client.go), matched on the whole host.
_ECR_HOST = re.compile(
    r"([a-zA-Z0-9][a-zA-Z0-9_-]*)\.dkr\.ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9_-]*)\.amazonaws\.com(\.cn)?"
)
ECR_PASSWORD_LIFETIME = timedelta(hours=12)
ECR_EXPIRY_NOTE = (
    "An ECR password (from aws ecr get-login-password) expires 12 hours after it is issued, "
    "so the connection stops working unless the password is replaced."
)

# write:packages implies read:packages; GitHub lists only the scope that was granted.
PACKAGE_READ_SCOPES = frozenset({"read:packages", "write:packages"})


def is_ecr_host(host: str) -> bool:
    return _ECR_HOST.fullmatch(host) is not None


@dataclass(frozen=True)
class Endpoints:
    """Where a kind's registry is, and which hosts (`host_port`) its token realm may use.

    `realm_hosts` None means any host, as long as the outbound guard lets it through.
    """

    registry: RegistryAddress
    realm_hosts: frozenset[str] | None


def endpoints(kind: Kind, address: RegistryAddress | None, settings: ClientSettings) -> Endpoints:
    if kind is Kind.DOCKER_HUB:
        return Endpoints(
            settings.docker_hub_registry, frozenset({settings.docker_hub_auth.host_port})
        )
    if kind is Kind.GITHUB:
        return Endpoints(settings.ghcr, frozenset({settings.ghcr.host_port}))
    if address is None:
        raise ValueError("A Docker Registry target needs an address.")
    return Endpoints(address, None)


def ecr_expiry(previous_expiry: datetime | None, now: datetime) -> datetime:
    """After a successful check: keep the expiry of the check that first saw this password.

    A previous estimate that has already passed (while the password still works) was wrong, so
    the best bound is again 12 hours from now.
    """
    if previous_expiry is not None and previous_expiry > now:
        return previous_expiry
    return now + ECR_PASSWORD_LIFETIME


@dataclass(frozen=True)
class GitHubTokenFacts:
    """What `GET /user` tells about a token. `scopes` is None when it is not a classic token."""

    scopes: frozenset[str] | None
    expires_at: datetime | None

    @property
    def can_read_packages(self) -> bool | None:
        return None if self.scopes is None else bool(self.scopes & PACKAGE_READ_SCOPES)


def read_github_token(
    session: OutboundSession, api_base: str, secret: str
) -> GitHubTokenFacts | None:
    """Ask the GitHub API about the token; None when the API does not answer 200."""
    response = session.request(
        "GET",
        f"{api_base}/user",
        headers={"Authorization": f"token {secret}", "Accept": "application/vnd.github+json"},
    )
    if response.status != 200:
        return None
    header = response.headers.get("X-OAuth-Scopes")
    scopes = (
        None if header is None else frozenset(s.strip() for s in header.split(",") if s.strip())
    )
    return GitHubTokenFacts(
        scopes, parse_github_expiry(response.headers.get("GitHub-Authentication-Token-Expiration"))
    )


def parse_github_expiry(value: str | None) -> datetime | None:
    """`2026-12-31 00:00:00 UTC` (or a numeric offset) as an aware datetime; None if unreadable."""
    if not value:
        return None
    text = value.strip()
    for suffix in (" UTC", " GMT"):
        if text.endswith(suffix):
            text = text.removesuffix(suffix) + " +0000"
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return None
