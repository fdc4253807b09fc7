"""``type: site`` decisions: which sub-sources to poll, when to discover again, the stored form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from watcher.site import (
    REDISCOVER_AFTER_FAILURE,
    REDISCOVER_EVERY,
    Probe,
    SiteFound,
    SubSource,
    after_failure,
    choose,
    due,
)

HOME = "https://outlet.example/"
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
NEWS = Probe("sitemap", f"{HOME}news.xml", "news_sitemap", 40)
PLAIN = Probe("sitemap", f"{HOME}sitemap.xml", "sitemap", 900)
FULL = Probe("feed", f"{HOME}full.json", "full_feed", 20)
SHORT = Probe("feed", f"{HOME}rss", "feed", 10)
LONG = Probe("feed", f"{HOME}all.rss", "feed", 50)
BROKEN = Probe("feed", f"{HOME}gone", "failed", detail="http_404")


@pytest.mark.parametrize(
    ("probes", "polls"),
    [
        ([SHORT, FULL, PLAIN, NEWS], [NEWS, FULL]),  # a news sitemap and a full-content feed
        ([SHORT, NEWS], [NEWS]),  # the news sitemap beats teaser feeds
        ([SHORT, FULL], [FULL]),
        ([BROKEN, SHORT, LONG, PLAIN], [LONG]),  # else the feed listing the most
        ([BROKEN, PLAIN], None),  # a plain sitemap is not news: the page itself
        ([], None),
    ],
    ids=["news-and-full", "news", "full", "longest-feed", "plain-sitemap", "nothing"],
)
def test_choose(probes: list[Probe], polls: list[Probe] | None) -> None:
    expected = (
        tuple(SubSource(p.kind, p.url) for p in polls) if polls else (SubSource("page", HOME),)
    )
    assert choose(HOME, probes) == expected


def found(reason: str = "first", age: float = 0.0, url: str = HOME) -> SiteFound:
    return SiteFound(
        url=url,
        discovered_at=NOW - timedelta(seconds=age),
        reason=reason,  # type: ignore[arg-type]
        polls=(SubSource("feed", f"{HOME}rss"),),
    )


def test_due() -> None:
    """First time, a changed URL and a day's age call for a discovery; otherwise none."""
    assert due(None, HOME, NOW) == "first"
    assert due(found(url="https://other.example/"), HOME, NOW) == "url_changed"
    assert due(found(age=REDISCOVER_EVERY), HOME, NOW) == "daily"
    assert due(found(age=REDISCOVER_EVERY - 1), HOME, NOW) is None


def test_after_failure_at_most_hourly() -> None:
    """A failing sub-source triggers a discovery, unless a failure triggered one within
    the hour (a site that is down would otherwise be probed on every poll)."""
    assert after_failure(found("daily", age=10), NOW)
    assert not after_failure(found("failure", age=10), NOW)
    assert after_failure(found("failure", age=REDISCOVER_AFTER_FAILURE), NOW)


def test_stored_form_round_trips() -> None:
    value = SiteFound(
        HOME, NOW, "daily", (SubSource("sitemap", NEWS.url),), (NEWS, BROKEN), feeds_truncated=True
    )
    assert SiteFound.from_json(value.to_json()) == value


@pytest.mark.parametrize("raw", ["{}", "[]", '{"url": 1}', "not json"])
def test_unreadable_stored_form_is_a_value_error(raw: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        SiteFound.from_json(raw)
