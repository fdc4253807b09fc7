"""Errors raised while turning a source into documents.

Every failure carries a stable ``reason`` slug: it becomes the metric label, the ``status``
column and the log field. The message is for humans and names the URL and what happened.

    ScrapeError                 one page or source failed; .url, .reason
    ├── FetchError
    │   ├── FetchTimeout        reason="timeout"
    │   ├── ConnectFailed       reason="connect"           (refused, reset, unreachable)
    │   │   └── DnsFailed       reason="dns"               (the name did not resolve)
    │   ├── ResponseTooLarge    reason="too_large"         (wire or decompressed size)
    │   ├── BadStatus           reason="http_<code>"; .retryable (5xx, 429), .retry_after
    │   ├── RateLimited         reason="rate_limited"      (429/503 Retry-After too long to
    │   │                                                   wait: the host is now held)
    │   ├── HostDeferred        reason="deferred"          (the host is held: nothing sent)
    │   ├── TooManyRedirects    reason="redirect_loop"
    │   ├── BlockedAddress      reason="private_address"   (SSRF guard, any hop)
    │   └── RobotsDisallowed    reason="robots"
    ├── ParseError              reason="malformed_feed" | "malformed_sitemap" | "malformed_page"
    ├── ExtractionError         reason="empty_extraction"
    ├── ParseTimeout            reason="parse_timeout"     (worker killed and replaced)
    └── WorkerCrashed           reason="worker_crashed"    (worker died: SIGKILL, crash, OOM)
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar


class ScrapeError(Exception):
    """One page or source failed; the caller counts it under ``reason`` and moves on."""

    reason: ClassVar[str] = "scrape_error"

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url

    @property
    def slug(self) -> str:
        """The reason as reported; subclasses whose reason depends on the instance override."""
        return self.reason


class FetchError(ScrapeError):
    """The HTTP exchange failed."""

    reason: ClassVar[str] = "fetch_error"


class FetchTimeout(FetchError):
    """Connect, read or total timeout elapsed; retried by the fetcher before it surfaces."""

    reason: ClassVar[str] = "timeout"


class ConnectFailed(FetchError):
    """Connection refused, reset or unreachable; retried before it surfaces."""

    reason: ClassVar[str] = "connect"


class DnsFailed(ConnectFailed):
    """The host name did not resolve (no such name, no address, resolver failure): nothing was
    sent. A ConnectFailed, so it is retried like one (resolvers fail transiently too)."""

    reason: ClassVar[str] = "dns"


class ResponseTooLarge(FetchError):
    """The body went over ``fetch.max_bytes`` decompressed, or its compressed bytes on the wire
    went over what such a body can take (see ``scrapers.fetch.wire_cap``); it was cut off."""

    reason: ClassVar[str] = "too_large"


class BadStatus(FetchError):
    """A non-2xx, non-304 status. 5xx and 429 are retryable; Retry-After is honoured."""

    reason: ClassVar[str] = "http_status"

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500

    @property
    def slug(self) -> str:
        return f"http_{self.status}"


class RateLimited(FetchError):
    """A 429 or 503 asked for a wait longer than the fetcher waits within one fetch
    (``FetchSettings.max_retry_after``). The fetch ended at once and the host is held until
    ``until`` (UTC, at most an hour ahead): meanwhile every request to it is HostDeferred."""

    reason: ClassVar[str] = "rate_limited"

    def __init__(
        self, message: str, *, url: str | None = None, host: str, until: datetime, status: int
    ) -> None:
        super().__init__(message, url=url)
        self.host = host
        self.until = until
        self.status = status


class HostDeferred(FetchError):
    """The host is held after it rate limited us (in this process or another replica), so no
    request was sent and none waited: ask again after ``until`` (UTC)."""

    reason: ClassVar[str] = "deferred"

    def __init__(self, message: str, *, url: str | None = None, host: str, until: datetime) -> None:
        super().__init__(message, url=url)
        self.host = host
        self.until = until


class TooManyRedirects(FetchError):
    """More redirect hops than allowed, or a loop."""

    reason: ClassVar[str] = "redirect_loop"


class BlockedAddress(FetchError):
    """The SSRF guard refused a target (private, loopback, link-local, metadata) at some hop.

    ``refusal`` is the guard's own words without the request (``refused to connect to
    127.0.0.1: ...``), so a caller can say them of another URL: robots.txt is refused because
    its page's host is, and the page is what the user asked for.
    """

    reason: ClassVar[str] = "private_address"

    def __init__(self, message: str, *, url: str | None = None, refusal: str = "") -> None:
        super().__init__(message, url=url)
        self.refusal = refusal or message


class RobotsDisallowed(FetchError):
    """robots.txt of the host forbids our user agent this path."""

    reason: ClassVar[str] = "robots"


class ParseError(ScrapeError):
    """A body could not be parsed as what the source type promised."""

    reason: ClassVar[str] = "parse_error"

    def __init__(self, message: str, *, url: str | None = None, kind: str = "parse_error") -> None:
        super().__init__(message, url=url)
        self.kind = kind

    @property
    def slug(self) -> str:
        return self.kind


class ExtractionError(ScrapeError):
    """Extraction found no article text on the page."""

    reason: ClassVar[str] = "empty_extraction"


class ParseTimeout(ScrapeError):
    """Parsing this body (discovery, extraction, cleaning) ran past ``fetch.parse_timeout``.

    Its worker process was killed and replaced; nothing of the entry was kept, so the next
    poll tries it again.
    """

    reason: ClassVar[str] = "parse_timeout"


class WorkerCrashed(ScrapeError):
    """The worker process parsing this body died (SIGKILL, SIGSEGV in C code, the OOM killer).

    A new worker replaces it; nothing of the entry was kept, so the next poll tries it again.
    """

    reason: ClassVar[str] = "worker_crashed"
