"""`every: auto` end to end (issue 15): a real `watcher run` learns each source's interval
from what it publishes. A feed whose items arrive every 2 s and one that never changes:
their learned intervals diverge within their bounds, the busy one's new items reach the
stream within `min_every` + 2 s, and `watcher status` (text and JSON) shows the intervals."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from tests.support.builders import Story, article_page, rss
from tests.support.cli import daemon, run_cli, stream, wait_until
from tests.support.site import Site

pytestmark = pytest.mark.slow

MIN_EVERY = 2.0
MAX_EVERY = 20.0
ARRIVAL = 2.0  # s between the busy feed's items


class Wire:
    """A feed that gains an item (and its article page) every ARRIVAL seconds."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.base = site.url("").rstrip("/")
        self.items: list[Story] = []
        self.added: dict[str, float] = {}  # title → monotonic time it was listed
        self._stop = threading.Event()
        for _ in range(3):
            self.publish(backdate=True)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def publish(self, *, backdate: bool = False) -> None:
        n = len(self.items)
        when = datetime.now(UTC) - timedelta(seconds=ARRIVAL * (3 - n) if backdate else 0)
        story = Story(f"wire-{n}", f"Meta wire item {n}", published=when)
        self.site.add(story.path, article_page(story, self.base))
        self.items.insert(0, story)
        self.site.add("/wire.xml", rss(self.items[:20], self.base), etag=f'"w{n}"')
        self.added[story.title] = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(ARRIVAL):
            self.publish()

    def __enter__(self) -> Wire:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def wire(site: Site) -> Iterator[Wire]:
    with Wire(site) as feed:
        yield feed


def test_busy_and_still_feeds_learn_diverging_intervals_and_busy_items_arrive_fast(
    site: Site,
    wire: Wire,
    make_config: Callable[..., Path],
    redis_client: redis.Redis,
    ns: str,
) -> None:
    base = wire.base
    still = [
        Story(f"still-{i}", f"Meta still item {i}", published=datetime.now(UTC) - timedelta(days=i))
        for i in range(1, 4)
    ]
    for story in still:
        site.add(story.path, article_page(story, base))
    site.add("/still.xml", rss(still, base), etag='"s1"')
    bounds = {"every": "auto", "min_every": f"{MIN_EVERY:g}s", "max_every": f"{MAX_EVERY:g}s"}
    config = make_config(
        [
            {"name": "wire", "type": "feed", "url": f"{base}/wire.xml", **bounds},
            {"name": "still", "type": "feed", "url": f"{base}/still.xml", **bounds},
        ]
    )

    def learned() -> dict[str, float]:
        values = redis_client.hgetall(f"{ns}:intervals")
        return {name: int(ms) / 1000 for name, ms in values.items()}

    with daemon(config) as proc:
        # hang guards: the intervals are learned over several polls, slower on a loaded machine
        wait_until(lambda: learned().get("wire") == MIN_EVERY, 90, "the wire feed at min_every")
        wait_until(lambda: learned().get("still") == MAX_EVERY, 90, "the still feed at max_every")
        # from now on every new wire item must be in the stream within min_every + 2 s
        start = time.monotonic()
        seen: dict[str, float] = {}  # title → when the stream first had it
        while time.monotonic() < start + 12:
            now = time.monotonic()
            for doc in stream(redis_client, ns):
                seen.setdefault(doc["title"], now)
            time.sleep(0.1)
        listed = {t: at for t, at in wire.added.items() if start <= at <= start + 8}
        assert len(listed) >= 3, listed
        assert set(listed) <= set(seen), (listed, seen)
        for title, at in listed.items():
            assert seen[title] - at <= MIN_EVERY + 2, (title, seen[title] - at)
        assert learned()["still"] == MAX_EVERY
        assert MIN_EVERY <= learned()["wire"] <= 2 * MIN_EVERY  # a 304 between items: x1.5
        assert proc.stop() == 0

    # over the 12 s window: the wire feed polled every few seconds, the still one at most once
    def polls(path: str) -> int:
        return sum(1 for seen in site.hits(path) if start <= seen.at <= start + 12)

    assert polls("/wire.xml") >= 4, polls("/wire.xml")
    assert polls("/still.xml") <= 1, polls("/still.xml")

    text = run_cli("status", "--config", str(config)).stdout
    body = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)
    wire_every, still_every = (body["sources"][n]["every"] for n in ("wire", "still"))
    assert (MIN_EVERY <= wire_every <= 2 * MIN_EVERY, still_every) == (True, MAX_EVERY)
    assert f"  every {wire_every:g}s (auto: learned, within 2s-20s)" in text, text
    assert "  every 20s (auto: learned, within 2s-20s)" in text, text
    assert body["sources"]["wire"]["every_auto"] is True
