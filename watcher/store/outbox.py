"""[notify] One endpoint's durable delivery state in Redis: group, retry schedule, dead letters.

Nothing about an undelivered event lives only in memory. A new event is a pending entry of the
endpoint's consumer group on ``<ns>:stories`` until it is acknowledged, and it is acknowledged
only in the same MULTI that records its fate: delivered, filtered, scheduled for a retry (ZSET
of due times + HASH of the event and its failures) or dead-lettered (``<ns>:webhooks:dead``).
A crash between two steps therefore redelivers (at-least-once) but never loses an event.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

import redis.asyncio as aioredis
import structlog
from redis import exceptions as redis_errors

from watcher.errors import StoreCorrupt
from watcher.store import translated
from watcher.store.deliveries import (
    DeadLetter,
    Delivery,
    Entry,
    EntryParser,
    entries_of,
    parse_entries,
)
from watcher.store.keys import Keys
from watcher.store.scripts import CLAIM_DUE, CLOSE_DIGEST

log = structlog.get_logger("watcher.webhooks")

P = ParamSpec("P")
T = TypeVar("T")

REDIS_SLOTS = 32  # Redis calls in flight for all endpoints together; the app keeps the rest
LAG_COUNT_CAP = 10_000  # on Redis 6.2 unread entries are counted one by one: stop here
DEAD_MAXLEN = 100_000  # approximate cap of the dead-letter stream, like the stories stream
MAX_RECORD = 64 * 1024  # an unreadable retry record is kept this far for the operator to read


def _gated(
    fn: Callable[Concatenate[Outbox, P], Awaitable[T]],
) -> Callable[Concatenate[Outbox, P], Awaitable[T]]:
    """Hold one of the shared Redis slots for the call: the client's pool is finite (redis-py
    raises past 100 connections), and a burst of settlements must queue, not fail."""

    @functools.wraps(fn)
    async def wrapper(self: Outbox, *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._gate:
            return await fn(self, *args, **kwargs)

    return wrapper


def _checked(
    fn: Callable[Concatenate[Outbox, P], Awaitable[T]],
) -> Callable[Concatenate[Outbox, P], Awaitable[T]]:
    """Turn Redis refusing a command on this endpoint's keys (WRONGTYPE: a key holds another
    type than we write; NOGROUP: its consumer group is gone) into StoreCorrupt naming the key."""

    @functools.wraps(fn)
    async def wrapper(self: Outbox, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(self, *args, **kwargs)
        except redis_errors.ResponseError as exc:
            raise await self.explain(exc) from exc

    return wrapper


class Outbox:
    """The Redis side of one endpoint; every method is one round trip (or one MULTI), except
    ``queue_*``, which add commands to a pipeline that the shared stream sends for many."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        endpoint: str,
        consumer: str,
        gate: asyncio.Semaphore | None = None,
        *,
        parse: EntryParser,
    ) -> None:
        """``parse`` turns a stream entry into a Delivery (None: unreadable, skipped)."""
        self._parse = parse
        self._client = client
        self._gate = gate or asyncio.Semaphore(REDIS_SLOTS)
        self._keys = keys
        self.endpoint = endpoint
        self._consumer = consumer
        self._group = keys.webhook_group(endpoint)
        self._retries = keys.webhook_retries(endpoint)
        self._events = keys.webhook_events(endpoint)
        self._state = keys.webhook_endpoint(endpoint)
        self._claim = client.register_script(CLAIM_DUE)
        self._close_digest = client.register_script(CLOSE_DIGEST)
        self._periods = keys.digest_periods(endpoint)
        self._cursor = "0-0"
        # What each key must hold; anything else there was not written by us.
        self._kinds = {
            self._retries: "zset",
            self._events: "hash",
            self._state: "hash",
            self._periods: "zset",
            keys.stories: "stream",
            keys.dead: "stream",
        }

    async def explain(self, exc: Exception) -> Exception:
        """A StoreCorrupt naming what is wrong, for Redis' WRONGTYPE or NOGROUP; else ``exc``."""
        if not isinstance(exc, redis_errors.ResponseError):
            return exc
        text = str(exc)
        if "NOGROUP" in text:
            return StoreCorrupt(self._no_group())
        if "WRONGTYPE" not in text:
            return exc
        problems = await self._problems()
        return StoreCorrupt("; ".join(problems) or f"a key of endpoint {self.endpoint} (WRONGTYPE)")

    @translated
    @_gated
    async def verify(self) -> None:
        """Raise StoreCorrupt while a key holds the wrong type or the consumer group is gone."""
        if problems := await self._problems(group=True):
            raise StoreCorrupt("; ".join(problems))

    async def _problems(self, *, group: bool = False) -> list[str]:
        """What is wrong with this endpoint's keys (each named), and its group with ``group``."""
        async with self._client.pipeline(transaction=False) as pipe:
            for key in self._kinds:
                pipe.type(key)
            pipe.xinfo_groups(self._keys.stories)
            *kinds, groups = await pipe.execute(raise_on_error=False)
        problems = self._wrong(kinds)
        exists = not isinstance(groups, Exception)  # else there is no stream yet
        if group and exists and self._group not in {g.get("name") for g in groups}:
            problems.append(self._no_group())
        return problems

    def _wrong(self, kinds: Sequence[Any]) -> list[str]:
        """TYPE replies (in ``_kinds`` order) → a message per key that holds the wrong type."""
        return [
            f"{key} holds a {kind}, not a {wanted} (WRONGTYPE)"
            for (key, wanted), kind in zip(self._kinds.items(), kinds, strict=True)
            if kind not in ("none", wanted)
        ]

    def _no_group(self) -> str:
        return (
            f"{self._keys.stories}: consumer group {self._group} is gone (NOGROUP;"
            " `watcher once` or a restart of `watcher run` creates it again)"
        )

    @translated
    @_checked
    @_gated
    async def ensure_group(self, start_from: Literal["now", "start"]) -> None:
        """Create the endpoint's consumer group (and the stream) unless it exists."""
        try:
            await self._client.xgroup_create(
                self._keys.stories,
                self._group,
                id="$" if start_from == "now" else "0",
                mkstream=True,
            )
        except redis_errors.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def queue_read_new(self, pipe: Any, count: int) -> None:
        """Queue the read of entries no consumer of this endpoint has seen yet (they become
        pending on us); the shared stream sends it with the other endpoints' reads."""
        pipe.xreadgroup(self._group, self._consumer, {self._keys.stories: ">"}, count=count)

    async def readable(self, reply: Any, cache: dict[str, Delivery | None]) -> list[Delivery]:
        """An XREADGROUP reply → deliveries; unreadable entries are acknowledged and skipped."""
        return await self._readable(entries_of(reply), cache)

    @translated
    @_checked
    @_gated
    async def read_own_pending(self, count: int) -> list[Delivery]:
        """Entries this consumer read before a restart but never settled."""
        reply = await self._client.xreadgroup(
            self._group, self._consumer, {self._keys.stories: "0"}, count=count
        )
        return await self._readable(entries_of(reply))

    @translated
    @_checked
    @_gated
    async def reclaim(self, min_idle_ms: int, count: int) -> list[Delivery]:
        """Entries another consumer (a crashed replica) has held longer than ``min_idle_ms``."""
        reply = await self._client.xautoclaim(
            self._keys.stories,
            self._group,
            self._consumer,
            min_idle_ms,
            start_id=self._cursor,
            count=count,
        )
        self._cursor = reply[0] if reply and reply[0] else "0-0"
        entries = [(e[0], e[1]) for e in (reply[1] if reply else []) if e and e[0]]
        return await self._readable(entries)

    async def _readable(
        self, entries: list[Entry], cache: dict[str, Delivery | None] | None = None
    ) -> list[Delivery]:
        """Parse entries; an unreadable or trimmed one is acknowledged, logged, and skipped."""
        out, bad = parse_entries(entries, self._parse, cache)
        if bad:
            log.warning(
                "webhook_skipped", endpoint=self.endpoint, reason="malformed_entry", ids=bad
            )
            await self._client.xack(self._keys.stories, self._group, *bad)
        return out

    @translated
    @_checked
    @_gated
    async def claim_due(self, now: datetime, lease: float, count: int) -> list[Delivery]:
        """Retries due at ``now``, leased to us for ``lease`` seconds."""
        stamp = now.timestamp()
        ids: list[str] = await self._claim(keys=[self._retries], args=[stamp, stamp + lease, count])
        if not ids:
            return []
        raws: list[str | None] = await self._client.hmget(self._events, ids)  # type: ignore[assignment]
        orphans = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
        if orphans:  # the event record vanished (settled by a racing replica): drop the entry
            await self._client.zrem(self._retries, *orphans)
        due, unreadable = [], {}
        for stream_id, raw in zip(ids, raws, strict=True):
            if raw is None:
                continue
            try:
                due.append(Delivery.from_json(stream_id, raw))
            except ValueError as exc:
                unreadable[stream_id] = (raw, str(exc))
        if unreadable:
            await self._bury_unreadable(unreadable, now)
        return due

    async def _bury_unreadable(self, records: dict[str, tuple[str, str]], now: datetime) -> None:
        """Move retry records we cannot read into the dead letters as they are (``record``),
        so a poison record neither fails every claim nor is lost. Replay skips them."""
        log.warning(
            "webhook_skipped", endpoint=self.endpoint, reason="malformed_retry", ids=list(records)
        )
        async with self._client.pipeline(transaction=True) as pipe:
            for stream_id, (raw, why) in records.items():
                fields = {
                    "endpoint": self.endpoint,
                    "stream_id": stream_id,
                    "record": raw[:MAX_RECORD],
                    "reasons": json.dumps([f"{now.isoformat()} malformed_retry: {why}"]),
                    "dead_at": now.isoformat(),
                }
                pipe.xadd(self._keys.dead, fields, maxlen=DEAD_MAXLEN, approximate=True)  # type: ignore[arg-type]
            pipe.zrem(self._retries, *records)
            pipe.hdel(self._events, *records)
            pipe.hincrby(self._state, "dead", len(records))
            await pipe.execute()

    @translated
    @_checked
    @_gated
    async def next_due(self) -> float | None:
        """Unix time of the earliest scheduled retry (or lease end), None when there is none."""
        first = await self._client.zrange(self._retries, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    @translated
    @_checked
    @_gated
    async def release(self, stream_id: str, due: datetime) -> None:
        """Give a claimed retry back (we are stopping mid-attempt), due at ``due``."""
        await self._client.zadd(self._retries, {stream_id: due.timestamp()}, xx=True)

    def queue_settled(
        self, pipe: Any, delivered: Sequence[str], filtered: Sequence[str], now: datetime
    ) -> None:
        """Queue settling events that were delivered (a success: the endpoint is healthy again)
        or that this endpoint does not want; the shared stream sends many at once."""
        if filtered:
            pipe.xack(self._keys.stories, self._group, *filtered)
        if not delivered:
            return
        self._settle(pipe, *delivered)
        pipe.hset(self._state, "last_success", now.isoformat())
        pipe.hdel(self._state, "failing_since")
        pipe.hincrby(self._state, "delivered", len(delivered))

    @translated
    @_checked
    @_gated
    async def retry_later(self, delivery: Delivery, due: datetime, now: datetime) -> None:
        """Schedule the next attempt durably and only then acknowledge the stream entry."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._events, delivery.stream_id, delivery.to_json())
            pipe.zadd(self._retries, {delivery.stream_id: due.timestamp()})
            pipe.xack(self._keys.stories, self._group, delivery.stream_id)
            self._failure(pipe, delivery, now)
            await pipe.execute()

    @translated
    @_checked
    @_gated
    async def park(self, delivery: Delivery, now: datetime) -> None:
        """Hold an event of a disabled endpoint in the schedule (due now, budget unchanged)."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._events, delivery.stream_id, delivery.to_json())
            pipe.zadd(self._retries, {delivery.stream_id: now.timestamp()})
            pipe.xack(self._keys.stories, self._group, delivery.stream_id)
            await pipe.execute()

    @translated
    @_checked
    @_gated
    async def bury(self, delivery: Delivery, webhook_id: str, now: datetime) -> str:
        """Move an event to the dead letters with its reasons; returns the dead-letter id."""
        fields = {
            "endpoint": self.endpoint,
            "stream_id": delivery.stream_id,
            "event": delivery.event,
            "data": json.dumps(delivery.data, ensure_ascii=False),
            "webhook_id": webhook_id,
            "attempts": str(delivery.attempts),
            "reasons": json.dumps(list(delivery.reasons)),
            "dead_at": now.isoformat(),
        }
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xadd(self._keys.dead, fields, maxlen=DEAD_MAXLEN, approximate=True)  # type: ignore[arg-type]
            self._settle(pipe, delivery.stream_id)
            self._failure(pipe, delivery, now)
            pipe.hincrby(self._state, "dead", 1)
            dead_id, *_ = await pipe.execute()
        return str(dead_id)

    def _settle(self, pipe: Any, *stream_ids: str) -> None:
        pipe.xack(self._keys.stories, self._group, *stream_ids)
        pipe.zrem(self._retries, *stream_ids)
        pipe.hdel(self._events, *stream_ids)

    def _failure(self, pipe: Any, delivery: Delivery, now: datetime) -> None:
        last = delivery.reasons[-1] if delivery.reasons else ""
        pipe.hset(self._state, mapping={"last_failure": now.isoformat(), "last_reason": last})
        pipe.hsetnx(self._state, "failing_since", now.isoformat())
        pipe.hincrby(self._state, "failed", 1)

    @translated
    @_checked
    @_gated
    async def collect(self, deliveries: Sequence[Delivery], period_end: datetime) -> None:
        """Add stories to the digest period ending at ``period_end`` and acknowledge their
        entries, in one MULTI (a crash redelivers them: the HASH field is the stream id, so
        each is kept once)."""
        if not deliveries:
            return
        end_ms = round(period_end.timestamp() * 1000)
        bucket = self._keys.digest_stories(self.endpoint, end_ms)
        async with self._client.pipeline(transaction=True) as pipe:
            for d in deliveries:
                pipe.hset(bucket, d.stream_id, json.dumps(d.data, ensure_ascii=False))
            pipe.zadd(self._periods, {str(end_ms): period_end.timestamp()})
            pipe.xack(self._keys.stories, self._group, *[d.stream_id for d in deliveries])
            pipe.hincrby(self._state, "collected", len(deliveries))
            await pipe.execute()

    @translated
    @_checked
    @_gated
    async def closed_periods(self, now: datetime) -> list[int]:
        """Ends (Unix ms) of digest periods that are over and not yet scheduled."""
        members: Any = await self._client.zrangebyscore(self._periods, "-inf", now.timestamp())
        return [int(m) for m in members if str(m).isdigit()]

    @translated
    @_checked
    @_gated
    async def collected(self, end_ms: int) -> dict[str, str]:
        """The stories of the digest period ending at ``end_ms``: stream id → data JSON."""
        stories: Any = await self._client.hgetall(self._keys.digest_stories(self.endpoint, end_ms))
        return dict(stories)

    @translated
    @_checked
    @_gated
    async def schedule_digest(
        self, end_ms: int, digest: Delivery, stories: int, now: datetime
    ) -> bool:
        """Turn a period that is over into its scheduled ``digest`` (due now), built from
        ``stories`` collected stories; False when one was added meanwhile (the caller reads
        the period again on its next turn). Once across replicas: one Lua call."""
        bucket = self._keys.digest_stories(self.endpoint, end_ms)
        keys = [bucket, self._periods, self._events, self._retries]
        args: list[str | int | float] = [end_ms, digest.stream_id, digest.to_json()]
        args += [stories, now.timestamp()]
        return bool(await self._close_digest(keys=keys, args=args))

    @translated
    @_checked
    @_gated
    async def disable(self, url_digest: str, reason: str, now: datetime) -> None:
        """Stop delivering to this URL (410 Gone); a new URL in the config re-enables the name."""
        await self._client.hset(
            self._state,
            mapping={
                "disabled": url_digest,
                "disabled_reason": reason,
                "disabled_at": now.isoformat(),
            },
        )

    @translated
    @_checked
    @_gated
    async def is_disabled(self, url_digest: str) -> bool:
        return bool(await self._client.hget(self._state, "disabled") == url_digest)

    @translated
    @_checked
    @_gated
    async def enqueue(
        self, deliveries: Sequence[Delivery], now: datetime, dead_ids: Iterable[str] = ()
    ) -> None:
        """Replay: schedule these events now with a fresh retry budget; leave the dead letters."""
        if not deliveries:
            return
        dead = list(dead_ids)
        async with self._client.pipeline(transaction=True) as pipe:
            for d in deliveries:
                fresh = replace(d, attempts=0, reasons=())
                pipe.hset(self._events, d.stream_id, fresh.to_json())
                pipe.zadd(self._retries, {d.stream_id: now.timestamp()})
            if dead:
                pipe.xdel(self._keys.dead, *dead)
                pipe.hincrby(self._state, "dead", -len(dead))
            await pipe.execute()

    @translated
    @_checked
    @_gated
    async def state(self) -> dict[str, Any]:
        """Counters and times, plus ``unsettled`` (pending + unread) and ``retrying`` counts."""
        async with self._client.pipeline(transaction=False) as pipe:
            for key in self._kinds:  # a key that is not read here may be the wrong one
                pipe.type(key)
            pipe.hgetall(self._state)
            pipe.zcard(self._retries)
            pipe.zrange(self._periods, 0, -1)
            *kinds, state, retrying, periods = await pipe.execute(raise_on_error=False)
        if problems := self._wrong(kinds):
            raise StoreCorrupt("; ".join(problems))
        for reply in (state, retrying, periods):
            if isinstance(reply, Exception):
                raise reply
        out: dict[str, Any] = dict(state)
        out["retrying"] = int(retrying)
        out["unsettled"] = await self._unsettled()
        ends = [int(m) for m in periods if str(m).isdigit()]
        out["collecting"], out["next_digest_ms"] = await self._collecting(ends)
        return out

    async def _collecting(self, ends: list[int]) -> tuple[int, int | None]:
        """Stories collected for the digest periods ending at ``ends`` (Unix ms), not sent yet,
        and the earliest of those ends; (0, None) for an endpoint without digests, which
        costs no round trip of its own (the periods are read with the rest of ``state``)."""
        if not ends:
            return 0, None
        async with self._client.pipeline(transaction=False) as pipe:
            for end_ms in ends:
                pipe.hlen(self._keys.digest_stories(self.endpoint, end_ms))
            sizes = await pipe.execute()
        return sum(int(n) for n in sizes), min(ends)

    async def _unsettled(self) -> int:
        """Read-but-unsettled plus not-yet-read entries of the group (``lag`` is Redis 7+)."""
        try:
            groups = await self._client.xinfo_groups(self._keys.stories)
        except redis_errors.ResponseError:  # no stream yet
            return 0
        for group in groups:
            if group.get("name") == self._group:
                lag = group.get("lag")
                if lag is None:  # Redis 6.2 (embedded) has no lag: count, up to a cap
                    lag = await self._unread_after(group["last-delivered-id"])
                return int(group.get("pending") or 0) + int(lag)
        return 0

    async def _unread_after(self, last_delivered: str) -> int:
        unread: Any = await self._client.xrange(
            self._keys.stories, min=f"({last_delivered}", max="+", count=LAG_COUNT_CAP
        )
        return len(unread)


async def read_dead(client: aioredis.Redis, keys: Keys, count: int = 1000) -> list[DeadLetter]:
    """Every dead letter (oldest first), parsed; unreadable ones are skipped."""
    out: list[DeadLetter] = []
    start = "-"
    while True:
        batch: Any = await client.xrange(keys.dead, min=start, max="+", count=count)
        for dead_id, fields in batch:
            if letter := _dead_letter(dead_id, fields):
                out.append(letter)
        if len(batch) < count:
            return out
        start = "(" + batch[-1][0]


async def recent_dead(client: aioredis.Redis, keys: Keys, count: int) -> list[DeadLetter]:
    """The newest ``count`` dead letters, newest first (one round trip; for the dashboard)."""
    if count <= 0:  # XREVRANGE COUNT 0 would mean no limit
        return []
    batch: Any = await client.xrevrange(keys.dead, max="+", min="-", count=count)
    return [letter for dead_id, fields in batch if (letter := _dead_letter(dead_id, fields))]


def _dead_letter(dead_id: str, fields: dict[str, str]) -> DeadLetter | None:
    """A dead-letter entry → DeadLetter; None for one that cannot be replayed (an unreadable
    retry record kept as it was, or an entry someone else wrote)."""
    try:
        data = json.loads(fields["data"])
        reasons = json.loads(fields.get("reasons", "[]"))
        attempts = int(fields.get("attempts", 0))
        endpoint, stream_id, event = fields["endpoint"], fields["stream_id"], fields["event"]
    except (KeyError, ValueError, TypeError, OverflowError):
        return None
    if not (isinstance(data, dict) and isinstance(reasons, list)):
        return None
    delivery = Delivery(stream_id, event, data, attempts, tuple(str(r) for r in reasons))
    return DeadLetter(dead_id, endpoint, delivery)


@translated
async def read_all(
    client: aioredis.Redis, gate: asyncio.Semaphore, reads: Sequence[tuple[Outbox, int]]
) -> list[list[Delivery] | Exception]:
    """Each (outbox, count)'s new entries, in one pipeline of XREADGROUPs; an error (say, a
    deleted group) is that outbox's alone. Each entry's document is parsed once for all."""
    async with gate, client.pipeline(transaction=False) as pipe:
        for outbox, count in reads:
            outbox.queue_read_new(pipe, count)
        replies = await pipe.execute(raise_on_error=False)
    parsed: dict[str, Delivery | None] = {}
    results: list[list[Delivery] | Exception] = []
    for (outbox, _count), reply in zip(reads, replies, strict=True):
        if isinstance(reply, Exception):
            results.append(await outbox.explain(reply))
        else:
            results.append(await outbox.readable(reply, parsed))
    return results


@translated
async def settle_all(
    client: aioredis.Redis,
    gate: asyncio.Semaphore,
    settlements: Mapping[Outbox, tuple[list[str], list[str]]],
    now: datetime,
) -> dict[Outbox, Exception]:
    """Settle (delivered ids, filtered ids) per outbox in one MULTI; returns the outboxes
    whose commands Redis refused, with why (the others' commands ran all the same)."""
    spans: dict[Outbox, slice] = {}
    async with gate, client.pipeline(transaction=True) as pipe:
        for outbox, (delivered, filtered) in settlements.items():
            start = len(pipe)
            outbox.queue_settled(pipe, delivered, filtered, now)
            spans[outbox] = slice(start, len(pipe))
        replies = await pipe.execute(raise_on_error=False)
    failed: dict[Outbox, Exception] = {}
    for outbox, span in spans.items():
        if errors := [r for r in replies[span] if isinstance(r, Exception)]:
            failed[outbox] = await outbox.explain(errors[0])
    return failed


@translated
async def last_id(client: aioredis.Redis, keys: Keys) -> str:
    """The newest entry id of the stories stream ("0-0" when empty)."""
    newest: Any = await client.xrevrange(keys.stories, count=1)
    return str(newest[0][0]) if newest else "0-0"


@translated
async def any_after(client: aioredis.Redis, keys: Keys, last: str, block_ms: int) -> bool:
    """Whether the stream has an entry after ``last``, waiting up to ``block_ms`` for one."""
    reply: Any = await client.xread({keys.stories: last}, count=1, block=block_ms)
    return bool(reply)


@translated
async def history(
    client: aioredis.Redis, keys: Keys, start: str, count: int
) -> list[tuple[str, dict[str, str]]]:
    """Up to ``count`` stream entries from ``start`` (inclusive, or ``(id`` exclusive)."""
    batch: Any = await client.xrange(keys.stories, min=start, count=count)
    return list(batch)
