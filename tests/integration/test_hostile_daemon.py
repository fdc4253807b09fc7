"""`watcher run` next to hostile sources: a good source's new story still arrives in time, and
the probes answer throughout.

The hostile host (127.0.0.2) serves what froze the daemon before: a feed opening with 40 empty
comments (exponential backtracking in the HTML sniff), a 5 MB single-line article (quadratic
dateline pattern), and a 4.7 MB listing page of 55k links under 250 nested divs (links x depth).
The good source lives on 127.0.0.1, so per-host politeness does not couple the two.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import Story, article_page, rss, write_config
from tests.support.cli import daemon, serve_stories, stream, wait_until
from tests.support.site import Site

pytestmark = pytest.mark.slow

EVERY = 5.0  # the good source's poll interval
PROBE_EVERY = 0.2


class Prober:
    """GETs /healthz every 200 ms from a thread; a probe that fails counts as too slow."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=5) as answer:
                    answer.read()
                    ok = answer.status == 200
            except OSError:
                ok = False
            self.latencies.append(time.monotonic() - started if ok else float("inf"))
            self._stop.wait(PROBE_EVERY)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@pytest.fixture
def hostile() -> Iterator[Site]:
    with Site("127.0.0.2") as started:
        yield started


def serve_hostile(site: Site) -> dict[str, str]:
    """The three hostile sources' URLs on ``site``."""
    base = site.url("").rstrip("/")
    bomb_story = Story("bomb-story", "Meta and the comment bomb")
    site.add(bomb_story.path, article_page(bomb_story, base))
    feed = rss([bomb_story], base)
    declaration, _, rest = feed.partition("\n")
    site.add("/bomb.xml", declaration + "\n" + "<!---->" * 40 + rest)

    long_story = Story("long-line", "Meta and the endless line")
    line = "12:34-" * 800_000  # 4.8 MB, one word, under max_bytes
    page = f"<html><body><article><h1>Long</h1><p>{line}</p></article></body></html>"
    site.add(long_story.path, page)
    site.add("/long.xml", rss([long_story], base))

    links = "".join(
        f'<a href="/links/{i}/meta-story-number-{i}">Meta story number {i} of the day</a>\n'
        for i in range(55_000)
    )
    site.add("/listing", f"<html><body>{'<div>' * 250}{links}{'</div>' * 250}</body></html>")
    return {
        "bomb": f"{base}/bomb.xml",
        "long": f"{base}/long.xml",
        "long_article": long_story.path,
        "listing": f"{base}/listing",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_good_source_and_probes_survive_hostile_sources(
    site: Site,
    hostile: Site,
    tmp_path: Path,
    redis_url: str,
    ns: str,
    redis_client: redis.Redis,
) -> None:
    first = Story("meta-first", "Meta ships the first model")
    later = Story("meta-later", "Meta ships the later model")
    base = serve_stories(site, [first, later])
    site.add("/good.xml", rss([first], base))
    urls = serve_hostile(hostile)
    port = free_port()
    sources: list[dict[str, Any]] = [
        {"name": "good", "type": "feed", "url": f"{base}/good.xml", "every": f"{EVERY}s"},
        {"name": "bomb", "type": "feed", "url": urls["bomb"], "every": "5s"},
        {"name": "long", "type": "feed", "url": urls["long"], "every": "5s"},
        {"name": "listing", "type": "page", "url": urls["listing"], "every": "5s"},
    ]
    config = write_config(
        tmp_path / "watcher.yaml",
        redis={"url": redis_url, "namespace": ns},
        data_dir=str(tmp_path / "data"),
        http={"host": "127.0.0.1", "port": port},
        fetch={"allow_private_networks": ["127.0.0.0/8"], "delay": "0s", "timeout": "5s"},
        topics=[{"name": "meta-ai", "any": ["Meta"]}],
        sources=sources,
    )
    with daemon(config) as run:
        wait_until(lambda: _alive(port), within=60, what="/healthz")
        with Prober(port) as prober:
            wait_until(lambda: _titles(redis_client, ns) >= {first.title}, within=60, what="first")
            for path in ("/bomb.xml", "/listing", urls["long_article"]):
                wait_until(lambda path=path: hostile.hits(path), within=30, what=path)
            site.add("/good.xml", rss([later, first], base))
            appeared = time.monotonic()
            wait_until(
                lambda: later.title in _titles(redis_client, ns), within=60, what="the later story"
            )
            waited = time.monotonic() - appeared
            time.sleep(2)  # keep probing while the hostile sources are polled again
        stopped = time.monotonic()
        assert run.stop(timeout=15) == 0
        exit_seconds = time.monotonic() - stopped
    assert waited <= EVERY + 5, f"the good story took {waited:.1f} s"
    assert exit_seconds <= 10, f"SIGTERM took {exit_seconds:.1f} s"
    assert len(prober.latencies) >= 20
    assert prober.p99() < 1.0, f"/healthz p99 {prober.p99():.2f} s over {len(prober.latencies)}"


def _alive(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _titles(client: redis.Redis, ns: str) -> set[str]:
    return {doc["title"] for doc in stream(client, ns)}
