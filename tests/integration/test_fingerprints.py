"""The near-duplicate index in a real Redis: copies found, different stories kept apart, expiry."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import redis as sync_redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tests.support.builders import paragraphs
from watcher.dedupe import story_id
from watcher.errors import StoreUnavailable
from watcher.neardup import sketch
from watcher.store.fingerprints import DEFAULT_HORIZON, EPOCHS, NearDupIndex
from watcher.store.keys import Keys

pytestmark = pytest.mark.anyio

NOW = float(int(time.time()))  # keys really expire in Redis, so the test clock starts today
BOILERPLATE = (
    "Subscribe to the Morning Briefing newsletter for the top stories before breakfast",
    "This article is protected by copyright and was produced by our newsroom team",
)


class Clock:
    """A settable clock, so expiry is tested without waiting."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def story(seed: str, count: int = 8) -> str:
    return "\n\n".join(paragraphs(seed, count))


def truncated(text: str, share: float) -> str:
    words = text.split(" ")
    return "Aggregated by NewsNow\n\n" + " ".join(words[: int(len(words) * share)])


def sid(name: str) -> str:
    return story_id(f"https://news.test/{name}")


async def test_index_finds_a_truncated_copy_of_an_earlier_story(
    client: aioredis.Redis, ns: str
) -> None:
    """An aggregator carrying the first 40 % of an indexed story is matched to it."""
    index = NearDupIndex(client, Keys(ns), clock=Clock(NOW))
    for n in range(20):
        await index.add(sid(f"s{n}"), story(f"s{n}"))
    match = await index.find(truncated(story("s7"), 0.4))
    assert match is not None
    assert match.story_id == sid("s7")
    assert match.kind == "contained"
    assert 0 < match.score <= 1


async def test_index_matches_the_original_after_its_copy(client: aioredis.Redis, ns: str) -> None:
    """When the truncated copy was indexed first, the full original finds it."""
    index = NearDupIndex(client, Keys(ns), clock=Clock(NOW))
    await index.add(sid("copy"), truncated(story("orig"), 0.5))
    await index.add(sid("else"), story("else"))
    match = await index.find(story("orig"))
    assert match is not None
    assert match.story_id == sid("copy")


@pytest.mark.parametrize(
    "query",
    [
        story("different"),
        story("different") + "\n\n" + paragraphs("s3", 8)[2],
        "Meta said on Monday. " + story("different"),
    ],
    ids=["unrelated", "shares-a-paragraph", "shares-a-phrase"],
)
async def test_index_keeps_different_stories_apart(
    client: aioredis.Redis, ns: str, query: str
) -> None:
    """A different story, even one borrowing a paragraph of an indexed story, finds nothing."""
    index = NearDupIndex(client, Keys(ns), clock=Clock(NOW))
    for n in range(10):
        await index.add(sid(f"s{n}"), story(f"s{n}"))
    assert await index.find(query) is None


async def test_index_learns_site_boilerplate(client: aioredis.Redis, ns: str) -> None:
    """Boilerplate that many indexed stories carry does not make two short stories one."""
    index = NearDupIndex(client, Keys(ns), clock=Clock(NOW))

    def on_site(seed: str) -> str:
        return "\n\n".join([BOILERPLATE[0], story(seed, 2), BOILERPLATE[1]])

    for n in range(8):
        await index.add(sid(f"site{n}"), on_site(f"site{n}"))
    assert await index.find(on_site("new-one")) is None
    match = await index.find(on_site("site3"))
    assert match is not None
    assert match.story_id == sid("site3")


SITE_LINES = (
    "Subscribe to the Morning Briefing newsletter to get the top stories in your inbox "
    "before breakfast every weekday",
    "Our journalism depends on readers like you so please support independent reporting today",
    "This article was produced by the newsroom and is protected by copyright with all rights "
    "reserved worldwide",
    "Sign up for breaking news alerts and follow us on social media for live updates from our "
    "reporters",
)


async def test_short_stories_under_long_boilerplate_stay_apart(
    client: aioredis.Redis, ns: str
) -> None:
    """A site's long boilerplate around stories of mixed lengths does not merge short ones.

    Long stories keep only the boilerplate's smallest hashes, short ones keep more of them,
    so most of a boilerplate line's anchors look rare; a line whose smallest anchor is
    common is boilerplate all the same. Each site story is still found again.
    """
    index = NearDupIndex(client, Keys(ns), clock=Clock(NOW))

    def on_site(body: str) -> str:
        return "\n\n".join([*SITE_LINES[:2], body, *SITE_LINES[2:]])

    indexed = {sid(f"mixed{n}"): on_site(story(f"mixed{n}", n % 6 + 1)) for n in range(12)}
    for key, text in indexed.items():
        await index.add(key, text)
    merged = []
    for n in range(24):
        short = ". ".join(paragraphs(f"short{n}", 1)[0].split(". ")[: n % 4 + 1])
        if await index.find(on_site(short)) is not None:
            merged.append(n)
    assert merged == []
    for key, text in indexed.items():
        match = await index.find(text)
        assert match is not None
        assert match.story_id == key


