"""[discover] A source's body in, the article links it announces out. Pure: ``now`` is a parameter.

    discover(kind, body, base_url, now=...)
      1 parse    feeds.read_feed (jsonfeed.parse_json_feed for a JSON body) |
                 sitemaps.parse_sitemap | pages.parse_page, in document order
      2 window   drop entries published before ``now - max_age``; undated entries stay
      3 order    newest first, undated last in document order (a page has no dates: page order)
      4 cap      one entry per canonical URL, at most ``limit``

A feed or sitemap that is not well-formed but still yields entries is read, with
``Discovery.damage`` saying where it broke. A body that is not what the source type promised
raises ``ParseError`` (``malformed_feed``, ``malformed_sitemap``, ``malformed_page``) naming
the URL and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from scrapers.discover.feeds import looks_like_html, read_feed
from scrapers.discover.jsonfeed import is_json_feed_body, parse_json_feed
from scrapers.discover.pages import parse_page
from scrapers.discover.sitemaps import parse_sitemap
from scrapers.model import Damage, Entry, Refresh
from scrapers.urls import canonicalize

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_MAX_AGE",
    "MAX_CHILD_SITEMAPS",
    "Discovery",
    "detect_kind",
    "discover",
]

DEFAULT_MAX_AGE = 7 * 86400.0  # a week: news older than this is not news to a watcher
DEFAULT_LIMIT = 200  # the largest news sitemaps carry ~1000 URLs; 200 newest is hours of output
# A sitemap index is followed at most this many children per poll, newest lastmod first. News
# indexes list one child per day or month going back years; the newest few hold every article
# inside the freshness window, and each child costs one more polite (delayed) request per poll.
MAX_CHILD_SITEMAPS = 5
SNIFF_CHARS = 4096  # a sitemap's root element comes after at most a declaration and comments

Kind = Literal["feed", "sitemap", "page"]


@dataclass(frozen=True)
class Discovery:
    """What one source body announced.

    ``entries`` newest first when dates are known; ``follow`` child sitemaps to fetch next
    (same site only); ``refused`` cross-site URLs that were dropped, so the caller can log them;
    ``refresh`` what an RSS feed says about how often to poll it (``every: auto`` uses it);
    ``damage`` where a feed or sitemap that was still partly read is not well-formed (None:
    it is).
    """

    entries: list[Entry]
    follow: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    refresh: Refresh = field(default_factory=Refresh)
    damage: Damage | None = None


def discover(
    kind: Kind,
    body: str,
    base_url: str,
    *,
    now: datetime,
    max_age: float | None = DEFAULT_MAX_AGE,
    limit: int = DEFAULT_LIMIT,
) -> Discovery:
    """The article links in ``body`` (fetched from ``base_url``) that are worth fetching.

    ``max_age`` is in seconds (None: no age limit). Raises ``ParseError`` for a body that is
    not a ``kind`` (see the module docstring).
    """
    if kind == "feed":
        if is_json_feed_body(body):  # by content, not URL
            return Discovery(entries=select(parse_json_feed(body, base_url), now, max_age, limit))
        feed = read_feed(body, base_url)
        return Discovery(
            entries=select(feed.entries, now, max_age, limit),
            refresh=feed.refresh,
            damage=feed.damage,
        )
    if kind == "sitemap":
        sitemap = parse_sitemap(body, base_url)
        children = select(sitemap.children, now, max_age, MAX_CHILD_SITEMAPS)
        return Discovery(
            entries=select(sitemap.entries, now, max_age, limit),
            follow=[child.url for child in children],
            refused=sitemap.refused,
            damage=sitemap.damage,
        )
    if kind == "page":
        page = parse_page(body, base_url)
        return Discovery(entries=select(page.entries, now, max_age, limit), refused=page.refused)
    raise ValueError(f"unknown source kind {kind!r}: expected feed, sitemap or page")


def detect_kind(body: str) -> Kind:
    """Which source type a body is, by its content (a URL says nothing reliable): JSON Feed,
    RSS and Atom are feeds; urlset and sitemapindex sitemaps; HTML a page."""
    if is_json_feed_body(body):
        return "feed"
    if looks_like_html(body):
        return "page"
    head = body[:SNIFF_CHARS]
    return "sitemap" if "<urlset" in head or "<sitemapindex" in head else "feed"


def select(entries: list[Entry], now: datetime, max_age: float | None, limit: int) -> list[Entry]:
    """Stages 2-4: the fresh entries, newest first (undated last, stable), unique, capped."""
    fresh = [entry for entry in entries if _is_fresh(entry, now, max_age)]
    seen: set[str] = set()
    unique: list[Entry] = []
    for entry in sorted(fresh, key=_newest_first):
        key = canonicalize(entry.url)
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    return unique[: max(limit, 0)]


def _is_fresh(entry: Entry, now: datetime, max_age: float | None) -> bool:
    """Undated entries are kept: we cannot tell their age, and the dedupe store drops repeats."""
    if max_age is None or entry.published_at is None:
        return True
    aware_now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return entry.published_at >= aware_now - timedelta(seconds=max_age)


def _newest_first(entry: Entry) -> tuple[bool, float]:
    """Sort key: dated before undated, then descending time (sorted() is stable for ties)."""
    if entry.published_at is None:
        return (True, 0.0)
    return (False, -entry.published_at.timestamp())
