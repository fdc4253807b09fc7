"""Task functions for the worker pool's tests: they run in real worker processes, which import
them by name, so they live in a module and not inside a test."""

from __future__ import annotations

import os
import time

from scrapers.errors import ParseError


def pid() -> int:
    """The worker's process id: tells a replaced worker from the one before."""
    return os.getpid()


def spin(seconds: float) -> int:
    """Burn CPU for ``seconds``, as a hostile parse does, then say which worker did it."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass
    return os.getpid()


def malformed(url: str) -> None:
    """Fail as a parser fails on a bad body: a ScrapeError with keyword-only fields."""
    raise ParseError(f"{url}: not a feed", url=url, kind="malformed_feed")


def bug() -> None:
    """Fail as a bug does."""
    raise ValueError("a bug in a task")


def failing_setup() -> None:
    """An initializer that cannot load what it needs."""
    raise OSError("rules file vanished")


def threads() -> tuple[bool, list[str]]:
    """Whether the task runs on the worker's main thread, and the names of the others."""
    import threading

    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    return threading.current_thread() is threading.main_thread(), sorted(others)
