"""Redis memory per story at the defaults: the stream (capped), story records, URL and text keys.

Emits N stories through ``Stories.record_story`` (the pipeline's own Lua step, with the
record fields a re-check needs) into a Redis of this bench's own (a ``redis-server`` child
on a free loopback port, no persistence, so ``used_memory`` is ours alone), with the default
stream policy (``stream.maxlen`` 100,000).
Texts are the WCXB and dev-set reviewed article bodies, each emitted many times with a
distinct URL and a distinct last line. Prints bytes per story of each part and, from them and
the near-duplicate index's 293 B/story measured at 1M stories (bench/dedupe.py), how many
stories a day a Redis of a given size holds at the defaults (records, URL/text keys and both
indexes live 30 days; the stream holds its cap). The story index (``watcher/store/search.py``:
what the dashboard and ``/api/stories`` list and search) is built from the stream afterwards,
tokenized in this process, and measured as the ``used_memory`` it adds.

    .venv/bin/python bench/stream_memory.py --stories 30000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.builders import document  # noqa: E402
from watcher.store.keys import Keys  # noqa: E402
from watcher.store.retention import StreamPolicy  # noqa: E402
from watcher.store.search import StoryIndex  # noqa: E402
from watcher.store.stories import DEFAULT_TTL, Stories  # noqa: E402
from watcher.tasks import index_entries  # noqa: E402
from watcher.updates import pack_units, unit_prints  # noqa: E402

SHARED = ROOT.parent / "shared"
INDEX_BYTES = 293  # near-duplicate index, bytes per story at 1M stories (bench/RESULTS.md)
IN_FLIGHT = 16
NO_DISK = ("--save", "", "--appendonly", "no", "--dir")


def texts() -> list[tuple[str, str]]:
    out = []
    for name in ("extraction-dev-wcxb", "extraction-dev"):
        truth = json.loads((SHARED / name / "ground-truth.json").read_text())
        for row in truth.values():
            body = row.get("main_content") or row.get("articleBody") or ""
            if isinstance(body, str) and len(body) > 200:
                out.append((str(row.get("title") or "A story"), body))
    return out


async def load(url: str, n: int) -> dict[str, float]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, decode_responses=True)
    keys = Keys("mem")
    stories = Stories(client, keys, stream=StreamPolicy())
    bodies = texts()
    units = [base64.b64encode(pack_units(unit_prints(body))).decode() for _, body in bodies]
    before = int((await client.info("memory"))["used_memory"])
    started = time.perf_counter()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(i: int) -> None:
        async with gate:
            title, body = bodies[i % len(bodies)]
            url = f"https://outlet-{i % 997}.example/news/2026/12/story-{i}"
            doc = document(url, text=f"{body}\n\nStory {i}.", title=title, excerpt=body[:300])
            fields = {"units": units[i % len(bodies)], "checked_at": "1796170000", "etag": '"a"'}
            await stories.record_story(doc, [url], "story.created", fields=fields)

    for start in range(0, n, 1000):
        await asyncio.gather(*(one(i) for i in range(start, min(n, start + 1000))))
    seconds = time.perf_counter() - started
    after = int((await client.info("memory"))["used_memory"])

    async def tokenize(raw: list[tuple[str, str, str]]) -> list[Any]:
        return index_entries(raw)  # in this process; the daemon tokenizes in its workers

    indexed = await StoryIndex(client, keys).catch_up(tokenize, most=n)
    index_bytes = int((await client.info("memory"))["used_memory"]) - after
    length = await client.xlen(keys.stories)
    stream_bytes = int(await client.memory_usage(keys.stories, samples=0) or 0)
    sample = range(0, n, max(1, n // 2000))
    record = url_key = text_key = 0
    for i in sample:
        doc = document(f"https://outlet-{i % 997}.example/news/2026/12/story-{i}")
        record += int(await client.memory_usage(keys.story(doc.id)) or 0)
    for key in [k async for k in client.scan_iter(match="mem:url:*", count=1000)][:2000]:
        url_key += int(await client.memory_usage(key) or 0)
    for key in [k async for k in client.scan_iter(match="mem:text:*", count=1000)][:2000]:
        text_key += int(await client.memory_usage(key) or 0)
    await client.aclose()
    count = len(sample)
    return {
        "stories": n,
        "seconds": seconds,
        "used_memory_delta": after - before,
        "stream_entries": length,
        "stream_bytes": stream_bytes,
        "stream_bytes_per_entry": stream_bytes / max(1, length),
        "record_bytes": record / count,
        "url_key_bytes": url_key / 2000,
        "text_key_bytes": text_key / 2000,
        "indexed": indexed,
        "story_index_bytes_per_story": index_bytes / max(1, indexed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=30_000)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", *NO_DISK, tempfile.mkdtemp()],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        figures = asyncio.run(load(f"redis://127.0.0.1:{port}/0", args.stories))
    finally:
        server.kill()
        server.wait()
    print(json.dumps(figures, indent=2))
    # what is not the stream, per story: records, URL and text keys (used_memory, exact; the
    # sampled MEMORY USAGE figures above under-count hashes with long fields)
    kept = (figures["used_memory_delta"] - figures["stream_bytes"]) / figures["stories"]
    listing = figures["story_index_bytes_per_story"]
    per_story = kept + INDEX_BYTES + listing
    days = DEFAULT_TTL / 86400
    print(f"\nkept {days:.0f} days per story: {per_story:,.0f} B ({kept:,.0f} B record, URL and")
    print(f"text keys; near-duplicate index {INDEX_BYTES} B; story index for /api/stories and")
    print(f"search {listing:,.0f} B); the stream at its cap:")
    print(f"{figures['stream_bytes_per_entry'] * 101_000 / 2**20:,.0f} MiB (101,000 entries)")
    for gib in (1, 4, 16):
        room = gib * 2**30 - figures["stream_bytes_per_entry"] * 101_000
        print(f"{gib:>2} GiB of Redis: {room / per_story / days:,.0f} stories/day")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
