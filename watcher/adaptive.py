"""``every: auto``: the next interval of a source from what its last poll saw. Pure.

    next_interval(current, Seen(...), Bounds(min_every, max_every)) → seconds

1 a poll that found new stories: the publishing rate is the median gap between the newest
  dated entries (a wire feed's are a minute apart, a weekly column's a week), else the
  feed's ``sy:updatePeriod``/``sy:updateFrequency``; else half the current interval, or
  less when it found several new stories (it was late): the interval over their number;
2 a poll that found nothing (or got 304): the interval grows by half;
3 no sooner than the source lets its answer be cached (``Cache-Control: max-age``, RSS
  ``<ttl>``): asking before then gets the same answer;
4 within ``[min_every, max_every]``, always (a hint beyond them does not win);
5 a failed poll teaches nothing: the interval stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from watcher.model import PollReport

GAPS = 20  # newest dated entries whose spacing is the publishing rate
MIN_DATED = 3  # fewer dated entries say nothing about a rate
FASTER = 0.5  # after a poll that found new stories, without dates
SLOWER = 1.5  # after a poll that found nothing


@dataclass(frozen=True, slots=True)
class Bounds:
    """``min_every`` and ``max_every`` of the source, in seconds."""

    low: float
    high: float

    def clamp(self, seconds: float) -> float:
        return min(max(seconds, self.low), self.high)


@dataclass(frozen=True, slots=True)
class Seen:
    """What one poll of a source saw, as far as its schedule is concerned."""

    new: int = 0  # stories emitted (or updated) from this poll
    not_modified: bool = False  # 304: nothing changed
    failed: bool = False  # the source itself failed: nothing learned
    dates: tuple[float, ...] = ()  # the entries' publication times (Unix seconds)
    cache_max_age: float | None = None  # Cache-Control max-age of the answer
    ttl: float | None = None  # RSS <ttl>, in seconds
    update_every: float | None = None  # sy:updatePeriod / sy:updateFrequency, in seconds


def publishing_gap(dates: tuple[float, ...]) -> float | None:
    """The median gap between the newest GAPS dated entries; None with fewer than MIN_DATED
    or when they all share one time (a feed that stamps every entry with its build time)."""
    newest = sorted(set(dates), reverse=True)[:GAPS]
    if len(newest) < MIN_DATED:
        return None
    return median(a - b for a, b in pairwise(newest))


def next_interval(current: float, seen: Seen, bounds: Bounds) -> float:
    """The source's next interval in seconds (see the module docstring for the rules)."""
    if seen.failed:
        return bounds.clamp(current)
    if seen.new > 0 and not seen.not_modified:
        rate = publishing_gap(seen.dates) or seen.update_every
        # no rate to go by: faster, and faster still when it found several (it was late)
        target = rate if rate is not None else min(current * FASTER, current / seen.new)
    else:
        target = current * SLOWER
    floor = max(seen.cache_max_age or 0.0, seen.ttl or 0.0)
    return bounds.clamp(max(target, floor))


def seen_in(report: PollReport) -> Seen:
    """What a poll's report tells the schedule."""
    return Seen(
        new=report.new + report.updated,
        not_modified=report.not_modified,
        failed=report.error is not None,
        dates=report.entry_dates,
        cache_max_age=report.cache_max_age,
        ttl=report.refresh.ttl,
        update_every=report.refresh.update_every,
    )
