"""[notify] The channel seam: one async method from an event to an ``Outcome``.

In the spirit of httpx's transports: the endpoint knows ``deliver(event) -> Outcome`` and
nothing of HTTP, SMTP or signatures. A channel kind is a ``ChannelKind``: what it checks in a
config entry (``check``) and how it builds the channel (``build``); the registry in
``channels/__init__.py`` maps each ``format`` name to one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scrapers.netguard import Allow, Resolver
from watcher.config import Webhook
from watcher.webhooks.outcome import Outcome


@dataclass(frozen=True, slots=True)
class Event:
    """One event as a channel sees it: stable id, type, when it happened, and its data.

    ``id`` is identical on every retry and replay (receivers dedupe on it). ``type`` is
    ``story.created``, ``story.updated`` or ``digest`` (``data["stories"]`` then lists them).
    """

    id: str
    type: str
    occurred_at: datetime
    data: Mapping[str, Any]
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What every channel of a Dispatcher shares: limits and the SSRF guard's settings."""

    timeout: float
    concurrency: int
    allow_private_networks: Allow = False
    resolver: Resolver | None = None


class Channel(ABC):
    """A notification target. ``deliver`` must not raise for a failure it understands: it
    returns ``Retry``, ``Gone`` or ``Failed`` with a stable reason (anything it raises is
    counted as ``internal`` by the endpoint's isolation boundary)."""

    @abstractmethod
    async def deliver(self, event: Event) -> Outcome: ...

    def target(self) -> str:
        """What logs and ``watcher status`` may show of the target (no secret)."""
        return ""

    async def aclose(self) -> None:  # noqa: B027 — optional: most channels hold nothing
        """Release connections; the default has none."""


@dataclass(frozen=True, slots=True)
class ChannelKind:
    """A registered channel kind: ``check(entry)`` → problems as (field, message) pairs,
    found before any I/O; ``build(entry, context)`` → the channel; ``secrets(entry)`` →
    (text, replacement) pairs the logs must never show."""

    check: Callable[[Webhook], list[tuple[str, str]]]
    build: Callable[[Webhook, ChannelContext], Channel]
    secrets: Callable[[Webhook], list[tuple[str, str]]]
