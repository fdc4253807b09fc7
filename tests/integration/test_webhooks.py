"""Webhook delivery against a real Redis and real receivers on 127.0.0.1.

Signatures are verified with the standardwebhooks package; retries, restarts, hangs, 410,
dead letters, replay, filters and the SSRF guard are exercised over the wire.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis as sync_redis
import redis.asyncio as aioredis
import standardwebhooks
from pydantic import SecretStr
from structlog.testing import capture_logs

from tests.support.builders import document
from tests.support.receiver import HANG, Receiver
from watcher.config import Webhook
from watcher.store.keys import Keys
from watcher.store.stories import Stories
from watcher.webhooks.batch import GroupCommit
from watcher.webhooks.delivery import Dispatcher
from watcher.webhooks.sender import Sender

pytestmark = pytest.mark.anyio

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
LOOPBACK = ("127.0.0.1/32",)
Make = Callable[..., Receiver]


def hook(name: str, url: str, **over: Any) -> Webhook:
    return Webhook.model_validate(
        {"name": name, "url": url, "secret": SECRET, "retry": ["200ms", "200ms"], **over}
    )


def dispatcher(client: aioredis.Redis, ns: str, hooks: list[Webhook], **over: Any) -> Dispatcher:
    options: dict[str, Any] = {
        "consumer": "test-1",
        "allow_private_networks": LOOPBACK,
        "rng": random.Random(1),
        "timeout": 2.0,
        **over,
    }
    return Dispatcher(client, Keys(ns), hooks, **options)


async def emit(
    client: aioredis.Redis, ns: str, n: int = 1, *, topics: list[str] | None = None
) -> list[str]:
    """Record ``n`` new stories through the real emitter; returns their story ids."""
    stories = Stories(client, Keys(ns))
    ids = []
    for _ in range(n):
        count = await client.incr(f"{ns}:test-counter")
        url = f"https://news.test/story-{count}"
        text = f"Story number {count} about Meta and its models."
        doc = document(
            url,
            text,
            source="tech",
            title=f"Story {count}",
            excerpt=text,
            topics=topics if topics is not None else ["meta-ai"],
        )
        recorded = await stories.record_story(doc, [url], "story.created")
        assert recorded.kind == "new"
        ids.append(doc.id)
    return ids


@contextlib.asynccontextmanager
async def running(d: Dispatcher) -> AsyncIterator[Dispatcher]:
    """The daemon loop in the background; stopped (and closed) on exit."""
    await d.ensure_groups()
    stopping = asyncio.Event()
    task = asyncio.create_task(d.run(stopping))
    try:
        yield d
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=5)  # hang guard, not a timing assert
        await d.aclose()


async def until(predicate: Callable[[], Any], within: float = 15.0) -> None:
    """Poll an async predicate until it is true (a hang guard, not a timing assert)."""
    async with asyncio.timeout(within):
        # The state lives in Redis and the receiver: there is no local event to await.
        while not await predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def verify(body: bytes, headers: dict[str, str], secret: str = SECRET) -> Any:
    return standardwebhooks.Webhook(secret).verify(body, headers)


async def test_signatures_verify_with_standardwebhooks(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """Each story is POSTed once with SPEC's body and headers that standardwebhooks verifies."""
    rx = receiver()
    async with running(dispatcher(client, ns, [hook("bot", rx.url)])):
        ids = await emit(client, ns, 2)
        got = await rx.wait_for(2)
    payloads = [verify(r.body, r.headers) for r in got]
    assert sorted(p["data"]["id"] for p in payloads) == sorted(ids)
    assert {p["type"] for p in payloads} == {"story.created"}
    assert set(payloads[0]["data"]) == {
        "id",
        "url",
        "title",
        "source",
        "site",
        "published_at",
        "topics",
        "excerpt",
    }
    assert len({r.webhook_id for r in got}) == 2
    assert all(r.headers["content-type"] == "application/json" for r in got)


