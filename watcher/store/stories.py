"""[emit] Seen-state and the output stream: record_story() marks seen and XADDs atomically."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from watcher.dedupe import url_key
from watcher.model import Document
from watcher.store import translated
from watcher.store.keys import Keys
from watcher.store.scripts import RECORD_STORY

DEFAULT_TTL = 30 * 86400  # how long a story's URLs and text hash are remembered (30 days)
DEFAULT_MAXLEN = 100_000  # approximate cap of the stream, so Redis memory stays bounded


@dataclass(frozen=True, slots=True)
class Recorded:
    """What record_story decided: ``new`` (emitted, with its stream id) or ``duplicate``."""

    kind: str
    story_id: str
    stream_id: str | None = None
    reason: str = ""


class Stories:
    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        *,
        ttl: int = DEFAULT_TTL,
        maxlen: int = DEFAULT_MAXLEN,
    ) -> None:
        self._client = client
        self._keys = keys
        self._ttl = ttl
        self._maxlen = maxlen
        self._record = client.register_script(RECORD_STORY)

    @translated
    async def known(self, *urls: str) -> str | None:
        """The story id (or ``filtered:…``) already holding any of these canonical URLs."""
        values = await self._client.mget([self._keys.url(url_key(u)) for u in urls])
        return next((str(v) for v in values if v), None)

    @translated
    async def record_story(self, doc: Document, urls: list[str], event: str) -> Recorded:
        """Emit ``doc`` unless one of ``urls`` or its text is known; either way, in one step.

        ``urls`` are every URL the story was reached by (canonical first); a duplicate's URLs
        join the existing story's ``also_at``.
        """
        ordered = list(dict.fromkeys([doc.canonical_url, *urls]))
        keys = [self._keys.stories, self._keys.text(doc.content_hash), self._keys.story(doc.id)]
        keys += [self._keys.url(url_key(u)) for u in ordered]
        args: list[Any] = [doc.id, event, doc.to_json(), self._ttl, self._maxlen]
        args += [self._keys.story(""), doc.url, doc.canonical_url, doc.title or ""]
        args += [doc.source, doc.site, doc.content_hash, *ordered]
        kind, story_id, extra = await self._record(keys=keys, args=args)
        if kind == "new":
            return Recorded("new", story_id, stream_id=extra)
        return Recorded("duplicate", story_id, reason=extra)

    @translated
    async def mark_filtered(self, doc: Document, urls: list[str]) -> None:
        """Remember that these URLs were deliberately filtered out, so they are not re-fetched."""
        async with self._client.pipeline(transaction=True) as pipe:
            for url in dict.fromkeys([doc.canonical_url, *urls]):
                pipe.set(self._keys.url(url_key(url)), f"filtered:{doc.id}", ex=self._ttl, nx=True)
            await pipe.execute()

    @translated
    async def record(self, story_id: str) -> dict[str, Any]:
        """The story's record with ``also_at`` decoded (empty dict when unknown)."""
        raw = {
            str(k): str(v)
            for k, v in (await self._client.hgetall(self._keys.story(story_id))).items()
        }
        if not raw:
            return {}
        out: dict[str, Any] = dict(raw)
        out["also_at"] = json.loads(raw.get("also_at") or "[]")
        return out

    async def tail(
        self, *, from_start: bool = False, block_ms: int = 5000
    ) -> AsyncIterator[tuple[str, str, Document]]:
        """Yield (stream id, event, document) as entries arrive; from the start or from now."""
        last = "0-0" if from_start else "$"
        while True:
            batch = await self._read(last, block_ms)
            for _stream, entries in batch or []:
                for entry_id, fields in entries:
                    last = entry_id
                    yield entry_id, fields["event"], Document.from_json(fields["data"])

    @translated
    async def _read(self, last: str, block_ms: int) -> Any:
        return await self._client.xread({self._keys.stories: last}, count=100, block=block_ms)
