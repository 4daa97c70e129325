"""The one list of connection statuses, with a label, a tone and the fix-it hints every kind shares.

Checks, pages, the runner API and the support console all use these values (design.md
"Statuses"). The hints that depend on the registry kind are its provider's
(`providers/<kind>.py`); `providers.describe` puts the two together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

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

#: Hints that read the same for every kind; the others are each provider's `hints`.
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

#: The statuses whose fix-it hint each provider writes for its kind.
KIND_HINTED = frozenset(set(Status) - set(_COMMON))


def text(status: Status, hints: Mapping[Status, str]) -> StatusText:
    """Label, fix-it hint and badge tone of `status`: the hint is the common one, else the one
    of `hints` (a provider's, for the statuses whose fix depends on the registry kind; see
    `providers.describe`)."""
    label, tone = _LABELS[status]
    return StatusText(label=label, hint=_COMMON.get(status) or hints[status], tone=tone)
