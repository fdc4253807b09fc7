"""Learned site boilerplate: per-host counts of paragraph fingerprints, shared by every replica.

Memory stays bounded by time: counts live in weekly generations, a lookup adds the current and
the previous one, and each generation expires after two weeks. A page is counted once per
generation however often it is cleaned (its id goes into a set), so the count really is
"distinct pages of this host that carried the paragraph".
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from watcher.store.keys import Keys
from watcher.store.scripts import COUNT_PARAGRAPHS

GENERATION_SECONDS = 7 * 86400  # a template paragraph recurs within a week on any live site


class RedisParagraphCounter:
    """The scrapers' ParagraphCounter, in Redis; synchronous because cleaning runs in a thread."""

    def __init__(self, client: redis.Redis, keys: Keys, clock: Callable[[], float]) -> None:
        self._keys = keys
        self._clock = clock
        self._count = client.register_script(COUNT_PARAGRAPHS)

    def seen_on_pages(self, host: str, fingerprints: list[str], page_id: str) -> list[int]:
        """Record that ``page_id`` of ``host`` has these paragraphs; return pages per paragraph."""
        if not fingerprints:
            return []
        gen = int(self._clock() // GENERATION_SECONDS)
        keys = [
            self._keys.boilerplate(host, gen),
            self._keys.boilerplate_pages(host, gen),
            self._keys.boilerplate(host, gen - 1),
        ]
        counts = self._count(keys=keys, args=[page_id, 2 * GENERATION_SECONDS, *fingerprints])
        return [int(c) for c in counts]
