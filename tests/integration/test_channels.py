"""The channel seam: a new channel is a module plus one registration line, and it gets the
shared machinery (durable retries, dead letters, counts) without writing any of it."""

from __future__ import annotations

import random
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.integration.test_webhooks import emit
from watcher.config import Config, Webhook
from watcher.errors import ConfigError
from watcher.store.keys import Keys
from watcher.webhooks import channels
from watcher.webhooks.channels.base import Channel, ChannelContext, ChannelKind, Event
from watcher.webhooks.delivery import Dispatcher
from watcher.webhooks.outcome import Delivered, Outcome, Retry

pytestmark = pytest.mark.anyio


class Recording(Channel):
    """A channel written as a contributor would: fails its first attempt, then succeeds."""

    seen: list[Event]

    def __init__(self, hook: Webhook, context: ChannelContext) -> None:
        self.seen = []
        Recording.last = self

    async def deliver(self, event: Event) -> Outcome:
        self.seen.append(event)
        if len(self.seen) == 1:
            return Retry("busy", "try again", delay=0.05)
        return Delivered()

    last: Recording


KIND = ChannelKind(check=lambda hook: [], build=Recording, secrets=lambda hook: [])


def entry(name: str, fmt: str) -> Webhook:
    return Webhook.model_validate(
        {"name": name, "url": "rec://inbox", "format": fmt, "retry": ["50ms"]}
    )


async def test_registered_channel_gets_retries_and_counts(
    client: aioredis.Redis, ns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One REGISTRY line makes ``format: recording`` deliverable; its Retry is scheduled
    durably and attempted again with the same event id, then counted as delivered."""
    monkeypatch.setitem(channels.REGISTRY, "recording", KIND)
    d = Dispatcher(
        client, Keys(ns), [entry("rec", "recording")], consumer="c", rng=random.Random(1)
    )
    await d.ensure_groups()
    [story_id] = await emit(client, ns)
    report = await d.drain(wait=5)
    await d.aclose()
    seen = Recording.last.seen
    assert [e.data["id"] for e in seen] == [story_id, story_id]
    assert seen[0].id == seen[1].id  # stable across the retry
    assert [e.attempt for e in seen] == [1, 2]
    assert (report.delivered, report.failed, report.waiting) == (1, 1, 0)


def test_unknown_format_is_a_config_problem_naming_the_known_ones() -> None:
    """A format nobody registered is reported at its key path, with the registered names."""
    config = Config.model_validate(
        {
            "sources": [{"name": "s", "type": "feed", "url": "https://a.test/f"}],
            "notify": [{"name": "n", "url": "json://127.0.0.1/", "format": "pigeon"}],
        }
    )
    with pytest.raises(ConfigError) as info:
        channels.check(config)
    [problem] = info.value.problems
    assert problem.path == "notify[0].format"
    assert all(name in problem.message for name in channels.REGISTRY)


@pytest.mark.parametrize("name", sorted(channels.REGISTRY))
def test_every_registered_kind_builds_a_channel(name: str) -> None:
    """Each registry entry is a ChannelKind whose ``build`` makes a Channel (the seam's type)."""
    kind: Any = channels.REGISTRY[name]
    assert isinstance(kind, ChannelKind)
    assert isinstance(kind.build, type)
    assert issubclass(kind.build, Channel)
