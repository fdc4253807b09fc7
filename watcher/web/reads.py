"""What the API and the dashboard show, read from Redis in a few round trips per page (never
one per row): sources with their status, leases and held hosts; stories; webhook endpoints
with their dead letters. Shared with ``watcher status``, so all of them show the same facts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scrapers.politeness import host_key
from watcher.app import App
from watcher.store.deliveries import DeadLetter
from watcher.store.hostgate import held_hosts
from watcher.store.leases import holders
from watcher.store.outbox import recent_dead
from watcher.store.search import StoryDetail, StoryPage, StoryQuery
from watcher.store.sites import SiteStore
from watcher.store.status import SourceRow
from watcher.views import SourceView


@dataclass(frozen=True, slots=True)
class SourcesPage:
    views: tuple[SourceView, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class EndpointsView:
    """Each endpoint's status row (``Dispatcher.status``) and the latest dead letters."""

    endpoints: dict[str, dict[str, Any]]
    dead: tuple[DeadLetter, ...]


REMOVED_SECONDS = 30.0  # how stale the list of sources removed from the config may be


class Reader:
    """The reads, on one ``App`` (its client, index and dispatcher).

    ``removed_for`` (seconds) keeps the names of sources removed from the config that long:
    finding them reads every name with a status (SMEMBERS of 10k names is most of a page's
    time, bench/dashboard.py), and that list only changes when a source is added or removed.
    """

    def __init__(self, app: App, *, removed_for: float = 0.0) -> None:
        self.app = app
        self._configured = [s.name for s in app.config.sources]
        self._sources = {s.name: s for s in app.config.sources}
        self._removed: tuple[float, list[str]] | None = None
        self._removed_for = removed_for

    async def source_names(self) -> list[str]:
        """The config's sources in config order, then any with a status since removed."""
        return self._configured + await self._removed_names()

    async def _removed_names(self) -> list[str]:
        now = time.monotonic()
        if self._removed is not None and now - self._removed[0] < self._removed_for:
            return self._removed[1]
        configured = set(self._configured)
        removed = [n for n in await self.app.status.names() if n not in configured]
        self._removed = (now, removed)
        return removed

    async def source_views(self, names: Sequence[str]) -> list[SourceView]:
        """These sources as ``watcher status`` shows them: five round trips in all."""
        app = self.app
        rows = await app.status.rows(names)
        leases = await holders(app.client, app.keys, names)
        held = await held_hosts(app.client, app.keys)
        learned = await app.intervals.all(names)
        found = await SiteStore(app.client, app.keys).many(names)
        views = []
        for name, lease in zip(names, leases, strict=True):
            source = self._sources.get(name)
            host = host_key(source.url) if source else None
            every = learned.get(name) if source is None or source.adaptive else None
            if every is None and source is not None:
                every = source.interval
            views.append(
                SourceView(
                    rows.get(name) or SourceRow(name),
                    lease,
                    host,
                    held.get(host or ""),
                    every=round(every, 3) if every is not None else None,
                    type=source.type if source else None,
                    site=found.get(name),
                    auto=source if source is not None and source.adaptive else None,
                )
            )
        return views

    async def sources(self, offset: int, limit: int) -> SourcesPage:
        names = await self.source_names()
        views = await self.source_views(names[offset : offset + limit])
        return SourcesPage(tuple(views), len(names), offset, limit)

    async def stories(self, query: StoryQuery) -> StoryPage:
        return await self.app.index.stories(query)

    async def story(self, story_id: str) -> StoryDetail | None:
        return await self.app.index.story(story_id)

    async def endpoints(self, dead: int) -> EndpointsView:
        """Every endpoint's health and the newest ``dead`` dead letters (all endpoints)."""
        dispatcher = self.app.dispatcher
        rows = await dispatcher.status() if dispatcher is not None else {}
        letters = await recent_dead(self.app.client, self.app.keys, dead)
        return EndpointsView(rows, tuple(letters))
