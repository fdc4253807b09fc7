"""[notify] One endpoint's worker: attempt an event, settle its fate, run its read/retry loops.

Each endpoint runs its own tasks with its own bounded concurrency, so a receiver that hangs
for the whole timeout only ever holds its own slots, never another endpoint's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from watcher.config import Webhook
from watcher.errors import StoreCorrupt, StoreUnavailable
from watcher.model import AttemptOutcome as Outcome
from watcher.model import AttemptRecord
from watcher.store.deliveries import Delivery
from watcher.store.outbox import Outbox
from watcher.webhooks.channels.base import Channel, Event
from watcher.webhooks.digest import digest_delivery, period_ending, period_of
from watcher.webhooks.outcome import Delivered, Gone, Retry
from watcher.webhooks.outcome import Outcome as ChannelOutcome
from watcher.webhooks.payloads import is_wanted
from watcher.webhooks.retry import next_attempt
from watcher.webhooks.signing import webhook_id
from watcher.webhooks.stream import SharedStream

log = structlog.get_logger("watcher.webhooks")


IDLE_POLL = 1.0  # other replicas' retries, and entries if the stream watcher fails, within 1 s
DISABLED_RECHECK = 5.0  # how often a disabled endpoint looks whether it was re-enabled
BROKEN_RECHECK = 5.0  # how often an endpoint with a corrupt key looks whether it was mended
STORE_BACKOFF = 1.0  # after a Redis outage, try again this often (the work is safe in Redis)
LEASE_MARGIN = 5.0  # a claimed retry's lease outlives the attempt's timeout by this much


@dataclass(slots=True)
class EndpointCounts:
    """What this process did for one endpoint (``watcher once`` prints these)."""

    delivered: int = 0
    filtered: int = 0
    collected: int = 0  # stories added to a digest (the digest itself counts as delivered)
    failed: int = 0
    dead: int = 0


@dataclass(frozen=True, slots=True)
class Options:
    """Tunables shared by every endpoint of a Dispatcher."""

    namespace: str
    timeout: float
    visibility: float
    concurrency: int
    on_attempt: Callable[[AttemptRecord], None] | None = None


def _reason(result: ChannelOutcome) -> str:
    return "ok" if isinstance(result, Delivered) else result.reason


def url_digest(url: str) -> str:
    """Names a URL in Redis without storing it (Slack/Discord URLs carry their token)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


