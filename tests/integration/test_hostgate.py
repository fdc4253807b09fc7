"""Per-host politeness shared through Redis (watcher/store/hostgate.py): two gates, as two
replicas would have, fetch from one loopback site; the site counts what reached it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from scrapers.errors import BadStatus, HostDeferred, RateLimited
from scrapers.fetch import Fetcher, FetchSettings
from tests.support.site import Site
from watcher.errors import StoreUnavailable
from watcher.store.hostgate import RedisPoliteness, held_hosts
from watcher.store.keys import Keys

pytestmark = pytest.mark.anyio

Gate = Callable[..., RedisPoliteness]


@pytest.fixture
async def gate(redis_url: str, ns: str) -> AsyncIterator[Gate]:
    """A factory of gates on this test's namespace, each on its own Redis connection."""
    made: list[aioredis.Redis] = []

    def make(per_host: int = 2, delay: float = 0.0, hold: float = 30.0) -> RedisPoliteness:
        made.append(aioredis.Redis.from_url(redis_url, decode_responses=True))
        return RedisPoliteness(made[-1], Keys(ns), per_host=per_host, delay=delay, hold=hold)

    yield make
    for client in made:
        await client.aclose()


def fetcher(politeness: RedisPoliteness, **over: object) -> Fetcher:
    """Loopback allowed, no robots.txt, no retries unless asked: only the gate is under test."""
    base: dict[str, object] = {
        "allow_private_networks": ("127.0.0.1/32",),
        "robots": False,
        "retries": 0,
        "timeout": 5.0,
    }
    settings = FetchSettings(**{**base, **over})  # type: ignore[arg-type]
    return Fetcher(settings, politeness=politeness)


@pytest.mark.parametrize("per_host", [1, 2])
async def test_two_gates_together_stay_within_per_host(
    site: Site, gate: Gate, per_host: int
) -> None:
    """Two replicas fetching one host never have more than per_host requests in flight."""
    urls = [site.add(f"/p{i}", "ok", delay=0.2) for i in range(6)]
    async with (
        fetcher(gate(per_host=per_host)) as one,
        fetcher(gate(per_host=per_host)) as two,
    ):
        await asyncio.gather(
            *(one.get(u) for u in urls[:3]),
            *(two.get(u) for u in urls[3:]),
        )
    assert site.max_in_flight == per_host
    assert len(site.requests) == 6


async def test_two_gates_space_starts_by_delay(site: Site, gate: Gate) -> None:
    """Requests from two replicas to one host start at least ``delay`` apart, all together."""
    urls = [site.add(f"/p{i}", "ok") for i in range(4)]
    async with (
        fetcher(gate(per_host=4, delay=0.3)) as one,
        fetcher(gate(per_host=4, delay=0.3)) as two,
    ):
        await asyncio.gather(*(one.get(u) for u in urls[:2]), *(two.get(u) for u in urls[2:]))
    starts = sorted(seen.at for seen in site.requests)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(gaps) == 3
    assert min(gaps) >= 0.25  # 0.3 s apart when granted; arrival can shift by scheduling


async def test_retry_after_from_one_gate_defers_the_other(site: Site, gate: Gate) -> None:
    """A 429 with Retry-After: 1 seen by one replica holds back the other's next request."""
    site.retry_after_failures = 5
    quick = site.add("/quick", "ok")
    async with fetcher(gate()) as one, fetcher(gate()) as two:
        with pytest.raises(BadStatus):
            await one.get(site.url("/retry-after/1"))
        assert (await two.get(quick)).text == "ok"
    told, asked = site.requests
    assert (told.path, asked.path) == ("/retry-after/1", "/quick")
    assert asked.at - told.at >= 0.99  # Redis keeps whole milliseconds


async def test_slot_of_a_dead_replica_comes_back(site: Site, gate: Gate) -> None:
    """A slot taken and never released (its replica died) is free again after ``hold``."""
    dead = gate(per_host=1, hold=0.3)
    abandoned = dead.slot("news.test")
    await abandoned.__aenter__()  # never exited: the process holding it was killed
    alive = gate(per_host=1, hold=0.3)
    async with asyncio.timeout(5):  # hang guard: without expiry this waits forever
        async with alive.slot("news.test"):
            pass


async def test_slot_with_redis_down_is_store_unavailable(ns: str) -> None:
    """Redis unreachable surfaces from the gate as StoreUnavailable, not a redis-py error."""
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    gate = RedisPoliteness(client, Keys(ns), per_host=1, delay=0.0, hold=1.0)
    try:
        with pytest.raises(StoreUnavailable):
            async with gate.slot("news.test"):
                pass
    finally:
        await client.aclose()


async def test_rate_limit_seen_by_one_replica_defers_the_other_without_traffic(
    site: Site, gate: Gate, client: aioredis.Redis, ns: str
) -> None:
    """A 429 with Retry-After: 3600 seen by one replica holds the host for both: the other's
    request fails at once as HostDeferred and never reaches the site; status can list it."""
    url = site.add("/feed", "go away", status=429, headers={"Retry-After": "3600"})
    quick = site.add("/quick", "ok")
    async with fetcher(gate()) as one, fetcher(gate()) as two:
        async with asyncio.timeout(10):  # hang guard: nobody may wait for the hour
            with pytest.raises(RateLimited) as limited:
                await one.get(url)
            with pytest.raises(HostDeferred) as deferred:
                await two.get(quick)
    assert [seen.path for seen in site.requests] == ["/feed"]
    assert deferred.value.host == "127.0.0.1"
    assert abs((deferred.value.until - limited.value.until).total_seconds()) < 1
    held = await held_hosts(client, Keys(ns))
    assert list(held) == ["127.0.0.1"]
    assert 3590 < (held["127.0.0.1"] - datetime.now(UTC)).total_seconds() <= 3600


async def test_hold_ends_on_time_and_is_never_shortened(
    gate: Gate, client: aioredis.Redis, ns: str
) -> None:
    """A shorter hold does not cut a longer one short; once it ends, slots are granted and
    the host leaves the held list."""
    one = gate()
    first = await one.hold("news.test", 0.5)
    assert await one.hold("news.test", 0.05) == first
    with pytest.raises(HostDeferred):
        async with one.slot("news.test"):
            pass
    assert 0 < await client.pttl(Keys(ns).held_hosts) <= 500  # the index ends with the hold
    await asyncio.sleep(0.6)
    async with asyncio.timeout(5):
        async with one.slot("news.test"):
            pass
    assert await held_hosts(client, Keys(ns)) == {}
