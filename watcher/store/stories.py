"""[emit] Seen-state and the output stream: record_story() marks seen and XADDs atomically.

Every emitting script trims the stream in the same step, by ``stream`` (``retention.py``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

import redis.asyncio as aioredis

from watcher.dedupe import url_key
from watcher.model import Document, StoryRecord
from watcher.store import translated
from watcher.store.keys import Keys
from watcher.store.retention import StreamPolicy
from watcher.store.scripts import (
    ATTACH_COPY,
    HOLD_STORY,
    RECORD_STORY,
    RELEASE_DUE,
    TOUCH_STORY,
    UPDATE_STORY,
    UPGRADE_STORY,
)
from watcher.updates import NO_ORIGINAL, Original

DEFAULT_TTL = 30 * 86400  # how long a story's URLs and text hash are remembered (30 days)
TAIL_BLOCK_MS = 2000  # ``tail``'s blocking read: under the client's SOCKET_TIMEOUT


RecordedKind = Literal["new", "duplicate", "updated", "stale", "held"]


@dataclass(frozen=True, slots=True)
class Recorded:
    """What record_story decided: ``new`` (emitted, with its stream id) or ``duplicate``.

    ``update_story`` answers ``updated`` (emitted) or ``stale`` (another replica updated the
    story first: nothing emitted); ``hold_story`` answers ``held`` (waiting for its original).
    """

    kind: RecordedKind
    story_id: str
    stream_id: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Known:
    """What a URL key holds: a ``story`` (its id), a story deliberately ``filtered`` out (its
    id: the URL is not fetched again, but holds no story), or ``none``."""

    kind: Literal["story", "filtered", "none"]
    story_id: str | None = None

    @property
    def story(self) -> str | None:
        """The story id when the key holds a story; None when filtered or unknown."""
        return self.story_id if self.kind == "story" else None


UNKNOWN = Known("none")
_FILTERED = "filtered:"  # the URL key's value prefix for a filtered story (store-internal)


def _known(value: object) -> Known:
    if not value:
        return UNKNOWN
    text = str(value)
    if text.startswith(_FILTERED):
        return Known("filtered", text.removeprefix(_FILTERED))
    return Known("story", text)


def _kind(value: object) -> RecordedKind:
    """A script's answer as a RecordedKind; anything else is a bug in a script."""
    kind = str(value)
    if kind not in get_args(RecordedKind):
        raise ValueError(f"unexpected script answer {kind!r}")
    return cast(RecordedKind, kind)


@dataclass(frozen=True, slots=True)
class Matches:
    """What an arrival's original URL, first known URL and text hash already hold: the
    three exact checks of ``_dedupe_and_emit`` in one MGET."""

    original: Known
    url: Known
    text: str | None  # the story id holding the same normalized text


