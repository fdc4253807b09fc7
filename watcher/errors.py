"""Errors of the service itself (scrapers has its own tree in scrapers.errors).

WatcherError                our service failed
├── ConfigError             .problems: list[Problem]   → `watcher check` / any command exits 2
├── StoreUnavailable        Redis unreachable           → exit 1 (once); /readyz false
├── StoreCorrupt            a key holds what we never wrote (WRONGTYPE, no group) → that one
│                           endpoint fails, unhealthy; the others and the cycle carry on
├── DeliveryError           one webhook attempt failed; .retryable; 410 disables the endpoint
├── OpmlError               an OPML file to import is unreadable, too big or not OPML → exit 1
└── WorkerFailed            a worker task hit a bug, or a worker could not start (a traceback)
"""

from __future__ import annotations

from dataclasses import dataclass


class WatcherError(Exception):
    """Root of the service's own failures."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config, at a key path like ``sources[2].url``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(WatcherError):
    """The config file is unreadable or invalid; every problem is listed, not just the first."""

    def __init__(self, problems: list[Problem], *, file: str | None = None) -> None:
        self.problems = problems
        self.file = file
        head = f"{file}: " if file else ""
        super().__init__(head + "; ".join(str(p) for p in problems))


class StoreUnavailable(WatcherError):
    """Redis could not be reached; the message names the URL (without credentials)."""


class StoreCorrupt(WatcherError):
    """A key of ours holds another type than we write (an operator's SET, a half-restored
    dump) or a consumer group is gone. Only the owner of that key fails (one webhook endpoint);
    the message names the key and what is wrong with it, never a value. Fix or delete the key.
    """


class DeliveryError(WatcherError):
    """One webhook attempt failed; ``retryable`` False means give up now (e.g. 410 Gone)."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class OpmlError(WatcherError):
    """An OPML file given to ``watcher sources import`` cannot be used: too large, too many
    outlines, not OPML, or no feeds. The message names the file; nothing was written."""


class WorkerFailed(WatcherError):
    """A task in a worker process raised something other than a ScrapeError (a bug: the
    message carries the worker's traceback), or a new worker failed to start.

    A ParseTimeout or WorkerCrashed is the page's fault and a ScrapeError; this one is ours.
    """
