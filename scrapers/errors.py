"""Errors raised while turning a source into documents.

Every failure carries a stable ``reason`` slug: it becomes the metric label, the ``status``
column and the log field. The message is for humans and names the URL and what happened.

    ScrapeError                 one page or source failed; .url, .reason
    ├── FetchError
    │   ├── FetchTimeout        reason="timeout"
    │   ├── ConnectFailed       reason="connect"           (DNS, refused, reset)
    │   ├── ResponseTooLarge    reason="too_large"         (decompressed size too)
    │   ├── BadStatus           reason="http_<code>"; .retryable (5xx, 429), .retry_after
    │   ├── TooManyRedirects    reason="redirect_loop"
    │   ├── BlockedAddress      reason="private_address"   (SSRF guard, any hop)
    │   └── RobotsDisallowed    reason="robots"
    ├── ParseError              reason="malformed_feed" | "malformed_sitemap" | "malformed_page"
    ├── ExtractionError         reason="empty_extraction"
    ├── ParseTimeout            reason="parse_timeout"     (worker killed and replaced)
    └── WorkerCrashed           reason="worker_crashed"    (worker died: SIGKILL, crash, OOM)
"""

from __future__ import annotations

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
    """DNS failure, connection refused or reset; retried before it surfaces."""

    reason: ClassVar[str] = "connect"


class ResponseTooLarge(FetchError):
    """The body (after decompression) went over ``fetch.max_bytes``; it was cut off, not kept."""

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


class TooManyRedirects(FetchError):
    """More redirect hops than allowed, or a loop."""

    reason: ClassVar[str] = "redirect_loop"


class BlockedAddress(FetchError):
    """The SSRF guard refused a target (private, loopback, link-local, metadata) at some hop."""

    reason: ClassVar[str] = "private_address"


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
