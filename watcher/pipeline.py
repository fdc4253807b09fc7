"""The pipeline, top to bottom: fetch → discover → extract → clean → topics → dedupe → emit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import structlog

from scrapers.clean import ParagraphCounter, Rules, clean_text
from scrapers.clean.drift import PageFigures
from scrapers.discover import Discovery, discover
from scrapers.errors import ExtractionError, ScrapeError
from scrapers.extract import extract_report
from scrapers.fetch import Fetcher
from scrapers.model import Article, Entry, Page
from scrapers.urls import canonicalize, host_of, same_site, strip_tracking
from watcher import metrics
from watcher.config import Source
from watcher.dedupe import content_hash, story_id
from watcher.errors import StoreUnavailable
from watcher.model import Document, Outcome, PollReport, excerpt_of, iso
from watcher.store.http_cache import HttpCache
from watcher.store.stories import Stories
from watcher.topics import CompiledTopic, match_topics

log = structlog.get_logger("watcher.pipeline")

ENTRY_CONCURRENCY = 8  # articles in flight per source; per-host limits still apply in the fetcher
MIN_TEXT_CHARS = 200  # a full-content feed body shorter than this is a teaser: fetch the page

Progress = Callable[[str, int, int], None]


@dataclass
class Deps:
    """Everything the pipeline talks to, built once in ``app.py``."""

    fetcher: Fetcher
    stories: Stories
    http_cache: HttpCache
    topics: list[CompiledTopic]
    rules: Rules | None = None
    counter: ParagraphCounter | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    progress: Progress | None = None


async def poll_source(source: Source, deps: Deps) -> PollReport:
    """One poll of one source. Failures of the source are reported, never raised.

    1 fetch the source (conditional GET), 2 discover entries (following sitemap indexes),
    3 process every entry, 4 keep the validators only when every entry was handled, so a
    crash or a failed article makes the next poll see the same entries again.
    """
    report = PollReport(source=source.name)
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(source=source.name):
        try:
            pages, discovery = await _discover(source, deps)
            if discovery is not None:
                report.polled = len(discovery.entries)
                await _process_all(discovery.entries, source, deps, report)
                if not report.failed:
                    for page in pages:
                        await deps.http_cache.put(page.url, page.etag, page.last_modified)
            else:
                report.not_modified = True
        except ScrapeError as exc:
            report.error, report.reason = str(exc), exc.slug
        except StoreUnavailable:
            raise
        except Exception as exc:  # isolation boundary: one source must not stop the others
            log.exception("poll_crashed")
            report.error, report.reason = f"internal error: {exc!r}", "internal"
        report.seconds = time.perf_counter() - started
        _log_poll(report)
    return report


def _log_poll(report: PollReport) -> None:
    fields = {
        "polled": report.polled,
        "new": report.new,
        "duplicate": report.duplicate,
        "filtered": report.filtered,
        "failed": report.failed,
        "duration_ms": round(report.seconds * 1000),
    }
    if report.error:
        log.warning("poll", outcome="failed", reason=report.reason, error=report.error, **fields)
    else:
        outcome = "not_modified" if report.not_modified else "ok"
        log.info("poll", outcome=outcome, **fields)


async def _discover(source: Source, deps: Deps) -> tuple[list[Page], Discovery | None]:
    """Fetch the source and its child sitemaps; ``None`` when the source itself is unchanged."""
    now = deps.clock()
    root = await _fetch_conditional(source.url, source, deps)
    if root.not_modified:
        return [], None
    found = discover(source.type, root.text, root.url, now=now, max_age=source.max_age)
    pages, entries = [root], list(found.entries)
    for child_url in found.follow:  # already same-site, newest first and bounded
        child = await _fetch_conditional(child_url, source, deps)
        if child.not_modified:
            continue
        pages.append(child)
        entries += discover(
            "sitemap", child.text, child.url, now=now, max_age=source.max_age
        ).entries
    return pages, Discovery(entries=_unique(entries), follow=[], refused=found.refused)


def _unique(entries: list[Entry]) -> list[Entry]:
    seen: dict[str, Entry] = {}
    for entry in entries:
        seen.setdefault(canonicalize(entry.url), entry)
    return list(seen.values())


async def _fetch_conditional(url: str, source: Source, deps: Deps) -> Page:
    etag, modified = await deps.http_cache.get(url)
    return await _fetch(url, "source", source, deps, etag=etag, last_modified=modified)


async def _fetch(
    url: str, kind: str, source: Source, deps: Deps, **conditional: str | None
) -> Page:
    """Fetch through the shared fetcher, timing it and counting the bytes for /metrics."""
    with metrics.FETCH_SECONDS.labels(kind).time():
        page = await deps.fetcher.get(url, **conditional)
    metrics.FETCHED_BYTES.labels(source.name).inc(len(page.text.encode("utf-8", "replace")))
    return page


async def _extract(html: str, url: str, deps: Deps, report: PollReport) -> Article:
    """Extraction is CPU work: off the event loop, so other sources keep polling meanwhile."""
    with metrics.EXTRACT_SECONDS.time():
        article, figures = await asyncio.to_thread(extract_and_learn, html, url, deps)
    report.figures.append(figures)
    return article


def extract_and_learn(html: str, url: str, deps: Deps) -> tuple[Article, PageFigures]:
    """Extract and clean, then drop the host's learned template paragraphs (when counting).

    The learned pass runs on the cleaned text (cleaning twice is stable), so the paragraph
    counts see what readers would see, not nav text the rules already removed.
    """
    extraction = extract_report(html, url, rules=deps.rules)
    article = extraction.article
    if deps.counter is not None:
        text = clean_text(article.text, url, rules=deps.rules, counter=deps.counter)
        if not text.strip():
            raise ExtractionError(f"{url}: only the site's template text was left", url=url)
        article = replace(article, text=text)
    figures = PageFigures(extraction.figures.extracted_chars, len(article.text))
    return article, figures


async def _process_all(
    entries: list[Entry], source: Source, deps: Deps, report: PollReport
) -> None:
    gate = asyncio.Semaphore(ENTRY_CONCURRENCY)
    done = 0

    async def one(entry: Entry) -> None:
        nonlocal done
        async with gate:
            outcome = await process_entry(entry, source, deps, report)
        report.count(outcome)
        done += 1
        if deps.progress:
            deps.progress(source.name, done, len(entries))

    await asyncio.gather(*(one(e) for e in entries))


async def process_entry(entry: Entry, source: Source, deps: Deps, report: PollReport) -> Outcome:
    """One article: 1 skip if known, 2 fetch, 3 extract + clean, 4 topics, 5 dedupe + emit.

    A ScrapeError fails this URL only. Nothing is marked seen unless step 5 emitted it or
    topics filtered it on purpose.
    """
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(url=entry.url):
        try:
            outcome = await _process(entry, source, deps, report)
        except ScrapeError as exc:
            outcome = Outcome("failed", entry.url, reason=exc.slug)
            log.warning("article", outcome="failed", reason=exc.slug, error=str(exc))
        except StoreUnavailable:
            raise
        except Exception:  # isolation boundary: one article must not stop the others
            log.exception("article_crashed")
            outcome = Outcome("failed", entry.url, reason="internal")
        else:
            duration_ms = round((time.perf_counter() - started) * 1000)
            log.info(
                "article", outcome=outcome.kind, reason=outcome.reason, duration_ms=duration_ms
            )
        metrics.record_article(source.name, outcome)
        return outcome


async def _process(entry: Entry, source: Source, deps: Deps, report: PollReport) -> Outcome:
    entry_url = canonicalize(entry.url)
    if known := await deps.stories.known(entry_url):
        if known.startswith("filtered:"):
            return Outcome("filtered", entry.url, reason="known_url", story_id=known)
        return Outcome("duplicate", entry.url, reason="known_url", story_id=known)
    page, article = await _article(entry, source, deps, report)
    doc = make_document(entry, page, article, source=source.name, fetched_at=deps.clock())
    doc = replace(doc, topics=match_topics(doc.title, doc.text, deps.topics))
    urls = list(dict.fromkeys([doc.canonical_url, entry_url, canonicalize(page.url)]))
    if source.topics and not set(doc.topics) & set(source.topics):
        await deps.stories.mark_filtered(doc, urls)
        return Outcome("filtered", entry.url, reason="topics", story_id=doc.id)
    recorded = await deps.stories.record_story(doc, urls, event="story.created")
    if recorded.kind == "new":
        return Outcome("new", entry.url, story_id=recorded.story_id)
    return Outcome("duplicate", entry.url, reason=recorded.reason, story_id=recorded.story_id)


async def _article(
    entry: Entry, source: Source, deps: Deps, report: PollReport
) -> tuple[Page, Article]:
    """The article from the feed's full content when it carries the body, else from the page."""
    if entry.content:
        page = Page(url=entry.url, status=200, text=entry.content, content_type="text/html")
        try:
            article = await _extract(entry.content, entry.url, deps, report)
            if len(article.text) >= MIN_TEXT_CHARS:
                return page, article
        except ExtractionError:
            pass
    page = await _fetch(entry.url, "article", source, deps)
    return page, await _extract(page.text, page.url, deps, report)


def make_document(
    entry: Entry, page: Page, article: Article, *, source: str, fetched_at: datetime
) -> Document:
    """Merge what the source said (entry) with what the page said (article) into SPEC's document.

    The page's canonical link is trusted only on the same site: a cross-site canonical is how
    a syndicated copy names its original, which is not this copy's identity.
    """
    final_url = strip_tracking(page.url)
    canonical = canonicalize(article.canonical_url or final_url)
    if not same_site(canonical, final_url):
        canonical = canonicalize(final_url)
    published = article.published_at or entry.published_at
    return Document(
        id=story_id(canonical),
        url=final_url,
        canonical_url=canonical,
        source=source,
        site=host_of(final_url).removeprefix("www."),
        title=article.title or entry.title,
        author=article.author or entry.author,
        published_at=iso(_utc(published)),
        fetched_at=fetched_at.isoformat(),
        language=article.language,
        text=article.text,
        excerpt=excerpt_of(article.text),
        topics=[],
        content_hash=content_hash(article.text),
        original_source=article.original_source,
    )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment.replace(tzinfo=UTC) if moment else None
    return moment.astimezone(UTC)


def next_due(now: datetime, every: float) -> datetime:
    return now + timedelta(seconds=every)
