"""Refresh hints (scrapers/refresh.py): Cache-Control max-age, RSS <ttl>, sy:updatePeriod."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapers.discover import discover
from scrapers.model import Refresh
from scrapers.refresh import MAX_SECONDS, cache_max_age, feed_refresh


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("max-age=300", 300.0),
        ("public, max-age=300, must-revalidate", 300.0),
        ('MAX-AGE="60"', 60.0),
        ("max-age=0", None),
        ("no-cache, max-age=300", None),
        ("no-store", None),
        ("max-age=-5", None),
        ("max-age=1e3", None),
        ("max-age=٣٠٠", None),  # Arabic-Indic digits are digits to str.isdigit, not to HTTP
        ("max-age=" + "9" * 12, MAX_SECONDS),
        ("max-age=" + "9" * 13, None),
        ("s-maxage=300", None),
        ("", None),
        (None, None),
        ("max-age=300," * 2000, None),  # over MAX_HEADER: not read
    ],
)
def test_cache_max_age(header: str | None, seconds: float | None) -> None:
    assert cache_max_age(header) == seconds


@pytest.mark.parametrize(
    ("args", "refresh"),
    [
        (("30", None, None), Refresh(1800.0, None)),
        ((None, "hourly", "2"), Refresh(None, 1800.0)),
        ((None, "weekly", None), Refresh(None, 7 * 86400.0)),
        ((None, None, "4"), Refresh(None, 21600.0)),  # the period defaults to daily
        ((None, "fortnightly", "1"), Refresh()),
        ((None, "hourly", "0"), Refresh()),
        (("x", "daily", "-1"), Refresh()),
        (("99999999", None, None), Refresh(MAX_SECONDS, None)),
    ],
)
def test_feed_refresh(args: tuple[str | None, str | None, str | None], refresh: Refresh) -> None:
    assert feed_refresh(*args) == refresh


@given(st.text(max_size=200))
def test_cache_max_age_never_raises_and_stays_in_range(header: str) -> None:
    seconds = cache_max_age(header)
    assert seconds is None or 0 < seconds <= MAX_SECONDS


def test_an_rss_feed_says_its_ttl_and_update_period_through_discover() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title>'
        "<ttl>15</ttl><sy:updatePeriod>daily</sy:updatePeriod>"
        "<sy:updateFrequency>24</sy:updateFrequency>"
        "<item><title>a</title><link>https://news.test/a</link></item></channel></rss>"
    )
    found = discover("feed", body, "https://news.test/feed", now=datetime.now(UTC))
    assert found.refresh == Refresh(ttl=900.0, update_every=3600.0)
    assert len(found.entries) == 1
