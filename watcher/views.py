"""What the operator sees, as values: one source, one story, as ``watcher status``, the JSON API
and the dashboard all show them. Pure: the typed rows of ``store/`` in, JSON-ready dicts out.

One function per view, used by all three, so the CLI's text, its ``--json`` and the web pages
cannot disagree about a source: they format the same ``SourceView``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watcher.config import Source
from watcher.site import SiteFound
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
    every: float | None = None  # seconds between polls: the learned one for ``every: auto``
    type: str | None = None
    site: SiteFound | None = None  # a ``type: site`` source's stored discovery
    auto: Source | None = None  # the source, when its ``every`` is ``auto`` (its bounds)

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
        "last_warning_at": iso(row.last_warning_at),
        "last_warning": row.last_warning,
        "next_poll": iso(view.next_poll),
        "every": view.every,
        "every_auto": view.auto is not None,
        "deferred_until": iso(view.deferred_until),
        "site": site_json(view.site) if view.site is not None else None,
        "drift": {
            "pages": row.drift_pages,
            "normal_chars": row.drift_normal_chars,
            "recent_chars": row.drift_recent_chars,
            "alarm": row.drift_alarm,
        },
    }


def site_json(found: SiteFound) -> dict[str, Any]:
    """A site source's discovery: when and why, what it polls, what was probed."""
    return {
        "url": found.url,
        "discovered_at": iso(found.discovered_at),
        "reason": found.reason,
        "next_discovery": iso(found.next_discovery),
        "polls": [{"kind": sub.kind, "url": sub.url} for sub in found.polls],
        "probes": [
            {
                "kind": p.kind,
                "url": p.url,
                "verdict": p.verdict,
                "entries": p.entries,
                "detail": p.detail or None,
            }
            for p in found.probes
        ],
        "feeds_truncated": found.feeds_truncated,
    }


def lease_json(view: LeaseView) -> dict[str, str | None]:
    return {"holder": view.holder, "expires_at": iso(view.expires_at)}


def api_source_json(view: SourceView) -> dict[str, Any]:
    """``/api/sources``: the status JSON of the source, with its name, config and lease."""
    return {
        "name": view.row.name,
        "type": view.type,
        "host": view.host,
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
