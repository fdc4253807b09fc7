"""[notify] Digests: which period a story falls in, and the one event that lists a period.

Pure: ``now`` comes in. Periods are aligned to the Unix epoch (``digest: 1h`` closes on the
hour, ``1d`` at midnight UTC), so every replica and every restart agrees on them without
storing a schedule. A closed period becomes one ``Delivery`` whose id is a stream id no XADD
ever makes (the period's end in milliseconds, sequence 2^64-1): the endpoint's retries, dead
letters and replay then treat a digest like any event, and its ``webhook-id`` is stable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from watcher.store.deliveries import Delivery
from watcher.webhooks.message import DIGEST

DIGEST_SEQ = 2**64 - 1  # Redis' largest sequence: auto ids count up from 0 within one ms
MAX_STORIES = 500  # listed in one digest; the rest are counted (``more``), a mail stays readable


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime

    @property
    def end_ms(self) -> int:
        return round(self.end.timestamp() * 1000)


def period_of(now: datetime, every: float) -> Period:
    """The period ``now`` falls in (start included, end excluded), for ``every`` seconds."""
    index = math.floor(now.timestamp() / every)
    start = datetime.fromtimestamp(index * every, tz=UTC)
    return Period(start, start + timedelta(seconds=every))


def period_ending(end_ms: int, every: float) -> Period:
    end = datetime.fromtimestamp(end_ms / 1000, tz=UTC)
    return Period(end - timedelta(seconds=every), end)


def digest_id(period: Period) -> str:
    return f"{period.end_ms}-{DIGEST_SEQ}"


def digest_delivery(period: Period, collected: Mapping[str, str]) -> Delivery:
    """The digest event of a period from its collected stories (stream id → data JSON), in
    the order they entered the stream; unreadable records are left out."""
    stories: list[Any] = []
    for stream_id in sorted(collected, key=_id_order):
        try:
            data = json.loads(collected[stream_id])
        except ValueError:
            continue
        if isinstance(data, dict):
            stories.append(data)
    data = {
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "stories": stories[:MAX_STORIES],
        "more": max(0, len(stories) - MAX_STORIES),
    }
    return Delivery(digest_id(period), DIGEST, data)


def _id_order(stream_id: str) -> tuple[int, int]:
    millis, _, seq = stream_id.partition("-")
    try:
        return int(millis), int(seq or 0)
    except ValueError:
        return (0, 0)
