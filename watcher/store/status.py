"""Per-source status for ``watcher status`` and /metrics: last poll, success, error, counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from scrapers.clean.drift import Drift
from watcher.model import PollReport
from watcher.store import translated
from watcher.store.keys import Keys

COUNTERS = ("polls", "items", "new", "updated", "upgraded", "duplicate", "filtered", "failed")
DRIFT_FIELDS = ("pages", "normal_chars", "recent_chars", "normal_removed", "recent_removed")


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One source's stored status, typed: what ``watcher status`` prints as text and as JSON.

    ``articles_failed`` counts articles that failed; ``polls_failed`` counts polls whose
    source itself failed (DNS, 5xx, bad XML): a failed poll has no articles to fail.
    """

    name: str
    polls: int = 0
    polls_failed: int = 0
    items: int = 0
    new: int = 0
    updated: int = 0
    upgraded: int = 0  # of ``updated``: a better version of the story (issue 13)
    duplicate: int = 0
    filtered: int = 0
    articles_failed: int = 0
    last_poll: datetime | None = None
    last_success: datetime | None = None
    last_deferred: datetime | None = None
    last_error_at: datetime | None = None
    last_reason: str | None = None
    last_error: str | None = None
    last_warning_at: datetime | None = None  # the last good poll read a damaged source ...
    last_warning: str | None = None  # ... where (cleared by a poll that reads it whole)
    drift_pages: int = 0
    drift_normal_chars: float = 0.0
    drift_recent_chars: float = 0.0
    drift_alarm: str | None = None

    @classmethod
    def of(cls, name: str, row: dict[str, str]) -> SourceRow:
        """From the status hash; a field that is missing or not a number reads as unknown."""

        def count(field: str) -> int:
            try:
                return int(row.get(field) or 0)
            except ValueError:
                return 0

        def figure(field: str) -> float:
            try:
                return float(row.get(field) or 0)
            except ValueError:
                return 0.0

        def moment(field: str) -> datetime | None:
            try:
                return datetime.fromisoformat(row[field]) if row.get(field) else None
            except ValueError:
                return None

        return cls(
            name,
            polls=count("polls"),
            polls_failed=count("polls_failed"),
            items=count("items"),
            new=count("new"),
            updated=count("updated"),
            upgraded=count("upgraded"),
            duplicate=count("duplicate"),
            filtered=count("filtered"),
            articles_failed=count("failed"),
            last_poll=moment("last_poll"),
            last_success=moment("last_success"),
            last_deferred=moment("last_deferred"),
            last_error_at=moment("last_error_at"),
            last_reason=row.get("last_reason") or None,
            last_error=row.get("last_error") or None,
            last_warning_at=moment("last_warning_at"),
            last_warning=row.get("last_warning") or None,
            drift_pages=count("drift_pages"),
            drift_normal_chars=figure("drift_normal_chars"),
            drift_recent_chars=figure("drift_recent_chars"),
            drift_alarm=row.get("drift_alarm") or None,
        )


def _warning_fields(report: PollReport, now: datetime) -> dict[FieldT, EncodableT]:
    """A successful poll of a damaged source stamps its warning; one that read every body
    whole clears it, so ``watcher status`` shows the damage only while it lasts."""
    if not report.damage:
        return {"last_warning": "", "last_warning_at": ""}
    text = "; ".join(f"{damage.reason}: {damage}" for damage in report.damage)
    return {"last_warning": text, "last_warning_at": now.isoformat()}


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
        drift: Drift | None = None,
    ) -> None:
        """Add one poll's counts to the source's totals and stamp its times and drift figures.

        No next-due time is stored: when a source is due is the lease's resting marker
        (``store/leases.py``), the one time the daemons obey; a second copy here disagreed.
        """
        key = self._keys.source(report.source)
        fields: dict[FieldT, EncodableT] = {"last_poll": now.isoformat()}
        if drift is not None:
            fields |= {f"drift_{f}": str(getattr(drift, f)) for f in DRIFT_FIELDS}
            fields["drift_alarm"] = drift.alarm() or ""
        if report.error:
            fields |= {"last_error": report.error, "last_reason": report.reason or "error"}
            fields["last_error_at"] = now.isoformat()
        elif report.deferred:  # neither a success nor an error: the live hold is shown instead
            fields["last_deferred"] = now.isoformat()
        else:
            fields["last_success"] = now.isoformat()
            fields |= _warning_fields(report, now)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._keys.sources, report.source)
            pipe.hset(key, mapping=fields)
            pipe.hincrby(key, "polls", 1)
            for name, value in (
                ("polls_failed", 1 if report.error else 0),
                ("items", report.polled),
                ("new", report.new),
                ("updated", report.updated),
                ("upgraded", report.upgraded),
                ("duplicate", report.duplicate),
                ("filtered", report.filtered),
                ("failed", report.failed),
            ):
                if value:  # a missing counter reads as 0: most polls add to none of them
                    pipe.hincrby(key, name, value)
            await pipe.execute()

    @translated
    async def all(self) -> dict[str, SourceRow]:
        """Every polled source's status, by source name, in one round trip after the names."""
        return await self.rows(await self.names())

    @translated
    async def names(self) -> list[str]:
        """The sources that have a status, sorted (a source removed from the config too)."""
        return sorted(str(n) for n in await self._client.smembers(self._keys.sources))

    @translated
    async def rows(self, names: Sequence[str]) -> dict[str, SourceRow]:
        """These sources' status (a never-polled one reads as zeros), in one round trip."""
        async with self._client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self._keys.source(name))
            rows = await pipe.execute()
        return {
            name: SourceRow.of(name, {str(k): str(v) for k, v in row.items()})
            for name, row in zip(names, rows, strict=True)
        }
