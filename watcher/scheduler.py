"""``watcher run``: one APScheduler job per source; SIGTERM/SIGINT stop cleanly within 10 s."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from watcher.app import App
from watcher.config import Source
from watcher.errors import StoreUnavailable
from watcher.server import Health, HttpServer, keep_refreshed

log = structlog.get_logger("watcher.scheduler")

GRACE_SECONDS = 7.0  # in-flight polls get this long to finish; 10 s is the promise, 3 s margin
MAX_JITTER = 30.0  # spread sources that share an interval so they don't all fire at once


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

    def schedule(self) -> None:
        now = datetime.now(UTC)
        for source in self.app.config.sources:
            self.scheduler.add_job(
                self._poll,
                IntervalTrigger(seconds=source.every, jitter=jitter_for(source.every)),
                args=[source],
                id=source.name,
                name=source.name,
                next_run_time=now,  # first poll at start-up, then on the interval
                max_instances=1,  # never two polls of one source at once
                coalesce=True,  # a backlog of missed runs becomes one run
                misfire_grace_time=max(1, int(source.every)),
            )

    async def _poll(self, source: Source) -> None:
        if self.stopping.is_set():
            return
        task: asyncio.Task[object] = asyncio.create_task(self.app.poll(source))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        # The shield keeps a scheduler shutdown from cancelling the poll; we decide when.
        try:
            await asyncio.shield(task)
        except StoreUnavailable as exc:  # Redis went away: /readyz says so; the next run retries
            log.warning(
                "poll_skipped", source=source.name, reason="redis_unavailable", error=str(exc)
            )

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT, then stop taking work, let polls finish, and close.

        1 signals, 2 HTTP endpoints, 3 scheduler, 4 wait, 5 drain in-flight polls.
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
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
        await self.stopping.wait()
        self.health.shutting_down = True
        log.info("stopping", inflight=len(self._inflight))
        self.scheduler.shutdown(wait=False)
        await self._drain()
        await refresher
        if webhooks is not None:
            await webhooks
        if server:
            server.stop()
        log.info("stopped")

    def _start_webhooks(self) -> asyncio.Task[None] | None:
        """Delivery runs beside polling and stops with it; unsettled work stays in Redis."""
        if self.app.dispatcher is None:
            return None
        return asyncio.create_task(self.app.dispatcher.run(self.stopping), name="webhooks")

    def _start_http(self) -> HttpServer | None:
        if not self._serve_http:
            return None
        http = self.app.config.http
        server = HttpServer(http.host, http.port, self.health)
        server.start()
        return server

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
