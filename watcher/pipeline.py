"""The pipeline, top to bottom: fetch → discover → extract → clean → topics → dedupe → emit.

Every CPU step on untrusted bytes (discover, extract, clean, topics, text prints) runs in the
worker pool (``watcher.workers``, tasks in ``watcher.tasks``) under ``fetch.parse_timeout``;
this module only does I/O on the event loop.

Known URLs are not skipped blindly: a story's own URL, still listed, is re-checked now and
then (conditional GET) and emits ``story.updated`` when its text changed materially.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import ParamSpec, TypeVar

import structlog

from scrapers.discover import Discovery, Kind, discover
from scrapers.errors import (
    ExtractionError,
    HostDeferred,
    ParseTimeout,
    RateLimited,
    ScrapeError,
)
from scrapers.fetch import Fetcher, RequestOptions
from scrapers.model import Entry, Page, Refresh
from scrapers.refresh import cache_max_age
from scrapers.urls import canonicalize, host_of, same_site, strip_tracking
from watcher import metrics, site, tasks
from watcher.config import DedupeConfig, Source
from watcher.dedupe import story_id
from watcher.errors import StoreUnavailable
from watcher.model import (
    Deferral,
    Document,
    Outcome,
    PollReport,
    StoryRecord,
    iso,
    published_of,
    utc,
)
from watcher.site import SiteFound, SubSource
from watcher.store.boilerplate import RedisParagraphCounter
from watcher.store.fingerprints import NearDupIndex
from watcher.store.http_cache import HttpCache
from watcher.store.sites import SiteStore
from watcher.store.stories import Known, Recorded, Stories
from watcher.tasks import Parsed, TextFacts
from watcher.topics import is_filtered
from watcher.updates import (
    Copy,
    can_upgrade,
    is_material_units,
    is_named_original,
    original_of,
    recheck_due,
    unpack_units,
    upgrade_reason,
)
from watcher.workers import Quarantine, Workers

log = structlog.get_logger("watcher.pipeline")

P = ParamSpec("P")
T = TypeVar("T")

ENTRY_CONCURRENCY = 8  # articles in flight per source; per-host limits still apply in the fetcher
RELEASE_EVERY = 1.0  # s: a settled copy is emitted at most this late; 1 round trip, not 1/poll
MIN_TEXT_CHARS = 200  # a full-content feed body shorter than this is a teaser: fetch the page

Progress = Callable[[str, int, int], None]


@dataclass
class Deps:
    """Everything the pipeline talks to, built once in ``app.py``.

    ``workers`` runs every CPU step on untrusted bytes (discovery, extraction, cleaning,
    topics, text prints); the event loop only does I/O. ``counter`` enables the learned
    site boilerplate pass.
    """

    fetcher: Fetcher
    stories: Stories
    http_cache: HttpCache
    workers: Workers
    quarantine: Quarantine = field(default_factory=Quarantine)
    counter: RedisParagraphCounter | None = None
    sites: SiteStore | None = None  # None: a site source is discovered on every poll
    neardup: NearDupIndex | None = None  # None: exact dedupe only (same URL, same text)
    dedupe: DedupeConfig = field(default_factory=DedupeConfig)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    progress: Progress | None = None
    release_after: float = 0.0  # monotonic time before which polls do not ask for settled copies


async def poll_source(source: Source, deps: Deps) -> PollReport:
    """One poll of one source. Failures of the source are reported, never raised.

    1 fetch the source (conditional GET), 2 discover entries (following sitemap indexes),
    3 process every entry, 4 keep the validators only when every entry was handled and the
    source was well-formed, so a crash or a failed article makes the next poll see the same
    entries again, and a damaged feed is read (and reported) again until it is fixed.
    """
    report = PollReport(source=source.name)
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(source=source.name):
        try:
            await _release_due(deps)
            pages, discovery = await _discover(source, deps, report)
            if discovery is not None:
                report.polled = len(discovery.entries)
                report.refresh = discovery.refresh
                report.entry_dates = tuple(
                    e.published_at.timestamp() for e in discovery.entries if e.published_at
                )
                await _process_all(discovery.entries, source, deps, report)
                if not report.failed and not report.damage:  # reread a damaged feed
                    for page in pages:
                        await deps.http_cache.put(page.url, page.etag, page.last_modified)
            else:
                report.not_modified = True
        except HostDeferred as exc:  # the source's host rate limited us: a skip, not a failure
            report.deferred = Deferral(exc.host, exc.until)
            report.held_until = exc.until
        except ScrapeError as exc:
            report.error, report.reason = str(exc), exc.slug
            if isinstance(exc, RateLimited):  # the host is held from now on
                report.held_until = exc.until
        except StoreUnavailable:
            raise
        except Exception as exc:  # isolation boundary: one source must not stop the others
            log.exception("poll_crashed")
            report.error, report.reason = f"internal error: {exc!r}", "internal"
        report.seconds = time.perf_counter() - started
        _log_poll(report)
    return report


async def _release_due(deps: Deps) -> None:
    """Emit the copies whose ``dedupe.settle`` ended without their original (polls ask, at
    most once per RELEASE_EVERY per process: a held story is durable in Redis, so one held by
    a process that died is released too)."""
    now = time.monotonic()
    if now < deps.release_after:
        return
    deps.release_after = now + RELEASE_EVERY
    for released, source in await deps.stories.release_due(deps.clock().timestamp()):
        log.info("settled", story_id=released, story_source=source)
        metrics.STORIES.labels(source, "story.created").inc()


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
    elif report.deferred:
        until = report.deferred.until.isoformat(timespec="seconds")
        log.info("poll", outcome="deferred", host=report.deferred.host, until=until, **fields)
    else:
        outcome = "not_modified" if report.not_modified else "ok"
        damaged = {"damaged": [d.url for d in report.damage]} if report.damage else {}
        log.info("poll", outcome=outcome, **damaged, **fields)


async def _discover(
    source: Source, deps: Deps, report: PollReport
) -> tuple[list[Page], Discovery | None]:
    """Fetch the source and its child sitemaps; ``None`` when the source itself is unchanged.
    A site source polls what its discovery chose, as one source (``_discover_site``). The
    source's Cache-Control max-age goes in the report (``every: auto`` obeys it)."""
    if source.type == "site":
        return await _discover_site(source, deps, report)
    return await _discover_roots([SubSource(source.type, source.url)], source, deps, report)


