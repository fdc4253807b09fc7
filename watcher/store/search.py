"""[emit] The story index: what ``/api/stories`` and the dashboard list and search.

Built from the ``stories`` stream, so every way a story is emitted (new, updated, upgraded,
released after ``dedupe.settle``) is indexed the same way, right after the poll that emitted
it (``App.poll``). Written idempotently, so replicas catching up at once only repeat work.

    <ns>:ix:cursor            the last stream id read
    <ns>:ix:stories           ZSET story id → its latest event's time (ms·1000 + seq)
    <ns>:ix:topic:<t>         ZSET, the same scores, of the stories matching topic t
    <ns>:ix:source:<s>        ZSET ... found by source s
    <ns>:ix:word:<w>          ZSET ... whose title or text has word w (``watcher.words``)
    <ns>:ix:doc:<id>          HASH the latest version in brief (title, site, topics...)
    <ns>:ix:versions:<id>     ZSET stream id → time: each event the story was emitted in

Every key lives ``index.retention`` (the TTL given; at most the records' 30 days), and each sorted
set drops members older than that as it is written. A query is a bounded number of round trips
whatever the page size: the intersection (one transaction), then the page's briefs (one
pipeline).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from watcher.store import translated
from watcher.store.keys import Keys
from watcher.store.scripts import INDEX_STORY
from watcher.store.stories import DEFAULT_TTL
from watcher.words import Indexed

BATCH = 100  # stream entries read and tokenized per round: one worker call, one pipeline
MAX_CATCH_UP = 5000  # entries per catch-up; a backlog (a first start) continues next poll
SEQ_SLOTS = 1000  # events within one ms keep their order (the stream's sequence number)
MAX_VERSIONS = 20  # versions a story page shows, newest first; more are edits of edits

Tokenize = Callable[[list[tuple[str, str, str]]], Awaitable[list[Indexed | None]]]


@dataclass(frozen=True, slots=True)
class StoryQuery:
    """A listing: every filter given must match (words: all of them), newest first."""

    words: tuple[str, ...] = ()
    topic: str | None = None
    source: str | None = None
    since: datetime | None = None
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class StoryBrief:
    """One story in a listing: its latest version in brief, its copies and how many versions."""

    id: str
    title: str | None
    url: str
    site: str
    source: str
    topics: tuple[str, ...]
    published_at: str | None
    fetched_at: str | None
    excerpt: str
    latest_event: str
    latest_at: datetime
    created_at: datetime
    versions: int
    also_at: tuple[str, ...]
    update_reason: str | None = None
    original_source: str | None = None


@dataclass(frozen=True, slots=True)
class StoryPage:
    stories: tuple[StoryBrief, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class Version:
    """One emission of a story; ``text`` is None once the stream was trimmed past it."""

    stream_id: str
    event: str
    at: datetime
    title: str | None = None
    url: str | None = None
    text: str | None = None
    content_hash: str | None = None
    update_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StoryDetail:
    brief: StoryBrief
    versions: tuple[Version, ...]  # newest first
    original_url: str | None = None

    @property
    def text(self) -> str | None:
        """The clean text of the latest version still in the stream."""
        return next((v.text for v in self.versions if v.text is not None), None)


def stream_ms(stream_id: str) -> int:
    """A stream id starts with its Unix time in milliseconds."""
    return int(stream_id.split("-", 1)[0])


def _score(stream_id: str) -> int:
    """Sort key of an event: its ms, then its sequence within the ms (exact in a double:
    ms * 1000 stays under 2**53 until the year 2255)."""
    ms, _, seq = stream_id.partition("-")
    return int(ms) * SEQ_SLOTS + min(int(seq or 0), SEQ_SLOTS - 1)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class StoryIndex:
    def __init__(self, client: aioredis.Redis, keys: Keys, *, ttl: int = DEFAULT_TTL) -> None:
        self._client = client
        self._keys = keys
        self._ttl = ttl
        self._index = client.register_script(INDEX_STORY)

    # --- writing ---
    @translated
    async def catch_up(self, tokenize: Tokenize, *, most: int = MAX_CATCH_UP) -> int:
        """Index the stream entries after the cursor (at most ``most``); how many were read.

        ``tokenize`` turns (stream id, event, data) into ``Indexed`` values off the event loop
        (the worker pool: a story's text is untrusted and may be long).
        """
        cursor = str(await self._client.get(self._keys.index_cursor) or "0-0")
        done = 0
        while done < most:
            entries: Any = await self._client.xrange(
                self._keys.stories, min=f"({cursor}", max="+", count=BATCH
            )
            if not entries:
                break
            raw = [(sid, f.get("event") or "", f.get("data") or "") for sid, f in entries]
            await self._write([e for e in await tokenize(raw) if e is not None])
            cursor = entries[-1][0]
            await self._client.set(self._keys.index_cursor, cursor)
            done += len(entries)
        return done

    async def _write(self, batch: Sequence[Indexed]) -> None:
        """One script call per entry, all in one pipeline."""
        if not batch:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for entry in batch:
                await self._write_one(pipe, entry)
            await pipe.execute()

    async def _write_one(self, pipe: Any, entry: Indexed) -> None:
        keys = self._keys
        score = _score(entry.stream_id)
        floor = score - self._ttl * 1000 * SEQ_SLOTS  # older than the records they point at
        sets = [keys.index_stories]
        if entry.source:
            sets.append(keys.index_source(entry.source))
        args: list[Any] = [entry.story_id, entry.stream_id, score, floor, self._ttl]
        args += [keys.index_word(""), " ".join(entry.words)]
        args += [keys.index_topic(""), "\n".join(entry.topics)]
        args.append(json.dumps({**dict(entry.brief), "event": entry.event}, ensure_ascii=False))
        await self._index(
            keys=[keys.index_doc(entry.story_id), keys.index_versions(entry.story_id), *sets],
            args=args,
            client=pipe,
        )

    # --- reading ---
    @translated
    async def stories(self, query: StoryQuery) -> StoryPage:
        """The page of stories matching ``query``, newest first, and how many match."""
        ids, total = await self._matching(query)
        briefs = await self._briefs(ids)
        return StoryPage(tuple(b for b in briefs if b), total, query.offset, query.limit)

    async def _matching(self, query: StoryQuery) -> tuple[list[str], int]:
        keys = [self._keys.index_word(w) for w in query.words]
        if query.topic:
            keys.append(self._keys.index_topic(query.topic))
        if query.source:
            keys.append(self._keys.index_source(query.source))
        low = f"{int(query.since.timestamp() * 1000) * SEQ_SLOTS}" if query.since else "-inf"
        start, num = query.offset, query.limit
        if len(keys) <= 1:
            key = keys[0] if keys else self._keys.index_stories
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.zrevrangebyscore(key, "+inf", low, start=start, num=num)
                pipe.zcount(key, low, "+inf")
                ids, total = await pipe.execute()
            return [str(i) for i in ids], int(total)
        scratch = self._keys.index_scratch(secrets.token_hex(8))
        async with self._client.pipeline(transaction=True) as pipe:  # the scratch key never stays
            pipe.zinterstore(scratch, keys, aggregate="MAX")
            pipe.zrevrangebyscore(scratch, "+inf", low, start=start, num=num)
            pipe.zcount(scratch, low, "+inf")
            pipe.delete(scratch)
            _n, ids, total, _gone = await pipe.execute()
        return [str(i) for i in ids], int(total)

    async def _briefs(self, ids: Sequence[str]) -> list[StoryBrief | None]:
        """Each story's brief, copies and version count: one pipeline for the whole page."""
        async with self._client.pipeline(transaction=False) as pipe:
            for story_id in ids:
                pipe.hgetall(self._keys.index_doc(story_id))
                pipe.hget(self._keys.story(story_id), "also_at")
                pipe.zcard(self._keys.index_versions(story_id))
            answers = await pipe.execute()
        return [_brief(story_id, *answers[3 * i : 3 * i + 3]) for i, story_id in enumerate(ids)]

    @translated
    async def story(self, story_id: str) -> StoryDetail | None:
        """One story with its versions (texts from the stream) and its record's copies."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.index_doc(story_id))
            pipe.hget(self._keys.story(story_id), "also_at")
            pipe.zcard(self._keys.index_versions(story_id))
            pipe.zrevrange(self._keys.index_versions(story_id), 0, MAX_VERSIONS - 1)
            pipe.hget(self._keys.story(story_id), "original_url")
            doc, also, count, stream_ids, original = await pipe.execute()
        brief = _brief(story_id, doc, also, count)
        if brief is None:
            return None
        async with self._client.pipeline(transaction=False) as pipe:
            for sid in stream_ids:
                pipe.xrange(self._keys.stories, min=sid, max=sid, count=1)
            found = await pipe.execute()
        versions = tuple(
            _version(str(sid), got) for sid, got in zip(stream_ids, found, strict=True)
        )
        return StoryDetail(brief, versions, str(original) if original else None)


def _brief(
    story_id: str, doc: dict[str, str], also: str | None, versions: int
) -> StoryBrief | None:
    """The stored brief → StoryBrief; None when it expired (the story is past the TTL)."""
    if not doc or "stream_id" not in doc:
        return None
    try:
        topics = tuple(str(t) for t in json.loads(doc.get("topics") or "[]"))
        copies = tuple(str(u) for u in json.loads(also or "[]"))
    except (ValueError, TypeError):
        topics, copies = (), ()
    return StoryBrief(
        id=story_id,
        title=doc.get("title"),
        url=doc.get("url", ""),
        site=doc.get("site", ""),
        source=doc.get("source", ""),
        topics=topics,
        published_at=doc.get("published_at"),
        fetched_at=doc.get("fetched_at"),
        excerpt=doc.get("excerpt", ""),
        latest_event=doc.get("event", ""),
        latest_at=_moment(stream_ms(doc["stream_id"])),
        created_at=_moment(stream_ms(doc.get("created_id") or doc["stream_id"])),
        versions=int(versions),
        also_at=copies,
        update_reason=doc.get("update_reason"),
        original_source=doc.get("original_source"),
    )


def _version(stream_id: str, found: list[Any]) -> Version:
    at = _moment(stream_ms(stream_id))
    if not found:
        return Version(stream_id, "", at)
    fields = found[0][1]
    try:
        doc = json.loads(fields.get("data") or "{}")
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}

    def text(name: str) -> str | None:
        value = doc.get(name)
        return value if isinstance(value, str) else None

    return Version(
        stream_id,
        str(fields.get("event") or ""),
        at,
        title=text("title"),
        url=text("url"),
        text=text("text"),
        content_hash=text("content_hash"),
        update_reason=text("update_reason"),
    )
