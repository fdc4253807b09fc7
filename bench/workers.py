"""[extract] Benchmark: what parsing in the worker pool costs against parsing in this process.

On the dev set's 91 real pages (../shared/extraction-dev/), the pipeline's extraction task
(``watcher.tasks.extract_article``: extract, clean, topics, hash, shingles, sentence prints)
runs, in one process and one run:

    inline      one after another on this thread: the bare CPU cost
    pool x1     one after another through a 1-worker pool: inline + shipping (pickle, socket,
                unpickle) per page; the ratio to inline is the pool's overhead
    ship only   the same round trips with a task that only takes len() of the page
    threads     8 at a time in asyncio.to_thread, as the pipeline did before the pool
    pool xN     8 at a time through an N-worker pool (N = --workers, default: the cores)

and reports seconds, pages/s, the ratios, and the memory of each worker (RSS, and PSS, which
splits the pages a worker shares with the forkserver it was forked from). Usage:

    .venv/bin/python bench/workers.py [--rounds 3] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher import tasks  # noqa: E402
from watcher.workers import Workers  # noqa: E402

DEV = ROOT.parent / "shared" / "extraction-dev"
CONCURRENCY = 8  # the pipeline's ENTRY_CONCURRENCY


def corpus() -> list[tuple[str, str]]:
    """(html, url) of every dev page, decoded as bench/once.py serves them."""
    truth = json.loads((DEV / "ground-truth.json").read_text())
    out = []
    for page_id in sorted(truth):
        raw = gzip.decompress((DEV / "html" / f"{page_id}.html.gz").read_bytes())
        out.append((raw.decode("utf-8", "replace"), truth[page_id]["url"]))
    return out


def _parse(html: str, url: str) -> tasks.Parsed | None:
    try:
        return tasks.extract_article(html, url, learn=True)
    except Exception:  # noqa: BLE001 — a page without article text counts as done
        return None


def _cpu(pids: list[int]) -> float:
    """CPU seconds used so far by this process and the given workers (/proc, 100 ticks/s)."""
    total = time.process_time()
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / 100
    return total


async def _timed(run: Callable[[], Awaitable[None]], pids: list[int]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of this process plus the workers, of one run."""
    started, cpu = time.perf_counter(), _cpu(pids)
    await run()
    return time.perf_counter() - started, _cpu(pids) - cpu


async def _bounded(pages: list[tuple[str, str]], one: Callable[..., Awaitable[object]]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def each(html: str, url: str) -> None:
        async with gate:
            with contextlib.suppress(Exception):  # as _parse: failures are pages too
                await one(html, url)

    await asyncio.gather(*(each(h, u) for h, u in pages))


def _memory(pid: int) -> tuple[float, float]:
    """RSS and PSS of a process, MB."""
    rss = pss = 0.0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("Pss:"):
            pss = int(line.split()[1]) / 1024
    return rss, pss


def _pool(count: int) -> Workers:
    setup = (tasks.WorkerSetup(),)
    return Workers(count, deadline=60.0, initializer=tasks.load, initargs=setup)


async def measure(
    pages: list[tuple[str, str]], rounds: int, count: int
) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of the fastest of ``rounds`` for each way; worker memory (MB)."""
    tasks.load(tasks.WorkerSetup())
    one, many = _pool(1), _pool(count)
    await one.start()
    await many.start()
    best: dict[str, tuple[float, float]] = {}

    async def inline() -> None:
        for html, url in pages:
            _parse(html, url)

    async def pool_one() -> None:
        for html, url in pages:
            with contextlib.suppress(Exception):
                await one.run(url, tasks.extract_article, html, url, learn=True)

    async def ship_only() -> None:  # the pages cross to a worker, which only takes len()
        for html, url in pages:
            await one.run(url, len, html)

    async def threads() -> None:
        await _bounded(pages, lambda h, u: asyncio.to_thread(_parse, h, u))

    async def pool_many() -> None:
        await _bounded(pages, lambda h, u: many.run(u, tasks.extract_article, h, u, learn=True))

    ways = {
        "inline": inline,
        "pool x1": pool_one,
        "ship only": ship_only,
        "threads": threads,
        f"pool x{count}": pool_many,
    }
    pids = one.pids + many.pids
    try:
        for _ in range(rounds):
            for name, way in ways.items():
                timing = await _timed(way, pids)
                best[name] = min(best.get(name, timing), timing)
        memory = [_memory(pid) for pid in many.pids]
    finally:
        await one.close()
        await many.close()
    best["rss_mb"] = (max(rss for rss, _ in memory), 0)
    best["pss_mb"] = (max(pss for _, pss in memory), 0)
    best["parent_rss_mb"] = (_memory(os.getpid())[0], 0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    pages = corpus()
    got = asyncio.run(measure(pages, args.rounds, args.workers))
    n, x = len(pages), f"pool x{args.workers}"
    print(f"{'':10} {'wall s':>7} {'pages/s':>8} {'CPU s':>7}   (CPU: this process + workers)")
    for name in ("inline", "pool x1", "ship only", "threads", x):
        wall, cpu = got[name]
        print(f"{name:10} {wall:7.2f} {n / wall:8.1f} {cpu:7.2f}")
    for a, b in (("pool x1", "inline"), (x, "threads")):
        wall, cpu = got[a][0] / got[b][0], got[a][1] / got[b][1]
        print(f"{a} / {b}: wall {wall:.3f}, CPU {cpu:.3f}")
    print(
        f"worker memory: RSS {got['rss_mb'][0]:.0f} MB, PSS {got['pss_mb'][0]:.0f} MB"
        f" (this process: RSS {got['parent_rss_mb'][0]:.0f} MB); load average"
        f" {os.getloadavg()[0]:.1f} on {len(os.sched_getaffinity(0))} cores"
    )
    return 0


if __name__ == "__main__":  # the forkserver re-imports this module: no work at import time
    raise SystemExit(main())
