"""Stream retention (issue 14): ``stream.maxlen`` and ``stream.retention`` trim the stream as
stories are emitted, never past what one of the watcher's own endpoints has not acknowledged;
a foreign consumer group that falls behind the cap is reported. Real Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from prometheus_client import generate_latest

from tests.support.builders import document, rss
from tests.support.cli import meta_stories, run_cli, serve_stories
from watcher import metrics
from watcher.app import stream_policy
from watcher.config import load_config
from watcher.server import Health, refresh
from watcher.store.keys import Keys
from watcher.store.retention import StreamPolicy, stream_view
from watcher.store.stories import Stories

OWN = "webhook:newsroom"


async def _emit(stories: Stories, n: int, start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + n):
        doc = document(f"https://a.test/s{i}", text=f"Story number {i} about Meta.")
        recorded = await stories.record_story(doc, [doc.url], "story.created")
        assert recorded.stream_id is not None
        ids.append(recorded.stream_id)
    return ids


async def _ids(client: aioredis.Redis, ns: str) -> list[str]:
    return [entry_id for entry_id, _ in await client.xrange(Keys(ns).stories)]


@pytest.mark.anyio
async def test_the_cap_trims_the_oldest_entries(client: aioredis.Redis, ns: str) -> None:
    """With nobody reading, the stream keeps the newest ``maxlen`` entries."""
    stories = Stories(client, Keys(ns), stream=StreamPolicy(maxlen=10))
    emitted = await _emit(stories, 25)
    assert await _ids(client, ns) == emitted[-10:]


@pytest.mark.anyio
async def test_a_lagging_own_group_is_never_trimmed_past(client: aioredis.Redis, ns: str) -> None:
    """An own endpoint's group that read 5 entries and acknowledged 3 keeps the 2 pending and
    everything it has not read, however far past the cap; once it catches up, the cap holds."""
    keys = Keys(ns)
    stories = Stories(client, keys, stream=StreamPolicy(maxlen=10, own_groups=(OWN,)))
    await client.xgroup_create(keys.stories, OWN, id="0", mkstream=True)
    emitted = await _emit(stories, 5)
    read = await client.xreadgroup(OWN, "c", {keys.stories: ">"}, count=5)
    assert [i for i, _ in read[0][1]] == emitted
    await client.xack(keys.stories, OWN, *emitted[:3])
    emitted += await _emit(stories, 40, start=5)
    assert await _ids(client, ns) == emitted[3:], "an unacknowledged entry was trimmed"
    view = await stream_view(client, keys, stories.stream)
    (group,) = view.groups
    assert (group.own, group.pending, group.oldest_needed) == (True, 2, emitted[3])
    assert group.lagging_past_cap  # it holds the stream past its cap
    await client.xack(keys.stories, OWN, *emitted[3:5])  # acknowledged, the rest still unread
    emitted += await _emit(stories, 1, start=45)
    assert await _ids(client, ns) == emitted[5:], "an unread entry was trimmed"
    while read := await client.xreadgroup(OWN, "c", {keys.stories: ">"}, count=100):
        await client.xack(keys.stories, OWN, *(i for i, _ in read[0][1]))
    emitted += await _emit(stories, 1, start=46)
    assert await _ids(client, ns) == emitted[-10:]
    assert not (await stream_view(client, keys, stories.stream)).lagging


@pytest.mark.anyio
async def test_a_notify_channel_is_waited_for_like_a_webhook(
    client: aioredis.Redis, ns: str, make_config: Callable[..., Path]
) -> None:
    """A ``notify:`` (Apprise) channel reads the stream through a group of its own, as a
    webhook does: an entry it has not read is kept past the cap, and /metrics and `status`
    judge it by the configured ``stream.maxlen``, not the default."""
    config = load_config(
        make_config(
            [{"name": "local", "type": "feed", "url": "http://127.0.0.1:9/feed.xml"}],
            stream={"maxlen": 3},
            notify=[{"name": "mail", "url": "json://127.0.0.1:9/"}],
            webhooks=[{"name": "newsroom", "url": "http://127.0.0.1:9/hook"}],
        ),
        {},
    )
    keys = Keys(ns)
    policy = stream_policy(config, keys)
    assert policy.maxlen == 3
    assert set(policy.own_groups) == {"webhook:mail", "webhook:newsroom"}
    await client.xgroup_create(keys.stories, "webhook:mail", id="0", mkstream=True)
    emitted = await _emit(Stories(client, keys, stream=policy), 8)
    assert await _ids(client, ns) == emitted, "an entry the notify channel never read was trimmed"
    (group,) = (await stream_view(client, keys, policy)).groups
    assert (group.own, group.lagging_past_cap) == (True, True)


@pytest.mark.anyio
async def test_a_foreign_group_is_not_waited_for_and_is_reported(
    client: aioredis.Redis, ns: str
) -> None:
    """A consumer group of the user's own is trimmed past at the cap, and then reads as lagging
    past it; the own endpoint beside it, caught up, does not."""
    keys = Keys(ns)
    stories = Stories(client, keys, stream=StreamPolicy(maxlen=10, own_groups=(OWN,)))
    await client.xgroup_create(keys.stories, OWN, id="$", mkstream=True)
    await client.xgroup_create(keys.stories, "my-app", id="$")
    emitted = await _emit(stories, 5)
    await client.xreadgroup("my-app", "c", {keys.stories: ">"}, count=2)  # 2 pending, 3 unread
    view = await stream_view(client, keys, stories.stream)
    assert not view.lagging, "nothing was trimmed yet"
    emitted += await _emit(stories, 20, start=5)
    while read := await client.xreadgroup(OWN, "c", {keys.stories: ">"}, count=100):
        await client.xack(keys.stories, OWN, *(i for i, _ in read[0][1]))
    emitted += await _emit(stories, 1, start=25)
    assert await _ids(client, ns) == emitted[-10:]
    view = await stream_view(client, keys, stories.stream)
    lagging = {g.name: g for g in view.lagging}
    assert list(lagging) == ["my-app"]
    assert (lagging["my-app"].own, lagging["my-app"].pending) == (False, 2)


@pytest.mark.anyio
async def test_one_emit_trims_at_most_a_batch(client: aioredis.Redis, ns: str) -> None:
    """A long backlog (retention set on an old stream, a reader that caught up after days)
    goes a batch per emit, so no one Lua step runs long; by the cap or by age alike."""
    keys = Keys(ns)
    old = int(time.time() * 1000) - 3_600_000
    for i in range(10):
        await client.xadd(keys.stories, {"event": "e", "data": "{}"}, id=f"{old + i}-0")
    by_age = Stories(client, keys, stream=StreamPolicy(retention=60, batch=3))
    await _emit(by_age, 1)
    assert await client.xlen(keys.stories) == 10 - 3 + 1
    await _emit(by_age, 3, start=1)
    assert await client.xlen(keys.stories) == 4  # the 10 old ones gone, 3 at a time
    by_cap = Stories(client, keys, stream=StreamPolicy(maxlen=1, batch=2))
    await _emit(by_cap, 1, start=4)
    assert await client.xlen(keys.stories) == 5 - 2


@pytest.mark.anyio
async def test_retention_trims_old_entries_but_not_pending_ones(
    client: aioredis.Redis, ns: str
) -> None:
    """Entries older than ``retention`` go at the next emit, whatever the cap, except one an
    own group has pending."""
    keys = Keys(ns)
    old = int(time.time() * 1000) - 3_600_000  # an hour ago
    entry = {"event": "e", "data": "{}"}
    ids = [await client.xadd(keys.stories, entry, id=f"{old + i}-0") for i in range(3)]
    await client.xgroup_create(keys.stories, OWN, id="0")
    await client.xreadgroup(OWN, "c", {keys.stories: ">"}, count=2)
    await client.xack(keys.stories, OWN, ids[0])  # ids[1] pending, ids[2] unread
    stories = Stories(client, keys, stream=StreamPolicy(retention=60, own_groups=(OWN,)))
    fresh = await _emit(stories, 1)
    assert await _ids(client, ns) == [ids[1], ids[2], *fresh]
    read = await client.xreadgroup(OWN, "c", {keys.stories: ">"}, count=10)
    await client.xack(keys.stories, OWN, ids[1], *(i for i, _ in read[0][1]))
    fresh += await _emit(stories, 1, start=1)
    assert await _ids(client, ns) == [fresh[0], fresh[1]]
    other = Keys(f"{ns}:other")  # a group the policy does not name is not waited for
    gone = await client.xadd(other.stories, entry, id=f"{old}-0")
    await client.xgroup_create(other.stories, "my-app", id="0")
    alone = Stories(client, other, stream=StreamPolicy(retention=60))
    kept = await _emit(alone, 1, start=2)
    assert [i for i, _ in await client.xrange(other.stories)] == kept != [gone]
    (group,) = (await stream_view(client, other, alone.stream)).lagging
    assert (group.name, group.own) == ("my-app", False)


def test_status_and_metrics_name_a_foreign_group_lagging_past_the_cap(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """`watcher once` with stream.maxlen 3 emits 6 stories: the 3 oldest go, though the
    user's group "my-app" never read them; `status` (text and --json alike) and /metrics say
    it lags past the cap."""
    stories = meta_stories(6)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    redis_client.xgroup_create(f"{ns}:stories", "my-app", id="0", mkstream=True)
    source = {"name": "local", "type": "feed", "url": f"{base}/feed.xml"}
    config = make_config([source], stream={"maxlen": 3, "retention": "1d"})
    once = run_cli("once", "--config", str(config))
    assert once.returncode == 0, once.stderr[-3000:]
    assert "new 6" in once.stdout, once.stdout
    assert redis_client.xlen(f"{ns}:stories") == 3
    text = run_cli("status", "--config", str(config)).stdout
    body = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)
    assert (body["stream_length"], body["stream_maxlen"], body["stream_retention"]) == (
        3,
        3,
        86400.0,
    )
    group = body["stream_groups"]["my-app"]
    assert (group["own"], group["lagging_past_cap"], group["pending"]) == (False, True, 0)
    (line,) = [x for x in text.splitlines() if x.startswith("consumer group ")]
    assert line.startswith("consumer group my-app (not a channel of this config) is lagging")
    assert f"oldest needed {group['oldest_needed']}, pending 0" in line
    assert f"stream {ns}:stories: 3 stories;" in text

    async def scrape() -> bytes:
        loaded = load_config(config, {})
        client = aioredis.Redis.from_url(loaded.redis.url, decode_responses=True)
        try:
            await refresh(client, Keys(ns), Health(), stream_policy(loaded, Keys(ns)))
        finally:
            await client.aclose()
        return generate_latest(metrics.REGISTRY)

    exposed = asyncio.run(scrape()).decode()
    assert 'watcher_stream_group_lagging_past_cap{group="my-app"} 1.0' in exposed


@pytest.mark.anyio
async def test_a_group_acknowledging_between_the_two_reads_is_read_as_caught_up(
    client: aioredis.Redis, ns: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XINFO GROUPS says 2 pending; the endpoint acknowledges them before XPENDING is asked,
    which then answers ``min: None``. Found by bench/soak.py: that None was parsed as a stream
    id, the ValueError ended the daemon's gauge refresher (/metrics, /readyz) for good, and
    `watcher run` exited 1 at SIGTERM. The group now reads as needing its next entry."""
    keys = Keys(ns)
    stories = Stories(client, keys, stream=StreamPolicy(maxlen=10, own_groups=(OWN,)))
    await client.xgroup_create(keys.stories, OWN, id="0", mkstream=True)
    emitted = await _emit(stories, 2)
    await client.xreadgroup(OWN, "c", {keys.stories: ">"}, count=2)
    pipelines = 0
    pipeline = client.pipeline

    def acknowledging_before_the_second(*args: Any, **kwargs: Any) -> Any:
        nonlocal pipelines
        pipelines += 1
        if pipelines == 2:  # the endpoint's XACK lands between the two round trips
            sync = redis.Redis.from_url(redis_url)
            sync.xack(keys.stories, OWN, *emitted)
            sync.close()
        return pipeline(*args, **kwargs)

    monkeypatch.setattr(client, "pipeline", acknowledging_before_the_second)
    view = await stream_view(client, keys, stories.stream)
    (group,) = view.groups
    assert pipelines == 2
    ms, seq = emitted[-1].split("-")
    assert (group.pending, group.oldest_needed) == (2, f"{ms}-{int(seq) + 1}")
    assert not view.lagging
