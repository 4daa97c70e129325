"""Short-lived pull tokens for the runner API: the registry's own token, scoped to pulling one
repository, minted with the stored credentials so the runner never sees them.

- One exchange at a time per registry, credentials version and repository (single-flight):
  the others wait for its result, up to the deadline. At most `PULL_TOKEN_EXCHANGES_PER_ORG`
  exchanges of one org run at once in a process; a caller that gets no slot within the
  deadline is refused (`token_exchange_failed`) rather than queued forever.
- The exchange runs on the SSRF-safe session (`registry_client.check.exchange_pull_token`) with
  `PULL_TOKEN_TIMEOUT_SECONDS` (5 s) as its whole deadline, realm included.
- Tokens are cached per process, keyed by registry, credentials version (a digest of the
  ciphertext, so a replaced or re-encrypted secret starts afresh) and repository, until shortly
  before they expire; a registry that sends no `expires_in` gets the token spec's 60 s. That a
  registry mints no tokens (Basic only) is cached the same way, for 60 s.
- The secret is decrypted only on a cache miss, by the one caller that runs the exchange.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask, current_app

from ..extensions import db
from ..models import Registry, utcnow
from ..registry_client.check import PullTokenResult, exchange_pull_token
from ..registry_client.reference import ImageReference
from . import checks, credentials

#: The token spec's lifetime for a token sent without `expires_in`.
DEFAULT_EXPIRES_IN = 60
#: How long "this registry mints no tokens" is believed.
UNSUPPORTED_SECONDS = 60.0


class PullTokenUnsupported(Exception):
    """The registry signs in with a password only: no token to exchange."""


class TokenExchangeFailed(Exception):
    """The exchange failed; `status` is the check status it ended with, `reason` our words."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class PullToken:
    token: str = field(repr=False)
    expires_at: datetime


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    result: PullToken | Exception | None = None


@dataclass
class _Cached:
    value: PullToken | None  # None: the registry mints no tokens
    fresh_until: float


class _Exchanges:
    """The per-process state: cache, flights in progress, and each org's slots."""

    def __init__(self, per_org: int) -> None:
        self.lock = threading.Lock()
        self.cache: dict[tuple, _Cached] = {}
        self.flights: dict[tuple, _Flight] = {}
        self.slots: dict[int, threading.BoundedSemaphore] = {}
        self.per_org = max(1, per_org)

    def slot(self, org_id: int) -> threading.BoundedSemaphore:
        with self.lock:
            semaphore = self.slots.get(org_id)
            if semaphore is None:
                semaphore = self.slots[org_id] = threading.BoundedSemaphore(self.per_org)
            return semaphore


def _state(app: Flask) -> _Exchanges:
    state = app.extensions.get("pull_tokens")
    if state is None:
        state = app.extensions.setdefault(
            "pull_tokens", _Exchanges(int(app.config.get("PULL_TOKEN_EXCHANGES_PER_ORG", 4)))
        )
    return state


def credentials_version(registry: Registry) -> str:
    material = (registry.secret_ciphertext or b"") + registry.username.encode()
    return hashlib.sha256(material).hexdigest()[:16]


def _key(registry: Registry, reference: ImageReference) -> tuple:
    return (str(registry.id), registry.host, credentials_version(registry), reference.path)


def _fresh_for(expires_in: int) -> float:
    """How long a token is served from the cache: until shortly before it expires."""
    return max(1.0, expires_in - min(30.0, expires_in * 0.2))


def cached(registry: Registry, reference: ImageReference) -> PullToken | None:
    """A still-fresh token from this process's cache, without decrypting anything (or None);
    `PullTokenUnsupported` when the registry is known to mint none."""
    entry = _state(current_app).cache.get(_key(registry, reference))
    if entry is None or entry.fresh_until <= time.monotonic():
        return None
    if entry.value is None:
        raise PullTokenUnsupported()
    return entry.value


def obtain(registry: Registry, reference: ImageReference) -> PullToken:
    """A pull token for `reference` from `registry`: cached, or exchanged now (once for all
    callers asking at the same time). Raises `PullTokenUnsupported` or `TokenExchangeFailed`
    (the secret being unreadable: `credentials.CredentialsUnreadable`)."""
    found = cached(registry, reference)
    if found is not None:
        return found
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = _state(app)
    deadline = float(app.config.get("PULL_TOKEN_TIMEOUT_SECONDS", 5.0))
    key = _key(registry, reference)
    with state.lock:
        flight = state.flights.get(key)
        leader = flight is None
        if leader:
            flight = state.flights[key] = _Flight()
    assert flight is not None
    if not leader:
        if not flight.done.wait(deadline + 1.0):
            raise TokenExchangeFailed(
                "unreachable", "The registry's sign-in service did not answer in time."
            )
        return _outcome(flight.result)
    try:
        flight.result = _exchange(app, state, registry, reference, deadline)
    except Exception as error:  # the followers get the same error
        flight.result = error
    finally:
        with state.lock:
            state.flights.pop(key, None)
        flight.done.set()
    return _outcome(flight.result)


def _outcome(result: PullToken | Exception | None) -> PullToken:
    if isinstance(result, Exception):
        raise result
    if result is None:
        raise TokenExchangeFailed("error", "The token exchange failed unexpectedly.")
    return result


def _exchange(
    app: Flask, state: _Exchanges, registry: Registry, reference: ImageReference, deadline: float
) -> PullToken:
    slot = state.slot(registry.org_id)
    if not slot.acquire(timeout=deadline):
        raise TokenExchangeFailed(
            "rate_limited",
            "Too many token exchanges for this organization are running; try again shortly.",
        )
    try:
        secret = credentials.read_secret(registry)
        target = checks.target_for(registry, secret)
        del secret
        settings = _with_deadline(checks.client_settings(), deadline)
        key = _key(registry, reference)
        org_id = registry.org_id
        db.session.commit()  # no transaction stays open across the network work
        started = utcnow()
        result: PullTokenResult = exchange_pull_token(target, settings, reference.path)
    finally:
        slot.release()
    del org_id
    if not result.supported:
        state.cache[key] = _Cached(None, time.monotonic() + UNSUPPORTED_SECONDS)
        raise PullTokenUnsupported()
    if result.token is None:
        raise TokenExchangeFailed(str(result.status), result.reason)
    expires_in = result.expires_in or DEFAULT_EXPIRES_IN
    token = PullToken(result.token, started + timedelta(seconds=expires_in))
    if len(state.cache) > 10_000:
        state.cache.clear()
    state.cache[key] = _Cached(token, time.monotonic() + _fresh_for(expires_in))
    return token


def _with_deadline(settings, deadline: float):
    from dataclasses import replace

    if settings.deadline_seconds == deadline:
        return settings
    return replace(settings, deadline_seconds=deadline)