async def _discover_site(
    source: Source, deps: Deps, report: PollReport
) -> tuple[list[Page], Discovery | None]:
    """The stored discovery (redone when ``site.due``), then its sub-sources. A sub-source
    that fails triggers one discovery now (``site.after_failure``) and one more try: feeds
    move when a site is redesigned."""
    stored = await deps.sites.get(source.name) if deps.sites is not None else None
    why = site.due(stored, source.url, deps.clock())
    found = await _rediscover(source, deps, why, stored) if why else stored
    assert found is not None  # _rediscover returns one or raises
    try:
        return await _discover_roots(list(found.polls), source, deps, report)
    except HostDeferred:
        raise
    except ScrapeError as exc:
        if why or not site.after_failure(found, deps.clock()):
            raise
        log.info("site_rediscover", reason="failure", error=str(exc))
        found = await _rediscover(source, deps, "failure", found)
        return await _discover_roots(list(found.polls), source, deps, report)


async def _rediscover(
    source: Source, deps: Deps, why: site.Reason, stored: SiteFound | None
) -> SiteFound:
    """Discover the site and store the result. When the homepage cannot be read and an
    older discovery exists, that one is polled meanwhile (and the next poll tries again)."""
    try:
        home = await _fetch(source.url, "source", source, deps)
        found = await site.discover_site(
            home,
            _Probing(source, deps),
            source.http_options,
            partial(_parse, deps),
            deps.clock(),
            why,
        )
    except HostDeferred:
        raise
    except ScrapeError as exc:
        if stored is None:
            raise
        log.warning("site_discovery_failed", reason=exc.slug, error=str(exc), kept="previous")
        return stored
    log.info(
        "site_discovered",
        reason=why,
        polls=[f"{sub.kind} {sub.url}" for sub in found.polls],
        probed=len(found.probes),
    )
    if deps.sites is not None:
        await deps.sites.put(source.name, found)
    return found