class Stories:
    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        *,
        ttl: int = DEFAULT_TTL,
        stream: StreamPolicy | None = None,
    ) -> None:
        self._client = client
        self._keys = keys
        self._ttl = ttl
        self.stream = stream or StreamPolicy()
        self._policy = self.stream.to_json()  # what each emitting script trims the stream by
        self._record = client.register_script(RECORD_STORY)
        self._attach = client.register_script(ATTACH_COPY)
        self._update = client.register_script(UPDATE_STORY)
        self._upgrade = client.register_script(UPGRADE_STORY)
        self._hold = client.register_script(HOLD_STORY)
        self._release = client.register_script(RELEASE_DUE)
        self._touch = client.register_script(TOUCH_STORY)

    @translated
    async def known(self, *urls: str) -> Known:
        """What the first of these canonical URLs that is known holds (``UNKNOWN``: none)."""
        values = await self._client.mget([self._keys.url(url_key(u)) for u in urls])
        return next((_known(v) for v in values if v), UNKNOWN)

    @translated
    async def known_each(self, urls: Sequence[str]) -> dict[str, Known]:
        """``known`` of each canonical URL, all in one MGET: a poll's seen checks at once."""
        if not urls:
            return {}
        values = await self._client.mget([self._keys.url(url_key(u)) for u in urls])
        return {u: _known(v) for u, v in zip(urls, values, strict=True)}

    @translated
    async def known_text(self, content_hash: str) -> str | None:
        """The story id already holding this normalized text, if any."""
        value = await self._client.get(self._keys.text(content_hash))
        return str(value) if value else None

    @translated
    async def matches(self, doc: Document, urls: Sequence[str]) -> Matches:
        """What already holds the story's original URL, one of ``urls``, or its text: the
        three exact checks of an arrival in one MGET."""
        keys = [self._keys.text(doc.content_hash), *(self._keys.url(url_key(u)) for u in urls)]
        if doc.original_url:
            keys.append(self._keys.url(url_key(doc.original_url)))
        values = await self._client.mget(keys)
        text, by_url = values[0], values[1 : 1 + len(urls)]
        original = _known(values[-1]) if doc.original_url else UNKNOWN
        url = next((_known(v) for v in by_url if v), UNKNOWN)
        return Matches(original, url, str(text) if text else None)

    @translated
    async def record_story(
        self,
        doc: Document,
        urls: list[str],
        event: str,
        *,
        fields: Mapping[str, str] | None = None,
    ) -> Recorded:
        """Emit ``doc`` unless one of ``urls`` or its text is known; either way, in one step.

        ``urls`` are every URL the story was reached by (canonical first); a duplicate's URLs
        join the existing story's ``also_at``. ``fields`` are kept in the story's record
        beside its identity (what a later re-check compares against).
        """
        ordered = list(dict.fromkeys([doc.canonical_url, *urls]))
        keys = [self._keys.stories, self._keys.text(doc.content_hash), self._keys.story(doc.id)]
        keys += [self._keys.url(url_key(u)) for u in ordered]
        record = _identity(doc, fields or {})
        args: list[Any] = [doc.id, event, _head(doc), self._ttl, self._policy]
        args += [self._keys.story(""), json.dumps(record), json.dumps(doc.also_at), *ordered]
        kind, story_id, extra = await self._record(keys=keys, args=args)
        if kind == "new":
            return Recorded("new", story_id, stream_id=extra)
        return Recorded("duplicate", story_id, reason=extra)

    @translated
    async def attach_copy(
        self,
        story_id: str,
        doc: Document,
        urls: list[str],
        *,
        reason: str,
        original: Original = NO_ORIGINAL,
    ) -> Recorded:
        """Join a copy of story ``story_id`` to its record instead of emitting it.

        The copy's URLs join ``also_at`` and, like its text hash, point at the story from
        now on. ``original.mode``: ``keep`` records the original the copy
        names unless the story names one already; ``replace`` records this copy as the
        original the story's first copy named.
        """
        ordered = list(dict.fromkeys([doc.canonical_url, *urls]))
        keys = [self._keys.story(story_id), self._keys.text(doc.content_hash)]
        keys += [self._keys.url(url_key(u)) for u in ordered]
        named = [original.mode, original.url, original.outlet]
        args: list[Any] = [story_id, self._ttl, reason, *named, *ordered]
        kind, held_by, why = await self._attach(keys=keys, args=args)
        return Recorded(_kind(kind), held_by, reason=why)

    @translated
    async def update_story(
        self, doc: Document, *, compared: str, fields: Mapping[str, str], version: str = ""
    ) -> Recorded:
        """Emit ``story.updated`` for ``doc`` and store its new identity, in one step.

        Only when the record still holds the text hash ``compared`` against, and the
        ``version`` read when given (another replica may have emitted the same update, or an
        upgrade, meanwhile: then ``stale``, nothing sent).
        """
        keys = [self._keys.stories, self._keys.story(doc.id), self._keys.text(doc.content_hash)]
        stored = {"content_hash": doc.content_hash, "title": doc.title or "", **fields}
        args: list[Any] = [doc.id, compared, doc.to_json(), self._ttl, self._policy]
        kind, extra = await self._update(keys=keys, args=[*args, json.dumps(stored), version])
        if kind == "updated":
            return Recorded("updated", doc.id, stream_id=extra)
        return Recorded("stale", doc.id, reason="stale")

    @translated
    async def upgrade_story(
        self,
        doc: Document,
        urls: list[str],
        *,
        compared: tuple[str, str],
        fields: Mapping[str, str],
    ) -> Recorded:
        """Make ``doc`` (a better version of story ``doc.id``) the story's version and emit it
        as ``story.updated``, in one step; ``also_at`` is computed in the script, from the
        record as it is then (the version replaced joins it).

        ``compared`` is the (content_hash, version) read from the record: when another replica
        changed the story since, ``stale`` and nothing is sent.
        """
        ordered = list(dict.fromkeys([doc.canonical_url, *urls]))
        keys = [self._keys.stories, self._keys.story(doc.id), self._keys.text(doc.content_hash)]
        keys += [self._keys.pending, *(self._keys.url(url_key(u)) for u in ordered)]
        stored = json.dumps(_identity(doc, fields))
        args: list[Any] = [doc.id, *compared, _head(doc), self._ttl, self._policy, stored]
        kind, extra = await self._upgrade(keys=keys, args=[*args, *ordered])
        if kind in ("updated", "new"):  # new: the story was held, this is its first emission
            return Recorded(_kind(kind), doc.id, stream_id=extra)
        return Recorded("stale", doc.id, reason="stale")

    @translated
    async def hold_story(
        self, doc: Document, urls: list[str], *, due: float, fields: Mapping[str, str]
    ) -> Recorded:
        """``record_story`` for a copy that waits until ``due`` (Unix time) for its original:
        ``held`` (recorded, in the pending set, not emitted) or ``duplicate``, in one step."""
        ordered = list(dict.fromkeys([doc.canonical_url, *urls]))
        keys = [self._keys.pending, self._keys.text(doc.content_hash), self._keys.story(doc.id)]
        keys += [self._keys.url(url_key(u)) for u in ordered]
        args: list[Any] = [doc.id, _head(doc), self._ttl, f"{due:.3f}", self._keys.story("")]
        args += [json.dumps(_identity(doc, fields)), *ordered]
        kind, story_id, extra = await self._hold(keys=keys, args=args)
        if kind == "held":
            return Recorded("held", story_id)
        return Recorded("duplicate", story_id, reason=extra)

    @translated
    async def release_due(self, now: float, limit: int = 100) -> list[tuple[str, str]]:
        """Emit the held stories due by ``now`` as ``story.created``: their (id, source);
        each is released once, whichever replica asks."""
        keys = [self._keys.pending, self._keys.stories]
        args: list[Any] = [f"{now:.3f}", self._keys.story(""), self._policy, limit]
        flat = [str(v) for v in await self._release(keys=keys, args=args)]
        return list(zip(flat[::2], flat[1::2], strict=True))

    @translated
    async def touch(self, story_id: str, fields: Mapping[str, str]) -> None:
        """Store re-check bookkeeping in an existing record (never re-creates an expired one)."""
        await self._touch(keys=[self._keys.story(story_id)], args=[json.dumps(dict(fields))])

    @translated
    async def mark_filtered(self, doc: Document, urls: list[str]) -> None:
        """Remember that these URLs were deliberately filtered out, so they are not re-fetched."""
        async with self._client.pipeline(transaction=True) as pipe:
            for url in dict.fromkeys([doc.canonical_url, *urls]):
                pipe.set(self._keys.url(url_key(url)), _FILTERED + doc.id, ex=self._ttl, nx=True)
            await pipe.execute()

    @translated
    async def record(self, story_id: str) -> StoryRecord:
        """The story's record (``StoryRecord()`` when unknown or expired)."""
        raw = await self._client.hgetall(self._keys.story(story_id))
        return StoryRecord.from_fields({str(k): str(v) for k, v in raw.items()})

    async def tail(
        self,
        *,
        from_start: bool = False,
        block_ms: int = TAIL_BLOCK_MS,
        until: asyncio.Event | None = None,
    ) -> AsyncIterator[tuple[str, str, Document]]:
        """Yield (stream id, event, document) as entries arrive; from the start or from now.

        Ends when ``until`` is set, at the latest when the read in flight returns (within
        ``block_ms``): cancelling the task in a blocking read instead was not reliable (redis-py
        sometimes took the cancellation for the read's own and went on reading)."""
        last = "0-0" if from_start else "$"
        while until is None or not until.is_set():
            batch = await self._read(last, block_ms)
            for _stream, entries in batch or []:
                for entry_id, fields in entries:
                    last = entry_id
                    yield entry_id, fields["event"], Document.from_json(fields["data"])

    @translated
    async def _read(self, last: str, block_ms: int) -> Any:
        return await self._client.xread({self._keys.stories: last}, count=100, block=block_ms)


def _identity(doc: Document, fields: Mapping[str, str]) -> dict[str, str]:
    """The record's string fields for a version of a story (empty values are not stored)."""
    return {
        "url": doc.url,
        "canonical_url": doc.canonical_url,
        "title": doc.title or "",
        "source": doc.source,
        "site": doc.site,
        "content_hash": doc.content_hash,
        "original_url": doc.original_url or "",
        "original_source": doc.original_source or "",
        **fields,
    }


def _head(doc: Document) -> str:
    """The document's JSON without ``also_at`` and its closing brace: a script appends both
    from the record as it is then (re-encoding the document with cjson would turn its empty
    lists into objects)."""
    data = json.loads(doc.to_json())
    del data["also_at"]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))[:-1]
