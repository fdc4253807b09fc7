"""[extract] The supervised worker pool: the one place CPU work on untrusted bytes runs.

Why processes, and why supervised: a hostile feed or page can keep a parser busy for minutes,
and lxml under trafilatura has crashed the process when several threads parsed at once. Only
a separate process can be stopped from outside. So discovery, extraction, cleaning and text
prints run in ``workers`` processes, one task each at a time, under a deadline
(``fetch.parse_timeout``). Past it, or when the process dies (SIGKILL, SIGSEGV, the OOM
killer), that worker is killed and a new one started, and the caller gets ``ParseTimeout`` or
``WorkerCrashed`` naming the URL. The other workers never notice.

The event loop never blocks on a worker: each worker owns one socketpair; the pool writes one
pickled call and reads one pickled answer through asyncio streams, in multiprocessing's
framing, so the worker side is a plain blocking ``Connection``. A task takes an idle worker
first, so its deadline is its own run time, not time spent queueing for a free worker.

Workers are forked by a forkserver that imported the task modules once: a replacement is a
fork of a warm single-threaded process (milliseconds), never a fork of this threaded one.
Each worker runs the initializer once (boilerplate rules, topics), then says it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
import time
import traceback
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, NamedTuple, ParamSpec, TypeVar

import structlog

from scrapers.errors import ParseTimeout, ScrapeError, WorkerCrashed
from watcher.errors import WorkerFailed

log = structlog.get_logger("watcher.workers")

P = ParamSpec("P")
T = TypeVar("T")

START_SECONDS = 60.0  # a new worker imports nothing (forked warm) but loads rules; cold: ~1 s
STOP_SECONDS = 1.0  # at shutdown an idle worker exits on EOF at once; a busy one is SIGKILLed
RESTART_BACKOFF = (0.5, 30.0)  # s between attempts to replace a worker that failed to start
PARENT_CHECK_SECONDS = 1.0  # a worker orphaned mid-task (daemon kill -9) exits within this
QUARANTINE_SECONDS = (900.0, 6 * 3600.0)  # a timed-out body is skipped 15 min, doubling to 6 h
QUARANTINE_SIZE = 10_000  # bodies remembered (~50 bytes each)
# imported once in the forkserver, shared by every worker forked: the task modules, then a
# warm-up that loads the lazily loaded models there (watcher/warm.py)
PRELOAD = ["watcher.tasks", "watcher.warm"]
_SHORT = struct.Struct("!i")  # multiprocessing.connection's frame header...
_LONG = struct.Struct("!Q")  # ...and its extension for frames over 2 GiB (header -1)


@dataclass(frozen=True, slots=True)
class _Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Returned:
    value: Any


@dataclass(frozen=True, slots=True)
class _Raised:
    """A ScrapeError raised by the task, rebuilt here from its class, args and attributes:
    plain exception pickling calls ``cls(*args)`` and loses keyword-only fields (url, kind)."""

    kind: type[ScrapeError]
    args: tuple[Any, ...]
    state: dict[str, Any]

    def rebuild(self) -> ScrapeError:
        exc = self.kind.__new__(self.kind)
        exc.args = self.args
        exc.__dict__.update(self.state)
        return exc


@dataclass(frozen=True, slots=True)
class _Failed:
    """Any other exception: a bug. Its text and traceback cross, never the object."""

    summary: str
    traceback: str


@dataclass(frozen=True, slots=True)
class _Ready:
    error: str | None = None


@dataclass(eq=False)
class _Worker:
    """One worker process and this side of its socketpair."""

    process: BaseProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pid: int = field(init=False)
    code: int | None = field(init=False, default=None)
    killed: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.pid = self.process.pid or 0

    async def call(self, payload: bytes) -> bytes:
        await _write_frame(self.writer, payload)
        return await _read_frame(self.reader)

    def kill(self) -> None:
        """SIGKILL (a worker stuck in C code runs no Python signal handler), once, and only
        while the process is not known to have ended: then its pid may be a stranger's."""
        if self.code is None and not self.killed:
            self.killed = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.writer.close()

    async def exit_code(self, within: float) -> int | None:
        """The process's exit code once it has ended (negative: killed by that signal); None
        if it is still running after ``within`` seconds. Closes the process object after."""
        if self.code is not None:
            return self.code
        loop = asyncio.get_running_loop()
        ended = loop.create_future()
        sentinel = self.process.sentinel

        def readable() -> None:
            if not ended.done():
                ended.set_result(None)

        loop.add_reader(sentinel, readable)
        try:
            async with asyncio.timeout(within):
                await ended
        except TimeoutError:
            return None
        finally:
            loop.remove_reader(sentinel)
        self.code = self.process.exitcode
        with contextlib.suppress(ValueError):
            self.process.close()
        return self.code


