"""Per-source leases, so several ``watcher run`` replicas poll each source once.

A replica ticks every source often (``tick_seconds``) and asks Redis, in one atomic step,
whether the source is its own and due. Three keys decide it (names in ``store/keys.py``):

    <ns>:lease:<source>     replica id, PX lease: who polls it; renewed on every tick
    <ns>:resting:<source>   present for ``every`` after a poll starts: not due yet
    <ns>:replicas           ZSET id → heartbeat expiry: how many replicas share the work

A crashed replica stops renewing, so its leases expire and the others take the sources over
within one lease. The resting marker is set as a poll starts, so a source is polled once per
interval even while its lease changes hands; a poll cut short by a crash is not repeated
before the source is due again (nothing is lost: unemitted entries are seen next time).
Each replica takes at most its fair share, ceil(sources / live replicas), and hands back
leases above it, so replicas that start later get work instead of standing by.
Every time is Redis's clock (TIME, PX, PTTL), so replicas' clocks may disagree.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from watcher.store import translated
from watcher.store.keys import Keys
from watcher.store.scripts import CLAIM_LEASE, RELEASE_LEASE

TICKS_PER_LEASE = 3  # a lease is renewed at least twice more before it could expire


class Claim(enum.IntEnum):
    """What one tick found: the answers of CLAIM_LEASE."""

    OTHERS = 0  # another replica holds it, or this one has its share already
    HELD = 1  # ours, not due yet (or being polled here now)
    DUE = 2  # ours and due: its resting period has started, poll it now


@dataclass(frozen=True)
class LeaseView:
    """One source's lease for ``watcher status``; None where nobody holds it or it is due."""

    source: str
    holder: str | None
    expires_at: datetime | None
    due_at: datetime | None


def tick_seconds(every: float, lease: float) -> float:
    """How often a replica asks about a source: often enough to renew and to poll on time."""
    return min(every, lease) / TICKS_PER_LEASE


class Leases:
    """This replica's side of the leases: claims per tick, remembers what it holds."""

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
        self._claim = client.register_script(CLAIM_LEASE)
        self._release = client.register_script(RELEASE_LEASE)

    @translated
    async def claim(self, source: str, every: float, *, busy: bool = False) -> Claim:
        """Renew or take ``source``'s lease; DUE means poll it now (and only this replica will).

        ``busy`` (a poll of it is running here) renews without starting another period.
        """
        keys = self._keys
        answer = await self._claim(
            keys=[keys.lease(source), keys.resting(source), keys.replicas],
            args=[
                self.replica,
                _ms(self.lease),
                _ms(every),
                len(self.held),
                self._sources,
                "1" if busy else "0",
            ],
        )
        claim = Claim(int(answer))
        if claim is Claim.OTHERS:
            self.held.discard(source)
        else:
            self.held.add(source)
        return claim

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
