"""Learned boilerplate counts in Redis: distinct pages per paragraph, per host, bounded by time."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio as aioredis

from watcher.store.boilerplate import GENERATION_SECONDS, RedisParagraphCounter
from watcher.store.keys import Keys

pytestmark = pytest.mark.anyio


async def test_counts_distinct_pages_not_calls(client: aioredis.Redis, ns: str) -> None:
    """Cleaning one page twice counts it once; another page of the host counts again."""
    counter = RedisParagraphCounter(client, Keys(ns), clock=lambda: 1000.0)
    assert await counter.seen_on_pages("a.test", ["f1", "f2"], "page-1") == [1, 1]
    assert await counter.seen_on_pages("a.test", ["f1", "f2"], "page-1") == [1, 1]
    assert await counter.seen_on_pages("a.test", ["f1", "f3"], "page-2") == [2, 1]
    assert await counter.seen_on_pages("b.test", ["f1"], "page-1") == [1]


async def test_counts_carry_over_one_generation_then_expire(
    client: aioredis.Redis, redis_client: redis.Redis, ns: str
) -> None:
    """The previous week's counts still count; counts two weeks old no longer do."""
    now = [10 * GENERATION_SECONDS + 5.0]
    counter = RedisParagraphCounter(client, Keys(ns), clock=lambda: now[0])
    await counter.seen_on_pages("a.test", ["f1"], "p1")
    now[0] += GENERATION_SECONDS
    assert await counter.seen_on_pages("a.test", ["f1"], "p2") == [2]
    now[0] += GENERATION_SECONDS
    assert await counter.seen_on_pages("a.test", ["f1"], "p3") == [2]
    ttl = redis_client.ttl(Keys(ns).boilerplate("a.test", 12))
    assert 0 < ttl <= 2 * GENERATION_SECONDS
