"""[emit] How long the output stream keeps entries, and who is behind on it.

The stream is trimmed as stories are emitted (``_EMIT`` in ``scripts.py``, in the same Lua
step as the XADD): past ``stream.maxlen`` entries or older than ``stream.retention``, but never
past an entry that one of the watcher's own webhook endpoints has not read or acknowledged.
Other consumer groups (a reader of the user's own) are not waited for: when one falls behind
the cap, what it had not read is trimmed, and ``watcher status`` and /metrics say so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from watcher.store import translated
from watcher.store.keys import Keys

DEFAULT_MAXLEN = 100_000  # entries the stream keeps once every own endpoint has them
TRIM_BATCH = 10_000  # entries removed by one emit at most, so no one Lua call runs long


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """``maxlen`` entries at most, none older than ``retention`` seconds (0: no age limit),
    except what the consumer groups ``own_groups`` still need."""

    maxlen: int = DEFAULT_MAXLEN
    retention: float = 0.0
    own_groups: tuple[str, ...] = ()
    batch: int = TRIM_BATCH

    @property
    def slack(self) -> int:
        """Entries allowed past the cap before a trim (1 %), so trims come in batches."""
        return self.maxlen // 100

    def to_json(self) -> str:
        """The policy as the Lua ``emit`` reads it."""
        return json.dumps(
            {
                "maxlen": self.maxlen,
                "slack": self.slack,
                "retention_ms": round(self.retention * 1000),
                "batch": self.batch,
                "groups": list(self.own_groups),
            }
        )


@dataclass(frozen=True, slots=True)
class GroupView:
    """One consumer group on the stream: whose it is, what it holds, whether it fell behind.

    ``oldest_needed`` is the oldest entry it has not acknowledged (pending) or not read yet;
    ``lagging_past_cap``: a foreign group whose unread or unacknowledged entries were trimmed,
    or an own group holding the stream past its cap.
    """

    name: str
    own: bool
    pending: int
    last_delivered: str
    oldest_needed: str
    lagging_past_cap: bool
    lag: int | None = None  # entries not yet read, as Redis 7 reports it (6.2 does not)


@dataclass(frozen=True, slots=True)
class StreamView:
    length: int
    first_id: str | None
    groups: tuple[GroupView, ...]

    @property
    def lagging(self) -> tuple[GroupView, ...]:
        return tuple(g for g in self.groups if g.lagging_past_cap)


def _parts(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _after(stream_id: str) -> str:
    ms, seq = _parts(stream_id)
    return f"{ms}-{seq + 1}"


@translated
async def stream_view(client: aioredis.Redis, keys: Keys, policy: StreamPolicy) -> StreamView:
    """The stream's length, first entry and groups, in two round trips (one more per group
    with pending entries, pipelined)."""
    async with client.pipeline(transaction=False) as pipe:
        pipe.xlen(keys.stories)
        pipe.xrange(keys.stories, count=1)
        pipe.xinfo_groups(keys.stories)
        pipe.get(keys.stories_trimmed)
        length, first, groups, trimmed = await pipe.execute(raise_on_error=False)
    if isinstance(groups, redis_errors.ResponseError):  # no stream yet
        return StreamView(0, None, ())
    first_id = str(first[0][0]) if first else None
    busy = [g for g in groups if int(g.get("pending") or 0) > 0]
    async with client.pipeline(transaction=False) as pipe:
        for group in busy:
            pipe.xpending(keys.stories, group["name"])
        replies = await pipe.execute() if busy else []
    # a group may acknowledge its last pending entry between the two reads: XPENDING then
    # answers min None (it was read as "None" and took the gauges' refresher down: soak)
    oldest = {
        str(g["name"]): str(p["min"])
        for g, p in zip(busy, replies, strict=True)
        if p.get("min") is not None
    }
    views = tuple(
        _group(g, oldest, policy, int(length), first_id, trimmed and str(trimmed))
        for g in sorted(groups, key=lambda g: str(g["name"]))
    )
    return StreamView(int(length), first_id, views)


def _group(
    info: dict[str, Any],
    oldest: dict[str, str],
    policy: StreamPolicy,
    length: int,
    first_id: str | None,
    trimmed: str | None,
) -> GroupView:
    name = str(info["name"])
    last = str(info.get("last-delivered-id") or "0-0")
    needed = _after(last)
    if name in oldest and _parts(oldest[name]) < _parts(needed):
        needed = oldest[name]
    own = name in policy.own_groups
    if own:  # it holds entries the cap would have trimmed
        over = length > policy.maxlen + policy.slack
        lagging = over and first_id is not None and _parts(needed) <= _parts(first_id)
    else:  # entries it had not read or acknowledged were trimmed
        lagging = trimmed is not None and _parts(needed) < _parts(trimmed)
    lag = None if info.get("lag") is None else int(info["lag"])
    return GroupView(name, own, int(info.get("pending") or 0), last, needed, lagging, lag)


def own_groups(keys: Keys, endpoints: Sequence[str]) -> tuple[str, ...]:
    """The consumer groups of the watcher's own webhook endpoints."""
    return tuple(keys.webhook_group(name) for name in endpoints)
