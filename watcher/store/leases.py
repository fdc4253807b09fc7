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

TICKS_PER_LEASE = 3  # a lease is renewed at least twice more before it could expire

# claim: renew or take the lease of one source, hand it back above the fair share, and say
# whether it is due (then start its resting period: the caller polls now).
# KEYS[1] lease  KEYS[2] resting marker  KEYS[3] replicas ZSET
# ARGV[1] replica id  ARGV[2] lease ms  ARGV[3] every ms  ARGV[4] leases this replica holds
# ARGV[5] sources configured  ARGV[6] "1" when this replica is polling the source right now
# Returns 0 not ours, 1 ours and not due, 2 ours and due.
CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('PEXPIRE', KEYS[3], ARGV[2])
local share = math.ceil(tonumber(ARGV[5]) / redis.call('ZCARD', KEYS[3]))
local held = tonumber(ARGV[4])
local busy = ARGV[6] == '1'
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  if held > share and not busy then
    redis.call('DEL', KEYS[1])
    return 0
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
elseif holder or held >= share then
  return 0
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if busy then return 1 end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3], 'NX') then return 2 end
return 1
"""

# release: delete the leases this replica still holds (never another's) and leave the set.
# KEYS[1] replicas ZSET  KEYS[2..] lease keys  ARGV[1] replica id
# Returns how many leases were released.
RELEASE = """
local released = 0
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    released = released + 1
  end
end
redis.call('ZREM', KEYS[1], ARGV[1])
return released
"""


class Claim(enum.IntEnum):
    """What one tick found: the answers of CLAIM."""

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
        self._claim = client.register_script(CLAIM)
        self._release = client.register_script(RELEASE)

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