class Workers:
    """``count`` supervised worker processes; ``run`` a task on one, under the deadline."""

    def __init__(
        self,
        count: int,
        *,
        deadline: float,
        initializer: Callable[..., None] | None = None,
        initargs: Sequence[Any] = (),
    ) -> None:
        self.count = count
        self.deadline = deadline
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._idle: asyncio.Queue[_Worker | None] = asyncio.Queue()
        self._workers: dict[int, _Worker] = {}
        self._busy: dict[int, str] = {}
        self._replacing: set[asyncio.Task[None]] = set()
        self._started = False
        self._closing = False

    @property
    def pids(self) -> list[int]:
        """The live workers' process ids (for status and tests)."""
        return list(self._workers)

    def busy(self) -> dict[int, str]:
        """Worker pid → the URL it is parsing now."""
        return dict(self._busy)

    def check(self) -> int:
        """Retire the idle workers that died since their last task (the OOM killer, an
        operator's kill), so that no entry meets a dead worker and fails as worker_crashed;
        their replacements start in the background. Returns how many workers are alive now:
        /readyz is false at 0, when nothing can be parsed."""
        if not self._started or self._closing:
            return len(self._workers)
        idle: list[_Worker] = []
        while not self._idle.empty():
            worker = self._idle.get_nowait()
            if worker is not None:
                idle.append(worker)
        for worker in idle:
            if worker.process.is_alive():
                self._idle.put_nowait(worker)
            else:  # ended: its code is known, so _retire sends no signal to a reused pid
                worker.code = worker.process.exitcode
                self._note_death(worker, "", "died_idle", exit=_exit_text(worker.code))
                self._retire(worker)
        return sum(1 for worker in self._workers.values() if worker.process.is_alive())

    async def start(self) -> None:
        """Start every worker and wait until each has loaded its rules; log how many."""
        if self._started:
            return
        self._started = True
        started = time.perf_counter()
        spawned = await asyncio.gather(
            *(self._spawn() for _ in range(self.count)), return_exceptions=True
        )
        for outcome in spawned:
            if isinstance(outcome, BaseException):
                await self.close()
                raise outcome
            self._idle.put_nowait(outcome)
        log.info(
            "workers_started",
            workers=self.count,
            pids=self.pids,
            parse_timeout=self.deadline,
            duration_ms=round((time.perf_counter() - started) * 1000),
        )

    async def run(self, about: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in a worker under ``deadline``: ``run_within`` it."""
        return await self.run_within(self.deadline, about, fn, *args, **kwargs)

    async def run_within(
        self, seconds: float, about: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(*args, **kwargs)`` in a worker; ``about`` is the URL the work is for.

        Raises what ``fn`` raised when that is a ScrapeError; ParseTimeout past the deadline
        and WorkerCrashed when the worker died (each naming ``about``; the worker is
        replaced); WorkerFailed for any other exception in ``fn`` (a bug). Cancelling the
        caller kills the worker mid-task, so shutdown never waits for a parse.
        """
        if not self._started:
            raise RuntimeError("the worker pool was not started")
        if self._closing:
            raise WorkerCrashed(f"{about}: the worker pool is shut down", url=about)
        payload = pickle.dumps(_Call(fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        worker = await self._idle.get()
        if worker is None:  # closing: wake the next waiter too
            self._idle.put_nowait(None)
            raise WorkerCrashed(f"{about}: the worker pool is shut down", url=about)
        answer = pickle.loads(await self._call(worker, about, payload, seconds))
        if isinstance(answer, _Returned):
            return answer.value
        if isinstance(answer, _Raised):
            raise answer.rebuild()
        raise WorkerFailed(f"{about}: {answer.summary}\n{answer.traceback}")

    async def _call(self, worker: _Worker, about: str, payload: bytes, seconds: float) -> bytes:
        """One round trip; anything but a whole answer costs the worker its life."""
        self._busy[worker.pid] = about
        healthy = False
        try:
            async with asyncio.timeout(seconds):
                answer = await worker.call(payload)
            healthy = True
            return answer
        except TimeoutError:
            self._note_death(worker, about, "parse_timeout")
            raise ParseTimeout(
                f"{about}: parsing took longer than {seconds:g}s"
                f" (worker {worker.pid} killed and replaced)",
                url=about,
            ) from None
        except (asyncio.IncompleteReadError, OSError) as exc:
            if self._closing:
                raise WorkerCrashed(f"{about}: the worker pool is shut down", url=about) from None
            code = await worker.exit_code(STOP_SECONDS)
            self._note_death(worker, about, "worker_crashed", exit=_exit_text(code))
            raise WorkerCrashed(
                f"{about}: worker {worker.pid} died while parsing it ({_exit_text(code)})",
                url=about,
            ) from exc
        finally:
            del self._busy[worker.pid]
            if healthy:
                self._idle.put_nowait(worker)
            else:
                self._retire(worker)

    def _note_death(self, worker: _Worker, about: str, reason: str, **fields: Any) -> None:
        log.warning("worker_replaced", reason=reason, url=about, pid=worker.pid, **fields)

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker whose state is unknown; start its replacement in the background."""
        worker.kill()
        self._workers.pop(worker.pid, None)
        task = asyncio.create_task(self._replace(worker), name=f"replace-worker-{worker.pid}")
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _replace(self, old: _Worker) -> None:
        await old.exit_code(STOP_SECONDS)
        backoff = RESTART_BACKOFF[0]
        while not self._closing:
            try:
                worker = await self._spawn()
            except WorkerFailed as exc:
                log.error("worker_start_failed", error=str(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RESTART_BACKOFF[1])
                continue
            if self._closing:
                worker.kill()
                return
            self._idle.put_nowait(worker)
            return

    async def _spawn(self) -> _Worker:
        """A new worker, ready: forked by the forkserver (in a thread: the first start waits
        for the server's imports), then its initializer has run."""
        ours, theirs = socket.socketpair()
        process = self._context.Process(
            target=_serve,
            args=(theirs, self._initializer, self._initargs),
            name="watcher-worker",
            daemon=True,
        )
        try:
            await asyncio.to_thread(process.start)
            reader, writer = await asyncio.open_unix_connection(sock=ours)
        except BaseException:  # cancelled at shutdown, or no process: leave nothing running
            ours.close()
            with contextlib.suppress(ValueError, AttributeError):
                process.kill()
            raise
        finally:
            theirs.close()
        worker = _Worker(process, reader, writer)
        try:
            async with asyncio.timeout(START_SECONDS):
                ready = pickle.loads(await _read_frame(reader))
        except (TimeoutError, asyncio.IncompleteReadError, OSError) as exc:
            worker.kill()
            raise WorkerFailed(f"worker {worker.pid} did not start: {exc!r}") from exc
        except BaseException:
            worker.kill()
            raise
        if ready.error is not None:
            worker.kill()
            raise WorkerFailed(f"worker {worker.pid} failed to start: {ready.error}")
        self._workers[worker.pid] = worker
        return worker

    async def close(self) -> None:
        """Stop every worker: idle ones exit on EOF, busy ones are killed; within ~1 s."""
        if self._closing:
            return
        self._closing = True
        for task in list(self._replacing):
            task.cancel()
        while not self._idle.empty():
            self._idle.get_nowait()
        self._idle.put_nowait(None)  # every waiting and later ``run`` learns of the shutdown
        workers = list(self._workers.values())
        self._workers.clear()
        for worker in workers:
            if worker.pid in self._busy:
                worker.kill()
            else:
                worker.writer.close()
        codes = await asyncio.gather(*(w.exit_code(STOP_SECONDS) for w in workers))
        for worker, code in zip(workers, codes, strict=True):
            if code is None:
                worker.kill()
                await worker.exit_code(STOP_SECONDS)
        if self._started:
            log.info("workers_stopped", workers=len(workers))


class Quarantine:
    """Bodies that ran past the deadline lately: the same bytes are not parsed again for a while.

    Parsing is deterministic, so a poll that hands a worker the very bytes that timed out last
    time holds that worker for the whole deadline again, every poll, and the other sources'
    articles queue behind it. A body that timed out is skipped at once (ParseTimeout, saying
    so) for ``first`` seconds, doubling at each timeout up to ``longest``: a page that was only
    slow on a busy machine is still tried again. A changed body is a new key and is parsed.
    Kept in this process only, bounded: the oldest keys go first.
    """

    def __init__(
        self,
        *,
        first: float = QUARANTINE_SECONDS[0],
        longest: float = QUARANTINE_SECONDS[1],
        size: int = QUARANTINE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._first, self._longest, self._size, self._clock = first, longest, size, clock
        self._held: OrderedDict[bytes, _Hold] = OrderedDict()
        self._urls: Counter[str] = Counter()  # held keys per URL

    @staticmethod
    def _key(about: str, body: str) -> bytes:
        """The identity of one parse: the URL and the exact text (8 bytes are plenty)."""
        digest = hashlib.blake2b(about.encode("utf-8", "replace"), digest_size=8)
        digest.update(body.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def check(self, about: str, body: str) -> None:
        """Raise ParseTimeout without parsing while this body of ``about`` is held.

        Nearly every URL has nothing held, and then its body is not hashed at all: hashing
        every page (~230 kB on average) was a tenth of the daemon's CPU per article."""
        if about not in self._urls:
            return
        held = self._held.get(self._key(about, body))
        if held is None:
            return
        left = held.until - self._clock()
        if left > 0:
            raise ParseTimeout(
                f"{about}: not parsed again: the same body ran past the deadline before"
                f" (next try in {left:.0f}s)",
                url=about,
            )

    def timed_out(self, about: str, body: str) -> None:
        """This body ran past the deadline: hold it, twice as long as last time."""
        key = self._key(about, body)
        previous = self._held.pop(key, None)
        hold = self._first if previous is None else min(previous.seconds * 2, self._longest)
        if previous is None:
            self._urls[about] += 1
        self._held[key] = _Hold(self._clock() + hold, hold, about)
        while len(self._held) > self._size:
            self._forget(self._held.popitem(last=False)[1])

    def parsed(self, about: str, body: str) -> None:
        """This body parsed within the deadline: it is held no more."""
        if about in self._urls:
            key = self._key(about, body)
            if key in self._held:
                self._forget(self._held.pop(key))

    def _forget(self, held: _Hold) -> None:
        self._urls[held.about] -= 1
        if self._urls[held.about] <= 0:
            del self._urls[held.about]


class _Hold(NamedTuple):
    """One held body: until when, for how long this time (the next doubles it), whose."""

    until: float
    seconds: float
    about: str


def _exit_text(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


async def _write_frame(writer: asyncio.StreamWriter, payload: bytes) -> None:
    size = len(payload)
    header = _SHORT.pack(size) if size <= 0x7FFFFFFF else _SHORT.pack(-1) + _LONG.pack(size)
    writer.write(header + payload)
    await writer.drain()


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = _SHORT.unpack(await reader.readexactly(_SHORT.size))
    if size == -1:
        (size,) = _LONG.unpack(await reader.readexactly(_LONG.size))
    return await reader.readexactly(size)


# --- the worker process side ---


def _serve(
    sock: socket.socket, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    """A worker's life: initialise, say ready, then answer calls until the pool hangs up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the pool decides
    _exit_with_parent()
    conn = Connection(sock.detach())
    try:
        if initializer is not None:
            initializer(*initargs)
    except Exception as exc:  # noqa: BLE001 — reported to the pool, which fails the start
        conn.send_bytes(pickle.dumps(_Ready(f"{type(exc).__name__}: {exc}")))
        return
    conn.send_bytes(pickle.dumps(_Ready()))
    while True:
        try:
            call = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        conn.send_bytes(_answer(call))


def _answer(call: _Call) -> bytes:
    try:
        answer: object = _Returned(call.fn(*call.args, **call.kwargs))
    except ScrapeError as exc:
        answer = _Raised(type(exc), exc.args, dict(exc.__dict__))
    except Exception as exc:  # noqa: BLE001 — a bug in a task: the caller logs it as internal
        answer = _Failed(repr(exc), traceback.format_exc())
    try:
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 — an answer that does not pickle is a bug too
        return pickle.dumps(_Failed(f"answer does not pickle: {exc!r}", ""))


def _exit_with_parent() -> None:
    """Exit when orphaned: after a kill -9 of the daemon the forkserver goes, and a worker
    stuck in a hostile parse would otherwise run on with nobody to enforce its deadline."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
