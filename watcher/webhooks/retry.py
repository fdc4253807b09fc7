"""[notify] Retry decisions: what a response means, when the next attempt is due, health.

Pure: ``now`` and ``rng`` come in. The schedule is the endpoint's ``retry`` list of delays
between attempts (SPEC default ``[5s, 5m, 30m, 2h, 5h, 10h, 10h]``, Svix's), so an event gets
``len(schedule) + 1`` attempts in all.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

Verdict = Literal["delivered", "retry", "gone"]

JITTER = 0.2  # ±20 % spreads a burst of failures so a recovering receiver isn't stampeded
MAX_RETRY_AFTER = 3600.0  # a receiver's Retry-After is honoured up to an hour, no further
UNHEALTHY_AFTER = 900.0  # failing for 15 minutes without one success: mark the endpoint unhealthy


def verdict_for(status: int) -> Verdict:
    """2xx is success; 410 Gone means "stop sending" (disable); everything else is retried."""
    if 200 <= status < 300:
        return "delivered"
    if status == 410:
        return "gone"
    return "retry"


def next_attempt(
    schedule: Sequence[float],
    attempt: int,
    now: datetime,
    rng: random.Random,
    *,
    retry_after: float | None = None,
) -> datetime | None:
    """When attempt number ``attempt + 1`` is due, after ``attempt`` failed ones; None: give up.

    The delay is ``schedule[attempt - 1]`` with ±20 % jitter, but never earlier than a
    receiver's ``Retry-After`` (capped at an hour, so a hostile header cannot park an event).
    """
    if attempt < 1 or attempt > len(schedule):
        return None
    delay = schedule[attempt - 1] * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return now + timedelta(seconds=delay)


def is_healthy(
    failing_since: datetime | None,
    now: datetime,
    *,
    disabled: bool = False,
    unhealthy_after: float = UNHEALTHY_AFTER,
) -> bool:
    """Unhealthy: disabled, or failing without one success for ``unhealthy_after`` seconds."""
    if disabled:
        return False
    return failing_since is None or (now - failing_since).total_seconds() < unhealthy_after
