"""[dedupe] The near-duplicate index in Redis, shared by every replica.

Each story keeps its ``SKETCH_SIZE`` bottom-k anchors (see ``watcher.neardup``). Redis has no
cheap structure for millions of tiny (anchor → story) pairs: a key per anchor costs ~90 bytes,
a hash field ~12. So the anchors are packed by hand into STRING buckets:

    <ns>:nd:<epoch>:a:<bucket>   6-byte records: 3-byte anchor tag + 3-byte story ref
    <ns>:nd:<epoch>:m:<chunk>    21-byte story records at ref * 21: story id (12 bytes),
                                 sketch threshold (top 32 bits), anchor count, time added
    <ns>:nd:<epoch>:n            the epoch's story counter (refs are 0 .. 2**24 - 1)
    <ns>:nd:gen                  bumped by every add, so ``claim`` can add atomically

An anchor's low 16 bits pick the bucket and the next 24 bits are its tag: 40 bits, so at a
million stories a probe meets a stranger's record about once in 30,000 probes, and a match
needs ``MIN_SHARED`` anchors. ~40 x 6 bytes + 21 bytes + bucket overhead: 293 bytes per
story at a million stories, 388 at 100,000 (``bench/RESULTS.md``).

Boilerplate: an anchor held by ``COMMON_AT`` stories counts for no one, and a text lookup
drops the lines whose two smallest sampled anchors, or most of whose sampled anchors, are such,
then looks up again (see ``neardup.boilerplate_lines``): site chrome that survived cleaning cannot
make two stories one.

Expiry: keys belong to an *epoch* (horizon / ``EPOCHS`` long) and expire together, at the
epoch's end plus the horizon, so memory is reclaimed with no sweeper. A lookup probes the
epochs of the last horizon and ignores stories added before it, so the horizon is exact even
though memory lingers up to one epoch longer.

Both scripts compute key names from the prefix, so they need a single Redis node (not a
cluster), as the rest of the store does.
"""

from __future__ import annotations

import asyncio
import random
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis
import structlog

from watcher.errors import StoreUnavailable
from watcher.neardup import (
    MAX_HASH,
    MIN_SHARED,
    QUERY_SIZE,
    SKETCH_SIZE,
    Shingles,
    Sketch,
    boilerplate_lines,
    judge,
    overlap,
    rank,
    shingles_of,
    sketch,
    sketch_of,
)
from watcher.store import translated
from watcher.store.keys import Keys
from watcher.store.scripts import ADD_FINGERPRINT, FIND_FINGERPRINTS

log = structlog.get_logger("watcher.neardup")

DEFAULT_HORIZON = 30 * 86400  # stories are matched against the last 30 days (issue 5)
EPOCHS = 6  # a horizon is split in 6 epochs: memory lingers at most horizon / 6 past expiry
BUCKET_BITS = 16  # 65,536 buckets per epoch: ~600 records (3.6 KB) each at a million stories
COMMON_AT = 4  # an anchor held by this many stories is boilerplate: it counts for no one
MAX_CANDIDATES = 5  # candidates verified per lookup, most shared anchors first
CLAIM_ATTEMPTS = 8  # lookups a claim retries while other replicas keep adding stories
CLAIM_BACKOFF = 0.002  # s; doubled per attempt, jittered: 8 attempts span up to ~0.5 s
_RECORD = struct.Struct(">12sIBI")  # story id, threshold >> 32, anchor count, unix time added
_MAX_REF = 1 << 24


@dataclass(frozen=True, slots=True)
class NearMatch:
    """An earlier story that a text is a copy of: the same text reworded, or contained."""

    story_id: str
    kind: Literal["near_duplicate", "contained"]
    score: float


def _packed(anchors: Iterable[int]) -> bytes:
    """5 bytes per anchor: its low 16 bits pick the bucket, the next 24 are its tag.

    One binary argument instead of two per anchor: packing 80 arguments per call cost more
    client time than the lookup itself.
    """
    return b"".join(
        (((a & 0xFFFF) << 24) | ((a >> 16) & 0xFFFFFF)).to_bytes(5, "big") for a in anchors
    )


def _record(story_id: str, stored: Sketch, now: float) -> bytes:
    """The 21-byte story record; the threshold is rounded up so no anchor falls above it."""
    threshold = stored.threshold >> 32
    return _RECORD.pack(bytes.fromhex(story_id), threshold, len(stored.anchors), int(now))


