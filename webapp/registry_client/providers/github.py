"""GitHub (the GitHub Container Registry, GHCR): its host, its endpoints, and what its API says
of a token.

GHCR's token realm is on the registry host; `/v2/` names a placeholder scope, which the
scope-less sign-in ignores; a wrong token is a 403 DENIED at the token endpoint. A classic
personal access token's scopes and expiry are read from the GitHub API (`GET /user`); GitHub
documents only classic tokens for Packages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..address import RegistryAddress
from ..statuses import Status
from .base import Endpoints, FieldText, Provider

if TYPE_CHECKING:
    from ..transport import OutboundSession

KIND = "github"
HOST = "ghcr.io"
REGISTRY_URL_SETTING = "GHCR_URL"
API_URL_SETTING = "GITHUB_API_URL"
# write:packages implies read:packages; GitHub lists only the scope that was granted.
PACKAGE_READ_SCOPES = frozenset({"read:packages", "write:packages"})


@dataclass(frozen=True)
class GitHubTokenFacts:
    """What `GET /user` tells about a token. `scopes` is None when it is not a classic token."""

    scopes: frozenset[str] | None
    expires_at: datetime | None

    @property
    def can_read_packages(self) -> bool | None:
        return None if self.scopes is None else bool(self.scopes & PACKAGE_READ_SCOPES)

    @property
    def can_pull(self) -> bool | None:
        return self.can_read_packages


def api_base(urls: Mapping[str, RegistryAddress]) -> str:
    """The API root without a trailing slash (GitHub Enterprise puts it under /api/v3)."""
    api = urls[API_URL_SETTING]
    return f"{api.base_url}/{api.namespace}" if api.namespace else api.base_url


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


class GitHub(Provider):
    kind = KIND
    label = "GitHub"
    description = f"GitHub Container Registry ({HOST}), with a personal access token."
    fixed_host = HOST
    hosts = frozenset({HOST})
    display_host = "GitHub Container Registry"
    serves_public_images = True
    endpoint_settings = {
        REGISTRY_URL_SETTING: f"https://{HOST}",
        API_URL_SETTING: "https://api.github.com",
    }
    username = FieldText(
        "GitHub Username",
        "The GitHub account the token belongs to.",
        "Enter your GitHub username.",
    )
    secret = FieldText(
        "Personal Access Token",
        "A personal access token (classic) with the read:packages scope.",
    )
    reads_token = True
    no_pull_access_reason = "Signed in, but the token has neither read:packages nor write:packages."
    pull_unverified_reason = (
        "Signed in. GitHub does not list this token's scopes (it is not a classic token), so "
        "pull access is not verified; name a test image to verify it."
    )
    hints = {
        Status.CONNECTED_ANONYMOUS: (
            "GitHub answered without sign-in, so your token was not tested."
        ),
        Status.AUTH_FAILED: (
            "Use your GitHub username and a personal access token (classic) with the "
            "read:packages scope. If your organization uses SAML single sign-on, authorize the "
            "token for it."
        ),
        Status.MISSING_SCOPE: (
            "The token lacks the read:packages scope, or cannot read the test image. Edit the "
            "token (classic) on GitHub, add read:packages and, with SSO, authorize it for the "
            "organization."
        ),
        Status.EXPIRED: (
            "The personal access token has expired. Regenerate it on GitHub (keep read:packages) "
            "and replace the credentials."
        ),
        Status.UNREACHABLE: (
            "GitHub Container Registry could not be reached from the platform. This is usually "
            "temporary; try Check now later."
        ),
        Status.TLS_ERROR: (
            "The connection to GitHub was not trusted. Ask your platform operator whether "
            "outbound traffic is intercepted."
        ),
        Status.NOT_A_REGISTRY: (
            "The configured GitHub Container Registry address did not answer like one. Ask your "
            "platform operator to check the GitHub settings."
        ),
        Status.BLOCKED: (
            "GitHub's sign-in service is not at the expected address. Ask your platform operator "
            "to check the GitHub settings."
        ),
    }

    def endpoints(
        self, address: RegistryAddress | None, urls: Mapping[str, RegistryAddress]
    ) -> Endpoints:
        registry = urls[REGISTRY_URL_SETTING]
        return Endpoints(registry, frozenset({registry.host_port}))

    def namespace_of(self, path: str) -> str:
        # A GitHub namespace is a user or an organization: the first part of the path.
        return path.split("/", 1)[0]

    def read_token(
        self, session: OutboundSession, urls: Mapping[str, RegistryAddress], secret: str
    ) -> GitHubTokenFacts | None:
        return read_github_token(session, api_base(urls), secret)


PROVIDER = GitHub()
