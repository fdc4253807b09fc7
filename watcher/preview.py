"""``watcher preview``: what a source would yield, as a dry run that writes nothing to Redis.

    preview(target, fetcher, known, parse, now)
      1 fetch the source (no conditional GET: validators are neither read nor kept)
      2 kind: the configured type, else told by the body (JSON Feed / RSS / Atom → feed,
        urlset / sitemapindex → sitemap, HTML → page; HTML at a site's root → site). A site
        is discovered as a poll would (``watcher.site``), and what it chose is previewed
      3 discover every entry (no age window), following child sitemaps as a poll does
      4 each entry's fate: too_old (before now - max_age), known (Redis already holds its
        URL: read only), robots (robots.txt refuses it), else new
      5 the first ``sample`` new entries fetched, extracted and cleaned: what a story would
        say, and which lines cleaning dropped and why; one the source's ``topics:`` filter
        drops (``watcher.topics.is_filtered``, the poll's own test) becomes ``filtered``

The only Redis command it sends is the ``known`` read (MGET); fetches go through the same
guarded, polite fetcher as a poll, and every parse of a fetched body (discovery, the homepage
scan, extraction) goes through ``parse``: the CLI's worker pool, under ``fetch.parse_timeout``,
so a hostile page ends the preview with ``parse_timeout`` rather than hanging it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from scrapers.discover import DEFAULT_MAX_AGE, MAX_CHILD_SITEMAPS, detect_kind, discover
from scrapers.errors import ScrapeError
from scrapers.fetch import Fetcher, RequestOptions
from scrapers.model import Damage, Entry, Page
from watcher import tasks
from watcher.config import Source, SourceKind
from watcher.model import published_of
from watcher.site import Parse, SiteFound, SubSource, discover_site
from watcher.topics import is_filtered

__all__ = ["Preview", "PreviewArticle", "PreviewEntry", "detect_kind", "preview"]

FIRST_LINES = 3  # lines of each sampled article shown: enough to judge the extraction
MAX_DROPPED = 10  # dropped lines shown per article; the count says how many more

Known = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True)
class PreviewEntry:
    """One discovered entry and what a poll would do with it: new, known, too_old, robots,
    or (a sampled entry only: topics need the article) filtered."""

    entry: Entry
    fate: str


@dataclass(frozen=True)
class PreviewArticle:
    """A sampled entry as the pipeline would clean it, or the error that stopped it."""

    url: str
    title: str | None = None
    site: str | None = None
    published_at: datetime | None = None
    first_lines: tuple[str, ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()  # (line, why)
    error: str | None = None
    topics: tuple[str, ...] = ()  # the configured topics it matched
    filtered: bool = False  # the source's topics filter drops it: a poll emits nothing


@dataclass(frozen=True)
class Preview:
    url: str
    kind: str
    followed: list[str] = field(default_factory=list)  # child sitemaps fetched
    entries: list[PreviewEntry] = field(default_factory=list)
    articles: list[PreviewArticle] = field(default_factory=list)
    site: SiteFound | None = None  # what site discovery found (kind ``site``)
    topics: tuple[str, ...] = ()  # the source's topics filter; empty: every story is kept
    damage: list[Damage] = field(default_factory=list)  # bodies read only up to a break

    def count(self, fate: str) -> int:
        return sum(1 for e in self.entries if e.fate == fate)


async def preview(
    target: Source | str,
    fetcher: Fetcher,
    known: Known,
    parse: Parse,
    now: datetime,
    *,
    sample: int = 3,
) -> Preview:
    """Stages 1-5 (module docstring). Raises ScrapeError when the source itself fails (a
    parse past its deadline included); a sampled article that fails says why in its place.
    The boilerplate rules are those ``parse``'s workers loaded."""
    url = target if isinstance(target, str) else target.url
    options = None if isinstance(target, str) else target.http_options
    page = await fetcher.get(url, options=options)
    kind = target.type if isinstance(target, Source) else _kind_of(page)
    found_site = None
    if kind == "site":
        found_site = await discover_site(page, fetcher, options, parse, now, "first")
        roots = list(found_site.polls)
    else:
        roots = [SubSource(kind, page.url)]
    entries: list[Entry] = []
    followed: list[str] = []
    damage: list[Damage] = []
    for root in roots:
        body = page if root.url == page.url else await fetcher.get(root.url, options=options)
        found = await parse(
            body.url, body.text, discover, root.kind, body.text, body.url, now=now, max_age=None
        )
        entries += found.entries
        damage += [found.damage] if found.damage else []
        for child in found.follow[:MAX_CHILD_SITEMAPS]:
            child_page = await fetcher.get(child, options=options)
            child_found = await parse(
                child_page.url,
                child_page.text,
                discover,
                "sitemap",
                child_page.text,
                child_page.url,
                now=now,
                max_age=None,
            )
            entries += child_found.entries
            damage += [child_found.damage] if child_found.damage else []
            followed.append(child)
    max_age = DEFAULT_MAX_AGE if isinstance(target, str) else target.max_age  # the config default
    judged = [
        PreviewEntry(e, await _fate(e, fetcher, known, now, max_age, options)) for e in entries
    ]
    wanted = () if isinstance(target, str) else tuple(target.topics)
    new = [e.entry for e in judged if e.fate == "new"][: max(sample, 0)]
    articles = [await _article(entry, fetcher, parse, options, wanted) for entry in new]
    dropped = {entry.url for entry, art in zip(new, articles, strict=True) if art.filtered}
    judged = [replace(e, fate="filtered") if e.entry.url in dropped else e for e in judged]
    return Preview(page.url, kind, followed, judged, articles, found_site, wanted, damage)


def _kind_of(page: Page) -> SourceKind:
    """A URL's kind by its body; an HTML page at a site's root is previewed as ``site``."""
    kind = detect_kind(page.text)
    if kind == "page" and urlsplit(page.url).path in ("", "/"):
        return "site"
    return kind


async def _fate(
    entry: Entry,
    fetcher: Fetcher,
    known: Known,
    now: datetime,
    max_age: float,
    options: RequestOptions | None,
) -> str:
    if entry.published_at is not None and entry.published_at < now - timedelta(seconds=max_age):
        return "too_old"
    if await known(entry.url):
        return "known"
    if not await fetcher.allows(entry.url, options):
        return "robots"
    return "new"


async def _article(
    entry: Entry,
    fetcher: Fetcher,
    parse: Parse,
    options: RequestOptions | None,
    wanted: tuple[str, ...],
) -> PreviewArticle:
    """The entry's article: the feed's full content when it carries one, else the page;
    ``filtered`` when the source's ``wanted`` topics drop it, as a poll would."""
    try:
        if entry.content:
            html, url = entry.content, entry.url
        else:
            page = await fetcher.get(entry.url, options=options)
            html, url = page.text, page.url
        find_date = entry.published_at is None  # as a poll extracts it
        previewed = await parse(
            url, html, tasks.extraction_of, html, url, title=entry.title, find_date=find_date
        )
    except ScrapeError as exc:
        return PreviewArticle(entry.url, entry.title, error=f"{exc.slug}: {exc}")
    article = previewed.extraction.article
    return PreviewArticle(
        url=url,
        title=article.title or entry.title,
        site=article.site,
        published_at=published_of(article, entry),
        first_lines=tuple(article.text.split("\n\n")[:FIRST_LINES]),
        dropped=previewed.extraction.dropped,
        topics=previewed.topics,
        filtered=is_filtered(wanted, previewed.topics),
    )
