"""[fetch] Per-host politeness kept in Redis, so every replica together stays within it.

``RedisPoliteness`` is the service's ``scrapers.politeness.Politeness``. Per host:

    <ns>:host:<host>:slots   ZSET token → expiry: requests in flight, from any replica
    <ns>:host:<host>:next    Redis-clock ms before which no request starts (delay, Retry-After)
    <ns>:host:<host>:held    Redis-clock ms until which the host is rate limited (``hold``)
    <ns>:held                ZSET host → end of its hold, so ``watcher status`` can list them
                             (pruned as read and written; expires with its last hold)

A slot is taken in one Lua step that also checks and moves the host's next start, so
``per_host`` and ``delay`` hold across replicas. Each holder has an expiry (the fetch timeout
plus a margin), so the slots of a crashed replica come back on their own. Waiting asks Redis
when to come back and sleeps until then: exactly for ``delay`` and Retry-After, at most
FULL_RETRY for a full host (a slot may be freed any moment). Within a replica a local
semaphore lets only ``per_host`` requests per host ask Redis at all. A held host is refused
in the same Lua step (HostDeferred), so holding costs no extra round trip per request.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import redis.asyncio as aioredis

from scrapers.errors import HostDeferred
from watcher.store import translated
from watcher.store.keys import Keys
from watcher.store.scripts import DEFER_HOST, HELD_HOSTS, HOLD_HOST, TAKE_SLOT

FULL_RETRY = 0.1  # s between asks while a host is full: a freed slot is taken within this
HOLD_MARGIN = 10.0  # s a slot outlives the fetch timeout before it counts as abandoned


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class RedisPoliteness:
    """At most ``per_host`` requests in flight per host and starts ``delay`` s apart, counted
    over every replica sharing the namespace; a host's Retry-After holds back all of them.

    ``hold`` is how long a slot counts without being released: longer than any request (the
    fetch timeout), so only a dead replica's slots ever expire.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        *,
        per_host: int,
        delay: float,
        hold: float,
    ) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be at least 1, not {per_host}")
        self._client = client
        self._keys = keys
        self._per_host = per_host
        self._delay_ms = round(delay * 1000)
        self._hold_ms = max(1, round(hold * 1000))
        self._local: dict[str, asyncio.Semaphore] = {}
        self._take = client.register_script(TAKE_SLOT)
        self._defer = client.register_script(DEFER_HOST)
        self._hold = client.register_script(HOLD_HOST)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Wait until the host's shared limits allow a start; hold the slot until exit."""
        local = self._local.setdefault(host, asyncio.Semaphore(self._per_host))
        async with local:
            token = await self._acquire(host)
            try:
                yield
            finally:
                await self._release(host, token)

    @translated
    async def defer(self, host: str, seconds: float) -> None:
        ms = max(1, round(seconds * 1000))
        await self._defer(keys=[self._keys.host_next(host)], args=[ms])

    @translated
    async def hold(self, host: str, seconds: float) -> datetime:
        ms = max(1, round(seconds * 1000))
        keys = [self._keys.host_held(host), self._keys.held_hosts]
        return _utc(int(await self._hold(keys=keys, args=[host, ms])))

    @translated
    async def _acquire(self, host: str) -> str:
        token = secrets.token_hex(8)
        keys = [self._keys.host_slots(host), self._keys.host_next(host), self._keys.host_held(host)]
        full_ms = round(FULL_RETRY * 1000)
        args: list[str | int] = [token, self._per_host, self._delay_ms, self._hold_ms, full_ms]
        while True:  # each ask says when to ask again: no spinning on Redis
            wait_ms = int(await self._take(keys=keys, args=args))
            if not wait_ms:
                return token
            if wait_ms < 0:
                raise HostDeferred(f"{host} is held", host=host, until=_utc(-wait_ms))
            await asyncio.sleep(wait_ms / 1000)

    @translated
    async def _release(self, host: str, token: str) -> None:
        await self._client.zrem(self._keys.host_slots(host), token)


@translated
async def held_hosts(client: aioredis.Redis, keys: Keys) -> dict[str, datetime]:
    """Hosts rate limited now, in any replica, each with the end of its hold (UTC)."""
    flat = await client.eval(HELD_HOSTS, 1, keys.held_hosts)
    text = [v.decode() if isinstance(v, bytes) else str(v) for v in flat]
    return {host: _utc(int(float(ms))) for host, ms in zip(text[::2], text[1::2], strict=True)}