async def test_rotated_secrets_verify_with_old_and_new(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """With two space-separated secrets, a receiver holding either one verifies the event."""
    rx = receiver()
    d = dispatcher(client, ns, [hook("bot", rx.url, secret=f"{SECRET} {OLD_SECRET}")])
    await d.ensure_groups()
    await emit(client, ns)
    await d.drain(wait=0)
    await d.aclose()
    (request,) = rx.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verify(request.body, request.headers, SECRET)
    verify(request.body, request.headers, OLD_SECRET)


async def test_retries_503_twice_then_200_keep_the_webhook_id(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """A receiver answering 503, 503, 200 gets the event on the third attempt, same webhook-id."""
    rx = receiver(503, 503, default=200)
    d = dispatcher(client, ns, [hook("bot", rx.url)])
    async with running(d):
        await emit(client, ns)
        got = await rx.wait_for(3)
        await until(lambda: _status_is(d, "bot", delivered=1, pending=0))
    assert len({r.webhook_id for r in got}) == 1
    assert len({r.headers["webhook-timestamp"] for r in got}) >= 1
    for r in got:
        verify(r.body, r.headers)
    assert len({r.body for r in got}) == 1  # the body is the same bytes on every attempt


async def _status_is(d: Dispatcher, name: str, **expected: Any) -> bool:
    row = (await d.status())[name]
    return all(row[k] == v for k, v in expected.items())


async def test_receiver_down_gets_everything_after_a_restart(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """Events that failed while the receiver was down, or were emitted while the watcher was
    stopped, all arrive once a new Dispatcher (a restart) runs and the receiver is back."""
    rx = receiver()
    rx.stop()
    endpoint = hook("bot", rx.url, retry=["300ms"] * 10)
    first = dispatcher(client, ns, [endpoint], consumer="replica-a")
    async with running(first):
        ids = await emit(client, ns, 3)
        await until(lambda: _status_is(first, "bot", retrying=3))
    ids += await emit(client, ns, 1)  # emitted while no dispatcher runs
    rx.start()
    second = dispatcher(client, ns, [endpoint], consumer="replica-b")
    async with running(second):
        got = await rx.wait_for(4)
        await until(lambda: _status_is(second, "bot", pending=0))
    assert sorted(verify(r.body, r.headers)["data"]["id"] for r in got) == sorted(ids)


async def test_crashed_consumers_pending_entries_are_reclaimed(
    client: aioredis.Redis, ns: str, receiver: Make, redis_client: sync_redis.Redis
) -> None:
    """An entry read by a replica that died before settling it is taken over and delivered."""
    rx = receiver()
    d = dispatcher(client, ns, [hook("bot", rx.url)], consumer="survivor", visibility=0.2)
    await d.ensure_groups()
    (sid,) = await emit(client, ns)
    keys = Keys(ns)
    read = redis_client.xreadgroup(keys.webhook_group("bot"), "crashed", {keys.stories: ">"})
    assert read  # the crashed replica holds it, unacknowledged
    async with running(d):
        (request,) = await rx.wait_for(1)
        await until(lambda: _status_is(d, "bot", pending=0))
    assert verify(request.body, request.headers)["data"]["id"] == sid


async def test_own_pending_entries_resume_after_restart(
    client: aioredis.Redis, ns: str, receiver: Make, redis_client: sync_redis.Redis
) -> None:
    """A restarted consumer (same name) first delivers what it had read but not settled."""
    rx = receiver()
    d = dispatcher(client, ns, [hook("bot", rx.url)], consumer="same")
    await d.ensure_groups()
    await emit(client, ns)
    keys = Keys(ns)
    assert redis_client.xreadgroup(keys.webhook_group("bot"), "same", {keys.stories: ">"})
    report = await d.drain(wait=0)
    await d.aclose()
    assert report.delivered == 1
    assert len(rx.requests) == 1


async def test_hanging_receiver_does_not_slow_another_endpoint(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """While one receiver hangs (until its timeout), another endpoint gets every event."""
    slow, fast = receiver(default=HANG), receiver()
    hooks = [hook("slow", slow.url, retry=[]), hook("fast", fast.url)]
    d = dispatcher(client, ns, hooks, timeout=3.0)
    async with running(d):
        await emit(client, ns)
        await slow.wait_for(1)
        await emit(client, ns)
        await fast.wait_for(2)
        row = (await d.status())["slow"]
        assert row["failed"] == 0
        assert row["pending"] >= 1
        await until(lambda: _status_is(d, "slow", dead=2), within=20)
    dead = await client.xrange(f"{ns}:webhooks:dead")
    assert all("timeout" in json.loads(f["reasons"])[0] for _id, f in dead)


async def test_410_disables_the_endpoint(client: aioredis.Redis, ns: str, receiver: Make) -> None:
    """410 Gone dead-letters the event and disables the endpoint; later events are held back."""
    gone, other = receiver(default=410), receiver()
    d = dispatcher(client, ns, [hook("gone", gone.url), hook("other", other.url)])
    async with running(d):
        await emit(client, ns)
        await until(lambda: _status_is(d, "gone", disabled=True))
        await emit(client, ns)
        await other.wait_for(2)
        await until(lambda: _status_is(d, "gone", pending=1))  # held for a re-enabled URL
        row = (await d.status())["gone"]
    assert len(gone.requests) == 1
    assert (row["healthy"], row["disabled_reason"], row["dead"]) == (False, "http_410", 1)


async def test_last_failure_is_dead_lettered_and_replay_redelivers_it(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """After the last attempt the event is in the dead letters with reasons; replay resends it
    with the same webhook-id and takes it out of the dead letters."""
    rx = receiver(default=500)
    d = dispatcher(client, ns, [hook("bot", rx.url, retry=["100ms"])], unhealthy_after=0)
    await d.ensure_groups()
    (sid,) = await emit(client, ns)
    report = await d.drain(wait=5)
    assert (report.delivered, report.failed, report.dead, report.waiting) == (0, 2, 1, 0)
    ((_dead_id, fields),) = await client.xrange(f"{ns}:webhooks:dead")
    reasons = json.loads(fields["reasons"])
    assert (fields["endpoint"], fields["attempts"], len(reasons)) == ("bot", "2", 2)
    assert all("http_500" in r for r in reasons)
    assert json.loads(fields["data"])["id"] == sid
    row = (await d.status())["bot"]
    assert (row["dead"], row["healthy"]) == (1, False)

    rx.script(default=200)
    assert await d.replay(since=None, endpoint="bot") == 1
    await d.aclose()
    first, second, third = rx.requests
    assert first.webhook_id == second.webhook_id == third.webhook_id == fields["webhook_id"]
    verify(third.body, third.headers)
    assert await client.xlen(f"{ns}:webhooks:dead") == 0
    row = (await d.status())["bot"]
    assert (row["dead"], row["healthy"], row["pending"]) == (0, True, 0)


async def test_replay_since_and_unknown_endpoint(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """Replay re-delivers delivered history from --since; a far-future since replays nothing."""
    from datetime import UTC, datetime

    rx = receiver()
    d = dispatcher(client, ns, [hook("bot", rx.url)])
    await d.ensure_groups()
    await emit(client, ns, 2)
    await d.drain(wait=0)
    assert await d.replay(since=datetime(2999, 1, 1, tzinfo=UTC), endpoint=None) == 0
    assert await d.replay(since=datetime(2000, 1, 1, tzinfo=UTC), endpoint=None) == 2
    with pytest.raises(ValueError, match="nope"):
        await d.replay(since=None, endpoint="nope")
    await d.aclose()
    assert len(rx.requests) == 4
    assert sorted(r.webhook_id for r in rx.requests[:2]) == sorted(
        r.webhook_id for r in rx.requests[2:]
    )


async def test_topic_and_event_filters_hold(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """An endpoint gets only stories with one of its topics and only its event types."""
    meta, everything, updates = receiver(), receiver(), receiver()
    hooks = [
        hook("meta", meta.url, topics=["meta-ai"]),
        hook("all", everything.url),
        hook("updates", updates.url, events=["story.updated"]),
    ]
    d = dispatcher(client, ns, hooks)
    await d.ensure_groups()
    (wanted,) = await emit(client, ns, topics=["meta-ai", "x"])
    await emit(client, ns, topics=["other"])
    await emit(client, ns, topics=[])
    report = await d.drain(wait=0)
    await d.aclose()
    assert [verify(r.body, r.headers)["data"]["id"] for r in meta.requests] == [wanted]
    assert len(everything.requests) == 3
    assert updates.requests == []
    assert (report.delivered, report.filtered) == (4, 5)


async def test_new_endpoint_starts_from_now_or_from_the_start(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """A new endpoint skips history by default; start_from="start" delivers it too."""
    now_rx, start_rx = receiver(), receiver()
    await emit(client, ns, 2)
    for rx, start in ((now_rx, "now"), (start_rx, "start")):
        d = dispatcher(client, ns, [hook(f"from-{start}", rx.url)], start_from=start)
        await d.drain(wait=0)
        await d.aclose()
    assert (len(now_rx.requests), len(start_rx.requests)) == (0, 2)


async def test_ssrf_guard_refuses_a_private_webhook_target(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """A webhook URL on 127.0.0.2 is refused when only 127.0.0.1/32 is allowed; nothing connects."""
    elsewhere = receiver(host="127.0.0.2")
    d = dispatcher(client, ns, [hook("bot", elsewhere.url, retry=[])])
    await d.ensure_groups()
    await emit(client, ns)
    report = await d.drain(wait=0)
    await d.aclose()
    assert report.dead == 1
    ((_id, fields),) = await client.xrange(f"{ns}:webhooks:dead")
    assert "private_address" in json.loads(fields["reasons"])[0]
    assert elsewhere.connections == 0


async def test_redirects_are_not_followed(client: aioredis.Redis, ns: str, receiver: Make) -> None:
    """A 3xx is a failed attempt; the Location is never requested."""
    target = receiver()
    rx = receiver((307, {"location": target.url}), (302, {"location": target.url}), default=200)
    d = dispatcher(client, ns, [hook("bot", rx.url, retry=["50ms", "50ms"])])
    await d.ensure_groups()
    await emit(client, ns)
    report = await d.drain(wait=5)
    await d.aclose()
    assert (report.failed, report.delivered, len(rx.requests)) == (2, 1, 3)
    assert target.requests == []


async def test_retry_after_postpones_past_the_wait(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """A 429 with Retry-After: 60 is not retried within a short --wait; it stays scheduled."""
    rx = receiver((429, {"retry-after": "60"}), default=200)
    d = dispatcher(client, ns, [hook("bot", rx.url, retry=["50ms"])])
    await d.ensure_groups()
    await emit(client, ns)
    report = await d.drain(wait=0.5)
    await d.aclose()
    assert (report.failed, report.waiting, len(rx.requests)) == (1, 1, 1)


async def test_replicas_share_the_work(client: aioredis.Redis, ns: str, receiver: Make) -> None:
    """Two replicas on one endpoint deliver every event, each exactly once between them."""
    rx = receiver()
    endpoint = hook("bot", rx.url)
    a = dispatcher(client, ns, [endpoint], consumer="a")
    b = dispatcher(client, ns, [endpoint], consumer="b")
    async with running(a), running(b):
        await emit(client, ns, 20)
        got = await rx.wait_for(20)
        await until(lambda: _status_is(a, "bot", pending=0, delivered=20))
    assert len({r.webhook_id for r in got}) == 20 == len(rx.requests)


@pytest.mark.parametrize("fmt", ["slack", "discord"])
async def test_chat_formats_post_readable_messages(
    client: aioredis.Redis, ns: str, receiver: Make, fmt: str
) -> None:
    """format: slack / discord posts the service's message shape, still signed."""
    rx = receiver()
    d = dispatcher(client, ns, [hook("chat", rx.url, format=fmt)])
    await d.ensure_groups()
    await emit(client, ns)
    await d.drain(wait=0)
    await d.aclose()
    (request,) = rx.requests
    message = verify(request.body, request.headers)
    assert ("blocks" in message) if fmt == "slack" else ("embeds" in message)
    assert "news.test" in json.dumps(message)


async def test_secrets_and_url_tokens_stay_out_of_logs_status_and_dead_letters(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """Neither the secret nor a token in the URL path appears in logs, status or dead letters."""
    rx = receiver(default=503)
    token = "T0KEN-in-the-path"
    d = dispatcher(client, ns, [hook("bot", f"{rx.url}/{token}", retry=[])])
    await d.ensure_groups()
    await emit(client, ns)
    with capture_logs() as logs:
        await d.drain(wait=0)
        status = await d.status()
    await d.aclose()
    assert rx.requests[0].path == f"/hook/{token}"
    dead = await client.xrange(f"{ns}:webhooks:dead")
    for text in (repr(logs), json.dumps(status), repr(dead)):
        assert SECRET.removeprefix("whsec_") not in text
        assert token not in text
    assert any(entry.get("outcome") == "dead" for entry in logs)


async def test_bad_secret_is_a_config_problem_without_the_secret(redis_url: str) -> None:
    """A secret that is not whsec_ + base64 is a ConfigError naming the key, not the value."""
    from watcher.errors import ConfigError

    client = aioredis.Redis.from_url(redis_url)
    bad = "whsec_***not-base64***"
    with pytest.raises(ValueError, match="not whsec_") as rejected:
        hook("bot", "http://127.0.0.1:9/", secret=bad)  # the config model refuses it first
    assert bad not in str(rejected.value).replace(f"input_value='{bad}'", "")
    # The Dispatcher checks again for callers that build a Webhook without validation.
    unchecked = hook("bot", "http://127.0.0.1:9/").model_copy(update={"secret": SecretStr(bad)})
    with pytest.raises(ConfigError, match=r"webhooks\[0\]\.secret") as info:
        Dispatcher(client, Keys("x"), [unchecked], consumer="c")
    assert bad not in str(info.value)
    await client.aclose()


async def test_ten_endpoints_each_get_every_event_exactly_once(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """Ten endpoints, whose reads and settlements share round trips, each get every event once,
    under their own webhook-id, and are left with nothing pending."""
    rx = receiver()
    hooks = [hook(f"ep{i}", f"{rx.url}/ep{i}") for i in range(10)]
    d = dispatcher(client, ns, hooks)
    async with running(d):
        ids = await emit(client, ns, 12)
        await rx.wait_for(120)
        await until(lambda: _all_settled(d, 12))
    by_path: dict[str, list[str]] = {}
    for r in rx.requests:
        by_path.setdefault(r.path, []).append(verify(r.body, r.headers)["data"]["id"])
    assert sorted(by_path) == sorted(f"/hook/ep{i}" for i in range(10))
    assert all(sorted(got) == sorted(ids) for got in by_path.values())
    assert len({r.webhook_id for r in rx.requests}) == 120


async def _all_settled(d: Dispatcher, delivered: int) -> bool:
    rows = (await d.status()).values()
    return all(row["delivered"] == delivered and row["pending"] == 0 for row in rows)


async def test_one_endpoints_failing_read_does_not_fail_the_others(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """When one endpoint's consumer group vanishes (deleted by hand), only its reads fail:
    the other endpoint, whose read goes out in the same pipeline, gets every event."""
    rx_a, rx_b = receiver(), receiver()
    d = dispatcher(client, ns, [hook("a", rx_a.url), hook("b", rx_b.url)])
    keys = Keys(ns)
    async with running(d):
        await emit(client, ns)
        await rx_a.wait_for(1)
        await rx_b.wait_for(1)
        await client.xgroup_destroy(keys.stories, keys.webhook_group("a"))
        await emit(client, ns, 2)
        await rx_b.wait_for(3)
    assert len(rx_a.requests) == 1


async def test_a_key_corrupted_mid_run_fails_only_its_endpoints_settlements(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """When one endpoint's retry key turns into a string while the daemon runs, the settlements
    it shares a MULTI with still count for the other endpoint: each of its events arrives once
    (no internal error, no retry of a delivered event), and the broken one is logged once."""
    rx_a, rx_b = receiver(), receiver()
    d = dispatcher(client, ns, [hook("a", rx_a.url), hook("b", rx_b.url)])
    with capture_logs() as logs:
        async with running(d):
            await emit(client, ns)
            await rx_a.wait_for(1)
            await rx_b.wait_for(1)
            await client.set(Keys(ns).webhook_retries("a"), "oops")
            await emit(client, ns, 5)
            await rx_b.wait_for(6)
            await until(lambda: _status_is(d, "b", pending=0))
            rows = await d.status()
    assert len({r.webhook_id for r in rx_b.requests}) == len(rx_b.requests) == 6
    assert not [e for e in logs if e["event"] == "webhook_internal_error"]
    assert [e["endpoint"] for e in logs if e["event"] == "webhook_endpoint_failed"] == ["a"]
    assert (rows["a"]["healthy"], rows["b"]["healthy"]) == (False, True)
    assert "webhooks:retries:a holds a string, not a zset" in rows["a"]["problem"]


async def test_an_unreadable_retry_record_is_dead_lettered_as_it_is(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """A retry record changed in Redis into something we never wrote goes to the dead letters
    as it was (nothing lost, no internal error, the other retry delivered); replay skips it,
    and a dead letter someone else wrote (no endpoint, data not an object) too."""
    rx = receiver(503, 503, default=200)
    d = dispatcher(client, ns, [hook("bot", rx.url, retry=["200ms"])])
    keys = Keys(ns)
    await d.ensure_groups()
    await emit(client, ns, 2)
    first = await d.drain(wait=0)
    assert (first.failed, first.waiting) == (2, 2)
    poisoned, kept = sorted(await client.hkeys(keys.webhook_events("bot")))
    await client.hset(keys.webhook_events("bot"), poisoned, '{"event": 7, "data": []}')
    await client.xadd(keys.dead, {"stream_id": "1-0", "data": "[]", "event": "story.created"})
    with capture_logs() as logs:
        second = await d.drain(wait=5)
        queued = await d.replay(since=None, endpoint=None)
        status = (await d.status())["bot"]
    await d.aclose()
    assert (second.delivered, second.waiting, status["dead"]) == (1, 0, 1)
    assert queued == 2  # the two stream entries; neither odd dead letter
    assert not [e for e in logs if "internal" in e["event"] or e["event"].endswith("_error")]
    assert [e["ids"] for e in logs if e.get("reason") == "malformed_retry"] == [[poisoned]]
    letters = [f for _id, f in await client.xrange(keys.dead) if f.get("endpoint") == "bot"]
    assert [(f["stream_id"], f["record"]) for f in letters] == [
        (poisoned, '{"event": 7, "data": []}')
    ]
    assert "malformed_retry: not a retry record" in letters[0]["reasons"]
    stream_ids = {fields["data"]: i for i, fields in await client.xrange(keys.stories)}
    retried = [verify(r.body, r.headers)["data"]["id"] for r in rx.requests[2:3]]
    assert [stream_ids[doc] for doc in stream_ids if json.loads(doc)["id"] in retried] == [kept]


async def test_a_stories_key_of_the_wrong_type_is_logged_once_per_part(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """When ``<ns>:stories`` is not a stream, the daemon's loops keep running and say so once
    each (the stream watcher with its traceback, each endpoint as bad_state), not every
    second; ``status`` still answers."""
    await client.set(Keys(ns).stories, "not a stream")
    d = dispatcher(client, ns, [hook("a", receiver().url), hook("b", receiver().url)])
    with capture_logs() as logs:
        async with running(d):
            await asyncio.sleep(2.5)  # a few turns of every loop (their backoff is 1 s)
            rows = await d.status()
    assert [e["event"] for e in logs if e["event"] == "webhook_watch_error"] == [
        "webhook_watch_error"
    ]
    failed = [e["endpoint"] for e in logs if e["event"] == "webhook_endpoint_failed"]
    assert sorted(failed) == ["a", "b"]
    assert not [e for e in logs if e["event"] == "webhook_loop_error"]
    assert {name: row["healthy"] for name, row in rows.items()} == {"a": False, "b": False}
    assert "stories holds a string, not a stream" in rows["a"]["problem"]


async def test_successes_are_debug_lines_and_a_summary_failures_are_warnings(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """Each delivery logs at DEBUG only; the daemon's INFO line per endpoint counts them; a
    failed attempt is a WARNING of its own."""
    ok, failing = receiver(), receiver(default=503)
    d = dispatcher(client, ns, [hook("ok", ok.url), hook("bad", failing.url, retry=["1h"])])
    with capture_logs() as logs:
        async with running(d):
            await emit(client, ns, 3)
            await ok.wait_for(3)
            await until(lambda: _status_is(d, "bad", retrying=3))
    attempts = [e for e in logs if e["event"] == "webhook"]
    assert {e["log_level"] for e in attempts if e["outcome"] == "delivered"} == {"debug"}
    assert [e["log_level"] for e in attempts if e["outcome"] == "retry"] == ["warning"] * 3
    summaries = {e["endpoint"]: e for e in logs if e["event"] == "webhooks"}
    assert summaries["ok"]["log_level"] == "info"
    assert (summaries["ok"]["delivered"], summaries["bad"]["failed"]) == (3, 3)


# --- group commit: the batching under the shared stream reads and settlements ---------------


async def test_group_commit_joins_calls_made_together_into_one_flush() -> None:
    """Calls submitted in the same turn of the event loop go out as one flush, in order, and
    each caller gets its own result."""
    flushed: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushed.append(items)
        return [i * 10 for i in items]

    commit = GroupCommit(flush, limit=100)
    results = await asyncio.gather(*(commit.submit(i) for i in range(5)))
    assert (results, flushed) == ([0, 10, 20, 30, 40], [[0, 1, 2, 3, 4]])


async def test_group_commit_calls_during_a_flush_wait_for_the_next_one() -> None:
    """A call made while a flush is on the wire goes into the next flush; ``limit`` caps one."""
    flushed: list[list[int]] = []
    gate = asyncio.Event()

    async def flush(items: list[int]) -> list[None]:
        flushed.append(items)
        await gate.wait()
        return [None] * len(items)

    commit = GroupCommit(flush, limit=2)
    first = asyncio.create_task(commit.submit(1))
    await asyncio.sleep(0)  # the flush of [1] starts
    later = [asyncio.create_task(commit.submit(i)) for i in (2, 3, 4)]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *later)
    assert flushed == [[1], [2, 3], [4]]


async def test_group_commit_failure_reaches_every_caller_of_that_batch_only() -> None:
    """When a flush raises, each caller in that batch gets the error; the next batch runs."""
    calls = 0

    async def flush(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("redis went away")
        return items

    commit = GroupCommit(flush, limit=100)
    failed = await asyncio.gather(commit.submit("a"), commit.submit("b"), return_exceptions=True)
    assert [type(f) for f in failed] == [RuntimeError, RuntimeError]
    assert await commit.submit("c") == "c"


async def test_group_commit_flushes_the_item_of_a_cancelled_caller() -> None:
    """A caller cancelled while it waits does not take its item back (it may be on the wire):
    the flush completes, and ``idle`` waits for it."""
    flushed: list[str] = []
    gate = asyncio.Event()

    async def flush(items: list[str]) -> list[None]:
        await gate.wait()
        flushed.extend(items)
        return [None] * len(items)

    commit = GroupCommit(flush, limit=100)
    caller = asyncio.create_task(commit.submit("settle-me"))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    gate.set()
    await commit.idle()
    assert flushed == ["settle-me"]


class Resolutions:
    """A resolver that records every question and knows no name: nothing leaves loopback."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        raise OSError(f"{host}: no such name")


async def test_sender_unparseable_url_fails_the_attempt_before_connecting(receiver: Make) -> None:
    """http://0177.0.0.2/ (octal for loopback 127.0.0.2, which httpx refuses to parse) is a
    failed attempt with reason invalid_url, naming the host but never the path; nothing is
    resolved or connected."""
    rx = receiver(host="127.0.0.2")
    port = rx.url.split(":")[2].split("/")[0]
    resolver = Resolutions()
    sender = Sender(
        timeout=2.0, connections=1, allow_private_networks=("127.0.0.0/8",), resolver=resolver
    )
    try:
        attempt = await sender.post(f"http://0177.0.0.2:{port}/T0KEN-path", b"{}", {})
    finally:
        await sender.aclose()
    assert (attempt.status, attempt.reason) == (None, "invalid_url")
    assert f"http://0177.0.0.2:{port}" in attempt.detail
    assert "T0KEN" not in attempt.detail
    assert (resolver.calls, rx.connections) == ([], 0)


async def test_sender_unresolvable_host_is_dns() -> None:
    """A webhook host that does not resolve is a failed attempt with reason dns."""
    resolver = Resolutions()
    sender = Sender(timeout=2.0, connections=1, resolver=resolver)
    try:
        attempt = await sender.post("https://hooks.invalid/T0KEN-path", b"{}", {})
    finally:
        await sender.aclose()
    assert (attempt.status, attempt.reason) == (None, "dns")
    assert "T0KEN" not in attempt.detail
    assert resolver.calls == ["hooks.invalid"]


async def test_unparseable_webhook_url_is_dead_lettered_without_its_path(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """Through the dispatcher, such a URL is an ordinary failed attempt (not an internal
    error with a traceback): dead-lettered as invalid_url, its path in no log, status or dead
    letter, and the loopback address behind it never contacted."""
    rx = receiver(host="127.0.0.2")
    port = rx.url.split(":")[2].split("/")[0]
    token = "T0KEN-in-the-path"
    endpoint = hook("bot", rx.url, retry=[]).model_copy(
        update={"url": f"http://0177.0.0.2:{port}/{token}"}  # as if config let it through
    )
    d = dispatcher(client, ns, [endpoint], allow_private_networks=("127.0.0.0/8",))
    await d.ensure_groups()
    await emit(client, ns)
    with capture_logs() as logs:
        report = await d.drain(wait=0)
        status = await d.status()
    await d.aclose()
    assert report.dead == 1
    ((_id, fields),) = await client.xrange(f"{ns}:webhooks:dead")
    assert "invalid_url" in json.loads(fields["reasons"])[0]
    assert not [e for e in logs if e["event"] == "webhook_internal_error"]
    assert any(e.get("reason") == "invalid_url" for e in logs)
    for text in (repr(logs), json.dumps(status), repr(fields)):
        assert token not in text
    assert rx.connections == 0


@pytest.mark.parametrize(
    "value", ["²", "Mon, 23 Nov 99999999999 10:00:30 GMT"], ids=["unicode-digit", "year-overflow"]
)
async def test_unusable_retry_after_from_a_receiver_is_ignored(
    client: aioredis.Redis, ns: str, receiver: Make, value: str
) -> None:
    """A receiver's unreadable Retry-After is no Retry-After: the schedule's retry follows and
    delivers, with no internal error."""
    rx = receiver((429, {"retry-after": value}), default=200)
    d = dispatcher(client, ns, [hook("bot", rx.url, retry=["50ms"])])
    await d.ensure_groups()
    await emit(client, ns)
    with capture_logs() as logs:
        report = await d.drain(wait=5)
    await d.aclose()
    assert (report.failed, report.delivered, len(rx.requests)) == (1, 1, 2)
    assert not [e for e in logs if e["event"] == "webhook_internal_error"]
