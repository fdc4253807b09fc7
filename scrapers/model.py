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
class Damage:
    """Where a source body that was still partly read stops being well-formed.

    The entries the parser could read were kept; what follows the damage may be lost, so the
    caller reports it (a log line, ``watcher once``, ``watcher status``) instead of passing the
    poll as clean. ``reason`` is the ParseError kind it would have been (``malformed_feed``);
    ``line`` and ``column`` are the parser's (1-based line, 0-based column), when it gave them.
    """

    url: str
    reason: str
    message: str
    line: int | None = None
    column: int | None = None

    @property
    def detail(self) -> str:
        """``malformed XML at line 3, column 22: not well-formed (invalid token)``."""
        if self.line is None:
            return f"malformed XML: {self.message}"
        column = f", column {self.column}" if self.column is not None else ""
        return f"malformed XML at line {self.line}{column}: {self.message}"

    def __str__(self) -> str:
        return f"{self.url}: {self.detail}"


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
