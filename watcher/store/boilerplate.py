"""Learned site boilerplate: per-host counts of paragraph fingerprints, shared by every replica.

Memory stays bounded by time: counts live in weekly generations, a lookup adds the current and
the previous one, and each generation expires after two weeks. A page is counted once per
generation however often it is cleaned (its id goes into a set), so the count really is
"distinct pages of this host that carried the paragraph".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import redis.asyncio as aioredis

from watcher.store import translated
from watcher.store.keys import Keys
from watcher.store.scripts import COUNT_PARAGRAPHS

GENERATION_SECONDS = 7 * 86400  # a template paragraph recurs within a week on any live site


class RedisParagraphCounter:
    """Counts for the scrapers' learned pass, in Redis: one round trip per page, on the loop.

    Cleaning runs in a worker process, which cannot hold a client: it returns the page's
    countable fingerprints, the pipeline counts them here, and a worker applies the counts
    (``watcher.tasks.drop_learned``). Async, unlike the scrapers' ``ParagraphCounter``.
    """

    def __init__(self, client: aioredis.Redis, keys: Keys, clock: Callable[[], float]) -> None:
        self._keys = keys
        self._clock = clock
        self._count = client.register_script(COUNT_PARAGRAPHS)

    @translated
    async def seen_on_pages(
        self, host: str, fingerprints: Sequence[str], page_id: str
    ) -> list[int]:
        """Record that ``page_id`` of ``host`` has these paragraphs; return pages per paragraph."""
        if not fingerprints:
            return []
        gen = int(self._clock() // GENERATION_SECONDS)
        keys = [
            self._keys.boilerplate(host, gen),
            self._keys.boilerplate_pages(host, gen),
            self._keys.boilerplate(host, gen - 1),
        ]
        args: list[str | int] = [page_id, 2 * GENERATION_SECONDS, " ".join(fingerprints)]
        counts = await self._count(keys=keys, args=args)
        return [int(c) for c in counts]
