"""From the HTTP threads to the daemon's event loop: a read runs there (its Redis client, its
dispatcher), bounded in time and in how many run at once, so a slow Redis or a crowd of
dashboard readers never takes the thread a probe needs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from watcher.errors import StoreUnavailable, WatcherError
from watcher.web.reads import Reader

T = TypeVar("T")

READ_SECONDS = 10.0  # a page is a few round trips; past this Redis is in trouble: 503


class Unavailable(WatcherError):
    """A read could not be answered now (Redis away, too slow, or too many readers): 503."""


class Bridge:
    """Runs reads of ``reader`` on ``loop`` for the HTTP threads; at most ``slots`` at once
    (the threads left over stay free for /healthz, /readyz and /metrics)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        reader: Reader,
        *,
        slots: int,
        timeout: float = READ_SECONDS,
    ) -> None:
        self._loop = loop
        self._reader = reader
        self._slots = threading.BoundedSemaphore(slots)
        self._timeout = timeout

    @property
    def reader(self) -> Reader:
        return self._reader

    def call(self, read: Callable[[Reader], Awaitable[T]]) -> T:
        """``read(reader)`` on the loop, waited for here; Unavailable when it cannot be."""
        if not self._slots.acquire(blocking=False):
            raise Unavailable("busy: too many dashboard and API requests at once; retry")
        try:
            future = asyncio.run_coroutine_threadsafe(_awaited(read(self._reader)), self._loop)
            try:
                return future.result(self._timeout)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise Unavailable(f"Redis did not answer within {self._timeout:g} s") from None
            except StoreUnavailable as exc:
                raise Unavailable(str(exc)) from None
        finally:
            self._slots.release()


async def _awaited(step: Awaitable[T]) -> T:
    return await step
