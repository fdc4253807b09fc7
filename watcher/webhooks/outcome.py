"""[notify] What one delivery attempt came to, whatever the channel: the seam's return value.

Pure. A channel answers every attempt with one of four values and never raises for a failure
it understands; the endpoint turns the value into Redis state (settled, scheduled, disabled,
dead-lettered), so retries, dead letters, replay, health and metrics are the same for all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delivered:
    """The receiver took the event."""

    status: int | None = None  # the HTTP status, for channels that have one


@dataclass(frozen=True, slots=True)
class Retry:
    """A failure worth another attempt on the endpoint's schedule.

    ``delay``: the receiver asked for at least this many seconds (Retry-After); None: the
    schedule alone decides.
    """

    reason: str  # stable slug: metric label, status column, log field
    detail: str = ""  # for humans; no secret (the channel scrubs its own)
    delay: float | None = None
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Gone:
    """The receiver said "stop sending" (HTTP 410): the endpoint is disabled, the event dead."""

    reason: str
    detail: str = ""
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """A failure no retry can mend (the target cannot be built): the event goes dead at once."""

    reason: str
    detail: str = ""
    status: int | None = None


Outcome = Delivered | Retry | Gone | Failed
