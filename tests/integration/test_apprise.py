"""Apprise channels on the real wire, loopback only: json:// to a local receiver, mailto:// to
a local aiosmtpd SMTP server (down for a while, then up), and the SSRF guard refusing a
private target before any socket opens."""

from __future__ import annotations

import asyncio
import email
import json
import random
import re
import socket
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiosmtpd.controller import Controller
from structlog.testing import capture_logs

from tests.integration.test_fetch import MapResolver
from tests.integration.test_webhooks import emit
from tests.support.receiver import Receiver
from watcher.config import Notify
from watcher.store.keys import Keys
from watcher.webhooks.delivery import Dispatcher

pytestmark = pytest.mark.anyio

LOOPBACK = ("127.0.0.1/32",)
Make = Callable[..., Receiver]


def notify(name: str, url: str, **over: Any) -> Notify:
    return Notify.model_validate({"name": name, "url": url, "retry": ["200ms"] * 5, **over})


def dispatcher(client: aioredis.Redis, ns: str, hooks: list[Notify], **over: Any) -> Dispatcher:
    options: dict[str, Any] = {
        "consumer": "test-1",
        "allow_private_networks": LOOPBACK,
        "rng": random.Random(1),
        "timeout": 5.0,
        **over,
    }
    return Dispatcher(client, Keys(ns), hooks, **options)


class Inbox:
    """aiosmtpd's handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox, Controller]]:
    """An SMTP server on 127.0.0.1 (not started: the test decides when it is up)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    yield port, inbox, controller
    if getattr(controller, "_thread", None) is not None:
        controller.stop()


def mailto(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?from=watcher@news.test&to=reader@news.test&mode=insecure"


async def test_json_channel_posts_the_rendered_template(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """A json:// channel POSTs one message per story whose title and body follow the user's
    template (title, outlet, link)."""
    rx = receiver()
    url = rx.url.replace("http://", "json://")
    template = {"title": "[$outlet] $title", "body": "$link\n$excerpt"}
    d = dispatcher(client, ns, [notify("feed-json", url, template=template)])
    await d.ensure_groups()
    await emit(client, ns)
    report = await d.drain(wait=5)
    await d.aclose()
    [got] = rx.requests
    body = json.loads(got.body)
    assert report.delivered == 1
    assert re.fullmatch(r"\[[a-z.]+\] Story \d+", body["title"]), body["title"]
    assert body["message"].startswith("https://news.test/story-")
    assert body["message"].splitlines()[1].startswith("Story number")


async def test_mailto_channel_retries_until_the_smtp_server_is_up(
    client: aioredis.Redis, ns: str, smtp: tuple[int, Inbox, Controller]
) -> None:
    """With the SMTP server down, the mail attempt fails and is scheduled; once the server is
    up, the retry delivers the story's message (subject from the template) exactly once."""
    port, inbox, controller = smtp
    d = dispatcher(client, ns, [notify("mail", mailto(port))])
    await d.ensure_groups()
    await emit(client, ns)
    state_key = Keys(ns).webhook_endpoint("mail")

    async def start_after_first_failure() -> None:
        async with asyncio.timeout(20):  # hang guard
            while not await client.hget(state_key, "failed"):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await asyncio.to_thread(controller.start)

    starter = asyncio.create_task(start_after_first_failure())
    report = await d.drain(wait=15)
    await starter
    await d.aclose()
    assert report.failed >= 1
    assert report.delivered == 1
    [message] = inbox.messages
    assert message["Subject"].startswith("New story: Story")
    assert message["To"] == "reader@news.test"
    reason = await client.hget(state_key, "last_reason")
    assert "notify_failed" in reason


async def test_private_target_is_refused_before_any_connection(
    client: aioredis.Redis, ns: str, receiver: Make
) -> None:
    """A json:// host that resolves to a private address, and a loopback address outside the
    allow list, are refused by the guard: nothing reaches the receiver, the reason says why."""
    rx = receiver(host="127.0.0.2")  # loopback, but not in LOOPBACK's 127.0.0.1/32
    resolver = MapResolver({"hook.news.test": ["10.0.0.7"]})
    hooks = [
        notify("outside", rx.url.replace("http://", "json://"), retry=[]),
        notify("private", "json://hook.news.test:9/x", retry=[]),
    ]
    d = dispatcher(client, ns, hooks, resolver=resolver)
    await d.ensure_groups()
    await emit(client, ns)
    report = await d.drain(wait=2)
    await d.aclose()
    assert report.dead == 2
    assert rx.connections == 0
    assert resolver.calls == [("hook.news.test", 9)]
    for name in ("outside", "private"):
        reason = await client.hget(Keys(ns).webhook_endpoint(name), "last_reason")
        assert "private_address" in reason, reason


async def test_apprise_url_secrets_stay_out_of_logs_and_status(
    client: aioredis.Redis, ns: str, smtp: tuple[int, Inbox, Controller]
) -> None:
    """A password in a mailto:// URL never shows in status or in what the channel reports."""
    port, _inbox, _controller = smtp  # never started: every attempt fails
    password = "hunter2-very-secret-pw"
    url = f"mailto://watcher:{password}@127.0.0.1:{port}?to=reader@news.test&from=watcher@news.test&mode=insecure"
    d = dispatcher(client, ns, [notify("mail", url, retry=[])])
    await d.ensure_groups()
    await emit(client, ns)
    with capture_logs() as logs:
        await d.drain(wait=1)
    status = await d.status()
    await d.aclose()
    assert password not in json.dumps(status)
    assert password not in json.dumps(logs, default=str)
    assert status["mail"]["target"].startswith("mailto://")
    dead = await client.xrange(Keys(ns).dead)
    assert dead
    assert password not in json.dumps(dead)
