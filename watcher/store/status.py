"""Per-source status for ``watcher status`` and /metrics: last poll, success, error, counters."""

from __future__ import annotations

from datetime import datetime

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from scrapers.clean.drift import Drift
from watcher.model import PollReport
from watcher.store import translated
from watcher.store.keys import Keys

COUNTERS = ("polls", "items", "new", "updated", "upgraded", "duplicate", "filtered", "failed")
DRIFT_FIELDS = ("pages", "normal_chars", "recent_chars", "normal_removed", "recent_removed")


class SourceStatus:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    @translated
    async def drift(self, source: str) -> Drift:
        """The source's rolling extraction figures (empty for a new source)."""
        values = await self._client.hmget(
            self._keys.source(source), [f"drift_{f}" for f in DRIFT_FIELDS]
        )
        if any(v is None for v in values):
            return Drift()
        pages, *rest = values
        return Drift(int(str(pages)), *(float(str(v)) for v in rest))

    @translated
    async def save(
        self,
        report: PollReport,
        now: datetime,
        next_due: datetime | None,
        drift: Drift | None = None,
    ) -> None:
        """Add one poll's counts to the source's totals and stamp its times and drift figures."""
        key = self._keys.source(report.source)
        fields: dict[FieldT, EncodableT] = {"last_poll": now.isoformat()}
        if drift is not None:
            fields |= {f"drift_{f}": str(getattr(drift, f)) for f in DRIFT_FIELDS}
            fields["drift_alarm"] = drift.alarm() or ""
        if next_due:
            fields["next_due"] = next_due.isoformat()
        if report.error:
            fields |= {"last_error": report.error, "last_reason": report.reason or "error"}
            fields["last_error_at"] = now.isoformat()
        elif report.deferred:  # neither a success nor an error: the live hold is shown instead
            fields["last_deferred"] = now.isoformat()
        else:
            fields["last_success"] = now.isoformat()
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._keys.sources, report.source)
            pipe.hset(key, mapping=fields)
            pipe.hincrby(key, "polls", 1)
            for name, value in (
                ("items", report.polled),
                ("new", report.new),
                ("updated", report.updated),
                ("upgraded", report.upgraded),
                ("duplicate", report.duplicate),
                ("filtered", report.filtered),
                ("failed", report.failed),
            ):
                pipe.hincrby(key, name, value)
            await pipe.execute()

    @translated
    async def all(self) -> dict[str, dict[str, str]]:
        """Every source's status hash, by source name."""
        names = sorted(str(n) for n in await self._client.smembers(self._keys.sources))
        out = {}
        for name in names:
            row = await self._client.hgetall(self._keys.source(name))
            out[name] = {str(k): str(v) for k, v in row.items()}
        return out