@dataclass(frozen=True, slots=True)
class _Probing:
    """The fetcher as site discovery sees it: each probe (a candidate feed or sitemap) is
    fetched as the source's other requests are, and counted in /metrics as kind ``probe``."""

    source: Source
    deps: Deps

    async def get(self, url: str, *, options: RequestOptions | None = None) -> Page:
        return await _fetch(url, "probe", self.source, self.deps)

    async def robots_sitemaps(self, url: str, options: RequestOptions | None = None) -> list[str]:
        return await self.deps.fetcher.robots_sitemaps(url, options)


async def _discover_roots(
    roots: list[SubSource], source: Source, deps: Deps, report: PollReport
) -> tuple[list[Page], Discovery | None]:
    """Each root (and its child sitemaps) fetched conditionally and parsed; ``None`` when
    every root is unchanged. Entries are one per canonical URL across roots. The shortest
    max-age and the first feed's refresh hints speak for the source."""
    now = deps.clock()
    pages: list[Page] = []
    entries: list[Entry] = []
    refused: list[str] = []
    refresh: Refresh | None = None
    for sub in roots:
        root = await _fetch_conditional(sub.url, source, deps)
        max_age = cache_max_age(root.headers.get("cache-control"))
        if max_age is not None:
            known = report.cache_max_age
            report.cache_max_age = max_age if known is None else min(known, max_age)
        if root.not_modified:
            continue
        found = await _parse_source(sub.kind, root, source, deps, now)
        _note_damage(found, report)
        refresh = refresh or (found.refresh if found.refresh != Refresh() else None)
        pages.append(root)
        entries += found.entries
        refused += found.refused
        for child_url in found.follow:  # already same-site, newest first and bounded
            child = await _fetch_conditional(child_url, source, deps)
            if child.not_modified:
                continue
            pages.append(child)
            listed = await _parse_source("sitemap", child, source, deps, now)
            _note_damage(listed, report)
            entries += listed.entries
    if not pages:
        return [], None
    return pages, Discovery(
        _unique(entries), follow=[], refused=refused, refresh=refresh or Refresh()
    )


async def _parse_source(
    kind: Kind, page: Page, source: Source, deps: Deps, now: datetime
) -> Discovery:
    """Discovery is CPU work on untrusted bytes: in a worker, under ``fetch.parse_timeout``."""
    return await _parse(
        deps,
        page.url,
        page.text,
        discover,
        kind,
        page.text,
        page.url,
        now=now,
        max_age=source.max_age,
    )


def _note_damage(found: Discovery, report: PollReport) -> None:
    """A feed or sitemap that was read only up to where its XML breaks: its entries go on,
    and the damage is a WARNING line (``feed_malformed``, ``sitemap_malformed``) and goes in
    the report (``watcher once``, ``watcher status``), so items lost after it are not lost
    without a word."""
    damage = found.damage
    if damage is None:
        return
    log.warning(
        "sitemap_malformed" if damage.reason == "malformed_sitemap" else "feed_malformed",
        url=damage.url,
        reason=damage.reason,
        line=damage.line,
        column=damage.column,
        error=damage.message,
        entries=len(found.entries),
    )
    report.damage.append(damage)


def _unique(entries: list[Entry]) -> list[Entry]:
    """One entry per canonical URL, the first listed; a later one that carries the article
    (a full-content feed beside a news sitemap) lends it its content."""
    seen: dict[str, Entry] = {}
    for entry in entries:
        key = canonicalize(entry.url)
        first = seen.setdefault(key, entry)
        if first.content is None and entry.content is not None:
            seen[key] = replace(first, content=entry.content)
    return list(seen.values())


async def _fetch_conditional(url: str, source: Source, deps: Deps) -> Page:
    etag, modified = await deps.http_cache.get(url)
    return await _fetch(url, "source", source, deps, etag=etag, last_modified=modified)


