"""The supervised worker pool, with real worker processes: deadlines, crashes, shutdown."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest

from scrapers.errors import ParseError, ParseTimeout, WorkerCrashed
from tests.support import procs, tasks
from tests.support.builders import Story, article_page, paragraphs
from watcher import tasks as pipeline_tasks
from watcher.errors import WorkerFailed
from watcher.workers import Workers

pytestmark = pytest.mark.anyio

URL = "http://127.0.0.1:9/news/hostile"


@pytest.fixture
async def pool() -> AsyncIterator[Workers]:
    """One worker, a 1 s deadline."""
    workers = Workers(1, deadline=1.0)
    await workers.start()
    yield workers
    await workers.close()


async def _busy(workers: Workers, within: float = 30.0) -> int:
    """The pid of the worker that has a task, once one has."""
    deadline = time.monotonic() + within
    while not workers.busy():
        assert time.monotonic() < deadline, "no worker ever took the task"
        await asyncio.sleep(0.01)
    return next(iter(workers.busy()))


async def _gone(pid: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while procs.alive(pid):
        assert time.monotonic() < deadline, f"process {pid} is still alive"
        await asyncio.sleep(0.02)


async def test_workers_task_past_deadline_is_killed_and_the_next_task_runs(pool: Workers) -> None:
    """A task running past the deadline fails as parse_timeout naming its URL; its worker is
    killed and a fresh one runs the next task."""
    before = await pool.run(URL, tasks.pid)
    with pytest.raises(ParseTimeout) as caught:
        await pool.run(URL, tasks.spin, 3600)
    assert caught.value.slug == "parse_timeout"
    assert caught.value.url == URL
    assert URL in str(caught.value)
    await _gone(before)
    after = await pool.run(URL, tasks.pid)
    assert after != before
    assert pool.pids == [after]


async def test_workers_killed_worker_fails_its_task_as_worker_crashed(pool: Workers) -> None:
    """SIGKILL to a worker mid-task fails that task as worker_crashed, naming the URL and the
    signal; a new worker takes the next task."""
    pool.deadline = 60.0
    running = asyncio.create_task(pool.run(URL, tasks.spin, 3600))
    victim = await _busy(pool)
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(WorkerCrashed) as caught:
        await running
    assert caught.value.slug == "worker_crashed"
    assert caught.value.url == URL
    assert "SIGKILL" in str(caught.value)
    assert await pool.run(URL, tasks.pid) not in (victim, 0)


async def test_workers_scrape_errors_cross_intact_and_the_worker_stays(pool: Workers) -> None:
    """A ScrapeError raised in a worker arrives with its class, slug and URL; nothing is
    replaced for it."""
    before = await pool.run(URL, tasks.pid)
    with pytest.raises(ParseError) as caught:
        await pool.run(URL, tasks.malformed, URL)
    assert (caught.value.slug, caught.value.url) == ("malformed_feed", URL)
    assert await pool.run(URL, tasks.pid) == before


async def test_workers_bug_in_a_task_is_worker_failed_with_its_traceback(pool: Workers) -> None:
    """Any other exception is a bug: WorkerFailed carries the worker's traceback."""
    with pytest.raises(WorkerFailed) as caught:
        await pool.run(URL, tasks.bug)
    assert "ValueError('a bug in a task')" in str(caught.value)
    assert "tests/support/tasks.py" in str(caught.value)


async def test_workers_cancelled_caller_kills_its_worker() -> None:
    """Cancelling the awaiting coroutine (shutdown's drain does) kills the worker mid-task."""
    workers = Workers(1, deadline=60.0)
    await workers.start()
    try:
        running = asyncio.create_task(workers.run(URL, tasks.spin, 3600))
        victim = await _busy(workers)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await _gone(victim)
        assert await workers.run(URL, tasks.pid) != victim
    finally:
        await workers.close()


async def test_workers_close_kills_a_busy_worker_instead_of_waiting() -> None:
    """Shutting the pool down with a never-ending task running ends that worker (the test
    would hang otherwise); the task fails and later calls are refused."""
    workers = Workers(2, deadline=3600.0)
    await workers.start()
    pids = workers.pids
    running = asyncio.create_task(workers.run(URL, tasks.spin, 3600))
    await _busy(workers)
    await workers.close()
    assert not [pid for pid in pids if procs.alive(pid)]
    with pytest.raises(WorkerCrashed):
        await running
    with pytest.raises(WorkerCrashed, match="shut down"):
        await workers.run(URL, tasks.pid)


async def test_workers_worker_exits_when_orphaned_mid_task() -> None:
    """A worker whose forkserver (and so the daemon) died exits even in an endless parse:
    after a kill -9 of the daemon nothing keeps burning CPU."""
    workers = Workers(1, deadline=3600.0)
    await workers.start()
    try:
        running = asyncio.create_task(workers.run(URL, tasks.spin, 3600))
        worker = await _busy(workers)
        forkserver = procs.parent(worker)
        os.kill(forkserver, signal.SIGKILL)
        await _gone(worker)
        # Dead, not just signalled: this process's next pool (the next test) must find it dead
        # and start a new one; one still dying answers its fork request with EOFError.
        await _gone(forkserver)
        with pytest.raises(WorkerCrashed):
            await running
    finally:
        await workers.close()


async def test_workers_initializer_failure_fails_the_start() -> None:
    """A worker that cannot initialise (rules file gone) fails the start, saying why."""
    workers = Workers(1, deadline=1.0, initializer=tasks.failing_setup)
    with pytest.raises(WorkerFailed, match="rules file vanished"):
        await workers.start()
    await workers.close()


async def test_workers_event_loop_keeps_ticking_while_a_page_is_parsed() -> None:
    """A long real extraction in a worker leaves the loop free: a 5 ms ticker keeps ticking
    (a parse on the loop would stop it for the whole parse)."""
    workers = Workers(
        1,
        deadline=120.0,
        initializer=pipeline_tasks.load,
        initargs=(pipeline_tasks.WorkerSetup(),),
    )
    await workers.start()
    html = article_page(Story("heavy", "Meta heavy", body=paragraphs("heavy", 6000)), "http://x")
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    try:
        started = time.perf_counter()
        parsed = await workers.run(
            URL, pipeline_tasks.extract_article, html, URL, title=None, learn=False
        )
        took = time.perf_counter() - started
    finally:
        ticker.cancel()
        await workers.close()
    assert parsed.article.title == "Meta heavy"
    during = [t for t in ticks if started <= t <= started + took]
    gaps = [b - a for a, b in itertools.pairwise(during)]
    assert len(during) >= 20, f"{len(during)} ticks in a {took:.2f}s parse"
    assert max(gaps) < took / 2, f"the loop stalled {max(gaps):.3f}s of a {took:.2f}s parse"
