"""Scale-out end to end: three real `watcher run` processes on one config, one Redis and one
loopback site behave as one daemon (issue 7): sources shared out by leases, each polled once
per interval, every story emitted once, a killed replica's source taken over."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.support.builders import Story, rss
from tests.support.cli import daemons, meta_stories, run_cli, serve_stories, stream, wait_until
from tests.support.site import Site

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # its hang guards add up past 120 s

FEEDS = ("a", "b", "c")
EVERY = 2.0  # s between polls of one feed
LEASE = 2.0  # s a killed replica's lease outlives it
TICK = min(EVERY, LEASE) / 3  # watcher.store.leases.tick_seconds: how late a claim can come
WINDOW = 5.0  # s over which polls are counted


def holders(client: redis.Redis, ns: str) -> dict[str, str | None]:
    return {name: client.get(f"{ns}:lease:{name}") for name in FEEDS}


def test_three_replicas_share_sources_and_take_over_from_a_killed_one(
    site: Site,
    make_config: Callable[..., Path],
    redis_client: redis.Redis,
    redis_url: str,
    ns: str,
    tmp_path: Path,
) -> None:
    """Three replicas: every story emitted once, each feed polled about once per interval,
    the sources spread over all three; kill -9 of a lease holder: another replica holds its
    source within one lease and polls it; SIGTERM stops the rest with exit 0, leases freed."""
    shared = Story("meta-shared-story", "Meta story listed by every feed")
    expected = [shared.title]
    sources = []
    for name in FEEDS:
        stories = meta_stories(2, prefix=name)
        base = serve_stories(site, [*stories, shared])
        site.add(f"/{name}.xml", rss([*stories, shared], base))
        expected += [s.title for s in stories]
        sources.append({"name": name, "type": "feed", "url": f"{base}/{name}.xml", "every": "2s"})
    config = make_config(sources, redis={"url": redis_url, "namespace": ns, "lease": "2s"})

    with daemons(config, 3) as procs:
        # 1 all three up, every story in the stream once
        # hang guards: three daemons starting at once on a loaded machine took over 30 s
        wait_until(lambda: redis_client.zcard(f"{ns}:replicas") == 3, 90, "three replicas")
        wait_until(lambda: len(stream(redis_client, ns)) >= len(expected), 60, "every story")

        # 2 over a window: each feed polled about once per interval, the feeds spread out
        start = time.monotonic()
        time.sleep(WINDOW)
        for name in FEEDS:
            polls = [s for s in site.hits(f"/{name}.xml") if start <= s.at <= start + WINDOW]
            assert 1 <= len(polls) <= WINDOW / EVERY + 2, (name, len(polls))
        assert len(set(holders(redis_client, ns).values())) == 3, holders(redis_client, ns)
        status = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)
        shown = {name: row["holder"] for name, row in status["leases"].items()}
        assert set(shown.values()) == set(holders(redis_client, ns).values())

        # 3 kill -9 the holder of "a": the lease moves to a survivor, which polls "a"
        victim = holders(redis_client, ns)["a"]
        assert victim is not None
        pid = int(victim.split(":")[1])
        killed = next(p for p in procs if p.pid == pid)
        killed.kill()
        polled_before = len(site.hits("/a.xml"))
        wait_until(
            lambda: holders(redis_client, ns)["a"] not in (None, victim),
            LEASE + 2 * TICK + 0.5,  # expiry, then the next tick of a survivor (with jitter)
            "a survivor to take the lease of 'a' over",
        )
        wait_until(lambda: len(site.hits("/a.xml")) > polled_before, EVERY + LEASE, "'a' polled")

        # 4 SIGTERM: the survivors exit 0 and hand back their leases
        survivors = [p for p in procs if p is not killed]
        for proc in survivors:
            proc.proc.send_signal(signal.SIGTERM)  # all at once, as compose stops replicas
        assert [proc.proc.wait(timeout=10) for proc in survivors] == [0, 0]

    assert list(redis_client.scan_iter(match=f"{ns}:lease:*")) == []
    titles = sorted(doc["title"] for doc in stream(redis_client, ns))
    assert titles == sorted(expected)