async def _fetch(
    url: str, kind: str, source: Source, deps: Deps, **conditional: str | None
) -> Page:
    """Fetch through the shared fetcher, timing it and counting the bytes for /metrics."""
    with metrics.FETCH_SECONDS.labels(kind).time():
        page = await deps.fetcher.get(url, options=source.http_options, **conditional)
    metrics.FETCHED_BYTES.labels(source.name).inc(page.size)
    return page


async def _extract(html: str, url: str, entry: Entry, deps: Deps, report: PollReport) -> Parsed:
    """Extract and clean in a worker, then drop the host's learned template paragraphs.

    The learned pass counts the paragraphs of the cleaned text and only takes out those the
    host's pages taught (the other steps do not run again: they are not idempotent), so the
    counts see what readers would see, not nav text the rules already removed. The entry's
    title decides topics when the page has none; its date spares the page's date search.
    """
    title = entry.title
    with metrics.EXTRACT_SECONDS.time():
        learn = deps.counter is not None
        find_date = entry.published_at is None
        parsed = await _parse(
            deps,
            url,
            html,
            tasks.extract_article,
            html,
            url,
            title=title,
            learn=learn,
            find_date=find_date,
        )
        parsed = await _learn(parsed, url, title, deps)
    report.figures.append(parsed.figures)
    return parsed


