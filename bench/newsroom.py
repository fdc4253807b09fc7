"""A live newsroom on loopback for bench/latency.py and bench/soak.py (issue 14).

Feeds on their own loopback hosts (127.0.0.2 and up; tests/support/site.py servers, threads of
the bench process) gain stories at random moments: ``publish`` serves the article page, then
puts the story at the top of its feed (the newest ``FEED_ITEMS`` kept, a new ETag each time)
and notes the moment it appeared. A webhook receiver (tests/support/receiver.py) notes when
each delivery arrived, and the real `watcher run` CLI (bench/polling.py's ``Daemon``) polls
them. ``settle`` then says, per story, whether it reached the stream once and its webhook at
least once, and how long it took.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from tests.support import site as site_module
from tests.support.builders import Story, article_page, rss, write_config
from tests.support.receiver import SECRET, Receiver
from tests.support.site import Site

FEED_ITEMS = 20  # a feed lists its newest 20 stories, as most news feeds list 10-50

# Real servers set TCP_NODELAY; the stdlib server writes head and body in two sends, and the
# body then waits 40 ms for the client's delayed ACK (bench/pipeline.py does the same).
site_module._Handler.disable_nagle_algorithm = True


@dataclass(frozen=True)
class Appeared:
    """One published story: its URL, and when it appeared in its feed (Unix and monotonic)."""

    url: str
    path: str
    feed: int
    wall: float
    mono: float


@dataclass(frozen=True)
class Outcome:
    """What became of the published stories (``Newsroom.settle``)."""

    published: int
    in_stream: int  # distinct published URLs in the stream
    stream_entries: int  # story.created entries in the stream (each URL once: == in_stream)
    duplicates: int  # URLs emitted more than once
    missing_stream: list[str]
    missing_webhook: list[str]
    latencies: list[float]  # appeared → first webhook arrival, s, one per story delivered
    to_fetch: list[float]  # appeared → its article page requested (the poll that found it)
    to_stream: list[float]  # appeared → its stream entry (Redis's clock, same machine)


class Newsroom:
    """``sources`` feeds over ``hosts`` loopback hosts, a receiver, and what was published."""

    def __init__(self, sources: int, hosts: int, seed: int = 14) -> None:
        self.rng = random.Random(seed)
        self.sites = [Site(host=f"127.0.0.{i + 2}").start() for i in range(hosts)]
        self.feeds: list[list[Story]] = [[] for _ in range(sources)]
        self.versions = [0] * sources
        self.appeared: dict[str, Appeared] = {}
        self.receiver = Receiver()
        self._lock = threading.Lock()

    def site_of(self, feed: int) -> Site:
        return self.sites[feed % len(self.sites)]

    def feed_url(self, feed: int) -> str:
        return self.site_of(feed).url(f"/feed-{feed}.xml")

    def publish(self, feed: int, *, note: bool = True) -> Appeared:
        """A new story at the top of ``feed``: its page first, then the feed (so a poll that
        sees the story can fetch it); ``note`` False for the warm-up's seed stories."""
        site = self.site_of(feed)
        base = site.url("").rstrip("/")
        with self._lock:
            n = len(self.appeared) + sum(len(f) for f in self.feeds)  # unique per run
            story = Story(f"f{feed}-story-{n}", f"Meta story {n} on feed {feed}")
            site.add(story.path, article_page(story, base))
            self.feeds[feed] = [story, *self.feeds[feed]][:FEED_ITEMS]
            self.versions[feed] += 1
            site.add(
                f"/feed-{feed}.xml",
                rss(self.feeds[feed], base),
                headers={"Content-Type": "application/rss+xml"},
                etag=f'"v{self.versions[feed]}"',
            )
            seen = Appeared(f"{base}{story.path}", story.path, feed, time.time(), time.monotonic())
            if note:
                self.appeared[seen.url] = seen
        return seen

    def config(self, tmp: Path, url: str, ns: str, every: list[str], **fetch: Any) -> Path:
        """A config of these feeds (``every`` cycled over them) and one webhook endpoint; the
        product's defaults otherwise (``fetch`` overrides, e.g. ``delay``)."""
        sources = [
            {
                "name": f"feed-{i}",
                "type": "feed",
                "url": self.feed_url(i),
                "every": every[i % len(every)],
            }
            for i in range(len(self.feeds))
        ]
        hook = {"name": "bench", "url": self.receiver.url, "secret": SECRET}
        return write_config(
            tmp / "watcher.yaml",
            redis={"url": url, "namespace": ns},
            data_dir=str(tmp / "data"),
            http={"host": "127.0.0.1", "port": 0},
            fetch={"allow_private_networks": ["127.0.0.0/8"], **fetch},
            topics=[{"name": "meta-ai", "any": ["Meta"]}],
            sources=sources,
            webhooks=[hook],
        )

    def delivered_urls(self) -> set[str]:
        with self.receiver.lock:
            bodies = [r.body for r in self.receiver.requests]
        return {json.loads(body)["data"]["url"] for body in bodies}

    def wait_delivered(self, urls: set[str], within: float) -> bool:
        """Until every URL of ``urls`` has had a webhook, or ``within`` s passed."""
        deadline = time.monotonic() + within
        while not urls <= self.delivered_urls():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

    def settle(self, client: redis.Redis, ns: str) -> Outcome:
        """Every published story against the stream and the receiver's log."""
        created: dict[str, list[float]] = defaultdict(list)
        for entry_id, fields in client.xrange(f"{ns}:stories"):
            if fields[b"event"] == b"story.created":
                url = json.loads(fields[b"data"])["url"]
                created[url].append(int(entry_id.split(b"-")[0]) / 1000)
        first_webhook: dict[str, float] = {}
        with self.receiver.lock:
            requests = list(self.receiver.requests)
        for request in requests:
            url = json.loads(request.body)["data"]["url"]
            first_webhook[url] = min(first_webhook.get(url, request.wall), request.wall)
        fetched: dict[str, float] = {}
        for site in self.sites:
            for seen in list(site.requests):
                fetched.setdefault(f"{site.url('').rstrip('/')}{seen.path}", seen.at)
        stories = self.appeared.values()
        return Outcome(
            published=len(self.appeared),
            in_stream=sum(1 for s in stories if s.url in created),
            stream_entries=sum(len(created[s.url]) for s in stories if s.url in created),
            duplicates=sum(1 for s in stories if len(created.get(s.url, [])) > 1),
            missing_stream=[s.url for s in stories if s.url not in created],
            missing_webhook=[s.url for s in stories if s.url not in first_webhook],
            latencies=[first_webhook[s.url] - s.wall for s in stories if s.url in first_webhook],
            to_fetch=[fetched[s.url] - s.mono for s in stories if s.url in fetched],
            to_stream=[created[s.url][0] - s.wall for s in stories if s.url in created],
        )

    def close(self) -> None:
        self.receiver.stop()
        for site in self.sites:
            site.stop()


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank: a value that was measured, never interpolated)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
