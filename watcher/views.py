"""What the operator sees, as values: one source, one story, as ``watcher status``, the JSON API
and the dashboard all show them. Pure: the typed rows of ``store/`` in, JSON-ready dicts out.

One function per view, used by all three, so the CLI's text, its ``--json`` and the web pages
cannot disagree about a source: they format the same ``SourceView``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watcher.store.leases import LeaseView
from watcher.store.search import StoryBrief, StoryDetail, Version
from watcher.store.status import SourceRow


def iso(moment: datetime | None) -> str | None:
    """Every time the operator reads, text and JSON alike: UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


@dataclass(frozen=True, slots=True)
class SourceView:
    """One source as ``watcher status`` shows it: its stored status, its lease, and its host's
    hold. ``next_poll`` is the lease's resting marker: the one time the daemons obey (None:
    due now, at a running daemon's next tick). ``every`` and ``type`` come from the config
    (None for a source since removed from it)."""

    row: SourceRow
    lease: LeaseView
    host: str | None = None  # the source's host, when it is in the config
    deferred_until: datetime | None = None  # until when that host holds our requests off
    every: float | None = None
    type: str | None = None

    @property
    def next_poll(self) -> datetime | None:
        return self.lease.due_at

    @property
    def is_failing(self) -> bool:
        """Its last poll failed (an error newer than its last success)."""
        row = self.row
        if row.last_error_at is None:
            return False
        return row.last_success is None or row.last_error_at > row.last_success


def source_json(view: SourceView) -> dict[str, Any]:
    """The typed JSON of one source: counts as ints, drift figures as floats, times as ISO."""
    row = view.row
    return {
        "polls": row.polls,
        "polls_failed": row.polls_failed,
        "items": row.items,
        "new": row.new,
        "updated": row.updated,
        "upgraded": row.upgraded,
        "duplicate": row.duplicate,
        "filtered": row.filtered,
        "articles_failed": row.articles_failed,
        "last_poll": iso(row.last_poll),
        "last_success": iso(row.last_success),
        "last_deferred": iso(row.last_deferred),
        "last_error_at": iso(row.last_error_at),
        "last_reason": row.last_reason,
        "last_error": row.last_error,
        "next_poll": iso(view.next_poll),
        "deferred_until": iso(view.deferred_until),
        "drift": {
            "pages": row.drift_pages,
            "normal_chars": row.drift_normal_chars,
            "recent_chars": row.drift_recent_chars,
            "alarm": row.drift_alarm,
        },
    }


def lease_json(view: LeaseView) -> dict[str, str | None]:
    return {"holder": view.holder, "expires_at": iso(view.expires_at)}


def api_source_json(view: SourceView) -> dict[str, Any]:
    """``/api/sources``: the status JSON of the source, with its name, config and lease."""
    return {
        "name": view.row.name,
        "type": view.type,
        "host": view.host,
        "every": view.every,
        "failing": view.is_failing,
        **source_json(view),
        "lease": lease_json(view.lease),
    }


def brief_json(brief: StoryBrief) -> dict[str, Any]:
    """One story of ``/api/stories``: SPEC's field names where SPEC has the field."""
    return {
        "id": brief.id,
        "title": brief.title,
        "url": brief.url,
        "site": brief.site,
        "source": brief.source,
        "topics": list(brief.topics),
        "published_at": brief.published_at,
        "fetched_at": brief.fetched_at,
        "excerpt": brief.excerpt,
        "also_at": list(brief.also_at),
        "event": brief.latest_event,
        "created_at": iso(brief.created_at),
        "updated_at": iso(brief.latest_at) if brief.versions > 1 else None,
        "versions": brief.versions,
        "update_reason": brief.update_reason,
        "original_source": brief.original_source,
    }


def version_json(version: Version) -> dict[str, Any]:
    return {
        "stream_id": version.stream_id,
        "event": version.event or None,
        "at": iso(version.at),
        "title": version.title,
        "url": version.url,
        "content_hash": version.content_hash,
        "update_reason": version.update_reason,
        "text": version.text,
        "in_stream": version.text is not None,
    }


def detail_json(detail: StoryDetail) -> dict[str, Any]:
    """``/api/stories/{id}``: the story in brief, its clean text, copies and versions."""
    return {
        **brief_json(detail.brief),
        "text": detail.text,
        "original_url": detail.original_url,
        "history": [version_json(v) for v in detail.versions],
    }
