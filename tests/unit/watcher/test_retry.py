"""Retry decisions: verdicts per status, due times with jitter and Retry-After, endpoint health."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from watcher.config import DEFAULT_RETRY
from watcher.webhooks.retry import (
    MAX_RETRY_AFTER,
    is_healthy,
    next_attempt,
    verdict_for,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class FixedRandom(random.Random):
    """An rng whose random() is a fixed value: 0.0 is the lowest jitter, 0.5 none."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (299, "delivered"),
        (301, "retry"),
        (400, "retry"),
        (404, "retry"),
        (410, "gone"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
    ],
    ids=lambda v: str(v),
)
def test_verdict_for_status(status: int, verdict: str) -> None:
    """2xx is delivered, 410 disables, anything else is retried (redirects included)."""
    assert verdict_for(status) == verdict


@pytest.mark.parametrize(
    ("attempt", "jitter", "seconds"),
    [
        (1, 0.5, 5.0),
        (2, 0.5, 300.0),
        (7, 0.5, 36000.0),
        (1, 0.0, 4.0),
        (1, 0.999999, 6.0),
        (3, 0.0, 1440.0),
    ],
    ids=["first", "second", "last", "low-jitter", "high-jitter", "third-low"],
)
def test_next_attempt_follows_schedule_with_jitter(
    attempt: int, jitter: float, seconds: float
) -> None:
    """After attempt n the delay is schedule[n-1], spread by at most +-20 %."""
    due = next_attempt(DEFAULT_RETRY, attempt, NOW, FixedRandom(jitter))
    assert due is not None
    assert (due - NOW).total_seconds() == pytest.approx(seconds, rel=1e-5)


@pytest.mark.parametrize(
    ("schedule", "attempt"),
    [(DEFAULT_RETRY, 8), ((), 1), ((0.2, 0.2), 3), ((5.0,), 0)],
    ids=["default-exhausted", "no-retries", "short-exhausted", "attempt-zero"],
)
def test_next_attempt_gives_up_after_the_schedule(
    schedule: tuple[float, ...], attempt: int
) -> None:
    """Once every delay is used (len(schedule) + 1 attempts), there is no next attempt."""
    assert next_attempt(schedule, attempt, NOW, FixedRandom(0.5)) is None


@pytest.mark.parametrize(
    ("retry_after", "seconds"),
    [(60.0, 60.0), (1.0, 5.0), (10**9, MAX_RETRY_AFTER)],
    ids=["later-than-schedule", "sooner-than-schedule", "capped"],
)
def test_next_attempt_honours_retry_after(retry_after: float, seconds: float) -> None:
    """A receiver's Retry-After postpones the attempt (never advances it), up to an hour."""
    due = next_attempt((5.0, 5.0), 1, NOW, FixedRandom(0.5), retry_after=retry_after)
    assert due == NOW + timedelta(seconds=seconds)


def test_next_attempt_jitter_comes_from_the_given_rng() -> None:
    """Two rngs with the same seed give the same due time; the clock is never read."""
    first = next_attempt(DEFAULT_RETRY, 2, NOW, random.Random(7))
    assert first == next_attempt(DEFAULT_RETRY, 2, NOW, random.Random(7))


@pytest.mark.parametrize(
    ("failing_for", "disabled", "healthy"),
    [
        (None, False, True),
        (60.0, False, True),
        (899.0, False, True),
        (900.0, False, False),
        (86400.0, False, False),
        (None, True, False),
    ],
    ids=["never-failed", "brief-failure", "just-under", "threshold", "a-day", "disabled"],
)
def test_is_healthy(failing_for: float | None, disabled: bool, healthy: bool) -> None:
    """An endpoint failing without success for 15 minutes, or disabled, is unhealthy."""
    since = None if failing_for is None else NOW - timedelta(seconds=failing_for)
    assert is_healthy(since, NOW, disabled=disabled) is healthy
