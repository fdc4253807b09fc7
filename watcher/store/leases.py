"""Per-source leases and the due queue, so several ``watcher run`` replicas poll each source once.

Keys (names in ``store/keys.py``):

    <ns>:due                ZSET source → Redis-clock ms it is next due: the shared queue
    <ns>:intervals          HASH source → ms between its polls (``every``, or learned: ``auto``)
    <ns>:lease:<source>     replica id, PX lease: who polls it; renewed in one call per replica
    <ns>:resting:<source>   present while the source is not due (PX: the rest of its interval)
    <ns>:replicas           ZSET id → heartbeat expiry: how many replicas share the work

A replica asks for due work in one Lua call (``claim_due``): it gets the sources that are
due now and that are its own or free, up to the polls it has room for, and when anything is
due next, so it sleeps until then. Claiming a source takes or renews its lease and starts its
resting period in the same atomic step, so a source is polled once per interval even while
its lease changes hands. The same call hands in the polls that ended, and each of those
sources is due again one interval after its poll started. One more call per third of a lease
(``renew``) keeps all of a replica's leases alive and hands back those above its fair share,
ceil(sources / live replicas), so replicas that start later get work.

A crashed replica stops renewing, so its leases expire and the others take its sources when
they are due, within one lease. A poll cut short by a crash is not repeated before the source
is due again (nothing is lost: unemitted entries are seen next time). Every time is Redis's
clock (TIME, PX, PTTL), so replicas' clocks may disagree.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from watcher.store import translated
from watcher.store.keys import Keys
from watcher.store.scripts import (
    CLAIM_DUE_SOURCES,
    RELEASE_LEASE,
    RENEW_LEASES,
    SCHEDULE_SOURCES,
)

RENEWALS_PER_LEASE = 3  # a lease is renewed at least twice more before it could expire


@dataclass(frozen=True, slots=True)
class Ended:
    """A poll that ended: its source is due again one interval after ``started_ms``, and not
    before ``not_before_ms`` (its host holds us off until then: polling it sooner would only
    be deferred again)."""

    source: str
    started_ms: int  # Redis clock, as ``Batch.now_ms`` gave it
    not_before_ms: int = 0  # Unix ms, the clock Redis's TIME reads


@dataclass(frozen=True, slots=True)
class Batch:
    """What one ``claim_due`` found: the sources to poll now, and when to ask again."""

    now_ms: int  # Redis clock at the claim: when these polls start
    claimed: tuple[str, ...]
    next_in: float | None  # seconds until the next source is due (None: none queued)
    left_to_others: int  # due sources held by other replicas (or beyond this one's share)


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A source as the due queue knows it: its interval now and the bounds it may move in."""

    source: str
    every: float
    min_every: float
    max_every: float


@dataclass(frozen=True)
class LeaseView:
    """One source's lease for ``watcher status``; None where nobody holds it or it is due."""

    source: str
    holder: str | None
    expires_at: datetime | None
    due_at: datetime | None


