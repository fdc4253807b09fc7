"""Service values: the stream Document (SPEC's JSON), per-entry Outcome, per-poll PollReport."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from scrapers.clean.drift import PageFigures
from scrapers.model import Article, Damage, Entry, Refresh

EXCERPT_CHARS = 300  # SPEC: "first ~300 chars"

UPGRADE_REASONS = ("original_found", "fuller_copy")  # an updated outcome that is a better copy
OutcomeKind = Literal["new", "updated", "held", "duplicate", "filtered", "failed", "not_modified"]


@dataclass(frozen=True, slots=True)
class Document:
    """One story as emitted to ``<namespace>:stories`` (field names are SPEC's)."""

    id: str
    url: str
    canonical_url: str
    source: str
    site: str
    title: str | None
    author: str | None
    published_at: str | None
    fetched_at: str
    language: str | None
    text: str
    excerpt: str
    topics: list[str]
    content_hash: str
    also_at: list[str] = field(default_factory=list)
    original_source: str | None = None  # additive: the outlet a syndicated copy names
    original_url: str | None = None  # additive: the original's URL (cross-site canonical)
    update_reason: str | None = None  # additive, story.updated only: why (UpdateReason)

    def to_json(self) -> str:
        """SPEC's JSON; the additive ``original_*`` and ``update_reason`` only when known."""
        data = asdict(self)
        for optional in ("original_source", "original_url", "update_reason"):
            if data[optional] is None:
                del data[optional]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Document:
        data: dict[str, Any] = json.loads(raw)
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def excerpt_of(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first ~``limit`` characters, cut at a word boundary, with an ellipsis when cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:-") + "…"


def published_of(article: Article, entry: Entry) -> datetime | None:
    """A story's date, in UTC: the page's own tags, else the feed entry's, else what htmldate
    guessed from the page (the worker searches only when the entry has no date:
    ``find_date``). The stream and ``watcher preview`` both say this one."""
    return utc(article.published_at or entry.published_at)


def utc(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC; a date without a zone (a page's "2025-03-03") is taken as UTC."""
    if moment is None or moment.tzinfo is None:
        return moment.replace(tzinfo=UTC) if moment else None
    return moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one entry: a value, counted in the poll summary and logged once."""

    kind: OutcomeKind
    url: str
    reason: str = ""
    story_id: str | None = None


@dataclass(frozen=True, slots=True)
class Deferral:
    """A poll skipped because its host is rate limited (held) until ``until`` (UTC)."""

    host: str
    until: datetime


@dataclass(slots=True)
class PollReport:
    """One poll of one source: the summary line of ``watcher once`` and the status counters."""

    source: str
    polled: int = 0
    new: int = 0
    updated: int = 0  # story.updated emitted: edits and upgrades
    upgraded: int = 0  # ... of which a better version (original_found, fuller_copy)
    held: int = 0  # copies waiting ``dedupe.settle`` for their original (not emitted yet)
    duplicate: int = 0
    filtered: int = 0
    failed: int = 0
    not_modified: bool = False
    deferred: Deferral | None = None  # skipped, not failed: the host holds us off
    held_until: datetime | None = None  # the source's host holds us off until then (UTC)
    error: str | None = None
    reason: str | None = None
    failures: list[Outcome] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)  # sources read only partly (bad XML)
    figures: list[PageFigures] = field(default_factory=list)  # per extracted page, for drift
    seconds: float = 0.0
    # for ``every: auto``: what the source said about its rate and how long to cache it
    entry_dates: tuple[float, ...] = ()  # the listed entries' publication times (Unix s)
    refresh: Refresh = field(default_factory=Refresh)
    cache_max_age: float | None = None  # the source's Cache-Control max-age, in seconds

    def count(self, outcome: Outcome) -> None:
        if outcome.kind == "new":
            self.new += 1
        elif outcome.kind == "updated":
            self.updated += 1
            self.upgraded += outcome.reason in UPGRADE_REASONS
        elif outcome.kind == "held":
            self.held += 1
        elif outcome.kind in ("duplicate", "not_modified"):
            self.duplicate += 1
        elif outcome.kind == "filtered":
            self.filtered += 1
        else:
            self.failed += 1
            self.failures.append(outcome)


# What one notification attempt came to, as the endpoint settled it (metrics, logs).
AttemptOutcome = Literal[
    "delivered", "retry", "dead", "disabled", "filtered", "parked", "collected"
]


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt, for metrics: which endpoint, what came of it, and how long it took."""

    endpoint: str
    outcome: AttemptOutcome
    reason: str
    status: int | None
    seconds: float


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A story's record (``Stories.record``): the emitted version's identity, what it says of
    its original, and what a re-check compares against. An unknown or expired story is
    ``StoryRecord()``: no ``content_hash``, nothing emitted to compare with."""

    url: str = ""
    canonical_url: str = ""
    title: str = ""
    source: str = ""
    site: str = ""
    content_hash: str = ""
    original_url: str = ""
    original_source: str = ""
    is_original: bool = False  # the emitted version is the original: final
    pending: bool = False  # held by dedupe.settle: nothing emitted yet
    version: str = "0"  # compare-and-set token of updates, with content_hash
    created_at: float = 0.0
    checked_at: float = 0.0  # last re-check (0: never)
    units: str = ""  # base64 sentence prints of the emitted text
    etag: str = ""
    last_modified: str = ""
    also_at: tuple[str, ...] = ()

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> StoryRecord:
        """The record HASH's fields → a StoryRecord; unknown fields are ignored and malformed
        numbers read as 0 (the hash is in Redis, where anyone with access may edit it)."""
        text = {k: str(fields.get(k) or "") for k in _RECORD_TEXT}
        try:
            also = json.loads(fields.get("also_at") or "[]")
        except ValueError:
            also = []
        return cls(
            **text,
            is_original=fields.get("is_original") == "1",
            pending=fields.get("pending") == "1",
            version=str(fields.get("version") or "0"),
            created_at=_number(fields.get("created_at")),
            checked_at=_number(fields.get("checked_at")),
            also_at=tuple(str(u) for u in also) if isinstance(also, list) else (),
        )


_RECORD_TEXT = (
    "url",
    "canonical_url",
    "title",
    "source",
    "site",
    "content_hash",
    "original_url",
    "original_source",
    "units",
    "etag",
    "last_modified",
)


def _number(value: object) -> float:
    try:
        return float(str(value or 0))
    except ValueError:
        return 0.0
