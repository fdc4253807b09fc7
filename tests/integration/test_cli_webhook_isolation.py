"""One endpoint's corrupt state in Redis stays its own, through the real CLI and daemon.

The corruption is real: ``<ns>:webhooks:retries:<endpoint>`` holds a plain string (as after an
operator's mistaken SET), so every command on it gets WRONGTYPE from Redis. The other endpoint
must get its events, the cycle must finish, and the broken one must say once, clearly, which
key is wrong; once the key is mended, its events (which waited in Redis) are delivered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import rss
from tests.support.cli import daemon, meta_stories, run_cli, serve_stories, wait_until
from tests.support.receiver import SECRET, Receiver

pytestmark = pytest.mark.slow

Make = Callable[..., Receiver]


def two_endpoints(
    site: Any, make_config: Callable[..., Path], bad: Receiver, good: Receiver
) -> Path:
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    return make_config(
        [{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}],
        webhooks=[
            {"name": "bad", "url": f"{bad.url}/T0KENinPath123", "secret": SECRET},
            {"name": "good", "url": good.url, "secret": SECRET},
        ],
    )


def log_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_once_isolates_an_endpoint_whose_retry_key_has_the_wrong_type(
    site: Any, make_config: Callable[..., Path], receiver: Make, redis_client: redis.Redis, ns: str
) -> None:
    """`once` exits 0, the good endpoint gets both events, the bad one is one ERROR line (no
    traceback, no URL path) naming the key, reported in the summary and as UNHEALTHY in
    `status`; after the key is deleted, the next `once` delivers the bad endpoint's events."""
    bad, good = receiver(), receiver()
    config = two_endpoints(site, make_config, bad, good)
    retries = f"{ns}:webhooks:retries:bad"
    redis_client.set(retries, "not a zset")

    once = run_cli("once", "--config", str(config), "--wait", "0")

    assert once.returncode == 0, once.stderr[-3000:]
    assert "local: polled 2, new 2" in once.stdout
    problem = f"{retries} holds a string, not a zset (WRONGTYPE)"
    assert f"endpoint bad failed: {problem}" in once.stdout, once.stdout
    assert (len(good.requests), len(bad.requests)) == (2, 0)
    lines = log_lines(once.stderr)
    failed = [e for e in lines if e["event"] == "webhook_endpoint_failed"]
    assert [(e["endpoint"], e["level"], e["error"]) for e in failed] == [("bad", "error", problem)]
    assert not [e for e in lines if "exception" in e], once.stderr[-3000:]
    assert "T0KENinPath123" not in once.stdout + once.stderr

    status = run_cli("status", "--config", str(config))
    assert status.returncode == 0, status.stderr[-3000:]
    assert "webhook bad (standard → http://127.0.0.1:" in status.stdout
    assert f"UNHEALTHY\n  failed: {problem}" in status.stdout, status.stdout
    assert "healthy, pending 0 (retrying 0), delivered 2, failed 0, dead 0" in status.stdout
    rows = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)["webhooks"]
    assert (rows["bad"]["healthy"], rows["bad"]["problem"]) == (False, problem)
    assert (rows["good"]["healthy"], rows["good"]["problem"]) == (True, None)

    redis_client.delete(retries)
    again = run_cli("once", "--config", str(config), "--wait", "0")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "webhooks: delivered 2, failed attempts 0" in again.stdout, again.stdout
    assert "failed:" not in again.stdout
    assert (len(good.requests), len(bad.requests)) == (2, 2)


def test_daemon_logs_a_corrupt_key_once_and_resumes_when_it_is_mended(
    site: Any, make_config: Callable[..., Path], receiver: Make, redis_client: redis.Redis, ns: str
) -> None:
    """`watcher run` delivers to the good endpoint while the bad one holds off, logging its
    problem once (not once per loop turn) even after re-checks; deleting the key lets it
    deliver the events that waited, and logs that it recovered."""
    bad, good = receiver(), receiver()
    config = two_endpoints(site, make_config, bad, good)
    retries = f"{ns}:webhooks:retries:bad"
    redis_client.set(retries, "not a zset")
    with daemon(config) as run:
        wait_until(lambda: len(good.requests) >= 2, what="the good endpoint's deliveries")
        wait_until(lambda: "webhook_endpoint_failed" in run.stderr, what="the bad endpoint's line")
        time.sleep(6)  # past one BROKEN_RECHECK: the re-check must not log the problem again
        assert len(bad.requests) == 0
        redis_client.delete(retries)
        wait_until(lambda: len(bad.requests) >= 2, what="the mended endpoint's deliveries")
        assert run.stop() == 0
        lines = log_lines(run.stderr)
    failed = [e for e in lines if e["event"] == "webhook_endpoint_failed"]
    assert [e["endpoint"] for e in failed] == ["bad"], failed
    assert [e["endpoint"] for e in lines if e["event"] == "webhook_endpoint_recovered"] == ["bad"]
    assert not [e for e in lines if "exception" in e]
    assert len(good.requests) == 2