class Leases:
    """This replica's side of the leases: claims due work in batches (``claim_due``), keeps
    them alive (``renew``), remembers what it holds, and frees it all at shutdown."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        *,
        replica: str,
        sources: int,
        lease: float,
    ) -> None:
        self.replica = replica
        self.lease = lease
        self.held: set[str] = set()
        self._client = client
        self._keys = keys
        self._sources = sources
        self._release = client.register_script(RELEASE_LEASE)
        self._schedule = client.register_script(SCHEDULE_SOURCES)
        self._claim_due = client.register_script(CLAIM_DUE_SOURCES)
        self._renew = client.register_script(RENEW_LEASES)

    @property
    def _prefixes(self) -> tuple[str, str]:
        return self._keys.lease(""), self._keys.resting("")

    @translated
    async def schedule(self, sources: Sequence[Scheduled]) -> None:
        """At start-up: queue every configured source (keeping when it is due, so a restart
        keeps the schedule), forget removed ones, and set each interval within its bounds."""
        args: list[str | int] = [self._prefixes[1]]
        for s in sources:
            args += [s.source, _ms(s.every), _ms(s.min_every), _ms(s.max_every)]
        await self._schedule(keys=[self._keys.due, self._keys.intervals], args=args)

    @translated
    async def claim_due(self, limit: int, ended: Sequence[Ended] = ()) -> Batch:
        """Hand in ``ended`` polls and claim at most ``limit`` due sources, in one round trip.

        Each claimed source is this replica's to poll now; no other replica gets it in this
        interval. ``limit`` 0 only hands in the ended polls (and says when to ask again).
        """
        lease_prefix, resting_prefix = self._prefixes
        args: list[str | int] = [
            self.replica,
            _ms(self.lease),
            self._sources,
            len(self.held),
            max(0, limit),
            lease_prefix,
            resting_prefix,
            len(ended),
        ]
        for poll in ended:
            args += [poll.source, poll.started_ms, poll.not_before_ms]
        keys = [self._keys.replicas, self._keys.due, self._keys.intervals]
        now_ms, next_ms, others, *claimed = await self._claim_due(keys=keys, args=args)
        names = tuple(str(n) for n in claimed)
        self.held.update(names)
        next_in = int(next_ms) / 1000 if int(next_ms) >= 0 else None
        return Batch(int(now_ms), names, next_in, int(others))

    @translated
    async def renew(self, busy: Collection[str] = ()) -> int:
        """Keep every lease this replica holds alive, in one round trip; hand back those above
        its fair share (never one being polled here, ``busy``). Returns how many are held."""
        if not self.held:
            names: list[str] = []
        else:
            idle = sorted(self.held - set(busy))
            names = idle + sorted(self.held & set(busy))
        args: list[str | int] = [
            self.replica,
            _ms(self.lease),
            self._sources,
            self._prefixes[0],
            len(names) - len(self.held & set(busy)),
            *names,
        ]
        answers = await self._renew(keys=[self._keys.replicas], args=args)
        for name, answer in zip(names, answers, strict=True):
            if int(answer) != 1:
                self.held.discard(name)
        return len(self.held)

    @translated
    async def release_all(self) -> int:
        """On shutdown: free every lease still ours so others need not wait for expiry."""
        names = sorted(self.held)
        self.held.clear()
        keys = [self._keys.replicas, *(self._keys.lease(n) for n in names)]
        return int(await self._release(keys=keys, args=[self.replica]))


@translated
async def holders(client: aioredis.Redis, keys: Keys, sources: Sequence[str]) -> list[LeaseView]:
    """Who holds each source's lease, until when, and when it is due next (``watcher status``)."""
    async with client.pipeline(transaction=False) as pipe:
        for name in sources:
            pipe.get(keys.lease(name))
            pipe.pttl(keys.lease(name))
            pipe.pttl(keys.resting(name))
        answers = await pipe.execute()
    now = datetime.now(UTC)
    views = []
    for i, name in enumerate(sources):
        holder, lease_ms, resting_ms = answers[3 * i : 3 * i + 3]
        views.append(
            LeaseView(
                name,
                str(holder) if holder is not None else None,
                _after(now, lease_ms) if holder is not None else None,
                _after(now, resting_ms),
            )
        )
    return views


def _after(now: datetime, pttl: int) -> datetime | None:
    """PTTL is -2 (no key) or -1 (no expiry) when there is no time to show."""
    return now + timedelta(milliseconds=pttl) if pttl >= 0 else None


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class Intervals:
    """Each source's interval in the due queue's HASH: ``every: auto`` learns it there, so
    every replica and a restarted daemon poll at the learned rate."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    @translated
    async def get(self, source: str) -> float | None:
        """The source's interval in seconds; None when it was never scheduled nor learned."""
        value = await self._client.hget(self._keys.intervals, source)
        return _seconds(value)

    @translated
    async def put(self, source: str, seconds: float) -> None:
        """The source's next polls come ``seconds`` apart (the next one included: the poll
        under way is handed in after this, and is due this long after it started)."""
        await self._client.hset(self._keys.intervals, source, _ms(seconds))

    @translated
    async def all(self, sources: Sequence[str]) -> dict[str, float]:
        """The known intervals of ``sources`` in one round trip (``watcher status``)."""
        if not sources:
            return {}
        values = await self._client.hmget(self._keys.intervals, list(sources))
        out = {}
        for name, value in zip(sources, values, strict=True):
            if (seconds := _seconds(value)) is not None:
                out[name] = seconds
        return out


def _seconds(value: object) -> float | None:
    try:
        return int(str(value)) / 1000 if value is not None else None
    except ValueError:
        return None
