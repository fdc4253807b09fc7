"""[notify] The values the outbox stores: an event bound for an endpoint (``Delivery``), a dead
letter, and stream entries as Redis returns them (pure).

In store/ because the outbox (which owns the Redis side of delivery) reads and writes them;
how a stream document becomes a delivery's data is the notify package's (``webhooks/events.py``),
handed to the outbox as an ``EntryParser``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

MAX_REASONS = 10  # the last ten failures explain a dead letter; older ones are noise
Entry = tuple[str, dict[str, str] | None]  # a stream entry: id and fields (None once trimmed)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event bound for one endpoint: what to send, and how often it has failed so far."""

    stream_id: str
    event: str
    data: dict[str, Any]
    attempts: int = 0
    reasons: tuple[str, ...] = ()

    @property
    def event_id(self) -> str:
        """The event's stable key: its stream entry id (a digest's is its period's, see
        ``webhooks/digest.py``). Signing and payloads see this and ``occurred_at`` only."""
        return self.stream_id

    @property
    def occurred_at(self) -> datetime:
        """When the event happened: the entry id's Unix milliseconds (a digest: its end)."""
        return stream_time(self.stream_id)

    def failed(self, reason: str) -> Delivery:
        """This delivery after one more failed attempt (the reason list stays bounded)."""
        reasons = (*self.reasons, reason)[-MAX_REASONS:]
        return replace(self, attempts=self.attempts + 1, reasons=reasons)

    def to_json(self) -> str:
        return json.dumps(
            {
                "event": self.event,
                "data": self.data,
                "attempts": self.attempts,
                "reasons": list(self.reasons),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, stream_id: str, raw: str) -> Delivery:
        """A stored retry record → Delivery; ValueError for anything ``to_json`` never wrote
        (the record is in Redis, where anyone with access may have changed it)."""
        try:
            value = json.loads(raw)
            event, data, reasons = value["event"], value["data"], value.get("reasons", [])
            attempts = int(value.get("attempts", 0))
        except (TypeError, KeyError, OverflowError) as exc:  # json's errors are ValueErrors
            raise ValueError(f"not a retry record: {type(exc).__name__}") from None
        if not (isinstance(event, str) and isinstance(data, dict) and isinstance(reasons, list)):
            raise ValueError("not a retry record: wrong field types")
        return cls(stream_id, event, data, attempts, tuple(str(r) for r in reasons))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entry of ``<ns>:webhooks:dead``: the event, its endpoint, and why it was given up."""

    dead_id: str
    endpoint: str
    delivery: Delivery


def entries_of(reply: Any) -> list[Entry]:
    """XREADGROUP's reply in RESP2 (list) or RESP3 (dict) shape → its entries."""
    streams = reply.values() if isinstance(reply, dict) else [s[1] for s in reply or []]
    return [(entry_id, fields) for entries in streams for entry_id, fields in entries or []]


EntryParser = Callable[[str, dict[str, str] | None], "Delivery | None"]


def parse_entries(
    entries: list[Entry], parse: EntryParser, cache: dict[str, Delivery | None] | None = None
) -> tuple[list[Delivery], list[str]]:
    """Entries → (deliveries, ids of unreadable entries). ``cache`` lets the endpoints that
    read the same entries in one round trip parse each document once, not once each."""
    seen = {} if cache is None else cache
    out, bad = [], []
    for entry_id, fields in entries:
        if entry_id not in seen:
            seen[entry_id] = parse(entry_id, fields)
        delivery = seen[entry_id]
        if delivery is None:
            bad.append(entry_id)
        else:
            out.append(delivery)
    return out, bad


def stream_time(stream_id: str) -> datetime:
    """When an entry was added: a stream id starts with its Unix time in milliseconds."""
    millis = int(stream_id.split("-", 1)[0])
    return datetime.fromtimestamp(millis / 1000, tz=UTC)
