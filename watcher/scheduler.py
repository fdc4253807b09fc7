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

log = structlog.get_logger("watcher.scheduler")

GRACE_SECONDS = 7.0  # in-flight polls get this long to finish; 10 s is the promise, 3 s margin
MAX_JITTER = 30.0  # spread sources that share an interval so they don't all fire at once


def jitter_for(every: float) -> float:
    """A tenth of the interval, at most 30 s: spreads load without drifting much."""
    return min(every / 10, MAX_JITTER)


class Runner:
    """Owns the scheduler and the set of in-flight polls, so shutdown can wait, then cancel."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stopping = asyncio.Event()
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
        await asyncio.shield(task)

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT, then stop taking work, let polls finish, and close."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        self.schedule()
        self.scheduler.start()
        log.info("started", sources=len(self.app.config.sources))
        await self.stopping.wait()
        log.info("stopping", inflight=len(self._inflight))
        self.scheduler.shutdown(wait=False)
        await self._drain()
        log.info("stopped")

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
