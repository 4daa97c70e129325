"""The real components the suite is given (TEST_DATABASE_URL, TEST_REDIS_URL), and what a test
does when one (browser, registry, database, broker) is missing.

Outside CI a missing component skips the test with the reason. `.ci/run` sets
REQUIRE_REAL_COMPONENTS=1, and then the same situation fails the test: in CI no browser,
registry or database test may be skipped.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def required() -> bool:
    return os.environ.get("REQUIRE_REAL_COMPONENTS") == "1"


def missing(what: str, why: str) -> NoReturn:
    message = f"{what} is not available: {why}"
    if required():
        pytest.fail(message + " (REQUIRE_REAL_COMPONENTS=1, so this is a failure)", pytrace=False)
    pytest.skip(message)


def postgres_url() -> str | None:
    """TEST_DATABASE_URL for psycopg 3 (the driver we ship); None when it is not set."""
    url = os.environ.get("TEST_DATABASE_URL")
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url else None


def redis_url() -> str:
    """TEST_REDIS_URL, once it answers; otherwise Redis is missing."""
    import redis

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        missing("Redis", "TEST_REDIS_URL is not set")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        missing("Redis", f"cannot reach TEST_REDIS_URL ({type(error).__name__})")
    return url
