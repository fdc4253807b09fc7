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

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from watcher.store import translated
from watcher.store.keys import Keys

RENEWALS_PER_LEASE = 3  # a lease is renewed at least twice more before it could expire

# claim: renew or take the lease of one source, hand it back above the fair share, and say
# whether it is due (then start its resting period: the caller polls now).
# KEYS[1] lease  KEYS[2] resting marker  KEYS[3] replicas ZSET  KEYS[4] due ZSET
# ARGV[1] replica id  ARGV[2] lease ms  ARGV[3] every ms  ARGV[4] leases this replica holds
# ARGV[5] sources configured  ARGV[6] "1" when this replica is polling the source right now
# ARGV[7] source name
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
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3], 'NX') then
  redis.call('ZADD', KEYS[4], 'XX', now + tonumber(ARGV[3]), ARGV[7])
  return 2
end
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


_CLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# The replica's heartbeat, and its fair share of the sources. ARGV[1] replica id,
# ARGV[2] lease ms, ARGV[3] sources configured; KEYS[1] the replicas ZSET. Sets ``share``.
_HEARTBEAT = """
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local share = math.ceil(tonumber(ARGV[3]) / redis.call('ZCARD', KEYS[1]))
"""

# schedule: put every configured source in the due queue (due now, or when the resting marker
# a previous daemon left ends: a restart keeps the schedule), drop sources no longer
# configured, and set each source's interval (kept when learned and still within bounds).
# KEYS[1] due ZSET  KEYS[2] intervals HASH
# ARGV[1] resting-key prefix, then per source: name, interval ms, min ms, max ms.
SCHEDULE = (
    _CLOCK
    + """
local configured = {}
for i = 2, #ARGV, 4 do
  local name = ARGV[i]
  local lo, hi = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  configured[name] = true
  local every = tonumber(redis.call('HGET', KEYS[2], name) or ARGV[i + 1])
  if every < lo or every > hi then every = tonumber(ARGV[i + 1]) end
  redis.call('HSET', KEYS[2], name, every)
  local due = tonumber(redis.call('ZSCORE', KEYS[1], name) or '-1')
  if due < 0 then
    due = now + math.max(0, redis.call('PTTL', ARGV[1] .. name))
  elseif due > now + every then
    due = now + every  -- a shorter interval takes effect now, not after the old one
  end
  redis.call('ZADD', KEYS[1], due, name)
end
for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not configured[name] then
    redis.call('ZREM', KEYS[1], name)
    redis.call('HDEL', KEYS[2], name)
  end
end
"""
)

# claim_due: hand in the polls that ended (due again one interval after each started), then
# claim up to ARGV[5] due sources that are ours or free (within our share): take or renew each
# lease, start its resting period and park it in the queue until the poll ends (or, if this
# replica dies, for at least a lease). Then say when the next source is due.
# KEYS[1] replicas ZSET  KEYS[2] due ZSET  KEYS[3] intervals HASH
# ARGV[1] replica id  ARGV[2] lease ms  ARGV[3] sources configured  ARGV[4] leases held
# ARGV[5] most to claim  ARGV[6] lease-key prefix  ARGV[7] resting-key prefix
# ARGV[8] polls ended F, then F pairs: source, Redis-clock ms its poll started.
# Returns {now ms, ms until the next due source or -1, due sources left to others, claimed...}.
CLAIM_DUE = (
    _CLOCK
    + _HEARTBEAT
    + """
local me, lease = ARGV[1], tonumber(ARGV[2])
local held, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local lp, rp = ARGV[6], ARGV[7]
for i = 9, 8 + 2 * tonumber(ARGV[8]), 2 do
  local name = ARGV[i]
  if redis.call('GET', lp .. name) == me then
    local due = tonumber(ARGV[i + 1]) + tonumber(redis.call('HGET', KEYS[3], name) or ARGV[2])
    if due > now then
      redis.call('SET', rp .. name, me, 'PX', due - now)
    else
      due = now
      redis.call('DEL', rp .. name)
    end
    redis.call('ZADD', KEYS[2], 'XX', due, name)
  end
end
local out = {now, -1, 0}
if limit > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit * 4 + 64)
  for _, name in ipairs(due) do
    if #out - 3 >= limit then break end
    local holder = redis.call('GET', lp .. name)
    if (holder and holder ~= me) or (not holder and held >= share) then
      out[3] = out[3] + 1
    else
      local resting = redis.call('PTTL', rp .. name)
      if resting > 0 then  -- not due after all (its marker was set elsewhere): catch up
        redis.call('ZADD', KEYS[2], now + resting, name)
      else
        local every = tonumber(redis.call('HGET', KEYS[3], name) or ARGV[2])
        redis.call('SET', lp .. name, me, 'PX', lease)
        if not holder then held = held + 1 end
        redis.call('SET', rp .. name, me, 'PX', every)
        redis.call('ZADD', KEYS[2], now + math.max(every, lease), name)
        out[#out + 1] = name
      end
    end
  end
end
local nxt = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #nxt > 0 then out[2] = tonumber(nxt[2]) - now end
return out
"""
)

# renew: push back every lease this replica still holds, and hand back those above its share
# (only the first ARGV[5] names: the ones not being polled here now).
# KEYS[1] replicas ZSET  ARGV[1] replica id  ARGV[2] lease ms  ARGV[3] sources configured
# ARGV[4] lease-key prefix  ARGV[5] idle names N, then the names, the idle N first.
# Returns one number per name: 0 lost (another holds it, or it expired), 1 kept, 2 handed back.
RENEW = (
    _CLOCK
    + _HEARTBEAT
    + """
local me, lp, idle = ARGV[1], ARGV[4], tonumber(ARGV[5])
local result, kept = {}, 0
for i = 6, #ARGV do
  if redis.call('GET', lp .. ARGV[i]) == me then
    redis.call('PEXPIRE', lp .. ARGV[i], ARGV[2])
    result[i - 5] = 1
    kept = kept + 1
  else
    result[i - 5] = 0
  end
end
local excess = kept - share
for i = 1, math.min(idle, #ARGV - 5) do
  if excess <= 0 then break end
  if result[i] == 1 then
    redis.call('DEL', lp .. ARGV[i + 5])
    result[i] = 2
    excess = excess - 1
  end
end
return result
"""
)


@dataclass(frozen=True, slots=True)
class Ended:
    """A poll that ended: its source is due again one interval after ``started_ms``."""

    source: str
    started_ms: int  # Redis clock, as ``Batch.now_ms`` gave it


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


class Leases:
    """This replica's side of the leases: claims due work in batches, remembers what it holds.

    ``claim`` (one source at a time) is the same decision for a single source; the scheduler
    uses ``claim_due`` and ``renew``.
    """

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
        self._schedule = client.register_script(SCHEDULE)
        self._claim_due = client.register_script(CLAIM_DUE)
        self._renew = client.register_script(RENEW)

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
            args += [poll.source, poll.started_ms]
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
    async def claim(self, source: str, every: float, *, busy: bool = False) -> Claim:
        """Renew or take ``source``'s lease; DUE means poll it now (and only this replica will).

        ``busy`` (a poll of it is running here) renews without starting another period.
        """
        keys = self._keys
        answer = await self._claim(
            keys=[keys.lease(source), keys.resting(source), keys.replicas, keys.due],
            args=[
                self.replica,
                _ms(self.lease),
                _ms(every),
                len(self.held),
                self._sources,
                "1" if busy else "0",
                source,
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
