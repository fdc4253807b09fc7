"""No lxml parsing on more than one thread of a process (issue 14: the daemon crashed with
SIGSEGV/SIGABRT inside lxml while several extraction threads parsed at once).

The daemon process itself must not parse at all during a poll: feeds, pages, extraction,
cleaning and the decoding of big or gzipped bodies run in the worker pool, whose workers run
one task at a time on their main thread. Real App, real Redis, real pool, loopback site.
"""

from __future__ import annotations

import asyncio
import gzip
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from scrapers import extract
from tests.support import tasks
from tests.support.builders import Story, article_page, news_sitemap, paragraphs, rss
from tests.support.cli import meta_stories, serve_stories
from watcher.app import App
from watcher.config import load_config
from watcher.workers import Workers

pytestmark = pytest.mark.anyio

# Python code whose running means an lxml tree is being built or walked in this process.
PARSING = ("/lxml/", "/trafilatura/", "/scrapers/extract.py", "/scrapers/discover/")
# Charset detection: allowed on the event loop's thread for small bodies (it is C-speed
# there), never on another thread of the daemon.
DECODING = ("/scrapers/charset.py", "/charset_normalizer/")


class ParserCalls:
    """A profile hook on every thread: which threads entered parsing code, and where."""

    def __init__(self) -> None:
        self.seen: dict[int, set[str]] = {}
        self.decoding: set[int] = set()
        self._lock = threading.Lock()

    def hook(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        name = frame.f_code.co_filename
        if any(part in name for part in PARSING):
            with self._lock:
                self.seen.setdefault(threading.get_ident(), set()).add(name)
        elif any(part in name for part in DECODING):
            self.decoding.add(threading.get_ident())

    def __enter__(self) -> ParserCalls:
        threading.setprofile(self.hook)  # threads started from now on (to_thread's pool)
        sys.setprofile(self.hook)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]


def _site_sources(site: Any) -> list[dict[str, Any]]:
    """A feed, a gzipped news sitemap (a body the fetcher inflates and decodes off the loop)
    and a big article (past the 256 KB decode threshold)."""
    stories = [*meta_stories(3), Story("meta-big-story", "Meta big", body=paragraphs("big", 900))]
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories[:2], base))
    site.add("/news.xml.gz", gzip.compress(news_sitemap(stories[2:], base).encode(), mtime=0))
    assert len(article_page(stories[3], base).encode()) > 256 * 1024
    return [
        {"name": "feed", "type": "feed", "url": f"{base}/feed.xml", "every": "1h"},
        {"name": "map", "type": "sitemap", "url": f"{base}/news.xml.gz", "every": "1h"},
    ]


async def test_a_poll_parses_nothing_in_the_daemon_process(
    site: Any, make_config: Callable[..., Path]
) -> None:
    """Every lxml/trafilatura call of a poll (feed, gzipped sitemap, big and small articles)
    happens in the workers: the daemon's own threads enter no parsing code at all."""
    config = load_config(make_config(_site_sources(site), workers=2), {})
    app = await App.open(config)
    try:
        await app.workers.start()
        with ParserCalls() as calls:
            # a fresh default executor: its threads start under the hook (3.11 cannot hook
            # threads that already run)
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())
            reports = await app.poll_all()
            seen, decoding = dict(calls.seen), set(calls.decoding)
            # the hook does see parsing on a thread: what the pipeline did before the pool
            await asyncio.to_thread(extract, article_page(meta_stories(1)[0], site.url("")))
    finally:
        await app.aclose()
    assert [(r.error, r.new) for r in reports] == [(None, 2), (None, 2)], reports
    assert seen == {}, f"parsing on the daemon's own threads: {seen}"
    assert decoding <= {threading.main_thread().ident}, "charset detection on a thread"
    assert len(calls.seen) == 1, "the profile hook missed an extraction on a thread"


async def test_a_worker_runs_its_tasks_on_its_one_main_thread() -> None:
    """A worker has its main thread, which runs every task, and the parent watch, which only
    sleeps: no other thread exists to parse beside a task."""
    workers = Workers(2, deadline=10.0)
    await workers.start()
    try:
        answers = await asyncio.gather(*(workers.run("t", tasks.threads) for _ in range(8)))
    finally:
        await workers.close()
    for on_main, others in answers:
        assert on_main
        assert others == ["parent-watch"]
