"""What a test does when a real component (browser, registry, database, broker) is missing.

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
