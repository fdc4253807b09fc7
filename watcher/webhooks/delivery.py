"""[notify] Webhook delivery from the stream: one consumer group and one worker per endpoint.

``Dispatcher`` is what ``app.py`` wires: ``run`` for the daemon, ``drain`` for ``watcher once``,
``replay`` for ``watcher webhooks replay``, ``status`` for ``watcher status`` and /metrics.
The stream is the only seam with the pipeline: the pipeline XADDs, this reads.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import structlog

from scrapers.netguard import Resolver
from watcher.config import Webhook
from watcher.errors import ConfigError, Problem, StoreCorrupt
from watcher.model import AttemptRecord
from watcher.store import Client
from watcher.store.deliveries import Delivery
from watcher.store.keys import Keys
from watcher.store.outbox import REDIS_SLOTS, Outbox, history, read_dead
from watcher.webhooks import channels
from watcher.webhooks.channels.base import ChannelContext
from watcher.webhooks.endpoint import Endpoint, EndpointCounts, Options
from watcher.webhooks.events import delivery_from_entry
from watcher.webhooks.retry import UNHEALTHY_AFTER, is_healthy
from watcher.webhooks.stream import SharedStream

log = structlog.get_logger("watcher.webhooks")

TIMEOUT = 10.0  # SPEC: an attempt without an answer in 10 s has failed
VISIBILITY = 60.0  # an entry held this long by a consumer that went quiet is taken over
CONCURRENCY = 16  # attempts in flight per endpoint; one hanging receiver holds only its own
STOP_GRACE = 1.0  # attempts in flight get this long after a stop; the rest stay in Redis
REPLAY_BATCH = 500
SUMMARY_EVERY = 60.0  # one INFO line per endpoint and minute with what it did (successes are DEBUG)


@dataclass(frozen=True, slots=True)
class DrainReport:
    """What ``drain`` did, in total and per endpoint; ``waiting`` retries are due later;
    ``failing``: endpoint → why it could not run (its events wait in Redis)."""

    delivered: int
    filtered: int
    failed: int
    dead: int
    waiting: int
    disabled: tuple[str, ...] = ()
    endpoints: dict[str, EndpointCounts] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)


class Dispatcher:
    def __init__(
        self,
        client: Client,
        keys: Keys,
        webhooks: Sequence[Webhook],
        *,
        consumer: str,
        allow_private_networks: bool | tuple[str, ...] = False,
        resolver: Resolver | None = None,
        rng: random.Random | None = None,
        start_from: Literal["now", "start"] = "now",
        timeout: float = TIMEOUT,
        visibility: float = VISIBILITY,
        concurrency: int = CONCURRENCY,
        unhealthy_after: float = UNHEALTHY_AFTER,
        on_attempt: Callable[[AttemptRecord], None] | None = None,
    ) -> None:
        """Raises ConfigError (naming ``webhooks[i].secret``, never its value) for a bad secret."""
        self._client = client
        self._keys = keys
        self._start_from = start_from
        self._unhealthy_after = unhealthy_after
        self._summarized: dict[str, EndpointCounts] = {}
        for i, hook in enumerate(webhooks):  # fail before any I/O
            _check(i, hook)
        gate = asyncio.Semaphore(REDIS_SLOTS)  # shared: bounds our Redis connections
        self._stream = SharedStream(client, keys, gate)
        options = Options(keys.namespace, timeout, visibility, concurrency, on_attempt)
        context = ChannelContext(timeout, concurrency, allow_private_networks, resolver)
        shared_rng = rng or random.Random()
        self._endpoints = [
            Endpoint(
                hook,
                channels.build(hook, context),
                Outbox(client, keys, hook.name, consumer, gate, parse=delivery_from_entry),
                self._stream,
                shared_rng,
                options,
            )
            for hook in webhooks
        ]

    async def ensure_groups(self) -> None:
        """Create each endpoint's consumer group (idempotent; a new one starts per start_from).

        ``watcher once`` must call this before it polls, or a brand-new endpoint's group would
        start after the stories of that very cycle. An endpoint whose keys are corrupt is
        marked broken (logged once) and the others' groups are still created.
        """
        for endpoint in self._endpoints:
            try:
                await endpoint.outbox.ensure_group(self._start_from)
            except StoreCorrupt as exc:
                endpoint.broken(exc)

    async def run(self, stopping: asyncio.Event) -> None:
        """Daemon: every endpoint reads, delivers and retries until ``stopping`` is set.

        1 create the groups, 2 start a worker per endpoint, the stream watcher and the summary
        line, 3 on stop cancel the loops, 4 give attempts in flight STOP_GRACE, then cancel
        them (unsettled work stays in Redis), 5 wait for settlements already on their way.
        """
        await self.ensure_groups()
        workers = [
            asyncio.create_task(e.serve(), name=f"webhook:{e.name}") for e in self._endpoints
        ]
        arrived = [e.arrived for e in self._endpoints]
        workers.append(asyncio.create_task(self._stream.watch(arrived), name="webhooks:watch"))
        workers.append(asyncio.create_task(self._summarize(), name="webhooks:summary"))
        log.info("webhooks_started", endpoints=len(self._endpoints))
        try:
            await stopping.wait()
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await asyncio.gather(*(e.stop(STOP_GRACE) for e in self._endpoints))
            await self._stream.idle()
            self._log_summary()
            log.info("webhooks_stopped")

    async def _summarize(self) -> None:
        """Every SUMMARY_EVERY seconds, what each endpoint did since the last line."""
        while True:
            await asyncio.sleep(SUMMARY_EVERY)
            self._log_summary()

    def _log_summary(self) -> None:
        for endpoint in self._endpoints:
            now = replace(endpoint.counts)
            done = self._summarized.get(endpoint.name, EndpointCounts())
            if now != done:
                log.info(
                    "webhooks",
                    endpoint=endpoint.name,
                    delivered=now.delivered - done.delivered,
                    filtered=now.filtered - done.filtered,
                    failed=now.failed - done.failed,
                    dead=now.dead - done.dead,
                )
            self._summarized[endpoint.name] = now

    async def drain(self, wait: float) -> DrainReport:
        """``watcher once``: deliver what is pending, then retries due within ``wait`` seconds."""
        await self.ensure_groups()
        deadline = time.time() + wait
        await asyncio.gather(*(self._drain_one(e, deadline) for e in self._endpoints))
        waiting = 0
        for endpoint in self._endpoints:
            waiting += await self._waiting(endpoint)
        counts = {e.name: e.counts for e in self._endpoints}
        return DrainReport(
            delivered=sum(c.delivered for c in counts.values()),
            filtered=sum(c.filtered for c in counts.values()),
            failed=sum(c.failed for c in counts.values()),
            dead=sum(c.dead for c in counts.values()),
            waiting=waiting,
            disabled=tuple(e.name for e in self._endpoints if e.disabled),
            endpoints=counts,
            failing={e.name: e.problem for e in self._endpoints if e.problem},
        )

    async def _drain_one(self, endpoint: Endpoint, deadline: float) -> None:
        """One endpoint's drain: the isolation boundary that keeps its bad state its own.
        A Redis outage is everyone's and propagates (``once`` exits 1)."""
        try:
            await endpoint.drain(deadline)
        except StoreCorrupt as exc:
            endpoint.broken(exc)
        except Exception as exc:  # isolation boundary: one endpoint must not stop the others
            log.exception("webhook_internal_error", endpoint=endpoint.name)
            endpoint.problem = f"internal error ({type(exc).__name__}, see logs)"
        finally:
            await endpoint.settle_inflight()

    async def _waiting(self, endpoint: Endpoint) -> int:
        try:
            return int((await endpoint.outbox.state())["retrying"])
        except StoreCorrupt as exc:
            endpoint.broken(exc)
            return 0

    async def replay(self, *, since: datetime | None, endpoint: str | None) -> int:
        """Re-deliver stored events (the stream and the dead letters) from ``since``; returns
        how many were queued. They keep their ``webhook-id`` (receivers may dedupe them) and
        get a fresh retry budget; replayed dead letters leave the dead-letter stream.

        Raises ValueError for an unknown endpoint name.
        """
        targets = [e for e in self._endpoints if endpoint is None or e.name == endpoint]
        if not targets:
            raise ValueError(f"unknown webhook endpoint {endpoint!r}")
        floor = _stream_floor(since)
        from_dead = await self._replay_dead(targets, floor)
        queued = len(from_dead) + await self._replay_stream(targets, floor, from_dead)
        for target in targets:
            if not await target.refresh_disabled():
                await target.run_retries_until(time.time())
            else:
                log.warning("webhook_replay_disabled", endpoint=target.name)
        return queued

    async def _replay_dead(
        self, targets: list[Endpoint], floor: tuple[int, int]
    ) -> set[tuple[str, str]]:
        """Queue the dead letters of ``targets``; returns the (endpoint, stream id) pairs."""
        letters = await read_dead(self._client, self._keys)
        queued: set[tuple[str, str]] = set()
        now = datetime.now(UTC)
        for target in targets:
            mine = [
                d
                for d in letters
                if d.endpoint == target.name and _id_tuple(d.delivery.stream_id) >= floor
            ]
            await target.outbox.enqueue([d.delivery for d in mine], now, [d.dead_id for d in mine])
            queued |= {(target.name, d.delivery.stream_id) for d in mine}
        return queued

    async def _replay_stream(
        self, targets: list[Endpoint], floor: tuple[int, int], already: set[tuple[str, str]]
    ) -> int:
        """Queue the stream's events from ``floor`` that each target wants; returns new ones."""
        queued = 0
        start = f"{floor[0]}-{floor[1]}"
        while batch := await self._history(start):
            deliveries = [d for i, f in batch if (d := delivery_from_entry(i, f))]
            now = datetime.now(UTC)
            for target in targets:
                wanted = [d for d in deliveries if target.wants(d)]
                if target.webhook.digest:  # into the current period's digest, not one by one
                    await target.collect(wanted)
                else:
                    await target.outbox.enqueue(wanted, now)
                queued += sum((target.name, d.stream_id) not in already for d in wanted)
            start = "(" + batch[-1][0]
        return queued

    async def _history(self, start: str) -> list[tuple[str, dict[str, str]]]:
        return await history(self._client, self._keys, start, REPLAY_BATCH)

    async def status(self) -> dict[str, dict[str, Any]]:
        """Per endpoint: pending (unsettled + retrying), counters, last success, health.

        Carries no secret and no URL path (Slack/Discord URLs hold a token): only the origin.
        An endpoint whose keys are corrupt is unhealthy, its ``problem`` says why.
        """
        now = datetime.now(UTC)
        return {e.name: await self._status_of(e, now) for e in self._endpoints}

    async def _status_of(self, endpoint: Endpoint, now: datetime) -> dict[str, Any]:
        try:
            row = self._row(endpoint, await endpoint.outbox.state(), now)
        except StoreCorrupt as exc:
            return _broken_row(endpoint, str(exc))
        except ValueError:  # a counter or time in its hash that we did not write
            key = self._keys.webhook_endpoint(endpoint.name)
            return _broken_row(endpoint, f"{key} holds a field that is not a number or time")
        if endpoint.problem:  # seen by this process (a missing group, say), not by state()
            row.update(healthy=False, problem=endpoint.problem)
        return row

    def _row(self, endpoint: Endpoint, state: dict[str, Any], now: datetime) -> dict[str, Any]:
        disabled = state.get("disabled") == endpoint.url_digest
        failing_since = state.get("failing_since")
        since = datetime.fromisoformat(failing_since) if failing_since else None
        healthy = is_healthy(since, now, disabled=disabled, unhealthy_after=self._unhealthy_after)
        if state.get("failing_since") and not state.get("last_success"):
            healthy = False  # it failed every attempt so far: it was never healthy
        return {
            "target": endpoint.target,
            "format": endpoint.webhook.format,
            "pending": state["unsettled"] + state["retrying"],
            "retrying": state["retrying"],
            "delivered": int(state.get("delivered", 0)),
            "failed": int(state.get("failed", 0)),
            "dead": max(0, int(state.get("dead", 0))),
            "last_success": state.get("last_success"),
            "last_failure": state.get("last_failure"),
            "last_reason": _without_stamp(state.get("last_reason")),
            "failing_since": failing_since,
            "healthy": healthy,
            "disabled": disabled,
            "disabled_reason": state.get("disabled_reason") if disabled else None,
            "problem": None,
            "digest": _digest_row(endpoint.webhook.digest, state),
        }

    async def aclose(self) -> None:
        await self._stream.idle()
        for endpoint in self._endpoints:
            await endpoint.aclose()