async def test_index_forgets_stories_older_than_the_horizon(
    client: aioredis.Redis, ns: str
) -> None:
    """A story is found within the horizon and not after it; every key carries a TTL."""
    clock = Clock(NOW)
    index = NearDupIndex(client, Keys(ns), horizon=DEFAULT_HORIZON, clock=clock)
    await index.add(sid("old"), story("old"))
    clock.now = NOW + DEFAULT_HORIZON - 3600
    assert await index.find(story("old")) is not None
    clock.now = NOW + DEFAULT_HORIZON + 3600
    assert await index.find(story("old")) is None
    keys = [k async for k in client.scan_iter(match=f"{ns}:nd:*")]
    assert keys
    longest = DEFAULT_HORIZON + DEFAULT_HORIZON / EPOCHS + 2
    for key in keys:
        ttl = await client.ttl(key)
        assert 0 < ttl <= NOW + longest - time.time()


async def test_add_many_matches_add(client: aioredis.Redis, ns: str) -> None:
    """Pipelined loading indexes the same stories as one-by-one adds."""
    index = NearDupIndex(client, Keys(ns), clock=Clock(NOW))
    added = await index.add_many([(sid(f"m{n}"), sketch(story(f"m{n}"))) for n in range(30)])
    assert added == 30
    for n in (0, 17, 29):
        match = await index.find(truncated(story(f"m{n}"), 0.5))
        assert match is not None
        assert match.story_id == sid(f"m{n}")


async def test_bytes_per_story_is_reported(
    client: aioredis.Redis, ns: str, redis_client: sync_redis.Redis
) -> None:
    """Memory per story is measured from the index's own keys; empty means zero."""
    index = NearDupIndex(client, Keys(ns), clock=Clock(NOW))
    assert await index.bytes_per_story() == 0.0
    for n in range(5):
        await index.add(sid(f"b{n}"), story(f"b{n}"))
    per_story = await index.bytes_per_story()
    keys = set(redis_client.scan_iter(match=f"{ns}:nd:*"))  # SCAN may repeat a key
    total = sum(redis_client.memory_usage(k, samples=0) or 0 for k in keys)
    assert per_story == pytest.approx(total / 5)


async def test_index_reports_redis_down_as_store_unavailable() -> None:
    """A refused connection becomes StoreUnavailable, not a redis exception."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = aioredis.Redis(
        host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    index = NearDupIndex(down, Keys("nowhere"), clock=Clock(NOW))
    with pytest.raises(StoreUnavailable):
        await index.find(story("any"))
    await down.aclose()


async def test_claim_indexes_a_new_story_and_returns_the_earlier_one_for_a_copy(
    client: aioredis.Redis, ns: str
) -> None:
    """A claim indexes a story nobody holds; a copy's claim returns that story instead."""
    index = NearDupIndex(client, Keys(ns), clock=Clock(NOW))
    assert await index.claim(sid("first"), story("first")) is None
    match = await index.claim(sid("copy"), truncated(story("first"), 0.5))
    assert match is not None
    assert match.story_id == sid("first")
    assert await index.find(story("copy-was-not-indexed")) is None


async def test_claim_retried_for_the_same_story_is_not_a_copy(
    client: aioredis.Redis, ns: str
) -> None:
    """Claiming a story again (a retry after a crash before emit) does not match itself."""
    index = NearDupIndex(client, Keys(ns), clock=Clock(NOW))
    assert await index.claim(sid("again"), story("again")) is None
    assert await index.claim(sid("again"), story("again")) is None


async def test_concurrent_claims_of_an_original_and_its_copy_emit_one(
    redis_url: str, ns: str
) -> None:
    """Two replicas claiming an original and its copy at once: exactly one of them is new."""
    clients = [aioredis.Redis.from_url(redis_url, decode_responses=True) for _ in range(2)]
    replicas = [NearDupIndex(c, Keys(ns), clock=Clock(NOW)) for c in clients]
    for round_ in range(5):
        text = story(f"race{round_}")
        results = await asyncio.gather(
            replicas[0].claim(sid(f"orig{round_}"), text),
            replicas[1].claim(sid(f"copy{round_}"), truncated(text, 0.6)),
        )
        assert sum(1 for r in results if r is None) == 1
    for c in clients:
        await c.aclose()


async def test_a_burst_of_claims_in_one_process_all_succeed(
    client: aioredis.Redis, ns: str
) -> None:
    """One poll brings dozens of articles at once: every claim must land (found 'too busy'
    by a local `watcher once` over 91 pages before claims of one process took turns)."""
    index = NearDupIndex(client, Keys(ns))
    texts = {story_id(f"https://example.com/{i}"): story(f"burst-{i}") for i in range(60)}
    results = await asyncio.gather(*(index.claim(sid, text) for sid, text in texts.items()))
    assert results == [None] * len(texts)
    assert await index.count() == len(texts)
    copy = truncated(texts[story_id("https://example.com/7")], 0.5)
    found = await index.find(copy)
    assert found is not None
    assert found.story_id == story_id("https://example.com/7")
