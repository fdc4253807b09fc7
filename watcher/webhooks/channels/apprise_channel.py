"""[notify] Apprise as a channel: mailto://, ntfy://, tgram://, json://... (100+ services).

Apprise does blocking I/O, so each attempt runs on the channel's own threads, never on the
event loop, with a fresh plugin built from the URL (Apprise keeps per-message delivery state
on a plugin). Every host it connects to passes the SSRF guard first (``sockguard``). Apprise
answers a notification with True or False and explains failures only in its log, so the
attempt's WARNING lines (from its thread alone) become the outcome's detail, scrubbed of the
URL's secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from urllib.parse import parse_qsl, urlsplit

from scrapers.netguard import SystemResolver
from watcher import logs
from watcher.config import Webhook
from watcher.webhooks.channels import sockguard
from watcher.webhooks.channels.base import Channel, ChannelContext, ChannelKind, Event
from watcher.webhooks.message import Message, message_of
from watcher.webhooks.outcome import Delivered, Failed, Outcome, Retry

MAX_THREADS = 4  # attempts in flight per Apprise channel; each holds a thread while it waits
DETAIL_CHARS = 200


def _apprise() -> ModuleType:
    """Imported on first use: ~0.3 s of plugin loading that a daemon without Apprise skips."""
    import apprise

    return apprise


class AppriseChannel(Channel):
    def __init__(self, hook: Webhook, context: ChannelContext) -> None:
        self._url = hook.url
        self._texts = hook.template
        self._timeout = context.timeout
        self._resolver = context.resolver or SystemResolver()
        self._allow = context.allow_private_networks
        self._secrets = secrets(hook)
        self._pool = ThreadPoolExecutor(
            max_workers=min(MAX_THREADS, context.concurrency), thread_name_prefix="apprise"
        )
        plugin = _apprise().Apprise.instantiate(hook.url)
        self._target = _shown(plugin.url(privacy=True)) if plugin else "<invalid apprise url>"

    async def deliver(self, event: Event) -> Outcome:
        """Render the message, send it on a thread; no answer within the timeout is a retry
        (the thread may still finish: delivery is at-least-once, as for webhooks)."""
        message = message_of(self._texts, event.type, event.data)
        loop = asyncio.get_running_loop()
        guard = sockguard.Guard(loop, self._resolver, self._allow)
        try:
            async with asyncio.timeout(self._timeout):
                return await loop.run_in_executor(self._pool, self._send, guard, message)
        except TimeoutError:
            return Retry("timeout", f"{self._target}: no answer in {self._timeout:g}s")

    def _send(self, guard: sockguard.Guard, message: Message) -> Outcome:
        """On a channel thread: one notification, its outcome and, on failure, why."""
        with sockguard.guarded(guard), _warnings() as lines:
            plugin = _apprise().Apprise.instantiate(self._url)
            if plugin is None:
                return Failed("invalid_url", "Apprise cannot load the URL")
            ok = plugin.notify(body=message.body or " ", title=message.title)
            refused = sockguard.refusal()
        if ok:
            return Delivered()
        if refused is not None:
            return Retry(refused.reason, self._scrub(str(refused)))
        why = lines[-1] if lines else "Apprise reported a failure"
        return Retry("notify_failed", self._scrub(f"{self._target}: {why}"))

    def _scrub(self, text: str) -> str:
        for secret, replacement in sorted(self._secrets, key=lambda p: -len(p[0])):
            text = text.replace(secret, replacement)
        text = " ".join(text.split())
        return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 3] + "..."

    def target(self) -> str:
        return self._target

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _ThreadLines(logging.Handler):
    """Apprise's WARNING and ERROR lines logged from one thread (others run other attempts)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


@contextlib.contextmanager
def _warnings() -> Iterator[list[str]]:
    handler = _ThreadLines()
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def _shown(private_url: str) -> str:
    """Apprise's privacy URL without its query (plugin options, sometimes keys)."""
    return private_url.split("?", 1)[0].rstrip("/")


def check(hook: Webhook) -> list[tuple[str, str]]:
    """Apprise can build a notifier from the URL (no network: parsing only)."""
    if _apprise().Apprise.instantiate(hook.url) is None:
        return [("url", "Apprise cannot load this URL (unknown scheme or missing parts)")]
    return []


def secrets(hook: Webhook) -> list[tuple[str, str]]:
    """The URL itself, its password, and every token-like part: an Apprise URL carries its
    credentials anywhere (``tgram://<token>/``, ``mailto://user:<password>@``, ``?key=``)."""
    url = hook.url
    plugin = _apprise().Apprise.instantiate(url)
    shown = _shown(plugin.url(privacy=True)) if plugin else url.split("://", 1)[0] + "://***"
    out = [(url, shown)]  # the whole URL reads as Apprise's privacy form
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return out
    if password:
        out.append((password, "***"))
    pieces = [*parts.netloc.replace("@", ":").split(":"), *parts.path.split("/")]
    pieces += [v for _k, v in parse_qsl(parts.query)]
    out += [(p, "***") for p in pieces if len(p) >= logs.MIN_TOKEN and p != parts.hostname]
    return out + logs.url_secrets(url)


KIND = ChannelKind(check=check, build=AppriseChannel, secrets=secrets)