def _digest_row(every: float | None, state: dict[str, Any]) -> dict[str, Any] | None:
    """A digest endpoint's stories collected and not sent yet, and when the next digest is
    due (its period's end; sent within a few seconds after). None without ``digest``."""
    if not every:
        return None
    end_ms = state.get("next_digest_ms")
    due = None if end_ms is None else datetime.fromtimestamp(end_ms / 1000, UTC)
    return {
        "every": every,
        "collecting": int(state.get("collecting") or 0),
        "next_at": due and due.isoformat(timespec="seconds"),
    }


def _without_stamp(reason: str | None) -> str | None:
    """A stored reason starts with its attempt's time, which ``last_failure`` already says."""
    if not reason:
        return None
    stamp, _, rest = reason.partition(" ")
    try:
        datetime.fromisoformat(stamp)
    except ValueError:
        return reason
    return rest or None


def _broken_row(endpoint: Endpoint, problem: str) -> dict[str, Any]:
    """The status of an endpoint whose state cannot be read: unhealthy, why, and no counts
    (None: unknown, not zero; its events wait in Redis)."""
    unknown = ("pending", "retrying", "delivered", "failed", "dead")
    return {
        "target": endpoint.target,
        "format": endpoint.webhook.format,
        **dict.fromkeys(unknown, None),
        **dict.fromkeys(("last_success", "last_failure", "last_reason", "failing_since"), None),
        "healthy": False,
        "disabled": False,
        "disabled_reason": None,
        "problem": problem,
        "digest": None,
    }


def _check(index: int, hook: Webhook) -> None:
    """ConfigError for an entry its channel cannot serve (named, never showing a secret)."""
    kind = channels.REGISTRY.get(hook.format)
    if kind is None:
        raise ConfigError([Problem(f"webhooks[{index}].format", f"unknown {hook.format!r}")])
    if found := kind.check(hook):
        raise ConfigError([Problem(f"webhooks[{index}].{f}", m) for f, m in found])


def _id_tuple(stream_id: str) -> tuple[int, int]:
    millis, _, seq = stream_id.partition("-")
    return int(millis), int(seq or 0)


def _stream_floor(since: datetime | None) -> tuple[int, int]:
    """The first stream id at or after ``since`` (naive datetimes are taken as UTC)."""
    if since is None:
        return (0, 0)
    moment = since if since.tzinfo else since.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000), 0


__all__ = ["AttemptRecord", "Delivery", "Dispatcher", "DrainReport", "EndpointCounts"]
