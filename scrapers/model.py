"""Values that flow through the scrapers: a discovered Entry, a fetched Page, an Article."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Refresh:
    """How often a feed says it may be asked again, in seconds (None: it does not say).

    ``ttl`` is RSS ``<ttl>`` (minutes on the wire: "cache me this long"); ``update_every`` is
    ``sy:updatePeriod`` divided by ``sy:updateFrequency`` (how often it is updated).
    """

    ttl: float | None = None
    update_every: float | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """A link found by discovery: an article URL and what the source told us about it.

    ``content`` is set when a full-content feed carries the article body (HTML), so the
    pipeline can skip fetching the page.
    """

    url: str
    title: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    content: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched body. ``url`` is the final URL after redirects.

    ``not_modified`` is True for a 304 answer to a conditional GET: ``text`` is then empty.
    """

    url: str
    status: int
    text: str
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    size: int = 0  # bytes of the body as received, Content-Encoding undone (for metrics)


@dataclass(frozen=True, slots=True)
class Article:
    """What extraction found on a page: the cleaned body plus metadata."""

    text: str
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    site: str | None = None
    original_source: str | None = None  # the outlet a republished copy names
    original_url: str | None = None  # the link its republication credit gives, if any