def _threshold(high: int) -> int:
    return MAX_HASH if high == 0xFFFFFFFF else (high << 32) | 0xFFFFFFFF


class NearDupIndex:
    """Finds the earlier story a text is a copy of, and remembers stories for later lookups."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        *,
        horizon: float = DEFAULT_HORIZON,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._prefix = keys.neardup
        self._horizon = horizon
        self._epoch_len = horizon / EPOCHS
        self._clock = clock
        self._add = client.register_script(ADD_FINGERPRINT)
        self._find = client.register_script(FIND_FINGERPRINTS)
        self._claiming = asyncio.Lock()

    async def find(self, text: str) -> NearMatch | None:
        """The earlier story (within the horizon) that ``text`` is the same story as.

        Shingles ``text`` here, on the caller's thread: for tests and tools. The pipeline
        passes the shingles its worker computed (``find_shingles``, ``claim_shingles``).
        """
        return await self.find_shingles(shingles_of(text))

    async def find_shingles(self, shingles: Shingles) -> NearMatch | None:
        """``find`` for shingles computed already: only Redis round trips."""
        return (await self._lookup_shingles(shingles))[2]

    async def add(self, story_id: str, text: str) -> None:
        """Index a story (a 24-hex story id) so later copies of it are found (tests, tools)."""
        await self.add_sketch(story_id, sketch(text, SKETCH_SIZE))

    async def claim(self, story_id: str, text: str) -> NearMatch | None:
        """``claim_shingles`` of ``text``, shingled on the caller's thread (tests, tools)."""
        return await self.claim_shingles(story_id, shingles_of(text))

    async def claim_shingles(self, story_id: str, shingles: Shingles) -> NearMatch | None:
        """Find the earlier story a text copies or, when there is none, index it: atomically.

        Two replicas may process an original and its copy at the same moment; a plain
        ``find`` then ``add`` lets both miss each other. Here the add only happens if no
        story was added since the lookup (the index generation is unchanged), else the
        lookup runs again. A match with ``story_id`` itself (a crash between claim and emit,
        then a retry) is not a copy. The story is indexed without its boilerplate lines.
        """
        # Claims of one process take turns: otherwise a burst of articles (one poll can bring
        # dozens) keeps bumping the generation under each other's lookups. Other replicas
        # still race optimistically, with jittered backoff between attempts.
        async with self._claiming:
            for attempt in range(CLAIM_ATTEMPTS):
                query, generation, match = await self._lookup_shingles(shingles)
                if match is not None and match.story_id != story_id:
                    return match
                if match is not None or await self._add_once(story_id, query, generation) != -2:
                    return None
                await asyncio.sleep(random.uniform(0, CLAIM_BACKOFF * 2**attempt))
        raise StoreUnavailable(f"near-duplicate index too busy to claim story {story_id}")

    async def _lookup_shingles(self, shingles: Shingles) -> tuple[Sketch, str, NearMatch | None]:
        """Look up a text; when some of its lines prove to be boilerplate, again without them.

        The second lookup costs one more round trip, only for texts carrying lines that many
        indexed stories share. Returns the sketch that decided, to index it.
        """
        query, lines = shingles.query, shingles.lines
        generation, common, candidates = await self._probe(query)
        dropped = boilerplate_lines(lines, query, common)
        if dropped and len(dropped) < len(lines):
            kept = [line for i, line in enumerate(lines) if i not in dropped]
            query = sketch_of(set().union(*kept), QUERY_SIZE)
            generation, common, candidates = await self._probe(query)
        return query, generation, _best(query, common, candidates)

    @translated
    async def find_sketch(self, query: Sketch) -> NearMatch | None:
        """``find`` for a sketch computed already (``QUERY_SIZE`` anchors probe best)."""
        return (await self._lookup(query))[1]

    @translated
    async def add_sketch(self, story_id: str, stored: Sketch) -> None:
        """``add`` for a sketch computed already; only its ``SKETCH_SIZE`` smallest are kept."""
        await self._add_once(story_id, stored, "")

    @translated
    async def _lookup(self, query: Sketch) -> tuple[str, NearMatch | None]:
        generation, common, candidates = await self._probe(query)
        return generation, _best(query, common, candidates)

    @translated
    async def _probe(self, query: Sketch) -> tuple[str, frozenset[int], list[Any]]:
        """One FIND round trip: index generation, common anchors, the top candidates."""
        if not query.anchors:
            return "", frozenset(), []
        now = self._clock()
        first, last = self._epoch(now - self._horizon), self._epoch(now)
        epochs = list(range(first, last + 1))
        args: list[Any] = [self._prefix, len(epochs), *epochs, int(now - self._horizon)]
        args += [COMMON_AT, MIN_SHARED, MAX_CANDIDATES, _packed(query.anchors)]
        generation, common, *candidates = await self._find(keys=[], args=args)
        return generation, frozenset(query.anchors[i] for i in common), candidates

    @translated
    async def _add_once(self, story_id: str, stored: Sketch, generation: str) -> int:
        args = [*self._add_args(story_id, stored, self._clock()), generation]
        ref = int(await self._add(keys=[], args=args))
        if ref == -1:
            log.warning("neardup_epoch_full", story_id=story_id)
        return ref

    @translated
    async def add_many(self, items: Iterable[tuple[str, Sketch]], *, batch: int = 500) -> int:
        """Index many stories, pipelined ``batch`` at a time (backfills and the bench)."""
        now, done, pending = self._clock(), 0, list[tuple[str, Sketch]]()
        for item in items:
            pending.append(item)
            if len(pending) >= batch:
                done += await self._add_batch(pending, now)
                pending = []
        return done + (await self._add_batch(pending, now) if pending else 0)

    @translated
    async def count(self) -> int:
        """Stories indexed in the epochs still kept: a handful of GETs, cheap for ``status``."""
        now = self._clock()
        epochs = range(self._epoch(now - self._horizon) - 1, self._epoch(now) + 1)
        values = await self._client.mget([f"{self._prefix}{e}:n" for e in epochs])
        return sum(int(v or 0) for v in values)

    @translated
    async def bytes_per_story(self) -> float:
        """Redis memory of the index (``MEMORY USAGE`` of its keys) per story it holds.

        Scans the index's keys, so it is for status pages and the bench, not per request.
        """
        # SCAN may return a key twice (while Redis rehashes its keyspace): each counts once.
        keys = sorted(
            {k async for k in self._client.scan_iter(match=f"{self._prefix}*", count=1000)}
        )
        total, stories = 0, 0
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            async with self._client.pipeline(transaction=False) as pipe:
                for key in chunk:
                    pipe.memory_usage(key, samples=0)
                sizes = await pipe.execute()
            counters = [k for k in chunk if k.endswith(":n")]
            total += sum(s or 0 for s in sizes)
            stories += (
                sum(int(v or 0) for v in await self._client.mget(counters)) if counters else 0
            )
        return total / stories if stories else 0.0

    async def _add_batch(self, items: list[tuple[str, Sketch]], now: float) -> int:
        async with self._client.pipeline(transaction=False) as pipe:
            for story_id, stored in items:
                args = [*self._add_args(story_id, stored, now), ""]
                await self._add(keys=[], args=args, client=pipe)
            refs = await pipe.execute()
        return sum(1 for r in refs if r != -1)

    def _add_args(self, story_id: str, stored: Sketch, now: float) -> list[Any]:
        kept = Sketch(stored.anchors[:SKETCH_SIZE], stored.size, SKETCH_SIZE)
        epoch = self._epoch(now)
        expire_at = int((epoch + 1) * self._epoch_len + self._horizon) + 1
        record = _record(story_id, kept, now)
        return [self._prefix, epoch, expire_at, record, _packed(kept.anchors)]

    def _epoch(self, moment: float) -> int:
        return int(moment // self._epoch_len)


def _best(query: Sketch, common: frozenset[int], candidates: list[Any]) -> NearMatch | None:
    """Judge every candidate the lookup returned and keep the strongest match."""
    best: tuple[tuple[bool, int], NearMatch] | None = None
    for story_id, high, count, hits, common_hits in candidates:
        found = overlap(
            query,
            candidate_threshold=_threshold(int(high)),
            candidate_count=int(count),
            hits=int(hits),
            ignored=common,
            candidate_ignored=int(common_hits),
        )
        kind = judge(found)
        if kind is None:
            continue
        value = found.resemblance if kind == "near_duplicate" else found.contained
        order = rank(kind, found)
        if best is None or order > best[0]:
            best = order, NearMatch(story_id, kind, round(value, 3))
    return best[1] if best else None