class Endpoint:
    """One channel's delivery: reads its events, calls ``channel.deliver`` and settles the
    outcome durably (the same retries, dead letters, health and counts for every channel)."""

    def __init__(
        self,
        webhook: Webhook,
        channel: Channel,
        outbox: Outbox,
        stream: SharedStream,
        rng: random.Random,
        options: Options,
    ) -> None:
        self.webhook = webhook
        self.name = webhook.name
        self.outbox = outbox
        self.counts = EndpointCounts()
        self.url_digest = url_digest(webhook.url)
        self.target = channel.target()  # what logs and status may show of the target
        self._channel = channel
        self._stream = stream
        self._rng = rng
        self._options = options
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.arrived = asyncio.Event()  # set by the shared stream's watcher
        self.disabled = False
        self._disabled_checked = float("-inf")  # never
        self.problem: str | None = None  # what is wrong with its keys in Redis (StoreCorrupt)
        self._problem_checked = float("-inf")

    # --- one event ---------------------------------------------------------------------------

    def wants(self, delivery: Delivery) -> bool:
        topics = delivery.data.get("topics") or []
        return is_wanted(
            delivery.event, topics, events=self.webhook.events, wanted=self.webhook.topics
        )

    async def deliver(self, delivery: Delivery, *, scheduled: bool) -> None:
        """Attempt one event and settle it. The isolation boundary of one attempt.

        ``scheduled``: it came from the retry schedule (leased), not from the stream.
        """
        started = time.perf_counter()
        try:
            if not scheduled and not self.wants(delivery):
                await self._stream.filtered(self.outbox, delivery.stream_id)
                self.counts.filtered += 1
                return self._report("filtered", "filtered", None, started)
            if not scheduled and self.webhook.digest:
                await self.collect([delivery])
                return self._report("collected", "digest", None, started)
            if self.disabled:  # read before the 410 was seen: keep it for a re-enabled URL
                await self.outbox.park(delivery, datetime.now(UTC))
                return self._report("parked", "disabled", None, started)
            result = await self._channel.deliver(self._event(delivery))
            outcome = await self._settle(delivery, result)
            self._report(outcome, _reason(result), result.status, started)
        except asyncio.CancelledError:
            if scheduled:  # stopping mid-attempt: hand the lease back instead of waiting it out
                await asyncio.shield(self._release(delivery))
            raise
        except StoreUnavailable as exc:  # the event is still pending or leased: it comes back
            log.warning("webhook_store_unavailable", endpoint=self.name, error=str(exc))
        except StoreCorrupt as exc:  # likewise; the endpoint holds off until the key is mended
            self.broken(exc)
        except Exception:  # isolation boundary: one event must not stop the endpoint's loop
            log.exception(
                "webhook_internal_error", endpoint=self.name, stream_id=delivery.stream_id
            )
            await self._internal_failure(delivery)

    async def collect(self, deliveries: list[Delivery]) -> None:
        """Add stories to the current digest period (``digest:``), instead of sending each."""
        assert self.webhook.digest is not None
        period = period_of(datetime.now(UTC), self.webhook.digest)
        await self.outbox.collect(deliveries, period.end)
        self.counts.collected += len(deliveries)

    async def close_digests(self) -> int:
        """Schedule the digest of every period that is over; returns how many were closed.
        Once across replicas and restarts: the outbox closes a period in one Lua call."""
        if not self.webhook.digest:
            return 0
        now = datetime.now(UTC)
        closed = 0
        for end_ms in await self.outbox.closed_periods(now):
            collected = await self.outbox.collected(end_ms)
            digest = digest_delivery(period_ending(end_ms, self.webhook.digest), collected)
            if await self.outbox.schedule_digest(end_ms, digest, len(collected), now):
                closed += 1
        if closed:
            self._wake.set()
        return closed

    def _event(self, delivery: Delivery) -> Event:
        """What the channel sees: the stable id (``webhook-id``), type, time and data."""
        return Event(
            id=webhook_id(self._options.namespace, self.name, delivery.event_id),
            type=delivery.event,
            occurred_at=delivery.occurred_at,
            data=delivery.data,
            attempt=delivery.attempts + 1,
        )

    async def _settle(self, delivery: Delivery, result: ChannelOutcome) -> Outcome:
        """Record the attempt's fate in Redis: delivered, retry later, dead letter, or disable."""
        now = datetime.now(UTC)
        if isinstance(result, Delivered):
            await self._stream.delivered(self.outbox, delivery.stream_id)
            self.counts.delivered += 1
            return "delivered"
        failed = delivery.failed(f"{now.isoformat()} {result.reason}: {result.detail}")
        self.counts.failed += 1
        msg_id = webhook_id(self._options.namespace, self.name, delivery.event_id)
        if isinstance(result, Gone):
            await self.outbox.disable(self.url_digest, result.reason, now)
            self.disabled = True
            await self.outbox.bury(failed, msg_id, now)
            self.counts.dead += 1
            return "disabled"
        due = None  # Failed: no retry can mend it
        if isinstance(result, Retry):
            schedule = self.webhook.retry
            due = next_attempt(schedule, failed.attempts, now, self._rng, retry_after=result.delay)
        if due is None:
            await self.outbox.bury(failed, msg_id, now)
            self.counts.dead += 1
            return "dead"
        await self.outbox.retry_later(failed, due, now)
        self._wake.set()
        return "retry"

    async def _internal_failure(self, delivery: Delivery) -> None:
        """Our own bug: count it as a failed attempt, so a poison event ends in the dead letters."""
        try:
            await self._settle(delivery, Retry("internal", "internal error (see logs)"))
        except Exception:  # isolation boundary: still pending or leased in Redis; it comes back
            log.exception("webhook_settle_failed", endpoint=self.name, stream_id=delivery.stream_id)

    async def _release(self, delivery: Delivery) -> None:
        with contextlib.suppress(StoreUnavailable):  # else the lease simply runs out
            await self.outbox.release(delivery.stream_id, datetime.now(UTC))

    def _report(self, outcome: Outcome, reason: str, status: int | None, started: float) -> None:
        """A failure is a WARNING line; a success only a DEBUG one: at hundreds a second the
        INFO line cost as much CPU as the POST. Successes are counted instead (``status``,
        ``/metrics`` via ``on_attempt``, and the Dispatcher's periodic ``webhooks`` line)."""
        seconds = time.perf_counter() - started
        level = log.debug if outcome in ("delivered", "filtered", "collected") else log.warning
        level(
            "webhook",
            endpoint=self.name,
            outcome=outcome,
            reason=reason,
            status=status,
            target=self.target,
            duration_ms=round(seconds * 1000, 1),
        )
        if self._options.on_attempt:
            self._options.on_attempt(AttemptRecord(self.name, outcome, reason, status, seconds))

    # --- a corrupt key ---------------------------------------------------------------------

    def broken(self, exc: StoreCorrupt) -> None:
        """Hold the endpoint off: its events wait in Redis, unread or pending, until its keys
        are mended. Logged once per problem, not once per event or loop turn."""
        if str(exc) != self.problem:
            log.error(
                "webhook_endpoint_failed", endpoint=self.name, reason="bad_state", error=str(exc)
            )
        self.problem = str(exc)
        self._problem_checked = time.monotonic()

    async def _mended(self) -> bool:
        """Whether the endpoint may work: no problem, or its keys look right again (asked at
        most every BROKEN_RECHECK seconds)."""
        if self.problem is None:
            return True
        if time.monotonic() < self._problem_checked + BROKEN_RECHECK:
            return False
        self._problem_checked = time.monotonic()  # the other loop waits for this check
        try:
            await self.outbox.verify()
        except StoreCorrupt as exc:
            self.broken(exc)
            return False
        log.info("webhook_endpoint_recovered", endpoint=self.name, was=self.problem)
        self.problem = None
        return True

    # --- concurrency -------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def spawn_all(self, deliveries: list[Delivery], *, scheduled: bool) -> None:
        """Start an attempt for each, never more than ``concurrency`` at once: the endpoint's
        connection pool is that size, and time spent waiting for a connection must not count
        against the receiver's timeout."""
        for delivery in deliveries:
            await self._room()
            self._spawn(self.deliver(delivery, scheduled=scheduled))

    def free(self) -> int:
        return max(0, self._options.concurrency - len(self._inflight))

    async def _room(self) -> None:
        """Wait until at least one delivery slot is free."""
        while not self.free():
            await asyncio.wait(set(self._inflight), return_when=asyncio.FIRST_COMPLETED)

    async def settle_inflight(self) -> None:
        """Wait for every attempt in flight (those spawned while waiting too)."""
        while self._inflight:
            await asyncio.wait(set(self._inflight))

    async def stop(self, grace: float) -> None:
        """Give attempts in flight ``grace`` seconds, then cancel them (they stay in Redis)."""
        if not self._inflight:
            return
        _done, late = await asyncio.wait(set(self._inflight), timeout=grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=1.0)
            log.warning("webhook_abandoned", endpoint=self.name, attempts=len(late))

    async def aclose(self) -> None:
        await self._channel.aclose()

    # --- loops ---------------------------------------------------------------------------------

    async def refresh_disabled(self) -> bool:
        self.disabled = await self.outbox.is_disabled(self.url_digest)
        self._disabled_checked = time.monotonic()
        return self.disabled

    async def _holds_off(self) -> bool:
        """Whether the endpoint is disabled. Redis is asked at most every DISABLED_RECHECK
        seconds (another replica may have seen the 410): asking on every wake-up cost a round
        trip per endpoint and story, and an event read meanwhile is parked, not lost."""
        if self.disabled or time.monotonic() >= self._disabled_checked + DISABLED_RECHECK:
            await self.refresh_disabled()
        return self.disabled

    async def serve(self) -> None:
        """Daemon: a reader of new entries and a runner of due retries, until cancelled."""
        await self._resilient(self._recover)
        await asyncio.gather(self._forever(self._read_once), self._forever(self._retry_once))

    async def _recover(self) -> None:
        """Entries this consumer held before a restart are attempted first, once its keys are
        known to be right (a MULTI on a wrong-typed key would half apply: ack, not schedule)."""
        await self.outbox.verify()
        await self.spawn_all(await self.outbox.read_own_pending(count=1000), scheduled=False)

    async def _forever(self, step: Callable[[], Coroutine[Any, Any, None]]) -> None:
        while True:
            await self._resilient(step)

    async def _resilient(self, step: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """One loop step; a Redis outage, a corrupt key or our own bug pauses the loop instead
        of ending it."""
        try:
            await step()
        except StoreUnavailable as exc:
            log.warning("webhook_store_unavailable", endpoint=self.name, error=str(exc))
            await asyncio.sleep(STORE_BACKOFF)
        except StoreCorrupt as exc:
            self.broken(exc)
            await asyncio.sleep(STORE_BACKOFF)
        except Exception:  # isolation boundary: one endpoint's loop must not stop the others
            log.exception("webhook_loop_error", endpoint=self.name)
            await asyncio.sleep(STORE_BACKOFF)

    async def _read_once(self) -> None:
        """Read what is new; once caught up, sleep until the stream watcher says otherwise.

        The event is cleared before the read, so an entry added meanwhile is never missed
        (it was either read, or the watcher sets the event again); a read that got fewer
        entries than it asked for has caught up. IDLE_POLL is only the safety net should the
        watcher be down.
        """
        if not await self._mended():
            await asyncio.sleep(BROKEN_RECHECK)
            return
        if await self._holds_off():
            await asyncio.sleep(DISABLED_RECHECK)
            return
        self.arrived.clear()
        await self._room()
        wanted = self.free()
        batch = await self._stream.read_new(self.outbox, wanted)
        await self.spawn_all(batch, scheduled=False)
        if len(batch) < wanted:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout=IDLE_POLL)

    async def _retry_once(self) -> None:
        if not await self._mended():
            await asyncio.sleep(BROKEN_RECHECK)
            return
        if self.disabled:
            await asyncio.sleep(DISABLED_RECHECK)
            return
        self._wake.clear()
        await self._room()
        await self.close_digests()
        due = await self.run_due()
        reclaimed = await self.outbox.reclaim(
            int(self._options.visibility * 1000), self.free() or 1
        )
        await self.spawn_all(reclaimed, scheduled=False)
        if due or reclaimed:
            return
        next_due = await self.outbox.next_due()
        delay = IDLE_POLL if next_due is None else min(IDLE_POLL, max(0.0, next_due - time.time()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def run_due(self) -> int:
        """Claim (lease) the retries due now and start them; returns how many."""
        lease = self._options.timeout + LEASE_MARGIN
        due = await self.outbox.claim_due(datetime.now(UTC), lease, max(1, self.free()))
        await self.spawn_all(due, scheduled=True)
        return len(due)

    # --- one-shot (``watcher once``, replay) --------------------------------------------------

    async def drain(self, deadline: float) -> None:
        """Deliver everything pending now, then retries that come due before ``deadline``."""
        if await self.refresh_disabled():
            return
        await self._recover()
        stale = await self.outbox.reclaim(int(self._options.visibility * 1000), 1000)
        await self.spawn_all(stale, scheduled=False)
        while True:
            await self._room()
            batch = await self._stream.read_new(self.outbox, self.free())
            if not batch:
                break
            await self.spawn_all(batch, scheduled=False)
        await self.settle_inflight()
        await self.close_digests()
        await self.run_retries_until(deadline)

    async def run_retries_until(self, deadline: float) -> None:
        """Run due retries, sleeping until the next one, while it is due before ``deadline``."""
        while not self.disabled:
            while await self.run_due():
                await self._room()
            await self.settle_inflight()
            next_due = await self.outbox.next_due()
            if next_due is None or next_due > deadline or self.disabled:
                return
            await asyncio.sleep(max(0.0, next_due - time.time()))
