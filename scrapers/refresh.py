"""[fetch, discover] What a source says about how soon to ask it again. Pure, never raises.

    cache_max_age("public, max-age=300")        → 300.0   (HTTP Cache-Control)
    feed_refresh(ttl="30", period="hourly", frequency="2") → Refresh(1800.0, 1800.0)

Every value is the sender's: only plain ASCII digits count, and each figure is capped
(MAX_SECONDS), so a hostile header or feed cannot make a schedule overflow or go negative.
Plain string operations only: linear in the input whatever it holds.
"""

from __future__ import annotations

from scrapers.model import Refresh

__all__ = ["MAX_SECONDS", "cache_max_age", "feed_refresh"]

MAX_SECONDS = 365 * 86400.0  # a year: past it, a hint is a typo, not a schedule
MAX_HEADER = 4096  # a Cache-Control header longer than this is not read
# sy:updatePeriod (RSS 1.0 syndication module); "daily" is the module's default
PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}


def _digits(value: str | None) -> int | None:
    """A non-negative integer of at most 12 ASCII digits, else None."""
    text = (value or "").strip().strip('"')
    if not text or len(text) > 12 or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def cache_max_age(value: str | None) -> float | None:
    """``max-age`` of a Cache-Control header in seconds; None without one, when it is 0, or
    with ``no-cache``/``no-store`` (then every poll must ask anyway)."""
    if not value or len(value) > MAX_HEADER:
        return None
    seconds = None
    for directive in value.split(","):
        name, _, argument = directive.partition("=")
        name = name.strip().lower()
        if name in ("no-cache", "no-store"):
            return None
        if name == "max-age":
            seconds = _digits(argument)
    if not seconds:
        return None
    return min(float(seconds), MAX_SECONDS)


def feed_refresh(
    ttl: str | None = None, period: str | None = None, frequency: str | None = None
) -> Refresh:
    """A feed's own refresh hints: RSS ``<ttl>`` minutes, and ``sy:updatePeriod`` divided by
    ``sy:updateFrequency`` (the period defaults to daily, the frequency to 1, as the module
    says, when only the other is given)."""
    minutes = _digits(ttl)
    cache = min(minutes * 60.0, MAX_SECONDS) if minutes else None
    update = None
    if period is not None or frequency is not None:
        length = PERIODS.get((period or "daily").strip().lower())
        times = _digits(frequency) if frequency is not None else 1
        if length is not None and times:
            update = min(length / times, MAX_SECONDS)
    return Refresh(ttl=cache, update_every=update)
