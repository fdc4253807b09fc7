"""``watcher run``: one APScheduler job per source; SIGTERM/SIGINT stop cleanly within 10 s.

Each job ticks more often than its source is polled and asks ``store/leases.py`` whether the
source is this replica's and due, so several replicas on one Redis poll each source once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher import metrics
from watcher.app import App
from watcher.config import Source
from watcher.errors import StoreUnavailable
from watcher.server import WEB_SLOTS, Health, HttpServer, WsgiApp, keep_refreshed
from watcher.store.leases import Claim, Leases, holders, tick_seconds

log = structlog.get_logger("watcher.scheduler")

GRACE_SECONDS = 7.0  # in-flight polls get this long to finish; 10 s is the promise, 3 s margin
CLAIM_GRACE_SECONDS = 0.5  # a claim is one Redis round trip; longer means Redis is in trouble
MAX_ANNOUNCED = 50  # sources named one by one in the start-up schedule lines; then a count
MAX_JITTER = 30.0  # spread sources that share an interval so they don't all fire at once


def web_app(app: App) -> WsgiApp:
    """The dashboard and API, reading through this event loop (call it on the loop)."""
    from watcher.web.bridge import Bridge
    from watcher.web.reads import REMOVED_SECONDS, Reader
    from watcher.web.routes import make_web_app

    reader = Reader(app, removed_for=REMOVED_SECONDS)
    bridge = Bridge(asyncio.get_running_loop(), reader, slots=WEB_SLOTS)
    token = app.config.http.token
    return make_web_app(bridge, token.get_secret_value() if token else None)


def jitter_for(every: float) -> float:
    """A tenth of the interval, at most 30 s: spreads load without drifting much."""
    return min(every / 10, MAX_JITTER)


class Runner:
    """Owns the scheduler and the set of in-flight polls, so shutdown can wait, then cancel."""

    def __init__(self, app: App, *, serve_http: bool = True) -> None:
        self.app = app
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stopping = asyncio.Event()
        self.health = Health()
        self._serve_http = serve_http
        self._inflight: set[asyncio.Task[object]] = set()
        self.leases = Leases(
            app.client,
            app.keys,
            replica=app.replica,
            sources=len(app.config.sources),
            lease=app.config.redis.lease,
        )
        self._polling: set[str] = set()  # sources with a poll running here
        self._claiming = asyncio.Lock()  # one claim at a time: a true count of leases held
        self._claims_failing = False

    def schedule(self) -> None:
        now = datetime.now(UTC)
        for source in self.app.config.sources:
            tick = tick_seconds(source.every, self.leases.lease)
            self.scheduler.add_job(
                self._tick,
                IntervalTrigger(seconds=tick, jitter=jitter_for(tick)),
                args=[source],
                id=source.name,
                name=source.name,
                next_run_time=now,  # first claim at start-up: a source due now is polled now
                max_instances=1,
                coalesce=True,  # a backlog of missed ticks becomes one tick
                misfire_grace_time=max(1, int(tick)),
            )

    async def _tick(self, source: Source) -> None:
        """Renew or take the source's lease; when it is ours and due, start its poll."""
        async with self._claiming:
            if self.stopping.is_set():
                return
            if await self._claim(source) is Claim.DUE:
                self._start_poll(source)

    async def _claim(self, source: Source) -> Claim | None:
        """The tick's claim; with Redis down, None and one warning per outage, not per tick."""
        busy = source.name in self._polling
        try:
            claim = await self.leases.claim(source.name, source.every, busy=busy)
        except StoreUnavailable as exc:  # /readyz says so too; the next tick asks again
            if not self._claims_failing:
                log.warning("claims_failing", reason="redis_unavailable", error=str(exc))
            self._claims_failing = True
            return None
        if self._claims_failing:
            log.info("claims_resumed")
            self._claims_failing = False
        return claim

    def _start_poll(self, source: Source) -> None:
        """Not awaited, so ticks go on renewing the lease while the poll runs."""
        task: asyncio.Task[object] = asyncio.create_task(self.app.poll(source))
        self._inflight.add(task)
        self._polling.add(source.name)
        task.add_done_callback(lambda done: self._finished(source.name, done))

    def _finished(self, name: str, task: asyncio.Task[object]) -> None:
        self._inflight.discard(task)
        self._polling.discard(name)
        exc = None if task.cancelled() else task.exception()
        if isinstance(exc, StoreUnavailable):  # /readyz says so; the source is due again later
            log.warning("poll_skipped", source=name, reason="redis_unavailable", error=str(exc))
        elif exc is not None:
            log.error("poll_crashed", source=name, reason="internal", exc_info=exc)

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT, then stop taking work, let polls finish, and close.

        1 signals, 2 worker pool, 3 HTTP endpoints, 4 scheduler, 5 wait, 6 drain in-flight
        polls (a parse still running when the grace ends is cancelled: its worker is killed).
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        await self.app.workers.start()  # before anything that would need stopping if it fails
        server = self._start_http()
        refresher = asyncio.create_task(
            keep_refreshed(
                self.app.client, self.app.keys, self.health, self.stopping, self.app.dispatcher
            )
        )
        webhooks = self._start_webhooks()
        self.schedule()
        self.scheduler.start()
        self.health.scheduler_running = True
        log.info("started", sources=len(self.app.config.sources))
        await self._announce_schedule()
        await self.stopping.wait()
        self.health.shutting_down = True
        log.info("stopping", inflight=len(self._inflight))
        self.scheduler.shutdown(wait=False)
        await self._settle_claims()
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
        for source, view in list(zip(sources, views, strict=True))[:MAX_ANNOUNCED]:
            due = view.due_at.isoformat(timespec="seconds") if view.due_at else "now"
            log.info("next_poll", source=source.name, due=due, every=source.every)
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

    async def _settle_claims(self) -> None:
        """Let a claim under way end (and start its poll) so that drain sees the poll."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLAIM_GRACE_SECONDS), self._claiming:
                pass

    async def _release_leases(self) -> None:
        """Hand our sources to the other replicas now rather than when the leases expire."""
        try:
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
