"""``watcher run``: a due-time queue shared by replicas; SIGTERM/SIGINT stop within 10 s.

One loop claims due sources in batches from the queue in Redis (``store/leases.py``), starts
their polls (at most ``concurrency`` at once), and sleeps until the next source is due, a
poll ends, or the next lease renewal: an idle daemon wakes a few times per lease, not per
source. Several replicas on one Redis poll each source once per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import time

import structlog

from watcher import metrics
from watcher.app import App
from watcher.config import Source
from watcher.errors import StoreUnavailable
from watcher.model import PollReport
from watcher.server import WEB_SLOTS, Health, HttpServer, WsgiApp, keep_refreshed
from watcher.store import redis_of
from watcher.store.leases import RENEWALS_PER_LEASE, Batch, Ended, Leases, Scheduled, holders

log = structlog.get_logger("watcher.scheduler")

GRACE_SECONDS = 7.0  # in-flight polls get this long to finish; 10 s is the promise, 3 s margin
CLAIM_GRACE_SECONDS = 0.5  # a claim is one Redis round trip; longer means Redis is in trouble
MAX_ANNOUNCED = 50  # sources named one by one in the start-up schedule lines; then a count
GATHER_SECONDS = 0.02  # after a wake-up, wait this long so one claim takes a batch
RETRY_SECONDS = 1.0  # with Redis unreachable, ask again this often (one warning per outage)


def scheduled(source: Source) -> Scheduled:
    """What the due queue needs of a source: its interval and the bounds it may learn in (a
    fixed ``every`` is its own bounds: a changed config replaces it at start-up)."""
    if source.adaptive:
        return Scheduled(source.name, source.interval, source.min_every, source.max_every)
    return Scheduled(source.name, source.interval, source.interval, source.interval)


def web_app(app: App) -> WsgiApp:
    """The dashboard and API, reading through this event loop (call it on the loop)."""
    from watcher.web.bridge import Bridge
    from watcher.web.reads import REMOVED_SECONDS, Reader
    from watcher.web.routes import make_web_app

    reader = Reader(app, removed_for=REMOVED_SECONDS)
    bridge = Bridge(asyncio.get_running_loop(), reader, slots=WEB_SLOTS)
    token = app.config.http.token
    return make_web_app(bridge, token.get_secret_value() if token else None)


class Runner:
    """Owns the claim loop and the set of in-flight polls, so shutdown can wait, then cancel."""

    def __init__(self, app: App, *, serve_http: bool = True) -> None:
        self.app = app
        self.stopping = asyncio.Event()
        self.health = Health()
        self._serve_http = serve_http
        self._sources = {s.name: s for s in app.config.sources}
        self._capacity = app.config.concurrency
        self._inflight: set[asyncio.Task[object]] = set()
        self.leases = Leases(
            app.client,
            app.keys,
            replica=app.replica,
            sources=len(app.config.sources),
            lease=app.config.redis.lease,
        )
        self._polling: dict[str, int] = {}  # source → Redis-clock ms its poll here started
        self._ended: list[Ended] = []  # polls ended since the last claim: handed in with it
        self._wake = asyncio.Event()
        self._claims_failing = False
        self._renew_at = 0.0  # monotonic time of the next lease renewal

    def stop(self) -> None:
        """Stop taking work (SIGTERM, SIGINT): in-flight polls get the grace to finish."""
        self.stopping.set()
        self._wake.set()

    async def _loop(self) -> None:
        """Claim, start, sleep; until ``stopping``. The queue is Redis's, so a restart (or
        another replica) carries on where this one left off."""
        while not await self._schedule():
            if await self._sleep(RETRY_SECONDS):
                return
        while not self.stopping.is_set():
            wait = await self._step()
            if await self._sleep(wait):
                return

    async def _schedule(self) -> bool:
        try:
            await self.leases.schedule([scheduled(s) for s in self.app.config.sources])
        except StoreUnavailable as exc:
            self._failing(exc)
            return False
        return True

    async def _step(self) -> float:
        """One round: renew leases when it is time, hand in ended polls, claim and start due
        ones. Returns how long to sleep (a poll ending wakes the loop sooner)."""
        now = time.monotonic()
        try:
            if now >= self._renew_at:
                await self.leases.renew(self._polling)
                self._renew_at = now + self.leases.lease / RENEWALS_PER_LEASE
            room = self._capacity - len(self._polling)
            ended, self._ended = self._ended, []
            try:
                batch = await self.leases.claim_due(room, ended)
            except BaseException:
                self._ended = ended + self._ended  # handed in next time
                raise
        except StoreUnavailable as exc:  # /readyz says so too; the next round asks again
            self._failing(exc)
            return RETRY_SECONDS
        if self._claims_failing:
            log.info("claims_resumed")
            self._claims_failing = False
        for name in batch.claimed:
            source = self._sources.get(name)
            if source is not None and name not in self._polling:  # else it ends, then is due
                self._start_poll(source, batch.now_ms)
        return self._wait_after(batch, room)

    def _wait_after(self, batch: Batch, room: int) -> float:
        """Until the next due source, or sooner: at once when the batch was full (more may be
        due), within a third of a lease when due sources were left to others (a dead
        replica's lease may end), and at the next renewal."""
        until_renewal = max(0.0, self._renew_at - time.monotonic())
        if room <= 0:  # full: a poll ending wakes the loop
            return until_renewal
        if len(batch.claimed) >= room:
            return 0.0
        wait = batch.next_in if batch.next_in is not None else math.inf
        if batch.left_to_others:
            wait = min(wait, self.leases.lease / RENEWALS_PER_LEASE)
        return min(wait, until_renewal)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` or until a poll ends; True when stopping."""
        if seconds > 0 and not self._wake.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if math.isinf(seconds) else seconds):
                    await self._wake.wait()
        if self.stopping.is_set():
            return True
        if self._wake.is_set():
            self._wake.clear()
            await asyncio.sleep(GATHER_SECONDS)  # let nearby endings join this claim
        return self.stopping.is_set()

    def _failing(self, exc: StoreUnavailable) -> None:
        if not self._claims_failing:
            log.warning("claims_failing", reason="redis_unavailable", error=str(exc))
        self._claims_failing = True

    def _start_poll(self, source: Source, started_ms: int) -> None:
        """Not awaited: the loop goes on claiming and renewing while the poll runs."""
        task: asyncio.Task[object] = asyncio.create_task(self.app.poll(source))
        self._inflight.add(task)
        self._polling[source.name] = started_ms
        task.add_done_callback(lambda done: self._finished(source.name, done))

    def _finished(self, name: str, task: asyncio.Task[object]) -> None:
        self._inflight.discard(task)
        exc = None if task.cancelled() else task.exception()
        started = self._polling.pop(name, None)
        if started is not None:
            self._ended.append(Ended(name, started, _held_until_ms(task, exc)))
        self._wake.set()
        if isinstance(exc, StoreUnavailable):  # /readyz says so; the source is due again later
            log.warning("poll_skipped", source=name, reason="redis_unavailable", error=str(exc))
        elif exc is not None:
            log.error("poll_crashed", source=name, reason="internal", exc_info=exc)

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT, then stop taking work, let polls finish, and close.

        1 signals, 2 worker pool, 3 HTTP endpoints, 4 claim loop, 5 wait, 6 drain in-flight
        polls (a parse still running when the grace ends is cancelled: its worker is killed),
        7 hand in the ended polls (their sources' next due times) and release the leases.
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        await self.app.workers.start()  # before anything that would need stopping if it fails
        server = self._start_http()
        refresher = asyncio.create_task(
            keep_refreshed(
                self.app.client,
                self.app.keys,
                self.health,
                self.stopping,
                self.app.stories.stream,
                self.app.dispatcher,
                self.app.workers,
            )
        )
        webhooks = self._start_webhooks()
        claims = asyncio.create_task(self._loop(), name="scheduler")
        self.health.scheduler_running = True
        config = self.app.config
        redis = redis_of(config.redis.url, config.data_dir)
        log.info("started", sources=len(config.sources), namespace=config.redis.namespace, **redis)
        await self._announce_schedule()
        await self.stopping.wait()
        self.health.shutting_down = True
        log.info("stopping", inflight=len(self._inflight))
        await self._settle_claims(claims)
        await self._drain()
        await self._release_leases()
        await refresher
        if webhooks is not None:
            await webhooks
        if server:
            server.stop()
        log.info("stopped")

    async def _announce_schedule(self) -> None:
        """Say when each source is next due, so a restarted daemon that waits out its sources'
        intervals does not look hung; and seed each source's last-success gauge from Redis."""
        sources = self.app.config.sources
        try:
            views = await holders(self.app.client, self.app.keys, [s.name for s in sources])
            rows = await self.app.status.all()
        except StoreUnavailable as exc:
            log.warning("schedule_unknown", reason="redis_unavailable", error=str(exc))
            return
        metrics.seed_last_success({name: row.last_success for name, row in rows.items()})
        metrics.seed_drift({name: row.drift_alarm for name, row in rows.items()})
        for source, view in list(zip(sources, views, strict=True))[:MAX_ANNOUNCED]:
            due = view.due_at.isoformat(timespec="seconds") if view.due_at else "now"
            log.info("next_poll", source=source.name, due=due, every=source.every or "auto")
        if len(sources) > MAX_ANNOUNCED:
            later = [v.due_at for v in views[MAX_ANNOUNCED:]]
            last = max((d for d in later if d), default=None)
            log.info(
                "next_poll_more",
                sources=len(later),
                due_now=sum(1 for d in later if d is None),
                last_due=last.isoformat(timespec="seconds") if last else None,
            )

    def _start_webhooks(self) -> asyncio.Task[None] | None:
        """Delivery runs beside polling and stops with it; unsettled work stays in Redis."""
        if self.app.dispatcher is None:
            return None
        return asyncio.create_task(self.app.dispatcher.run(self.stopping), name="webhooks")

    def _start_http(self) -> HttpServer | None:
        if not self._serve_http:
            return None
        http = self.app.config.http
        server = HttpServer(http.host, http.port, self.health, web_app(self.app))
        server.start()
        return server

    async def _settle_claims(self, claims: asyncio.Task[None]) -> None:
        """Let a claim under way end (and start its polls) so that drain sees the polls."""
        _done, late = await asyncio.wait([claims], timeout=CLAIM_GRACE_SECONDS)
        for task in late:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _release_leases(self) -> None:
        """Hand in the ended polls (so each source keeps its next due time), then hand our
        sources to the other replicas now rather than when the leases expire."""
        try:
            ended, self._ended = self._ended, []
            if ended:
                await self.leases.claim_due(0, ended)
            released = await self.leases.release_all()
        except StoreUnavailable as exc:
            log.warning("leases_kept", reason="redis_unavailable", error=str(exc))
            return
        log.info("leases_released", leases=released, replica=self.leases.replica)

    async def _drain(self) -> None:
        """Wait for in-flight polls; cancel what is left. Safe: nothing is marked seen early."""
        pending = set(self._inflight)
        if not pending:
            return
        _done, late = await asyncio.wait(pending, timeout=GRACE_SECONDS)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=1.0)
            log.warning("abandoned", polls=len(late))


def _held_until_ms(task: asyncio.Task[object], exc: BaseException | None) -> int:
    """When the source's host holds us off (it rate limited this poll, or an earlier one),
    the hold's end in Unix ms: the source is not due before it, so an `every: 5s` source on
    a host held for an hour is not polled (and logged as deferred) 720 times meanwhile.
    0 for every other outcome."""
    if task.cancelled() or exc is not None:
        return 0
    report = task.result()
    if isinstance(report, PollReport) and report.held_until is not None:
        return int(report.held_until.timestamp() * 1000)
    return 0
