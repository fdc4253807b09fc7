"""[notify] Group commit: calls that arrive while a round trip is in flight share the next one.

With ten endpoints, one story means ten stream reads and ten settlements at the same moment;
at 50 stories/s that was a thousand Redis round trips a second, each costing the client more
CPU than the work it carried. A ``GroupCommit`` runs them as one pipeline instead. It adds no
delay when idle: the first call starts a flush at once (on the next turn of the event loop, so
callers woken together join it), and calls made during a flush go into the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Batch ``submit(item)`` calls through ``flush(items) -> results`` (one result per item).

    A result that is an exception is raised to that caller alone; when the flush itself
    raises, every caller of that batch gets the exception. A caller that is cancelled while it
    waits does not take its item out: the item may already be on the wire, and the flush runs
    to its end either way (``idle`` waits for it).
    """

    def __init__(
        self, flush: Callable[[list[T]], Awaitable[Sequence[R | Exception]]], *, limit: int
    ) -> None:
        self._flush = flush
        self._limit = limit
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        return await future

    async def idle(self) -> None:
        """Wait until everything submitted so far has been flushed."""
        while self._runner is not None and not self._runner.done():
            await asyncio.wait({self._runner})

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
            try:
                results = await self._flush([item for item, _future in batch])
            except asyncio.CancelledError:  # shutting down: nobody is left waiting for a flush
                for _item, future in batch + self._queue:
                    future.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 — handed to each caller, each its own boundary
                for _item, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_item, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
