"""``type: site``: an outlet's homepage in, the sub-sources to poll for it out.

    discover_site(home, fetcher, options, parse, now)
      1 feeds     the homepage's ``<link rel="alternate">`` feeds (scanned in a worker: the
                  page is untrusted HTML), the first MAX_FEEDS_PROBED fetched and parsed:
                  ``full_feed`` when most items carry the article, else ``feed``
      2 sitemaps  robots.txt ``Sitemap:`` lines, then (when those hold no news sitemap) the
                  conventional paths; each fetched and parsed, an index by its newest child:
                  ``news_sitemap`` (Google News entries) or ``sitemap``; the probing stops at
                  the first news sitemap
      3 choose    a news sitemap and a full-content feed when there are (both: the sitemap
                  lists every article, the feed saves fetching the ones it carries), else
                  the feed with the most entries, else the homepage itself as a listing page

    due(found, url, now)     why the stored discovery must be redone: none yet, the URL
                             changed, a day old; after_failure(found, now): whether a failing
                             sub-source may trigger one now (at most once an hour)

Every fetch goes through the guarded, polite fetcher with the source's options; a probe that
fails is recorded (with why) and the next one tried, so one broken feed does not hide a site.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, ParamSpec, Protocol, TypeVar

from scrapers.discover import Discovery, Kind, detect_kind, discover
from scrapers.discover.homepage import HomepageLinks, feed_links, is_news_sitemap
from scrapers.errors import HostDeferred, RateLimited, ScrapeError
from scrapers.fetch import RequestOptions
from scrapers.model import Page
from scrapers.politeness import origin

P = ParamSpec("P")
T = TypeVar("T")

REDISCOVER_EVERY = 86400.0  # a site's feeds and sitemaps move rarely: look again daily
REDISCOVER_AFTER_FAILURE = 3600.0  # a broken sub-source triggers at most one look an hour
MAX_FEEDS_PROBED = 4  # announced feeds fetched per discovery (site, comments, sections...)
MAX_SITEMAPS_PROBED = 8  # sitemap candidates fetched per discovery
FULL_SHARE = 0.5  # a feed whose items carry the article at least this often is full-content
CONVENTIONAL_SITEMAPS = (  # where CMSs and SEO plugins put them, news ones first
    "/news-sitemap.xml",
    "/sitemap_news.xml",
    "/news_sitemap.xml",
    "/sitemap-news.xml",
    "/sitemap.xml",
    "/sitemap_index.xml",
)

Verdict = Literal["news_sitemap", "sitemap", "full_feed", "feed", "failed"]
Reason = Literal["first", "url_changed", "daily", "failure"]


class SiteFetcher(Protocol):
    """What discovery fetches with: the shared ``Fetcher`` (``watcher preview``), or the
    pipeline's wrapper of it that also counts each probe in /metrics."""

    async def get(self, url: str, *, options: RequestOptions | None = None) -> Page: ...

    async def robots_sitemaps(
        self, url: str, options: RequestOptions | None = None
    ) -> list[str]: ...


