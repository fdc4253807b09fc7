"""A host that rate limits us for an hour, through the real CLI: `watcher once` does not wait
for it, later polls of it are deferred without traffic, `status` says until when, and a source
on another host goes on as usual."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.support.builders import rss
from tests.support.cli import daemon, meta_stories, run_cli, serve_stories, stream, wait_until
from tests.support.site import Site

pytestmark = pytest.mark.slow

UTC_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"
HELD_UNTIL = re.compile(rf"rate limited by 127\.0\.0\.1 until ({UTC_ISO})")


def test_once_with_a_host_answering_429_for_an_hour(
    site: Site, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """429 Retry-After: 3600 ends that source's poll at once as rate_limited (`once` finishes
    within the product's 10 s); the next `once` defers it without sending anything, `status`
    shows the hold in UTC, and the source on 127.0.0.2 emits its story both times unaffected."""
    site.add("/feed.xml", "slow down", status=429, headers={"Retry-After": "3600"})
    stories = meta_stories(1)
    with Site("127.0.0.2") as other:
        base = serve_stories(other, stories)
        other.add("/feed.xml", rss(stories, base))
        config = make_config(
            [
                {"name": "held", "type": "feed", "url": site.url("/feed.xml")},
                {"name": "other", "type": "feed", "url": f"{base}/feed.xml"},
            ],
            fetch={"allow_private_networks": ["127.0.0.0/8"], "delay": "0s", "timeout": "5s"},
        )

        first = run_cli("once", "--config", str(config), timeout=10)
        assert first.returncode == 0, first.stderr
        assert "source failed: rate_limited:" in first.stdout, first.stdout
        assert HELD_UNTIL.search(first.stdout), first.stdout
        assert "other: polled 1, new 1, duplicate 0, filtered 0, failed 0" in first.stdout
        sent = len(site.requests)

        second = run_cli("once", "--config", str(config), timeout=10)
        assert second.returncode == 0, second.stderr
        held_line = next(line for line in second.stdout.splitlines() if line.startswith("held:"))
        assert "[deferred: rate limited by 127.0.0.1 until" in held_line
        assert "source failed" not in second.stdout
        assert "other: polled 1, new 0, duplicate 1" in second.stdout
        assert len(site.requests) == sent  # the held host was not asked anything

        status = run_cli("status", "--config", str(config))
        assert status.returncode == 0, status.stderr
        until = HELD_UNTIL.search(status.stdout)
        assert until, status.stdout
        assert "polls deferred: rate limited by 127.0.0.1" in status.stdout
        assert "rate limited by 127.0.0.2" not in status.stdout
    assert [d["title"] for d in stream(redis_client, ns)] == [stories[0].title]
    assert redis_client.hget(f"{ns}:source:held", "polls") == "2"
    assert redis_client.hget(f"{ns}:source:held", "last_reason") == "rate_limited"


def test_articles_on_a_held_host_are_retried_after_the_hold(
    site: Site, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """A feed on 127.0.0.2 lists articles on 127.0.0.1, which rate limits us: the article
    fails as rate_limited, the next poll sends it nothing (deferred) and marks nothing seen,
    and once the hold is over (here: its keys removed) the article is emitted."""
    stories = meta_stories(1)
    article = site.add(stories[0].path, "slow down", status=429, headers={"Retry-After": "3600"})
    with Site("127.0.0.2") as other:
        other.add("/feed.xml", rss(stories, site.url("").rstrip("/")))
        config = make_config(
            [{"name": "listing", "type": "feed", "url": other.url("/feed.xml")}],
            fetch={"allow_private_networks": ["127.0.0.0/8"], "delay": "0s", "timeout": "5s"},
        )
        first = run_cli("once", "--config", str(config), timeout=10)
        assert f"failed {article}: rate_limited" in first.stdout, first.stdout
        sent = len(site.requests)

        second = run_cli("once", "--config", str(config), timeout=10)
        assert f"failed {article}: deferred" in second.stdout, second.stdout
        assert len(site.requests) == sent

        redis_client.delete(f"{ns}:host:127.0.0.1:held", f"{ns}:held")  # an hour later
        serve_stories(site, stories)
        third = run_cli("once", "--config", str(config), timeout=10)
        assert "listing: polled 1, new 1" in third.stdout, third.stdout
    assert [d["title"] for d in stream(redis_client, ns)] == [stories[0].title]


def test_run_does_not_poll_a_source_again_until_its_host_hold_ends(
    site: Site, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """`watcher run`: a source polled every second whose host answers 429 Retry-After: 3600
    is not due again until the hold ends (not polled and logged as deferred every second for
    an hour), while a source on another host goes on every second."""
    site.add("/feed.xml", "slow down", status=429, headers={"Retry-After": "3600"})
    with Site("127.0.0.2") as other:
        other.add("/feed.xml", rss([], other.url("").rstrip("/")))
        config = make_config(
            [
                {"name": "held", "type": "feed", "url": site.url("/feed.xml"), "every": "1s"},
                {"name": "other", "type": "feed", "url": other.url("/feed.xml"), "every": "1s"},
            ],
            fetch={"allow_private_networks": ["127.0.0.0/8"], "delay": "0s", "timeout": "5s"},
        )
        with daemon(config) as run:
            wait_until(
                lambda: int(redis_client.hget(f"{ns}:source:other", "polls") or 0) >= 5,
                what="five polls of the other source",
            )
            assert run.stop() == 0
    assert redis_client.hget(f"{ns}:source:held", "polls") == "1"
    assert redis_client.hget(f"{ns}:source:held", "last_reason") == "rate_limited"
    assert len(site.hits("/feed.xml")) == 1
    due = redis_client.zscore(f"{ns}:due", "held")
    assert due is not None
    assert due / 1000 > time.time() + 3500  # due again when the hold ends, an hour from now
