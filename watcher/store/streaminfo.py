"""The stories stream's gauges for /metrics: length, and each consumer group's backlog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from watcher.store import translated
from watcher.store.keys import Keys


@dataclass(frozen=True, slots=True)
class GroupGauge:
    name: str
    pending: int
    lag: int | None  # Redis 7 reports lag; 6.2 does not


@dataclass(frozen=True, slots=True)
class StreamGauges:
    length: int
    groups: tuple[GroupGauge, ...]


@translated
async def stream_gauges(client: aioredis.Redis, keys: Keys) -> StreamGauges:
    """Ping, then the stream's length and groups; StoreUnavailable while Redis is away."""
    await client.ping()
    length = int(await client.xlen(keys.stories))
    try:
        groups: list[dict[str, Any]] = await client.xinfo_groups(keys.stories)
    except redis_errors.ResponseError:  # no stream yet
        groups = []
    return StreamGauges(
        length,
        tuple(
            GroupGauge(
                str(g["name"]),
                int(g.get("pending") or 0),
                None if g.get("lag") is None else int(g["lag"]),
            )
            for g in groups
        ),
    )
