"""The APIs' throttle, and the one set of throttle headers every API answer carries.

A view charges the request to the one limit that applies to it (`charge`), after it knows which:
the runner API charges a token that authenticates to that token's own limit, and a refused token
to the refused-token limit of its address, so a good runner behind the same NAT as a guesser is
never locked out by the guesser's refusals. The answer then describes that limit and no other:

    X-RateLimit-Limit      requests allowed in the window
    X-RateLimit-Remaining  left in this window
    X-RateLimit-Reset      when the window resets (Unix seconds)
    Retry-After            on a 429 only: seconds until a request can succeed

Counts live in Flask-Limiter's storage (`RATELIMIT_STORAGE_URI`, Redis in production) and honour
`RATELIMIT_ENABLED`; keys never hold a token (the storage and the logs may show keys).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from flask import Response, current_app, g
from limits import RateLimitItem, parse

from ..extensions import limiter

log = logging.getLogger(__name__)

NAMESPACE = "api"


@dataclass(frozen=True)
class Verdict:
    """The limit a request was charged to, and where that left it."""

    limit: RateLimitItem
    remaining: int
    reset_at: float
    allowed: bool


def charge(limit: str, key: str) -> Verdict | None:
    """Count this request against `limit` ("1200 per minute") for `key`; the answer will carry
    that limit's headers. None when throttling is off. Call it once per request."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return None
    item = parse(limit)
    strategy = limiter.limiter
    allowed = strategy.hit(item, NAMESPACE, key)
    stats = strategy.get_window_stats(item, NAMESPACE, key)
    verdict = Verdict(item, max(stats.remaining, 0), stats.reset_time, allowed)
    g.api_throttle = verdict
    if not allowed:
        log.info("rate limit %s exceeded for %s", item, key)
    return verdict


def add_headers(response: Response) -> Response:
    """The headers of the limit this request was charged to (none if it was charged to none)."""
    verdict: Verdict | None = g.pop("api_throttle", None)
    if verdict is None:
        return response
    headers = response.headers
    headers["X-RateLimit-Limit"] = str(verdict.limit.amount)
    headers["X-RateLimit-Remaining"] = str(verdict.remaining)
    headers["X-RateLimit-Reset"] = str(math.ceil(verdict.reset_at))
    if response.status_code == 429:
        headers["Retry-After"] = str(max(1, math.ceil(verdict.reset_at - time.time())))
    return response
