"""[notify] The stories stream as every endpoint shares it: one watcher, shared round trips.

Each endpoint still reads through its own consumer group and settles its own entries (that is
what makes delivery durable and replicas share work). What is shared is the trip to Redis:
the watcher's one blocking read wakes every endpoint at once, their reads then go out as one
pipeline (each entry's JSON parsed once for all of them), and settlements that finish together
are acknowledged in one MULTI. At 10 endpoints and 50 stories/s (bench/webhooks.py) that came to
1.0 read and 1.7 settlement round trips per story, instead of 10 of each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from watcher.errors import StoreUnavailable
from watcher.store import Client
from watcher.store.deliveries import Delivery
from watcher.store.keys import Keys
from watcher.store.outbox import Outbox, any_after, last_id, read_all, settle_all
from watcher.webhooks.batch import GroupCommit

log = structlog.get_logger("watcher.webhooks")

BLOCK_MS = 1000  # the watcher's blocking read; bounds nothing but its own idle loop
WATCH_BACKOFF = 1.0  # after a Redis outage the watcher tries again this often
MAX_BATCH = 256  # reads or settlements per round trip; more wait for the next one


@dataclass(frozen=True, slots=True)
class _Read:
    outbox: Outbox
    count: int


@dataclass(frozen=True, slots=True)
class _Settled:
    outbox: Outbox
    stream_id: str
    delivered: bool  # else filtered out


class SharedStream:
    """The round trips that the endpoints of one Dispatcher share (see the module docstring)."""

    def __init__(self, client: Client, keys: Keys, gate: asyncio.Semaphore) -> None:
        self._client = client
        self._keys = keys
        self._gate = gate
        self._reads = GroupCommit(self._read_all, limit=MAX_BATCH)
        self._settlements = GroupCommit(self._settle_all, limit=MAX_BATCH)

    async def read_new(self, outbox: Outbox, count: int) -> list[Delivery]:
        """Up to ``count`` entries that ``outbox``'s group has not seen (now pending on us)."""
        return await self._reads.submit(_Read(outbox, count))

    async def delivered(self, outbox: Outbox, stream_id: str) -> None:
        """Settle a delivered event; returns once that is recorded in Redis."""
        await self._settlements.submit(_Settled(outbox, stream_id, delivered=True))

    async def filtered(self, outbox: Outbox, stream_id: str) -> None:
        """Settle an event the endpoint does not want."""
        await self._settlements.submit(_Settled(outbox, stream_id, delivered=False))

    async def idle(self) -> None:
        """Wait for settlements already submitted (their callers may have been cancelled)."""
        await self._settlements.idle()

    async def _read_all(self, reads: list[_Read]) -> list[list[Delivery] | Exception]:
        """One pipeline of XREADGROUPs; an error (say, a deleted group) is that endpoint's."""
        return await read_all(self._client, self._gate, [(r.outbox, r.count) for r in reads])

    async def _settle_all(self, settlements: list[_Settled]) -> list[Exception | None]:
        """One MULTI for all: per endpoint, XACK + ZREM + HDEL of its ids and its counters.

        A command Redis refuses (a key of one endpoint holds the wrong type) fails only that
        endpoint's settlements: Redis ran the others' commands of the MULTI all the same.
        """
        mine: dict[Outbox, tuple[list[str], list[str]]] = {}
        for s in settlements:
            delivered, filtered = mine.setdefault(s.outbox, ([], []))
            (delivered if s.delivered else filtered).append(s.stream_id)
        failed = await settle_all(self._client, self._gate, mine, datetime.now(UTC))
        return [failed.get(s.outbox) for s in settlements]

    async def watch(self, arrived: Sequence[asyncio.Event]) -> None:
        """Until cancelled: set every ``arrived`` event whenever the stream gets an entry.

        One blocking read for all endpoints, instead of one held connection per endpoint.
        """
        last: str | None = None
        failing = False
        while True:
            try:
                newer = await (self._next_id(last) if last else self._last_id())
            except StoreUnavailable as exc:
                log.warning("webhook_store_unavailable", error=str(exc))
                await asyncio.sleep(WATCH_BACKOFF)
                continue
            except Exception:  # isolation boundary: the endpoints poll (IDLE_POLL) meanwhile
                if not failing:  # say it once, not every second (the stream key is wrong)
                    log.exception("webhook_watch_error", stream=self._keys.stories)
                failing = True
                await asyncio.sleep(WATCH_BACKOFF)
                continue
            failing = False
            if last and newer != last:
                for event in arrived:
                    event.set()
            last = newer

    async def _last_id(self) -> str:
        return await last_id(self._client, self._keys)

    async def _next_id(self, last: str) -> str:
        """Block (up to BLOCK_MS) for an entry after ``last``; then the newest id, or ``last``.

        Jumping to the newest id (rather than stepping one entry at a time) wakes the
        endpoints once for a burst, and moves two documents over the wire, not the burst.
        """
        if await any_after(self._client, self._keys, last, BLOCK_MS):
            return await self._last_id()
        return last
