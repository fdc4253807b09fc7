"""Per-source leases between replicas (watcher/store/leases.py): real Redis, two clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from watcher.errors import StoreUnavailable
from watcher.store.keys import Keys
from watcher.store.leases import Ended, Leases, Scheduled, holders

pytestmark = pytest.mark.anyio

EVERY = 60.0  # long enough that a source never falls due again inside a test by itself


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[tuple[aioredis.Redis, aioredis.Redis]]:
    """Two connections, as two replicas would have."""
    a = aioredis.Redis.from_url(redis_url, decode_responses=True)
    b = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield a, b
    await a.aclose()
    await b.aclose()


def pair(
    clients: tuple[aioredis.Redis, aioredis.Redis], ns: str, *, sources: int = 1, lease: float = 10
) -> tuple[Leases, Leases]:
    a, b = clients
    return (
        Leases(a, Keys(ns), replica="host-a:1:aa", sources=sources, lease=lease),
        Leases(b, Keys(ns), replica="host-b:2:bb", sources=sources, lease=lease),
    )


def queued(
    clients: tuple[aioredis.Redis, aioredis.Redis], ns: str, *, sources: int, lease: float = 10
) -> tuple[Leases, Leases]:
    return pair(clients, ns, sources=sources, lease=lease)


def plan(*names: str, every: float = EVERY) -> list[Scheduled]:
    return [Scheduled(n, every, every, every) for n in names]


async def test_claim_due_gives_each_due_source_to_one_replica_in_batches(
    clients: tuple[aioredis.Redis, aioredis.Redis], ns: str
) -> None:
    """Ten due sources, two replicas: batches of at most `limit`, each source to one of them,
    none twice in its interval, and each replica within its share (5)."""
    a, b = queued(clients, ns, sources=10)
    names = [f"s{i}" for i in range(10)]
    await a.schedule(plan(*names))
    await b.claim_due(0)  # b is a live replica: shares are 5 each
    first = await a.claim_due(3)
    assert len(first.claimed) == 3
    rest_a = await a.claim_due(10)
    rest_b = await b.claim_due(10)
    got_a, got_b = set(first.claimed + rest_a.claimed), set(rest_b.claimed)
    assert (len(got_a), len(got_b)) == (5, 5)
    assert got_a | got_b == set(names)
    assert (await a.claim_due(10)).claimed == (await b.claim_due(10)).claimed == ()
    assert a.held == got_a
    assert 55 < (await a.claim_due(10)).next_in <= EVERY  # type: ignore[operator]


async def test_ended_poll_is_due_one_interval_after_it_started_and_restart_keeps_it(
    clients: tuple[aioredis.Redis, aioredis.Redis], ns: str
) -> None:
    """Handed in, a poll's source is due `every` after the poll started (not after it ended,
    nor a lease later); a new replica scheduling again keeps that time, then polls it."""
    a, b = queued(clients, ns, sources=1, lease=5)
    await a.schedule(plan("s", every=0.5))
    batch = await a.claim_due(5)
    assert batch.claimed == ("s",)
    parked = await clients[0].zscore(Keys(ns).due, "s")
    assert parked == batch.now_ms + 5000  # while polling: parked for max(every, lease)
    await a.claim_due(0, [Ended("s", batch.now_ms)])
    assert await clients[0].zscore(Keys(ns).due, "s") == batch.now_ms + 500
    assert await a.release_all() == 1
    await b.schedule(plan("s", every=0.5))  # a restart: the schedule stays
    assert await clients[0].zscore(Keys(ns).due, "s") == batch.now_ms + 500
    assert (await b.claim_due(5)).claimed == ()
    await asyncio.sleep(0.6)
    assert (await b.claim_due(5)).claimed == ("s",)


async def test_ended_poll_of_a_held_host_is_due_when_the_hold_ends(
    clients: tuple[aioredis.Redis, aioredis.Redis], ns: str
) -> None:
    """A poll handed in with its host's hold is due at the hold's end, not one interval on."""
    (a, _b) = queued(clients, ns, sources=1, lease=5)
    await a.schedule(plan("s", every=0.5))
    batch = await a.claim_due(5)
    hold_ends = batch.now_ms + 3_600_000
    after = await a.claim_due(5, [Ended("s", batch.now_ms, hold_ends)])
    assert await clients[0].zscore(Keys(ns).due, "s") == hold_ends
    assert after.claimed == ()
    assert after.next_in is not None
    assert after.next_in > 3590


async def test_schedule_drops_removed_sources_and_takes_a_resting_marker_as_due_time(
    clients: tuple[aioredis.Redis, aioredis.Redis], ns: str
) -> None:
    """A source no longer configured leaves the queue; a new one with a resting marker left by
    an older daemon is due when that marker ends."""
    a, _b = queued(clients, ns, sources=2)
    await a.schedule(plan("old", "keep"))
    await clients[0].set(Keys(ns).resting("new"), "x", px=30_000)
    await a.schedule(plan("keep", "new"))
    queue = dict(await clients[0].zrange(Keys(ns).due, 0, -1, withscores=True))
    assert set(queue) == {"keep", "new"}
    assert queue["new"] > queue["keep"] + 25_000


async def test_renew_keeps_leases_alive_and_hands_back_idle_ones_above_the_share(
    clients: tuple[aioredis.Redis, aioredis.Redis], ns: str
) -> None:
    """One call renews every lease; once another replica is live, the share halves and the
    idle leases above it go back (never one being polled), and the other replica takes them."""
    a, b = queued(clients, ns, sources=4, lease=1)
    await a.schedule(plan("s1", "s2", "s3", "s4", every=0.2))
    assert len((await a.claim_due(10)).claimed) == 4
    await asyncio.sleep(0.6)
    assert await a.renew() == 4
    await asyncio.sleep(0.6)  # past the first lease: renewed, still a's
    assert await clients[0].get(Keys(ns).lease("s1")) == a.replica
    await b.claim_due(0)  # b shows up
    assert await a.renew(busy={"s1", "s2", "s3"}) == 3  # s4 idle: handed back
    assert a.held == {"s1", "s2", "s3"}
    await asyncio.sleep(0.2)
    assert (await b.claim_due(10)).claimed == ("s4",)


async def test_claim_due_leaves_a_source_held_by_a_live_replica_and_takes_it_when_it_dies(
    clients: tuple[aioredis.Redis, aioredis.Redis], ns: str
) -> None:
    """A due source whose lease another replica holds is counted as left to others (so the
    caller asks again within a third of a lease); once that lease expires, it is taken."""
    a, b = queued(clients, ns, sources=1, lease=0.5)
    await a.schedule(plan("s", every=0.1))
    batch = await a.claim_due(1)
    await a.claim_due(0, [Ended("s", batch.now_ms)])
    await asyncio.sleep(0.15)  # due again, but a (now silent) still holds it
    left = await b.claim_due(1)
    assert (left.claimed, left.left_to_others) == ((), 1)
    await asyncio.sleep(0.5)
    assert (await b.claim_due(1)).claimed == ("s",)
    assert await a.release_all() == 0  # a comes back late: compare-and-delete spares b's lease
    assert await clients[0].get(Keys(ns).lease("s")) == b.replica


async def test_holders_names_replica_expiry_and_next_due(
    clients: tuple[aioredis.Redis, aioredis.Redis], ns: str
) -> None:
    """`holders` shows who holds each source until when and when it is due; free ones empty."""
    a, _b = pair(clients, ns, sources=2, lease=10)
    before = datetime.now(UTC)
    await a.schedule(plan("s1"))
    assert (await a.claim_due(1)).claimed == ("s1",)
    held, free = await holders(clients[1], Keys(ns), ["s1", "s2"])
    assert (held.source, held.holder) == ("s1", a.replica)
    assert held.expires_at is not None
    assert before < held.expires_at <= datetime.now(UTC) + timedelta(seconds=10)
    assert held.due_at is not None
    assert held.due_at > before + timedelta(seconds=EVERY - 5)
    assert (free.source, free.holder, free.expires_at, free.due_at) == ("s2", None, None, None)


async def test_claim_due_with_redis_down_is_store_unavailable(ns: str) -> None:
    """Redis unreachable surfaces as StoreUnavailable, not a redis-py error."""
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    leases = Leases(client, Keys(ns), replica="r", sources=1, lease=10)
    try:
        with pytest.raises(StoreUnavailable):
            await leases.claim_due(1)
    finally:
        await client.aclose()
