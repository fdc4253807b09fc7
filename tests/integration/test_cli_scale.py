"""`watcher once` above 100 sources (issue 14): one bounded Redis pool per process and at most
`concurrency` polls at once, so 1,000 feeds answering 304 poll without "Too many connections".
Real CLI, real Redis, feeds on ten loopback hosts (127.0.0.2-11)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.builders import rss
from tests.support.cli import run_cli
from tests.support.site import Site

pytestmark = pytest.mark.slow

FEEDS = 1000
HOSTS = 10
PER_HOST = 4


@pytest.fixture
def sites() -> Iterator[list[Site]]:
    started = [Site(f"127.0.0.{i + 2}").start() for i in range(HOSTS)]
    yield started
    for site in started:
        site.stop()


def test_once_over_1000_feeds_answering_304_succeeds(
    sites: list[Site], make_config: Callable[..., Path]
) -> None:
    """The first cycle stores each feed's ETag; the second gets 304 from all 1,000 and exits 0
    with every source reachable, no poll crashed and each host's limit kept."""
    sources = []
    for i in range(FEEDS):
        site = sites[i % HOSTS]
        url = site.add(f"/f{i}.xml", rss([], site.url()), etag=f'"v{i}"')
        sources.append({"name": f"f{i}", "type": "feed", "url": url})
    fetch = {
        "allow_private_networks": ["127.0.0.0/8"],
        "delay": "0s",
        "timeout": "10s",
        "per_host": PER_HOST,
        "robots": False,
    }
    config = make_config(sources, fetch=fetch, concurrency=32)

    for cycle in ("first", "second"):
        once = run_cli("once", "--config", str(config), timeout=300)
        assert once.returncode == 0, (cycle, once.stdout[-2000:], once.stderr[-3000:])
        assert f"{FEEDS} of {FEEDS} sources reachable" in once.stdout, once.stdout[-2000:]
        assert "Too many connections" not in once.stderr
        assert '"internal"' not in once.stderr, once.stderr[-3000:]
    conditional = [
        seen for site in sites for seen in site.requests if "if-none-match" in seen.headers
    ]
    assert len(conditional) == FEEDS  # the second cycle: every feed asked conditionally
    assert all(site.max_in_flight <= PER_HOST for site in sites), [s.max_in_flight for s in sites]
