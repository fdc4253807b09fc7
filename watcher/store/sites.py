"""``type: site`` discoveries in Redis: what each site source found and polls, shared by every
replica and kept across restarts, so a site is probed once a day, not once a poll."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
import structlog

from watcher.site import SiteFound
from watcher.store import translated
from watcher.store.keys import Keys

log = structlog.get_logger("watcher.store.sites")

DISCOVERY_TTL = 30 * 86400  # a site source unpolled for a month is discovered afresh


class SiteStore:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    @translated
    async def get(self, source: str) -> SiteFound | None:
        """The stored discovery of ``source``; None when there is none or it is unreadable
        (an older format, a hand edit): then the site is simply discovered again."""
        return _decode(source, await self._client.get(self._keys.site(source)))

    @translated
    async def put(self, source: str, found: SiteFound) -> None:
        await self._client.set(self._keys.site(source), found.to_json(), ex=DISCOVERY_TTL)

    @translated
    async def many(self, sources: Sequence[str]) -> dict[str, SiteFound]:
        """The stored discoveries of these sources (those that have one), in one round trip."""
        if not sources:
            return {}
        raws = await self._client.mget([self._keys.site(name) for name in sources])
        found = {name: _decode(name, raw) for name, raw in zip(sources, raws, strict=True)}
        return {name: value for name, value in found.items() if value is not None}


def _decode(source: str, raw: object) -> SiteFound | None:
    if raw is None:
        return None
    try:
        return SiteFound.from_json(str(raw))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("site_discovery_unreadable", site_source=source, error=repr(exc))
        return None