async def _parse(
    deps: Deps, url: str, body: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """``fn`` on ``body`` in a worker, unless this very body ran past the deadline lately."""
    deps.quarantine.check(url, body)
    try:
        result = await deps.workers.run(url, fn, *args, **kwargs)
    except ParseTimeout:
        deps.quarantine.timed_out(url, body)
        raise
    deps.quarantine.parsed(url, body)
    return result


async def _learn(parsed: Parsed, url: str, title: str | None, deps: Deps) -> Parsed:
    """Count the page's paragraphs in Redis (one round trip); when one reached the host's
    ``min_pages``, a worker cleans the text again without it."""
    learning = parsed.learning
    if learning is None or deps.counter is None:
        return parsed
    counts = await deps.counter.seen_on_pages(
        learning.host, learning.fingerprints, learning.page_id
    )
    if not learning.drops_any(counts):
        return parsed
    return await deps.workers.run(url, tasks.drop_learned, parsed, url, counts, title=title)


async def _process_all(
    entries: list[Entry], source: Source, deps: Deps, report: PollReport
) -> None:
    gate = asyncio.Semaphore(ENTRY_CONCURRENCY)
    done = 0
    seen = await deps.stories.known_each([canonicalize(e.url) for e in entries])

    async def one(entry: Entry) -> None:
        nonlocal done
        async with gate:
            outcome = await process_entry(entry, source, deps, report, seen)
        report.count(outcome)
        done += 1
        if deps.progress:
            deps.progress(source.name, done, len(entries))

    await asyncio.gather(*(one(e) for e in entries))


async def process_entry(
    entry: Entry,
    source: Source,
    deps: Deps,
    report: PollReport,
    seen: Mapping[str, Known] | None = None,
) -> Outcome:
    """One article: 1 skip if known, 2 fetch, 3 extract + clean, 4 topics, 5 dedupe + emit.

    ``seen`` is what the poll's one MGET found for each canonical entry URL (else asked
    here). A ScrapeError fails this URL only. Nothing is marked seen unless step 5 emitted
    it or topics filtered it on purpose.
    """
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(url=entry.url):
        try:
            outcome = await _process(entry, source, deps, report, seen or {})
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


async def _process(
    entry: Entry, source: Source, deps: Deps, report: PollReport, seen: Mapping[str, Known]
) -> Outcome:
    entry_url = canonicalize(entry.url)
    known = seen[entry_url] if entry_url in seen else await deps.stories.known(entry_url)
    if known.kind == "filtered":
        return Outcome("filtered", entry.url, reason="known_url", story_id=known.story_id)
    if known.story is not None:
        return await _recheck(entry, known.story, source, deps, report)
    page, parsed = await _article(entry, source, deps, report)
    if parsed is None:
        raise ExtractionError(f"{page.url}: 304 Not Modified to a plain GET", url=page.url)
    doc = make_document(entry, page, parsed, source=source.name, fetched_at=deps.clock())
    urls = list(dict.fromkeys([doc.canonical_url, entry_url, canonicalize(page.url)]))
    if is_filtered(source.topics, doc.topics):
        await deps.stories.mark_filtered(doc, urls)
        return Outcome("filtered", entry.url, reason="topics", story_id=doc.id)
    copy = Copy(doc.url, parsed.article.site or doc.site)
    fields = _recheck_fields(parsed.facts, page, deps.clock())
    recorded = await _dedupe_and_emit(Arrival(doc, urls, copy, fields), deps, parsed.facts)
    if recorded.kind == "new":
        return Outcome("new", entry.url, story_id=recorded.story_id)
    if recorded.kind == "updated":
        return Outcome("updated", entry.url, reason=recorded.reason, story_id=recorded.story_id)
    if recorded.kind == "held":
        return Outcome("held", entry.url, reason="settle", story_id=recorded.story_id)
    return Outcome("duplicate", entry.url, reason=recorded.reason, story_id=recorded.story_id)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A story version just extracted: its document, every URL it was reached by (canonical
    first), what it says about itself as a copy, and the record fields a re-check needs."""

    doc: Document
    urls: list[str]
    copy: Copy
    fields: dict[str, str]


async def _dedupe_and_emit(arrival: Arrival, deps: Deps, facts: TextFacts) -> Recorded:
    """1 a copy whose canonical link names a known story joins it; 2 a near-duplicate of a
    story within the horizon joins it; 3 else record_story emits (or finds the same URL or
    text, atomically). A version joining a story may be a better one (``_join``).
    With ``dedupe.settle``, a copy naming another outlet is held instead of emitted, to give
    its original that long to arrive (``hold_story``, released by ``_release_due``).

    ``claim`` indexes the story before it is emitted, under its own stable id, so a crash
    before the XADD is retried next cycle as the same story, not taken for a copy of itself.
    Exact matches skip the claim, so the index holds no story that was never emitted.
    """
    doc = arrival.doc
    copy = replace(
        arrival.copy,
        names_url=doc.original_url,
        names_outlet=doc.original_source,
        canonical=doc.canonical_url,
    )
    arrival = replace(arrival, copy=copy)
    matches = await deps.stories.matches(doc, arrival.urls)
    held = matches.original.story
    if held and held != doc.id:
        return await _join(held, arrival, "same_url", deps)
    exact = matches.url.story or matches.text
    if deps.neardup is not None and not exact:
        match = await deps.neardup.claim_shingles(doc.id, facts.shingles)
        if match is not None:
            log.debug("near_duplicate", story_id=match.story_id, kind=match.kind, score=match.score)
            return await _join(match.story_id, arrival, "near_duplicate", deps)
    if deps.dedupe.settle > 0 and (doc.original_url or doc.original_source):
        due = deps.clock().timestamp() + deps.dedupe.settle
        recorded = await deps.stories.hold_story(doc, arrival.urls, due=due, fields=arrival.fields)
    else:
        recorded = await deps.stories.record_story(
            doc, arrival.urls, "story.created", fields=arrival.fields
        )
    if recorded.kind == "duplicate" and recorded.story_id != doc.id:
        # a same-URL or same-text copy, attached in the script: it may still be the original
        return await _join(recorded.story_id, arrival, recorded.reason, deps, attached=True)
    return recorded


UPGRADE_TRIES = 3  # another replica's upgrade or edit in between: re-read, decide again


async def _join(
    story_id: str, arrival: Arrival, reason: str, deps: Deps, *, attached: bool = False
) -> Recorded:
    """A version of story ``story_id`` arrived: it becomes the story's version when better
    (``story.updated``), else its URLs join the story's also_at and the record learns who
    the original is. ``attached``: record_story joined its URLs already.
    """
    record = StoryRecord()
    for _ in range(UPGRADE_TRIES):
        record = await deps.stories.record(story_id)
        upgraded = await _upgrade(story_id, record, arrival, deps)
        if upgraded is None:
            break
        if upgraded.kind in ("updated", "new"):
            return upgraded
    if attached:
        return Recorded("duplicate", story_id, reason=reason)
    original = original_of(record, arrival.copy)
    return await deps.stories.attach_copy(
        story_id, arrival.doc, arrival.urls, reason=reason, original=original
    )


async def _upgrade(
    story_id: str, record: StoryRecord, arrival: Arrival, deps: Deps
) -> Recorded | None:
    """``story.updated`` with ``arrival`` when it is the story's original or materially
    fuller than the emitted version (``upgrade_reason``); None when it is neither.

    Compare-and-set on the record's (content_hash, version): ``stale`` when another replica
    changed the story since it was read, so two replicas with the same original emit once.
    A copy still held by ``dedupe.settle`` is not emitted yet: only its original replaces
    it, and is then its ``story.created`` (``new``).
    """
    doc, copy = arrival.doc, arrival.copy
    held = record.pending
    fuller = False
    if (
        not held
        and can_upgrade(record, copy)
        and not is_named_original(record, copy)
        and record.units
    ):
        fuller = await deps.workers.run(
            doc.url, tasks.is_fuller, record.units, base64.b64decode(arrival.fields["units"])
        )
    why = upgrade_reason(record, copy, fuller=fuller)
    if why is None or (held and why != "original_found"):  # a held copy waits for its original
        return None
    if why == "original_found":
        better = replace(
            doc,
            original_url=doc.canonical_url,
            original_source=record.original_source or doc.site,
        )
    else:
        better = replace(
            doc,
            original_url=doc.original_url or record.original_url or None,
            original_source=doc.original_source or record.original_source or None,
        )
    better = replace(better, id=story_id, also_at=[], update_reason=None if held else why)
    fields = {**arrival.fields, "is_original": "1" if why == "original_found" else ""}
    compared = (record.content_hash, record.version)
    recorded = await deps.stories.upgrade_story(
        better, arrival.urls, compared=compared, fields=fields
    )
    if recorded.kind in ("updated", "new"):  # new: a held copy's original came in time
        log.info("upgraded", story_id=story_id, update_reason=why, held=held)
        return replace(recorded, reason=why)
    return recorded


def _recheck_fields(facts: TextFacts, page: Page, now: datetime) -> dict[str, str]:
    """What a later re-check compares against: ~8 bytes per sentence, plus the validators."""
    return {
        "units": base64.b64encode(facts.units).decode(),
        "checked_at": str(int(now.timestamp())),
        "etag": page.etag or "",
        "last_modified": page.last_modified or "",
    }


async def _recheck(
    entry: Entry, story_id: str, source: Source, deps: Deps, report: PollReport
) -> Outcome:
    """A known URL: usually nothing to do; now and then a conditional re-fetch for edits.

    Only the story's own URL is re-checked (a copy's edits are not the story's), and only
    when ``recheck_due`` says so. A 304, a cosmetic change or a story whose record expired
    is a duplicate, as before; a material change emits ``story.updated``.
    """
    unchanged = Outcome("duplicate", entry.url, reason="known_url", story_id=story_id)
    record = await deps.stories.record(story_id)
    if record.pending:  # held for its original: nothing emitted to update yet
        return unchanged
    home = {canonicalize(record.url), record.canonical_url or None}
    now = deps.clock()
    if canonicalize(entry.url) not in home or not _due(record, entry, now, deps.dedupe):
        return unchanged
    validators = {"etag": record.etag or None, "last_modified": record.last_modified or None}
    page, parsed = await _article(entry, source, deps, report, **validators)
    checked = {"checked_at": str(int(now.timestamp()))}
    if parsed is None:
        await deps.stories.touch(story_id, checked)
        return unchanged
    doc = make_document(entry, page, parsed, source=source.name, fetched_at=now)
    fields = _recheck_fields(parsed.facts, page, now)
    if not _material(record, doc, parsed.facts):
        await deps.stories.touch(story_id, {**fields, "units": record.units or fields["units"]})
        return unchanged
    doc = replace(
        doc,
        id=story_id,
        also_at=list(record.also_at),
        original_url=doc.original_url or record.original_url or None,
        original_source=doc.original_source or record.original_source or None,
        update_reason="text_changed",
    )
    compared = record.content_hash
    version = record.version
    updated = await deps.stories.update_story(
        doc, compared=compared, fields=fields, version=version
    )
    if updated.kind != "updated":
        return unchanged
    return Outcome("updated", entry.url, reason="material_change", story_id=story_id)


def _due(record: StoryRecord, entry: Entry, now: datetime, settings: DedupeConfig) -> bool:
    listed = utc(entry.published_at)
    return recheck_due(
        first_seen=record.created_at,
        last_checked=record.checked_at or record.created_at,
        listed_at=listed.timestamp() if listed else None,
        now=now.timestamp(),
        every=settings.recheck_every,
        window=settings.recheck_for,
    )


def _material(record: StoryRecord, doc: Document, facts: TextFacts) -> bool:
    """Whether the re-fetched text differs from the emitted one by more than cosmetics.

    A record from before sentence prints were stored has nothing to compare: it learns the
    prints now and reports no change.
    """
    if doc.content_hash == record.content_hash or not record.units:
        return False
    old = unpack_units(base64.b64decode(record.units))
    return is_material_units(old, unpack_units(facts.units))


async def _article(
    entry: Entry, source: Source, deps: Deps, report: PollReport, **conditional: str | None
) -> tuple[Page, Parsed | None]:
    """The article from the feed's full content when it carries the body, else from the page.

    ``conditional`` validators (a re-check) may make the page a 304: then there is no article.
    """
    if entry.content:
        page = Page(url=entry.url, status=200, text=entry.content, content_type="text/html")
        try:
            parsed = await _extract(entry.content, entry.url, entry, deps, report)
            if len(parsed.article.text) >= MIN_TEXT_CHARS:
                return page, parsed
        except ExtractionError:
            pass
    page = await _fetch(entry.url, "article", source, deps, **conditional)
    if page.not_modified:
        return page, None
    return page, await _extract(page.text, page.url, entry, deps, report)


def make_document(
    entry: Entry, page: Page, parsed: Parsed, *, source: str, fetched_at: datetime
) -> Document:
    """Merge what the source said (entry) with what the page said (article) into SPEC's document.

    The page's canonical link is trusted only on the same site: a cross-site canonical is how
    a syndicated copy names its original, which is not this copy's identity but is kept as
    ``original_url`` (with the original's outlet: the attribution line's, else its host); so
    is the link of a republication credit ("Originally published by <a>X</a>").
    ``site`` is the outlet's name as the page gives it (og:site_name, the JSON-LD publisher),
    as ``watcher extract`` shows it, else the host without "www.".
    """
    article = parsed.article
    final_url = strip_tracking(page.url)
    canonical = canonicalize(article.canonical_url or final_url)
    original_url = None
    if not same_site(canonical, final_url):
        original_url, canonical = canonical, canonicalize(final_url)
    elif article.original_url and not same_site(article.original_url, final_url):
        original_url = canonicalize(article.original_url)  # the republication credit's link
    original_source = article.original_source
    if original_url and not original_source:
        original_source = host_of(original_url).removeprefix("www.")
    published = published_of(article, entry)
    return Document(
        id=story_id(canonical),
        url=final_url,
        canonical_url=canonical,
        source=source,
        site=article.site or host_of(final_url).removeprefix("www."),
        title=article.title or entry.title,
        author=article.author or entry.author,
        published_at=iso(published),
        fetched_at=fetched_at.isoformat(),
        language=article.language,
        text=article.text,
        excerpt=parsed.facts.excerpt,
        topics=list(parsed.facts.topics),
        content_hash=parsed.facts.content_hash,
        original_source=original_source,
        original_url=original_url,
    )


def next_due(now: datetime, every: float) -> datetime:
    return now + timedelta(seconds=every)
