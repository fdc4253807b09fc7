"""Webhooks through the real CLI: `once` delivers and waits for retries, `run` delivers as a
daemon, `webhooks replay` re-delivers dead letters, `status` shows endpoints, `check` names a bad
secret without printing it. Receivers are real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import standardwebhooks

from tests.support.builders import rss
from tests.support.cli import daemon, meta_stories, run_cli, serve_stories, stream, wait_until
from tests.support.receiver import SECRET, Receiver

pytestmark = pytest.mark.slow

Make = Callable[..., Receiver]


def hook(name: str, rx: Receiver, **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": rx.url, "secret": SECRET, **extra}


def feed_config(
    site: Any, make_config: Callable[..., Path], n: int, hooks: list[dict[str, Any]]
) -> Path:
    stories = meta_stories(n)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    topics = [
        {"name": "meta-ai", "any": ["Meta", "Llama"]},
        {"name": "gardening", "any": ["tomatoes"]},
    ]
    source = {"name": "local", "type": "feed", "url": f"{base}/feed.xml"}
    return make_config([source], webhooks=hooks, topics=topics)


def test_once_delivers_signed_events_honouring_topic_filters(
    site: Any, make_config: Callable[..., Path], receiver: Make, redis_client: redis.Redis, ns: str
) -> None:
    """Each new story reaches the matching endpoint once, signed; the off-topic one gets none."""
    on, off = receiver(), receiver()
    config = feed_config(
        site,
        make_config,
        2,
        [hook("news", on, topics=["meta-ai"]), hook("garden", off, topics=["gardening"])],
    )
    result = run_cli("once", "--config", str(config), "--wait", "5")
    assert result.returncode == 0, result.stderr
    assert "webhooks: delivered 2," in result.stdout, result.stdout
    assert len(on.requests) == 2
    assert off.requests == []
    titles = set()
    for request in on.requests:
        payload = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
        assert payload["type"] == "story.created"
        assert payload["data"]["source"] == "local"
        titles.add(payload["data"]["title"])
    assert titles == {d["title"] for d in stream(redis_client, ns)}
    assert SECRET.removeprefix("whsec_") not in result.stdout + result.stderr


def test_receiver_down_during_a_run_gets_everything_on_the_next(
    site: Any, make_config: Callable[..., Path], receiver: Make
) -> None:
    """Retries live in Redis: a later process delivers what an earlier one could not."""
    rx = receiver()
    rx.stop()  # connection refused while the first process runs
    config = feed_config(site, make_config, 2, [hook("news", rx, retry=["1s", "1s", "1s"])])
    first = run_cli("once", "--config", str(config), "--wait", "0")
    assert first.returncode == 0, first.stderr
    assert "webhooks: delivered 0, failed attempts 2, dead 0, retrying later 2" in first.stdout
    rx.start()
    second = run_cli("once", "--config", str(config), "--wait", "10")
    assert second.returncode == 0, second.stderr
    assert "new 0" in second.stdout
    assert "webhooks: delivered 2," in second.stdout, second.stdout
    assert len({r.webhook_id for r in rx.requests}) == 2


def test_dead_letter_then_replay_redelivers_with_the_same_id(
    site: Any, make_config: Callable[..., Path], receiver: Make, redis_client: redis.Redis, ns: str
) -> None:
    """After the last attempt the event is dead; `webhooks replay` delivers it, same webhook-id."""
    rx = receiver(default=500)
    config = feed_config(site, make_config, 1, [hook("news", rx, retry=["1s"])])
    once = run_cli("once", "--config", str(config), "--wait", "10")
    assert "dead 1" in once.stdout, once.stdout
    assert redis_client.xlen(f"{ns}:webhooks:dead") == 1
    failed_ids = {r.webhook_id for r in rx.requests}
    assert len(rx.requests) == 2
    rx.script(default=200)
    replay = run_cli("webhooks", "replay", "--endpoint", "news", "--config", str(config))
    assert replay.returncode == 0, replay.stderr
    assert "replay: 1 event queued\n" in replay.stdout, replay.stdout
    assert "webhooks: delivered 1," in replay.stdout, replay.stdout
    assert {rx.requests[-1].webhook_id} == failed_ids
    assert redis_client.xlen(f"{ns}:webhooks:dead") == 0


def test_replay_unknown_endpoint_and_bad_since_exit_2(
    site: Any, make_config: Callable[..., Path], receiver: Make
) -> None:
    config = feed_config(site, make_config, 1, [hook("news", receiver())])
    unknown = run_cli("webhooks", "replay", "--endpoint", "nope", "--config", str(config))
    assert unknown.returncode == 2
    assert "nope" in unknown.stderr
    bad = run_cli("webhooks", "replay", "--since", "yesterday", "--config", str(config))
    assert bad.returncode == 2
    assert "yesterday" in bad.stderr


def test_run_daemon_delivers_and_status_shows_the_endpoint(
    site: Any, make_config: Callable[..., Path], receiver: Make
) -> None:
    """`watcher run` delivers within seconds of emitting; `status` shows counts, no secret."""
    rx = receiver()
    config = feed_config(site, make_config, 2, [hook("news", rx)])
    with daemon(config) as run:
        wait_until(lambda: len(rx.requests) >= 2, what="two deliveries")
        assert run.stop() == 0
        err = run.stderr
    assert SECRET.removeprefix("whsec_") not in err
    status = run_cli("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert "webhook news (standard → http://127.0.0.1:" in status.stdout, status.stdout
    assert "healthy, pending 0 (retrying 0), delivered 2, failed 0, dead 0" in status.stdout
    as_json = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)
    assert as_json["webhooks"]["news"]["delivered"] == 2
    assert SECRET.removeprefix("whsec_") not in status.stdout


def test_check_names_a_bad_secret_without_printing_it(
    site: Any, make_config: Callable[..., Path], receiver: Make
) -> None:
    bad = "whsec_not*base64*at*all*but*secret"
    config = feed_config(
        site, make_config, 1, [{"name": "news", "url": receiver().url, "secret": bad}]
    )
    result = run_cli("check", "--config", str(config))
    assert result.returncode == 2
    assert "webhooks[0].secret" in result.stderr, result.stderr
    assert "secret*" not in result.stderr + result.stdout


def test_dead_letter_is_named_with_the_command_that_redelivers_it(
    site: Any, make_config: Callable[..., Path], receiver: Make
) -> None:
    """With the receiver down (a closed loopback port) an event goes dead: `once` and
    `status` both say so with the replay command for that endpoint (and the --config given),
    and the command they print delivers it once the receiver is back."""
    rx = receiver()
    rx.stop()  # connection refused on 127.0.0.1
    config = feed_config(site, make_config, 1, [hook("news", rx, retry=["1s"])])
    command = f"watcher webhooks replay --endpoint news --config {config}"
    once = run_cli("once", "--config", str(config), "--wait", "5")
    assert once.returncode == 0, once.stderr
    assert "failed attempts 2, dead 1, retrying later 0" in once.stdout, once.stdout
    assert f"\n  endpoint news: dead 1 (re-deliver with: {command})\n" in once.stdout

    status = run_cli("--config", str(config), "status")
    assert status.returncode == 0, status.stderr
    assert f"failed 2, dead 1 (re-deliver with: {command})\n" in status.stdout, status.stdout

    rx.start()
    replay = run_cli(*command.split()[1:])
    assert "webhooks: delivered 1," in replay.stdout, replay.stdout
    after = run_cli("--config", str(config), "status")
    assert "failed 2, dead 0\n" in after.stdout, after.stdout
    assert "re-deliver" not in after.stdout
