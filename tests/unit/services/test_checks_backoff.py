"""When a registry is checked next: the interval with jitter, backing off on failures and 429s."""

from datetime import UTC, datetime

import pytest

from webapp.registry_client.check import CheckResult
from webapp.registry_client.statuses import Status
from webapp.services.checks import next_check_at

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def result(status: Status, retry_after: int | None = None) -> CheckResult:
    return CheckResult(status, "", None, None, None, 5, retry_after, "reaching")


def delay(status: Status, failures: int, interval: int, retry_after: int | None = None) -> float:
    when = next_check_at(result(status, retry_after), failures, NOW, interval)
    return (when - NOW).total_seconds()


@pytest.mark.parametrize(
    "status, failures, interval, retry_after, base",
    [
        (Status.CONNECTED, 0, 900, None, 900),
        (Status.UNREACHABLE, 1, 900, None, 900),  # one failure: no back-off yet
        (Status.UNREACHABLE, 2, 900, None, 1800),
        (Status.AUTH_FAILED, 3, 900, None, 3600),
        (Status.AUTH_FAILED, 9, 900, None, 3600),  # at most an hour
        (Status.UNREACHABLE, 4, 60, None, 480),
        (Status.UNREACHABLE, 50, 60, None, 3600),
        (Status.UNREACHABLE, 5, 7200, None, 7200),  # never sooner than the interval
        (Status.RATE_LIMITED, 3, 900, 1200, 1200),  # Retry-After when longer than the interval
        (Status.RATE_LIMITED, 3, 900, 30, 900),
        (Status.RATE_LIMITED, 3, 900, None, 900),
    ],
)
def test_next_check_backs_off_with_at_most_ten_percent_jitter(
    status, failures, interval, retry_after, base
):
    seen = [delay(status, failures, interval, retry_after) for _ in range(50)]
    assert all(base <= seconds <= base * 1.1 for seconds in seen)
    assert len(set(seen)) > 1  # spread out, so registries added together are not checked together

