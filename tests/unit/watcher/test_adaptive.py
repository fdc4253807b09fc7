"""`every: auto` rules (watcher/adaptive.py): pure, so every rule is one small case."""

from __future__ import annotations

import pytest

from watcher.adaptive import Bounds, Seen, next_interval, publishing_gap

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
DEFAULTS = Bounds(MINUTE, DAY)  # min_every 1m, max_every 1d: the config's defaults


def dated(gap: float, n: int = 10, newest: float = 1_800_000_000.0) -> tuple[float, ...]:
    return tuple(newest - i * gap for i in range(n))


def test_a_busy_wire_feed_polls_every_minute() -> None:
    """Items 20 s apart: the rate is faster than min_every, so min_every it is."""
    assert next_interval(600, Seen(new=3, dates=dated(20)), DEFAULTS) == MINUTE


def test_a_weekly_column_polls_daily() -> None:
    assert next_interval(600, Seen(new=1, dates=dated(7 * DAY, 5)), DEFAULTS) == DAY


def test_an_hourly_feed_learns_an_hour_from_its_dates() -> None:
    assert next_interval(600, Seen(new=2, dates=dated(HOUR)), DEFAULTS) == HOUR


def test_nothing_new_grows_by_half_and_never_past_max_every() -> None:
    assert next_interval(600, Seen(not_modified=True), DEFAULTS) == 900
    assert next_interval(600, Seen(new=0, dates=dated(20)), DEFAULTS) == 900
    assert next_interval(DAY, Seen(not_modified=True), DEFAULTS) == DAY


def test_new_stories_without_dates_halve_it_or_more_when_several() -> None:
    assert next_interval(600, Seen(new=1), DEFAULTS) == 300
    assert next_interval(600, Seen(new=6), DEFAULTS) == 100


def test_declared_update_period_is_the_rate_without_dates() -> None:
    assert next_interval(600, Seen(new=1, update_every=2 * HOUR), DEFAULTS) == 2 * HOUR


@pytest.mark.parametrize(
    "seen",
    [Seen(new=3, dates=dated(20), cache_max_age=900), Seen(new=3, dates=dated(20), ttl=900)],
)
def test_no_sooner_than_the_answer_may_be_cached(seen: Seen) -> None:
    assert next_interval(600, seen, DEFAULTS) == 900


def test_hints_never_leave_the_bounds() -> None:
    seen = Seen(new=1, dates=dated(20), cache_max_age=365 * DAY, ttl=365 * DAY)
    assert next_interval(600, seen, DEFAULTS) == DAY
    assert next_interval(600, Seen(new=500), Bounds(5, 60)) == 5


def test_a_failed_poll_teaches_nothing() -> None:
    assert next_interval(600, Seen(failed=True, new=0), DEFAULTS) == 600
    assert next_interval(10 * DAY, Seen(failed=True), DEFAULTS) == DAY  # bounds still hold


def test_publishing_gap_needs_three_distinct_dates() -> None:
    assert publishing_gap(()) is None
    assert publishing_gap((1.0, 2.0)) is None
    assert publishing_gap((5.0,) * 10) is None  # every entry stamped with the build time
    assert publishing_gap((100.0, 90.0, 80.0, 0.0)) == 10.0  # the median, not the mean
