"""What the API and the dashboard show, read from Redis in a few round trips per page (never
one per row): sources with their status, leases and held hosts; stories; webhook endpoints
with their dead letters. Shared with ``watcher status``, so all of them show the same facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scrapers.politeness import host_key
from watcher.app import App
from watcher.store.hostgate import held_hosts
from watcher.store.leases import holders
from watcher.store.search import StoryDetail, StoryPage, StoryQuery
from watcher.store.status import SourceRow
from watcher.views import SourceView
from watcher.webhooks.events import DeadLetter
from watcher.webhooks.outbox import recent_dead


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


class Reader:
    """The reads, on one ``App`` (its client, index and dispatcher)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def source_names(self) -> list[str]:
        """The config's sources in config order, then any with a status since removed."""
        names = [s.name for s in self.app.config.sources]
        configured = set(names)
        return names + [n for n in await self.app.status.names() if n not in configured]

    async def source_views(self, names: Sequence[str]) -> list[SourceView]:
        """These sources as ``watcher status`` shows them: three round trips in all."""
        app = self.app
        rows = await app.status.rows(names)
        leases = await holders(app.client, app.keys, names)
        held = await held_hosts(app.client, app.keys)
        config = {s.name: s for s in app.config.sources}
        views = []
        for name, lease in zip(names, leases, strict=True):
            source = config.get(name)
            host = host_key(source.url) if source else None
            views.append(
                SourceView(
                    rows.get(name) or SourceRow(name),
                    lease,
                    host,
                    held.get(host or ""),
                    every=source.every if source else None,
                    type=source.type if source else None,
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
