"""Learned boilerplate counts in Redis: distinct pages per paragraph, per host, bounded by time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from watcher.store.boilerplate import GENERATION_SECONDS, RedisParagraphCounter
from watcher.store.keys import Keys


@pytest.fixture
def sync_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_counts_distinct_pages_not_calls(sync_client: redis.Redis, ns: str) -> None:
    """Cleaning one page twice counts it once; another page of the host counts again."""
    counter = RedisParagraphCounter(sync_client, Keys(ns), clock=lambda: 1000.0)
    assert counter.seen_on_pages("a.test", ["f1", "f2"], "page-1") == [1, 1]
    assert counter.seen_on_pages("a.test", ["f1", "f2"], "page-1") == [1, 1]
    assert counter.seen_on_pages("a.test", ["f1", "f3"], "page-2") == [2, 1]
    assert counter.seen_on_pages("b.test", ["f1"], "page-1") == [1]


def test_counts_carry_over_one_generation_then_expire(sync_client: redis.Redis, ns: str) -> None:
    """The previous week's counts still count; counts two weeks old no longer do."""
    now = [10 * GENERATION_SECONDS + 5.0]
    counter = RedisParagraphCounter(sync_client, Keys(ns), clock=lambda: now[0])
    counter.seen_on_pages("a.test", ["f1"], "p1")
    now[0] += GENERATION_SECONDS
    assert counter.seen_on_pages("a.test", ["f1"], "p2") == [2]
    now[0] += GENERATION_SECONDS
    assert counter.seen_on_pages("a.test", ["f1"], "p3") == [2]
    ttl = sync_client.ttl(Keys(ns).boilerplate("a.test", 12))
    assert 0 < ttl <= 2 * GENERATION_SECONDS