class Parse(Protocol):
    """Runs ``fn`` on an untrusted ``body`` fetched from ``url``: the pipeline's worker pool
    under the parse deadline, or (``watcher preview``) in process."""

    def __call__(
        self, url: str, body: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Awaitable[T]: ...


@dataclass(frozen=True, slots=True)
class Probe:
    """One candidate looked at: a feed or sitemap URL, what it turned out to be, how many
    entries it listed, and why it failed when it did."""

    kind: Literal["feed", "sitemap"]
    url: str
    verdict: Verdict
    entries: int = 0
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SubSource:
    """What a site source polls: a feed, a sitemap or the page itself, at ``url``."""

    kind: Kind
    url: str


@dataclass(frozen=True)
class SiteFound:
    """A site's discovery: when and why it was made, what was probed, what is polled.

    ``feeds_truncated``: the homepage announced more feeds than were considered.
    """

    url: str
    discovered_at: datetime
    reason: Reason
    polls: tuple[SubSource, ...]
    probes: tuple[Probe, ...] = ()
    feeds_truncated: bool = False

    @property
    def next_discovery(self) -> datetime:
        return self.discovered_at + timedelta(seconds=REDISCOVER_EVERY)

    def to_json(self) -> str:
        data = asdict(self)
        data["discovered_at"] = self.discovered_at.isoformat()
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> SiteFound:
        """Raises ValueError (KeyError, TypeError included) for what this did not write."""
        data: dict[str, Any] = json.loads(raw)
        return cls(
            url=str(data["url"]),
            discovered_at=datetime.fromisoformat(data["discovered_at"]),
            reason=data["reason"],
            polls=tuple(SubSource(**p) for p in data["polls"]),
            probes=tuple(Probe(**p) for p in data.get("probes", [])),
            feeds_truncated=bool(data.get("feeds_truncated")),
        )


def due(found: SiteFound | None, url: str, now: datetime) -> Reason | None:
    """Why a discovery is needed before this poll (None: the stored one holds)."""
    if found is None:
        return "first"
    if found.url != url:
        return "url_changed"
    if now >= found.next_discovery:
        return "daily"
    return None


def after_failure(found: SiteFound, now: datetime) -> bool:
    """Whether a failing sub-source may trigger a discovery now: not again within an hour of
    one that a failure triggered (a site that is down would be probed every poll)."""
    recent = now - found.discovered_at < timedelta(seconds=REDISCOVER_AFTER_FAILURE)
    return not (found.reason == "failure" and recent)


def choose(home_url: str, probes: list[Probe]) -> tuple[SubSource, ...]:
    """Stage 3 (module docstring), pure."""
    news = [p for p in probes if p.verdict == "news_sitemap"][:1]
    full = [p for p in probes if p.verdict == "full_feed"][:1]
    if news or full:
        return tuple(SubSource(p.kind, p.url) for p in news + full)
    feeds = [p for p in probes if p.verdict == "feed"]
    if feeds:
        best = max(feeds, key=lambda p: p.entries)  # max() keeps the first of equals
        return (SubSource("feed", best.url),)
    return (SubSource("page", home_url),)


async def discover_site(
    home: Page,
    fetcher: SiteFetcher,
    options: RequestOptions | None,
    parse: Parse,
    now: datetime,
    reason: Reason,
) -> SiteFound:
    """Stages 1-3 on a fetched homepage. A homepage that is itself a feed or a sitemap (the
    user gave one) is polled as that. Raises HostDeferred/RateLimited: the host holds us off,
    and a discovery made now would miss what it refused."""
    kind = detect_kind(home.text)
    if kind != "page":
        return SiteFound(home.url, now, reason, (SubSource(kind, home.url),))
    links: HomepageLinks = await parse(home.url, home.text, feed_links, home.text, home.url)
    probes = [
        await _probe_feed(feed.url, fetcher, options, parse, now)
        for feed in links.feeds[:MAX_FEEDS_PROBED]
    ]
    probes += await _probe_sitemaps(home.url, fetcher, options, parse, now)
    return SiteFound(
        url=home.url,
        discovered_at=now,
        reason=reason,
        polls=choose(home.url, probes),
        probes=tuple(probes),
        feeds_truncated=links.truncated or len(links.feeds) > MAX_FEEDS_PROBED,
    )


async def _probe_feed(
    url: str, fetcher: SiteFetcher, options: RequestOptions | None, parse: Parse, now: datetime
) -> Probe:
    try:
        page = await fetcher.get(url, options=options)
        found: Discovery = await parse(
            page.url, page.text, discover, "feed", page.text, page.url, now=now, max_age=None
        )
    except (HostDeferred, RateLimited):
        raise
    except ScrapeError as exc:
        return Probe("feed", url, "failed", detail=exc.slug)
    entries = found.entries
    full = sum(1 for e in entries if e.content)
    verdict: Verdict = "full_feed" if entries and full >= FULL_SHARE * len(entries) else "feed"
    return Probe("feed", page.url, verdict, entries=len(entries))


async def _probe_sitemaps(
    home_url: str,
    fetcher: SiteFetcher,
    options: RequestOptions | None,
    parse: Parse,
    now: datetime,
) -> list[Probe]:
    """robots.txt's sitemaps first, the conventional paths only when those have no news
    sitemap; at most MAX_SITEMAPS_PROBED, stopping at the first news sitemap."""
    listed = await fetcher.robots_sitemaps(home_url, options)
    site = origin(home_url)
    probes: list[Probe] = []
    for group in (listed, [f"{site}{path}" for path in CONVENTIONAL_SITEMAPS]):
        for url in group:
            if len(probes) == MAX_SITEMAPS_PROBED or any(p.url == url for p in probes):
                continue
            probe = await _probe_sitemap(url, fetcher, options, parse, now)
            probes.append(probe)
            if probe.verdict == "news_sitemap":
                return probes
    return probes


async def _probe_sitemap(
    url: str, fetcher: SiteFetcher, options: RequestOptions | None, parse: Parse, now: datetime
) -> Probe:
    """A urlset by its own body; an index by its newest child's (one more fetch)."""
    try:
        page = await fetcher.get(url, options=options)
        found: Discovery = await parse(
            page.url, page.text, discover, "sitemap", page.text, page.url, now=now, max_age=None
        )
        news, entries = is_news_sitemap(page.text), len(found.entries)
        if found.follow and not found.entries:
            child = await fetcher.get(found.follow[0], options=options)
            listed: Discovery = await parse(
                child.url,
                child.text,
                discover,
                "sitemap",
                child.text,
                child.url,
                now=now,
                max_age=None,
            )
            news, entries = is_news_sitemap(child.text), len(listed.entries)
    except (HostDeferred, RateLimited):
        raise
    except ScrapeError as exc:
        return Probe("sitemap", url, "failed", detail=exc.slug)
    return Probe("sitemap", page.url, "news_sitemap" if news else "sitemap", entries=entries)
