"""record_story atomicity and also_at, filtered marks, conditional-GET validators: real Redis."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
import redis as sync_redis
import redis.asyncio as aioredis

from tests.support.builders import document
from watcher.errors import StoreUnavailable
from watcher.store import connect, ping
from watcher.store.http_cache import HttpCache
from watcher.store.keys import Keys
from watcher.store.stories import Stories

pytestmark = pytest.mark.anyio


async def test_record_story_emits_once_and_attaches_copies(
    client: aioredis.Redis, ns: str, redis_client: sync_redis.Redis
) -> None:
    """A new story is XADDed once; the same URL or the same text later only joins also_at."""
    stories = Stories(client, Keys(ns))
    doc = document("https://a.test/story")
    first = await stories.record_story(doc, [doc.url], "story.created")
    assert first.kind == "new"
    again = await stories.record_story(doc, [doc.url, "https://a.test/story?x=1"], "story.created")
    assert (again.kind, again.reason) == ("duplicate", "same_url")
    copy = document("https://b.test/copy")  # same text, another outlet
    third = await stories.record_story(copy, [copy.url], "story.created")
    assert (third.kind, third.reason, third.story_id) == ("duplicate", "same_text", doc.id)
    entries = redis_client.xrange(f"{ns}:stories")
    assert len(entries) == 1
    assert entries[0][1]["event"] == "story.created"
    assert json.loads(entries[0][1]["data"])["url"] == doc.url
    record = await stories.record(doc.id)
    assert record.also_at == ("https://a.test/story?x=1", "https://b.test/copy")


async def test_record_story_concurrent_copies_emit_once(client: aioredis.Redis, ns: str) -> None:
    """Twenty simultaneous records of one story (as from replicas) emit exactly one entry."""
    stories = Stories(client, Keys(ns))
    docs = [document(f"https://a.test/s{i}") for i in range(20)]  # same text, 20 URLs
    results = await asyncio.gather(
        *(stories.record_story(d, [d.url], "story.created") for d in docs)
    )
    assert sorted(r.kind for r in results).count("new") == 1
    assert await client.xlen(f"{ns}:stories") == 1


async def test_story_emitted_after_its_copy_was_claimed_keeps_empty_lists_lists(
    client: aioredis.Redis, ns: str, redis_client: sync_redis.Redis
) -> None:
    """A copy attached before its story was recorded (two replicas at once) fills also_at
    early; the emitted document still has ``topics: []``, not ``{}``, and both URLs."""
    stories = Stories(client, Keys(ns))
    doc = document("https://a.test/story", topics=[])
    copy = document("https://b.test/copy", text="Another text of the same story, claimed first.")
    attached = await stories.attach_copy(doc.id, copy, [copy.url], reason="near_duplicate")
    assert attached.kind == "duplicate"
    assert (await stories.record_story(doc, [doc.url], "story.created")).kind == "new"
    ((_, fields),) = redis_client.xrange(f"{ns}:stories")
    data = json.loads(fields["data"])
    assert data["topics"] == []
    assert data["also_at"] == ["https://b.test/copy"]
    assert {k: v for k, v in data.items() if k != "also_at"} == {
        k: v for k, v in json.loads(doc.to_json()).items() if k != "also_at"
    }


async def test_mark_filtered_is_known_but_not_a_story(client: aioredis.Redis, ns: str) -> None:
    """A filtered URL is remembered (not re-fetched) but does not block a real story later."""
    stories = Stories(client, Keys(ns))
    doc = document("https://a.test/off-topic")
    await stories.mark_filtered(doc, [doc.url])
    known = await stories.known(doc.url)
    assert (known.kind, known.story_id, known.story) == ("filtered", doc.id, None)
    assert await client.xlen(f"{ns}:stories") == 0
    other = replace(document("https://a.test/off-topic", text="another text"))
    assert (await stories.record_story(other, [other.url], "story.created")).kind == "new"


async def test_http_cache_round_trip(client: aioredis.Redis, ns: str) -> None:
    """Validators stored for a URL come back; a response without validators clears them."""
    cache = HttpCache(client, Keys(ns))
    assert await cache.get("https://a.test/feed") == (None, None)
    await cache.put("https://a.test/feed", '"v1"', "Mon, 23 Nov 2026 10:00:00 GMT")
    assert await cache.get("https://a.test/feed") == ('"v1"', "Mon, 23 Nov 2026 10:00:00 GMT")
    await cache.put("https://a.test/feed", None, None)
    assert await cache.get("https://a.test/feed") == (None, None)


async def test_unreachable_redis_is_store_unavailable(tmp_path: object) -> None:
    """A Redis that is not there is a StoreUnavailable naming the URL, not a redis-py error."""
    url = "redis://127.0.0.1:1/0"  # port 1: nothing listens on loopback there
    client = connect(url, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1:1"):
        await ping(client, url)
    await client.aclose()
