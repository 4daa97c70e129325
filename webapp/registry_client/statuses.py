"""The one list of connection statuses, with a label, a tone and a fix-it hint per registry kind.

Checks, pages, the runner API and the support console all use these values (design.md
"Statuses"). `describe` never fails for a known status and kind, so templates can call it freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from .providers import Kind

Tone = Literal["ok", "warn", "bad", "pending"]


class Status(StrEnum):
    CHECKING = "checking"
    CONNECTED = "connected"
    CONNECTED_ANONYMOUS = "connected_anonymous"
    AUTH_FAILED = "auth_failed"
    MISSING_SCOPE = "missing_scope"
    EXPIRED = "expired"
    UNREACHABLE = "unreachable"
    TLS_ERROR = "tls_error"
    NOT_A_REGISTRY = "not_a_registry"
    RATE_LIMITED = "rate_limited"
    BLOCKED = "blocked"
    UNREADABLE = "unreadable"
    ERROR = "error"


#: The registry works: the platform can pull through it.
HEALTHY = frozenset({Status.CONNECTED, Status.CONNECTED_ANONYMOUS})
#: The registry does not work until someone acts (a 429 and a running check are neither).
FAILING = frozenset(set(Status) - HEALTHY - {Status.CHECKING, Status.RATE_LIMITED})


@dataclass(frozen=True)
class StatusText:
    label: str
    hint: str
    tone: Tone


_LABELS: dict[Status, tuple[str, Tone]] = {
    Status.CHECKING: ("Checking", "pending"),
    Status.CONNECTED: ("Connected", "ok"),
    Status.CONNECTED_ANONYMOUS: ("Connected without sign-in", "warn"),
    Status.AUTH_FAILED: ("Sign-in failed", "bad"),
    Status.MISSING_SCOPE: ("Missing permission", "bad"),
    Status.EXPIRED: ("Credentials expired", "bad"),
    Status.UNREACHABLE: ("Unreachable", "bad"),
    Status.TLS_ERROR: ("Certificate problem", "bad"),
    Status.NOT_A_REGISTRY: ("Not a registry", "bad"),
    Status.RATE_LIMITED: ("Rate limited", "warn"),
    Status.BLOCKED: ("Address not allowed", "bad"),
    Status.UNREADABLE: ("Credentials unreadable", "bad"),
    Status.ERROR: ("Unexpected answer", "bad"),
}

# Hints that read the same for every kind.
_COMMON: dict[Status, str] = {
    Status.CHECKING: "The check is running; this takes a few seconds.",
    Status.CONNECTED: "Nothing to do.",
    Status.RATE_LIMITED: "The registry is limiting requests. Wait a while, then use Check now.",
    Status.UNREADABLE: (
        "The stored secret can no longer be decrypted. Enter the credentials again."
    ),
    Status.ERROR: (
        "The registry gave an answer we did not expect. Check now again later; if it persists, "
        "contact support with the time of the check."
    ),
}

_BY_KIND: dict[Kind, dict[Status, str]] = {
    Kind.DOCKER_REGISTRY: {
        Status.CONNECTED_ANONYMOUS: (
            "The registry lets anyone in, so your credentials were not tested. That is fine for a "
            "public registry."
        ),
        Status.AUTH_FAILED: (
            "Check the username and password or token. For AWS ECR the username is AWS and the "
            "password lasts 12 hours: run aws ecr get-login-password again."
        ),
        Status.MISSING_SCOPE: (
            "The credentials work but cannot pull the test image. Give the account read access to "
            "that repository, or check the image name."
        ),
        Status.EXPIRED: (
            "The password has expired. For AWS ECR, passwords last 12 hours: get a new one with "
            "aws ecr get-login-password and replace the credentials."
        ),
        Status.UNREACHABLE: (
            "Check the registry address and port, and that the registry accepts connections from "
            "this platform (firewall, VPN, allow-lists)."
        ),
        Status.TLS_ERROR: (
            "If the registry uses a private or self-signed certificate, add its CA certificate "
            "under Advanced. Otherwise check that the certificate is valid for this host name."
        ),
        Status.NOT_A_REGISTRY: (
            "The address answers, but not as a container registry. Enter the registry's own "
            "address (without /v2/), not a web page or a login portal."
        ),
        Status.BLOCKED: (
            "This address is on a private or reserved network that the platform may not reach. "
            "Ask your platform operator to allow the registry's network."
        ),
    },
    Kind.DOCKER_HUB: {
        Status.CONNECTED_ANONYMOUS: (
            "Docker Hub answered without sign-in, so your credentials were not tested."
        ),
        Status.AUTH_FAILED: (
            "Use your Docker ID and a personal access token. The account password does not work "
            "when two-factor authentication or single sign-on is on."
        ),
        Status.MISSING_SCOPE: (
            "The access token cannot pull the test image. Create a token with read access (Repo "
            "Read-only) and check the image name, for example library/ubuntu."
        ),
        Status.EXPIRED: (
            "The access token has expired. Create a new one in Docker Hub and replace the "
            "credentials."
        ),
        Status.UNREACHABLE: (
            "Docker Hub could not be reached from the platform. This is usually temporary; try "
            "Check now later."
        ),
        Status.TLS_ERROR: (
            "The connection to Docker Hub was not trusted. Ask your platform operator whether "
            "outbound traffic is intercepted."
        ),
        Status.NOT_A_REGISTRY: (
            "The configured Docker Hub address did not answer like Docker Hub. Ask your platform "
            "operator to check the Docker Hub settings."
        ),
        Status.BLOCKED: (
            "Docker Hub's sign-in service is not at the expected address. Ask your platform "
            "operator to check the Docker Hub settings."
        ),
    },
    Kind.GITHUB: {
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
    },
}


def describe(status: str, kind: str) -> StatusText:
    """Label, fix-it hint and badge tone for a status of a registry of this kind."""
    state, registry_kind = Status(status), Kind(kind)
    label, tone = _LABELS[state]
    hint = _COMMON.get(state) or _BY_KIND[registry_kind][state]
    return StatusText(label=label, hint=hint, tone=tone)
