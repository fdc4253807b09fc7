"""The real `watcher` CLI as a subprocess: one-shot commands and `watcher run` daemons.

End-to-end tests drive the product the way a user does; these helpers keep the subprocess
plumbing (cwd, environment, logs, clean-up) in one place.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import redis

from tests.support.builders import Story, article_page

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m watcher`` from the repository, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def start_cli(*args: str) -> subprocess.Popen[str]:
    """Start ``python -m watcher`` from the repository with its stdout and stderr piped, for a
    command a test talks to while it runs (``tail``, an ``once`` to interrupt); read its pipes
    with ``line_with``."""
    return subprocess.Popen(
        [sys.executable, "-m", "watcher", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Daemon:
    """One `watcher run` process. Its log goes to a file, not a pipe: a pipe nobody reads
    fills up and blocks the daemon mid-test."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env={**os.environ, **(env or {})},
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then the exit code (the product promises an exit within 10 s)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """kill -9, as a crash would."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        self._log.close()


@contextmanager
def daemons(
    config: Path, count: int = 1, env: dict[str, str] | None = None
) -> Iterator[list[Daemon]]:
    """``count`` `watcher run` processes on one config; any still running are killed after."""
    with tempfile.TemporaryDirectory(prefix="watcher-logs-") as logs:
        started = [Daemon(config, Path(logs) / f"replica-{i}.log", env) for i in range(count)]
        try:
            yield started
        finally:
            for d in started:
                d.close()


@contextmanager
def daemon(config: Path, env: dict[str, str] | None = None) -> Iterator[Daemon]:
    with daemons(config, 1, env) as (only,):
        yield only


def wait_until(predicate: Callable[[], object], within: float = 60.0, what: str = "") -> None:
    """A hang guard for another process's effects, not a timing assertion: it returns as soon
    as ``predicate()`` holds, so its bound is generous (a loaded machine running the suite in
    parallel starts a daemon in seconds, not the usual one)."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.05)


def line_with(pipe: IO[str] | None, text: str, within: float = 60.0) -> str:
    """The first line of another process's ``pipe`` that holds ``text``: a hang guard like
    ``wait_until`` (a process that stops writing fails the test, it does not block it)."""
    assert pipe is not None
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([pipe], [], [], max(left, 0))
        assert ready, f"timed out waiting for a line with {text!r}"
        line = pipe.readline()
        assert line, f"the pipe closed before a line with {text!r}"
        if text in line:
            return line


def stream(client: redis.Redis, ns: str) -> list[dict[str, Any]]:
    """The documents of ``<ns>:stories``, oldest first."""
    return [json.loads(fields["data"]) for _id, fields in client.xrange(f"{ns}:stories")]


def serve_stories(site: Any, stories: list[Story]) -> str:
    """Serve each story's article page on the loopback site; returns the site's base URL."""
    base = site.url("").rstrip("/")
    for s in stories:
        site.add(s.path, article_page(s, base))
    return str(base)


def meta_stories(n: int, prefix: str = "meta") -> list[Story]:
    return [Story(f"{prefix}-story-{i}", f"Meta ships model {prefix} {i}") for i in range(n)]
