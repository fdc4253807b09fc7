"""Digests: one message per period listing its stories grouped by topic, durable in Redis.

Against a real Redis and a json:// receiver on 127.0.0.1; the restart test runs the real
`watcher run` and kills it (-9) mid-period."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from tests.integration.test_apprise import dispatcher, notify
from tests.integration.test_webhooks import emit
from tests.support.builders import rss
from tests.support.cli import daemon, meta_stories, run_cli, serve_stories, stream, wait_until
from tests.support.receiver import Receiver
from watcher.store.keys import Keys
from watcher.webhooks.digest import period_of

Make = Callable[..., Receiver]


def bodies(rx: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in rx.requests]


def wait_for_period_start(every: float, margin: float = 0.5) -> None:
    """Sleep until a new period has just begun, so a test's stories fall in one period."""
    now = datetime.now(UTC)
    left = (period_of(now, every).end - now).total_seconds()
    time.sleep(left + margin)


@pytest.mark.anyio
async def test_digest_sends_one_message_per_period_grouped_by_topic(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """Stories of a period are held, then sent as one message listing them by topic; the
    closed period is never sent again."""
    rx = receiver()
    every = 3.0
    d = dispatcher(
        client, ns, [notify("daily", rx.url.replace("http://", "json://"), digest=every)]
    )
    await d.ensure_groups()
    wait_for_period_start(every)
    end = period_of(datetime.now(UTC), every).end.isoformat(timespec="seconds")
    await emit(client, ns, 2, topics=["meta-ai"])
    await emit(client, ns, 1, topics=["chips"])
    first = await d.drain(wait=0)
    assert rx.requests == []  # held for the digest
    assert first.endpoints["daily"].collected == 3
    held = (await d.status())["daily"]["digest"]  # what status, the API and the page show
    assert held == {"every": every, "collecting": 3, "next_at": end}
    await asyncio.sleep(every)  # the period is over
    second = await d.drain(wait=5)
    await d.drain(wait=0)
    sent = (await d.status())["daily"]["digest"]
    await d.aclose()
    assert sent == {"every": every, "collecting": 0, "next_at": None}
    [body] = bodies(rx)  # one message, and not again on the next drain
    assert second.delivered == 1
    assert body["title"].startswith("3 stories (")
    lines = body["message"].splitlines()
    assert lines[0] == "chips (1)"
    assert lines[3] == "meta-ai (2)"
    assert [line.split(" (")[0] for line in lines if line.startswith("- ")] == [
        "- Story 3",
        "- Story 1",
        "- Story 2",
    ]
    keys = Keys(ns)
    assert await client.zcard(keys.digest_periods("daily")) == 0


@pytest.mark.slow
def test_digest_survives_a_restart_mid_period(
    site: Any,
    make_config: Callable[..., Path],
    receiver: Make,
    redis_client: redis.Redis,
    ns: str,
) -> None:
    """`watcher run` collects two stories, is killed (-9) before the period ends, and a new
    `watcher run` sends the one digest with both, once: none lost, none repeated."""
    rx = receiver()
    every = 15.0  # long enough for a loaded machine to poll before the period ends
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    source = {"name": "local", "type": "feed", "url": f"{base}/feed.xml", "every": "1h"}
    channel = {"name": "mail", "url": rx.url.replace("http://", "json://"), "digest": "15s"}
    config = make_config([source], notify=[channel])
    periods = Keys(ns).digest_periods("mail")
    wait_for_period_start(every)
    with daemon(config) as first:
        wait_until(lambda: len(stream(redis_client, ns)) == 2, what="two stories emitted")
        wait_until(
            lambda: redis_client.hget(Keys(ns).webhook_endpoint("mail"), "collected") == "2",
            what="both collected",
        )
        first.kill()
    assert rx.requests == []  # the period had not ended: nothing sent yet
    assert redis_client.zcard(periods) == 1
    status = run_cli("status", "--config", str(config))
    assert "  digest every 15s: 2 stories collected, not sent yet, next due 20" in status.stdout
    with daemon(config) as second:
        wait_until(lambda: len(rx.requests) >= 1, within=every + 30, what="the digest")
        time.sleep(2.0)  # a repeat would come within a second (the close loop runs each second)
        assert second.stop() == 0
    [body] = bodies(rx)
    assert body["title"].startswith("2 stories (")
    listed = [line for line in body["message"].splitlines() if line.startswith("- ")]
    assert sorted(s.title for s in stories) == sorted(line[2:].split(" (")[0] for line in listed)
    assert redis_client.zcard(periods) == 0
