"""[fetch] Being a good guest: per-host concurrency and spacing, and robots.txt (cached).

``Politeness`` is the seam: this process's ``LocalPoliteness`` keeps its limits in memory;
the service's Redis-backed one (``watcher/store/hostgate.py``) shares them between replicas.
Every host gets its own semaphore and pacing lock, so a slow host only ever delays requests
to itself. A host's Retry-After (``defer``) holds back every request to it, not just the retry.
A Retry-After too long to wait for (``hold``) makes the host refuse every request at once,
with HostDeferred, until that time: nobody sleeps for a host that asked for an hour.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from protego import Protego

from scrapers.errors import HostDeferred
from scrapers.urls import is_web_url, resolve

ROBOTS_TTL = 3600.0  # seconds a robots.txt is trusted; Google re-reads it about daily
ROBOTS_RETRY_TTL = 300.0  # an unreachable robots.txt (allowed meanwhile) is asked again sooner
# A robots.txt may list any number of Sitemap: lines (500 KiB holds ~10 000); sites list one to
# a few dozen (a news sitemap, an index, one per language or section). More is not a site map.
MAX_SITEMAPS = 50

Clock = Callable[[], float]


class Politeness(Protocol):
    """Grants permission to start one request to a host."""

    def slot(self, host: str) -> AbstractAsyncContextManager[None]:
        """Held for the whole request; entered only when the host's limits allow a start.

        Raises HostDeferred at once, without waiting, while the host is held (``hold``).
        """
        ...

    def defer(self, host: str, seconds: float) -> Awaitable[None]:
        """No request to ``host`` starts for ``seconds`` (the host answered Retry-After)."""
        ...

    def hold(self, host: str, seconds: float) -> Awaitable[datetime]:
        """For ``seconds``, every ``slot`` of ``host`` raises HostDeferred (it rate limited us
        for longer than we wait); a hold is only ever extended. Returns its end, in UTC."""
        ...


@dataclass
class _Host:
    semaphore: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    held_until: float = 0.0  # on the clock; HostDeferred before it
    held_until_utc: datetime | None = None


class LocalPoliteness:
    """At most ``per_host`` requests in flight per host, starts at least ``delay`` s apart."""

    def __init__(self, per_host: int, delay: float, *, clock: Clock = time.monotonic) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be at least 1, not {per_host}")
        self._per_host = per_host
        self._delay = delay
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Wait for a free place at ``host``, then for its pacing; hold the place until exit."""
        state = self._host(host)
        self._refuse_if_held(host, state)
        async with state.semaphore:
            self._refuse_if_held(host, state)  # held while this one queued
            await self._pace(state)
            yield

    async def defer(self, host: str, seconds: float) -> None:
        state = self._host(host)
        state.next_start = max(state.next_start, self._clock() + seconds)

    async def hold(self, host: str, seconds: float) -> datetime:
        state = self._host(host)
        if self._clock() + seconds > state.held_until:
            state.held_until = self._clock() + seconds
            state.held_until_utc = datetime.now(UTC) + timedelta(seconds=seconds)
        assert state.held_until_utc is not None
        return state.held_until_utc

    def _refuse_if_held(self, host: str, state: _Host) -> None:
        if state.held_until > self._clock() and state.held_until_utc is not None:
            raise HostDeferred(f"{host} is held", host=host, until=state.held_until_utc)

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(asyncio.Semaphore(self._per_host))
        return state

    async def _pace(self, state: _Host) -> None:
        """Sleep until ``delay`` after the previous start; the lock queues starts in order."""
        async with state.lock:
            wait = state.next_start - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            state.next_start = self._clock() + self._delay


RobotsSource = Callable[[str], Awaitable[str | None]]
"""Fetches ``<origin>/robots.txt``: its text, or None when anything should be allowed."""


@dataclass(frozen=True)
class _Rules:
    parser: Protego | None  # None: allow everything
    expires: float


class RobotsCache:
    """robots.txt per origin, fetched once (concurrent askers wait for the one fetch).

    ``fetch`` answers None for a missing (4xx), failing (5xx) or unreachable robots.txt:
    we are lenient and crawl. A refused address is not "unreachable": it propagates.
    """

    def __init__(
        self,
        fetch: RobotsSource,
        user_agent: str,
        *,
        ttl: float = ROBOTS_TTL,
        clock: Clock = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._user_agent = user_agent
        self._ttl = ttl
        self._clock = clock
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allows(self, url: str) -> bool:
        """Whether robots.txt of ``url``'s origin lets our user agent fetch it."""
        rules = await self._rules_for(origin(url))
        return rules.parser is None or rules.parser.can_fetch(url, self._user_agent)

    async def sitemaps(self, url: str) -> list[str]:
        """The ``Sitemap:`` lines of robots.txt of ``url``'s origin (see ``sitemap_urls``).

        They are site-wide, so the rules for our user agent do not matter; a missing or
        unreachable robots.txt lists none. The same cached fetch serves ``allows``.
        """
        key = origin(url)
        rules = await self._rules_for(key)
        if rules.parser is None:
            return []
        return sitemap_urls(rules.parser.sitemaps, f"{key}/robots.txt")

    async def _rules_for(self, key: str) -> _Rules:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            rules = self._rules.get(key)
            if rules is None or rules.expires <= self._clock():
                rules = self._rules[key] = await self._load(key)
            return rules

    async def _load(self, key: str) -> _Rules:
        text = await self._fetch(f"{key}/robots.txt")
        if text is None:
            return _Rules(None, self._clock() + min(self._ttl, ROBOTS_RETRY_TTL))
        return _Rules(Protego.parse(text), self._clock() + self._ttl)


def sitemap_urls(values: Iterable[str], robots_url: str) -> list[str]:
    """``Sitemap:`` values as absolute web URLs, in order, each once, at most MAX_SITEMAPS.

    Relative values are resolved against robots.txt; ``javascript:`` and the like are
    dropped. Another host's sitemap is kept: robots.txt is how sitemaps.org lets a site
    list sitemaps it keeps elsewhere (a CDN, a sitemap service).
    """
    found: dict[str, None] = {}
    for value in values:
        url = resolve(value.strip(), robots_url)
        if is_web_url(url):
            found.setdefault(url, None)
            if len(found) == MAX_SITEMAPS:
                break
    return list(found)


def host_key(url: str) -> str:
    """The host that per-host limits and holds are counted by; "" when httpx can't parse it."""
    try:
        return str(httpx.URL(url).host)
    except httpx.InvalidURL:
        return ""


def origin(url: str) -> str:
    """``scheme://host[:port]``: robots.txt and politeness are per origin, as the RFC says."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()
