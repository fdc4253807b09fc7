"""[fetch] URL → Page through the one httpx client: guarded, polite, bounded and retried.

    get(url)                          one redirect hop after another (max_redirects):
      1 scheme check                  http and https only
      2 robots.txt                    per origin, cached; disallowed → RobotsDisallowed
      3 retries                       connect errors, timeouts, 5xx, 429 (Retry-After honoured)
        4 politeness slot             per-host concurrency and spacing; a 429/503 Retry-After
                                      defers the whole host, not just this URL; one longer
                                      than max_retry_after ends the fetch (RateLimited) and
                                      holds the host, and a held host is HostDeferred at once
        5 total deadline              asyncio.timeout around one whole exchange
        6 connect via netguard        resolve (DnsFailed), refuse private answers, connect to
                                      a checked IP; through a proxy (``RequestOptions``) the
                                      guard checks the proxy's address when it connects, and
                                      the target's addresses before the request is sent
        7 bounded body                raw bytes decompressed here, capped at max_bytes; the
                                      wire bytes too (wire_cap), in time linear in them
      8 decode                        a body that is a gzip file (``.xml.gz``) inflated
                                      within max_bytes, then charset.decode → Page.text

Every httpx exception is translated into the scrapers.errors tree here; none escapes.
"""

from __future__ import annotations

import asyncio
import random
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urljoin

import httpcore
import httpx

from scrapers import charset
from scrapers.errors import (
    BadStatus,
    BlockedAddress,
    ConnectFailed,
    DnsFailed,
    FetchError,
    FetchTimeout,
    HostDeferred,
    RateLimited,
    ResponseTooLarge,
    RobotsDisallowed,
    TooManyRedirects,
)
from scrapers.model import Page
from scrapers.netguard import GuardedBackend, Resolver, SystemResolver, checked_addresses
from scrapers.politeness import LocalPoliteness, Politeness, RobotsCache, host_key

try:  # brotli is optional; its decoder must be able to bound its output (brotli >= 1.2)
    import brotli

    brotli.Decompressor().process(b"", output_buffer_limit=1)
    HAVE_BROTLI = True
    _BODY_ERRORS: tuple[type[Exception], ...] = (zlib.error, brotli.error)
except (ImportError, TypeError, AttributeError):  # pragma: no cover - depends on the install
    HAVE_BROTLI = False
    _BODY_ERRORS = (zlib.error,)

DEFAULT_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ROBOTS_MAX_BYTES = 500 * 1024  # Google reads at most 500 KiB of a robots.txt
CONNECT_TIMEOUT_CAP = 10.0  # a host that can't accept a TCP connection in 10 s is down
# Every open connection may stay open: with httpx's default of 20 kept alive, polling more
# hosts than that reconnected on most requests (5 % of the poll loop's time in connect).
CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
OFF_LOOP_DECODE = 256 * 1024  # bigger bodies are decoded in a thread (charset detection is CPU)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
BROTLI_STEP = 64 * 1024  # brotli may overshoot its output limit by a buffer; keep buffers small
ACCEPT_ENCODING = "gzip, deflate, br" if HAVE_BROTLI else "gzip, deflate"
MAX_HOLD = 3600.0  # a rate-limited host is held at most an hour, whatever it asked for
RETRY_AFTER_CEILING = 7 * 86400.0  # longer Retry-Afters read as this: callers never see inf


@dataclass(frozen=True)
class FetchSettings:
    """How the fetcher behaves; built once from config (``watcher.app.fetch_settings``)."""

    user_agent: str = "news-watcher/0.1 (+https://example.org/bot)"
    timeout: float = 20.0  # total seconds per request (connect/read are min(timeout, 10)/timeout)
    max_bytes: int = 5_000_000  # decompressed body cap
    per_host: int = 2  # concurrent requests to one host
    delay: float = 1.0  # min seconds between request starts to one host
    robots: bool = True
    allow_private_networks: bool | tuple[str, ...] = False  # True, False, or CIDRs allowed
    max_redirects: int = 5
    retries: int = 3  # extra attempts on connect errors, timeouts, 5xx, 429
    backoff: float = 0.5  # base seconds of exponential backoff (with full jitter)
    max_retry_after: float = 30.0  # longest Retry-After waited for; longer → RateLimited
    headers: tuple[tuple[str, str], ...] = ()  # sent with every request (``fetch.headers``)
    proxy: str = ""  # http(s):// or socks5(h):// proxy for every request; "" connects directly


@dataclass(frozen=True)
class RequestOptions:
    """One source's HTTP options over the fetcher's own (``FetchSettings``).

    ``user_agent`` None keeps the fetcher's; ``headers`` are added to (and by name replace)
    the fetcher's; ``proxy`` None keeps the fetcher's, "" connects directly. Requests with the
    same effective options share one pooled client (a *lane*) and one robots.txt cache, so
    robots.txt is read the way the source reads its pages (same agent, same proxy).
    """

    user_agent: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    proxy: str | None = None


@dataclass(frozen=True)
class _LaneKey:
    user_agent: str
    headers: tuple[tuple[str, str], ...]  # lower-case names, one value each
    proxy: str


@dataclass
class _Lane:
    """One effective set of options: its client, its robots.txt, the proxy it goes through."""

    key: _LaneKey
    client: httpx.AsyncClient
    robots: RobotsCache

    @property
    def proxy_shown(self) -> str:
        """The proxy URL without its credentials, for messages."""
        return _without_userinfo(self.key.proxy)


@dataclass(frozen=True)
class _Answer:
    """One HTTP exchange as far as we read it: 3xx and 304 carry no body."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes = b""


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that opens sockets only through the netguard.

    httpx takes no httpcore network backend, so the pool is swapped in after construction
    (``_pool`` is what every transport method uses; httpx is pinned below 0.29 for this).
    With a ``proxy`` the pool is httpcore's HTTP or SOCKS proxy pool over the same guarded
    backend, so the only socket it opens, to the proxy, is checked like any other.
    """

    def __init__(
        self, backend: httpcore.AsyncNetworkBackend, limits: httpx.Limits, proxy: str = ""
    ) -> None:
        super().__init__(trust_env=False, limits=limits)
        pooled: dict[str, Any] = {  # what every pool kind takes alike
            "ssl_context": httpx.create_ssl_context(trust_env=False),
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "network_backend": backend,
        }
        if not proxy:
            self._pool = httpcore.AsyncConnectionPool(**pooled)
            return
        spec = httpx.Proxy(url=proxy)
        url = httpcore.URL(
            scheme=spec.url.raw_scheme,
            host=spec.url.raw_host,
            port=spec.url.port,
            target=spec.url.raw_path,
        )
        if spec.url.scheme in ("socks5", "socks5h"):
            self._pool = httpcore.AsyncSOCKSProxy(proxy_url=url, proxy_auth=spec.raw_auth, **pooled)
            return
        self._pool = httpcore.AsyncHTTPProxy(
            proxy_url=url,
            proxy_auth=spec.raw_auth,
            proxy_headers=spec.headers.raw,
            proxy_ssl_context=spec.ssl_context,
            **pooled,
        )


class Fetcher:
    """Fetches pages for every source through one shared, guarded ``httpx.AsyncClient``.

    ``resolver`` (DNS), ``rng`` (backoff jitter), ``politeness`` (per-host limits) and
    ``network_backend`` (the sockets behind the guard) are injectable for tests and for a
    multi-replica politeness; the defaults are the real ones. ``decode_text`` turns a big or
    gzipped body into text off the event loop: the daemon passes its worker pool (so no CPU
    work on untrusted bytes runs on a thread of its own), one-shot commands keep the default,
    a thread.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        resolver: Resolver | None = None,
        rng: random.Random | None = None,
        politeness: Politeness | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        decode_text: TextDecoder | None = None,
    ) -> None:
        self._settings = settings
        self._decode_text = decode_text or _in_thread
        self._rng = rng or random.Random()
        self._politeness = politeness or LocalPoliteness(settings.per_host, settings.delay)
        self._resolver = resolver or SystemResolver()
        self._backend = GuardedBackend(
            self._resolver, settings.allow_private_networks, network_backend
        )
        self._lanes: dict[_LaneKey, _Lane] = {}
        self._default = self._lane(None)

    @property
    def _robots(self) -> RobotsCache:
        """The robots.txt cache of requests without options of their own."""
        return self._default.robots

    def _lane(self, options: RequestOptions | None) -> _Lane:
        """The client and robots cache for these options, made the first time they are used."""
        key = self._effective(options or RequestOptions())
        lane = self._lanes.get(key)
        if lane is None:
            timeout = self._settings.timeout
            client = httpx.AsyncClient(
                transport=_GuardedTransport(self._backend, CONNECTION_LIMITS, key.proxy),
                timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_CAP)),
                follow_redirects=False,  # each hop is checked by robots and the guard: _follow
                trust_env=False,  # an env proxy would connect for us, around the guard
                headers={
                    **dict(key.headers),
                    "user-agent": key.user_agent,
                    "accept-encoding": ACCEPT_ENCODING,  # what read_body can bound
                },
            )
            lane = _Lane(key, client, RobotsCache(self._robots_reader(key), key.user_agent))
            self._lanes[key] = lane
        return lane

    def _effective(self, options: RequestOptions) -> _LaneKey:
        """The fetcher's settings with ``options`` over them; header names compared lower-case."""
        headers = {name.lower(): value for name, value in self._settings.headers}
        headers |= {name.lower(): value for name, value in options.headers}
        for reserved in ("user-agent", "accept-encoding", "host", "content-length"):
            headers.pop(reserved, None)  # set by the fetcher itself (config refuses them too)
        return _LaneKey(
            user_agent=options.user_agent or self._settings.user_agent,
            headers=tuple(sorted(headers.items())),
            proxy=self._settings.proxy if options.proxy is None else options.proxy,
        )

    def _robots_reader(self, key: _LaneKey) -> Callable[[str], Awaitable[str | None]]:
        async def read(robots_url: str) -> str | None:
            return await self._robots_text(robots_url, self._lanes[key])

        return read

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections; the fetcher cannot be used afterwards."""
        for lane in self._lanes.values():
            await lane.client.aclose()

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        options: RequestOptions | None = None,
    ) -> Page:
        """GET ``url`` following redirects; a 304 to a conditional GET is a not-modified Page.

        Raises a FetchError subclass naming the URL: BlockedAddress, RobotsDisallowed,
        TooManyRedirects, BadStatus, RateLimited, HostDeferred, FetchTimeout, ConnectFailed
        (DnsFailed), ResponseTooLarge. ``options``: the source's user agent, headers, proxy.
        """
        headers = {"accept": accept or DEFAULT_ACCEPT}
        if etag:
            headers["if-none-match"] = etag
        if last_modified:
            headers["if-modified-since"] = last_modified
        lane = self._lane(options)
        answer = await self._follow(url, headers, lane, robots=self._settings.robots)
        if answer.status == 304:
            return _page(answer, "", etag=etag, last_modified=last_modified)
        args = (
            answer.body,
            answer.headers.get("content-type"),
            answer.url,
            self._settings.max_bytes,
        )
        if len(answer.body) > OFF_LOOP_DECODE or answer.body.startswith(GZIP_MAGIC):
            text = await self._decode_text(*args)  # a small gzip may inflate to 5 MB
        else:
            text = body_text(*args)
        return _page(answer, text)

    async def allows(self, url: str, options: RequestOptions | None = None) -> bool:
        """Whether ``get(url)`` would pass robots.txt (always, with ``robots`` off)."""
        if not self._settings.robots:
            return True
        with _refused_as(url):
            return await self._lane(options).robots.allows(url)

    async def robots_sitemaps(self, url: str, options: RequestOptions | None = None) -> list[str]:
        """The sitemap URLs robots.txt of ``url``'s origin lists (``Sitemap:`` lines), from the
        same cached robots.txt that decides what may be fetched. Raises BlockedAddress,
        RateLimited or HostDeferred as fetching robots.txt does; any other failure: none."""
        with _refused_as(url):
            return await self._lane(options).robots.sitemaps(url)

    async def _follow(
        self,
        url: str,
        headers: dict[str, str],
        lane: _Lane,
        *,
        robots: bool,
        retries: int | None = None,
        cap: int | None = None,
    ) -> _Answer:
        """Hop by hop: each hop is its own checked, polite, retried exchange."""
        first = url
        for _ in range(self._settings.max_redirects + 1):
            _check_scheme(url)
            answer = await self._exchange(
                url, headers, lane, robots=robots, retries=retries, cap=cap
            )
            if answer.status not in REDIRECTS:
                return answer
            url = _redirect_target(answer)
        raise TooManyRedirects(
            f"GET {first}: more than {self._settings.max_redirects} redirects (last to {url})",
            url=first,
        )

    async def _exchange(
        self,
        url: str,
        headers: dict[str, str],
        lane: _Lane,
        *,
        robots: bool,
        retries: int | None,
        cap: int | None,
    ) -> _Answer:
        """One hop: robots first, then attempts until one answers or the retries are spent."""
        if robots:
            with _refused_as(url):
                allowed = await lane.robots.allows(url)
            if not allowed:
                raise RobotsDisallowed(f"GET {url}: disallowed by robots.txt", url=url)
        budget = self._settings.retries if retries is None else retries
        for attempt in range(budget + 1):
            try:
                return await self._attempt(url, headers, lane, cap or self._settings.max_bytes)
            except (FetchTimeout, ConnectFailed, BadStatus) as exc:
                deferred = await self._defer_host(url, exc)
                if attempt == budget or (isinstance(exc, BadStatus) and not exc.retryable):
                    raise
                if not deferred:  # else the next attempt's politeness slot does the waiting
                    await asyncio.sleep(self._backoff(attempt, exc))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _defer_host(self, url: str, exc: FetchError) -> bool:
        """A 429 or 503 with Retry-After is about the host: hold back every request to it.

        A wait we are willing to do (up to ``max_retry_after``) is done by the next attempt's
        slot. A longer one ends this fetch now: the host is held, in every replica sharing the
        politeness, so nobody waits for it and nothing is sent to it until the time it named.
        """
        if not (isinstance(exc, BadStatus) and exc.status in (429, 503)):
            return False
        if exc.retry_after is None:
            return False
        host = host_key(url)
        if exc.retry_after <= self._settings.max_retry_after:
            await self._politeness.defer(host, exc.retry_after)
            return True
        until = await self._politeness.hold(host, min(exc.retry_after, MAX_HOLD))
        raise RateLimited(
            f"GET {url}: HTTP {exc.status} with Retry-After {exc.retry_after:g}s (over "
            f"{self._settings.max_retry_after:g}s): rate limited by {host} until {_iso(until)}",
            url=url,
            host=host,
            until=until,
            status=exc.status,
        ) from exc

    def _backoff(self, attempt: int, exc: FetchError) -> float:
        """Retry-After when the server gave one (capped), else exponential with full jitter."""
        if isinstance(exc, BadStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self._settings.max_retry_after)
        ceiling = min(self._settings.backoff * 2**attempt, self._settings.max_retry_after)
        return self._rng.uniform(0, ceiling)

    async def _attempt(self, url: str, headers: dict[str, str], lane: _Lane, cap: int) -> _Answer:
        """One request inside the host's slot and under the total deadline."""
        timeout = self._settings.timeout
        try:
            async with self._politeness.slot(host_key(url)):
                try:
                    async with asyncio.timeout(timeout):
                        return await self._send(url, headers, lane, cap)
                except TimeoutError as exc:
                    msg = f"GET {url}: no full answer in {timeout:g}s"
                    raise FetchTimeout(msg, url=url) from exc
        except HostDeferred as exc:  # raised by the slot: nothing was sent
            raise HostDeferred(
                f"GET {url}: not sent, rate limited by {exc.host} until {_iso(exc.until)}",
                url=url,
                host=exc.host,
                until=exc.until,
            ) from None

    async def _send(self, url: str, headers: dict[str, str], lane: _Lane, cap: int) -> _Answer:
        if lane.key.proxy:
            await self._check_target(url, lane)
        with _translated(url, via=lane.proxy_shown):
            async with lane.client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if 200 <= status < 300:
                    body = await read_body(response, url, cap)
                    return _Answer(url, status, response.headers, body)
                if status == 304 or status in REDIRECTS:
                    return _Answer(url, status, response.headers)
                raise BadStatus(
                    f"GET {url}: HTTP {status}",
                    url=url,
                    status=status,
                    retry_after=retry_after_seconds(
                        response.headers.get("retry-after"), datetime.now(UTC)
                    ),
                )

    async def _check_target(self, url: str, lane: _Lane) -> None:
        """Behind a proxy the guard sees only the proxy's address, so the target's addresses
        are checked here first: a refused target is BlockedAddress and nothing is sent.

        The proxy resolves the name again itself, so this cannot pin the connection to the
        addresses checked (as the guard does without a proxy): a name that rebinds between
        the two lookups is the proxy's to refuse. A literal IP target is judged exactly.
        """
        parsed = httpx.URL(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            await checked_addresses(
                parsed.host, port, self._resolver, self._settings.allow_private_networks
            )
        except BlockedAddress as exc:
            why = f"{exc} (target, via proxy)"
            raise BlockedAddress(f"GET {url}: {why}", url=url, refusal=why) from None
        except DnsFailed as exc:
            raise DnsFailed(f"GET {url}: {exc} (target, via proxy)", url=url) from None

    async def _robots_text(self, robots_url: str, lane: _Lane) -> str | None:
        """robots.txt through the same guarded path; None (allow all) when it isn't there.

        A 4xx means "no rules"; a 5xx, timeout or connection failure is read leniently as
        allow too. A refused address is not leniency's business, and a held host is not
        unreachable (allowing all would be cached past the hold): those propagate.
        """
        headers = {"accept": "text/plain"}
        try:
            answer = await self._follow(
                robots_url, headers, lane, robots=False, retries=0, cap=ROBOTS_MAX_BYTES
            )
        except (BlockedAddress, RateLimited, HostDeferred):
            raise
        except FetchError:
            return None
        return charset.decode(answer.body, answer.headers.get("content-type"))


@contextmanager
def _refused_as(url: str) -> Iterator[None]:
    """A refused robots.txt reported as the refusal of ``url``, the page it was read for.

    robots.txt is on the page's own origin, so its host is the page's: naming robots.txt would
    read as if robots were the problem, when the page itself is what the guard refuses.
    """
    try:
        yield
    except BlockedAddress as exc:
        raise BlockedAddress(f"GET {url}: {exc.refusal}", url=url, refusal=exc.refusal) from None


@contextmanager
def _translated(url: str, via: str = "") -> Iterator[None]:
    """httpx's exceptions → ours, ``from`` the original; the guard's refusal gains the URL.

    Through a proxy (``via``) the only socket the guard opens is to the proxy: a refusal or
    a failed lookup there names the proxy, so nobody reads it as the target's.
    """
    proxy = f"proxy {via}: " if via else ""
    try:
        yield
    except BlockedAddress as exc:
        why = f"{proxy}{exc.refusal}"
        raise BlockedAddress(f"GET {url}: {why}", url=url, refusal=why) from None
    except DnsFailed as exc:
        raise DnsFailed(f"GET {url}: {proxy}{exc}", url=url) from exc.__cause__
    except httpx.ProxyError as exc:
        raise ConnectFailed(f"GET {url}: proxy {via}: {exc}", url=url) from exc
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"GET {url}: timed out ({type(exc).__name__})", url=url) from exc
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise ConnectFailed(f"GET {url}: {proxy}{type(exc).__name__}: {exc}", url=url) from exc
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        raise FetchError(f"GET {url}: {type(exc).__name__}: {exc}", url=url) from exc


def _without_userinfo(url: str) -> str:
    """``scheme://host:port`` of a proxy URL: its user and password never reach a message."""
    if not url:
        return ""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "(invalid proxy URL)"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _check_scheme(url: str) -> None:
    """Only http(s): a file:, ftp: or gopher: URL from a feed must not reach anything."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"GET {url}: invalid URL ({exc})", url=url) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(f"GET {url}: only http(s) URLs with a host are fetched", url=url)


def _redirect_target(answer: _Answer) -> str:
    location: str = answer.headers.get("location", "")
    if not location:
        raise BadStatus(
            f"GET {answer.url}: HTTP {answer.status} without Location",
            url=answer.url,
            status=answer.status,
        )
    target: str = urljoin(answer.url, location.strip())
    return target.partition("#")[0]


def _page(
    answer: _Answer, text: str, *, etag: str | None = None, last_modified: str | None = None
) -> Page:
    """A 304 may omit the validators; then the ones we sent still hold."""
    headers = answer.headers
    return Page(
        url=answer.url,
        status=answer.status,
        text=text,
        content_type=headers.get("content-type", ""),
        etag=headers.get("etag", etag),
        last_modified=headers.get("last-modified", last_modified),
        not_modified=answer.status == 304,
        headers=dict(headers.items()),
        size=len(answer.body),
    )


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from ``now``: delta-seconds or an HTTP-date; None if unusable.

    The header is the sender's, so this never raises: only ASCII digits are delta-seconds
    (``str.isdigit`` also takes "²", which ``int`` refuses), and a date that ``datetime``
    cannot hold (year 99999999999, day 32, offset +9999) is unusable too. Beyond
    RETRY_AFTER_CEILING it reads as the ceiling, so nobody downstream sees inf.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), RETRY_AFTER_CEILING)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return min(max(0.0, seconds), RETRY_AFTER_CEILING)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# --- bounded body ---------------------------------------------------------------------------
# httpx's decoders inflate a whole received chunk at once, so a cap checked after iter_bytes
# is overshot a thousandfold by a gzip bomb. We read raw bytes and inflate them ourselves,
# never asking a decoder for more than the bytes still allowed (+1, to know we went over).
# What goes INTO each decoder is capped too (wire_cap): endless empty gzip members inflate to
# nothing, so no output cap ever ends them. Every decoder works in time linear in its input.

ZLIB_MIN_STEP = 256  # input handed to zlib at once right after a member ended (see _Zlib)
ZLIB_MAX_STEP = 64 * 1024


def wire_cap(cap: int) -> int:
    """The most bytes any decoder takes in (the wire's first) for a body of ``cap`` bytes.

    Compression can grow incompressible data, but deflate by 5 bytes per stored block of up
    to 64 KiB and gzip by 18 bytes a member: 1/256 + 1 KiB leaves room for that, twice over,
    so every body that fits decoded fits on the wire too. Past it, the body is too large.
    """
    return cap + cap // 256 + 1024


class _Decoder(Protocol):
    def feed(self, data: bytes, limit: int) -> bytes:
        """At most ``limit`` (>= 1) bytes of output for ``data`` plus anything held back."""
        ...


class _Identity:
    def feed(self, data: bytes, limit: int) -> bytes:
        return data


class _Zlib:
    """gzip (any number of members) or deflate (zlib-wrapped or, as some servers send, raw).

    zlib copies the input left after a member ends (``unused_data``), so handing it a whole
    chunk of 20-byte empty members would copy that chunk once per member: quadratic. Right
    after a member ends the next input goes in slices of twice what that member took (at
    least ZLIB_MIN_STEP), doubling while no member ends; each copy is then bounded by the
    work already done, and the whole is linear.
    """

    def __init__(self, encoding: str) -> None:
        self._wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
        self._inflater = zlib.decompressobj(self._wbits)
        self._pending = b""  # input held back because the output limit was reached
        self._raw_deflate_ok = encoding == "deflate"
        self._members = 0
        self._step = ZLIB_MAX_STEP
        self._junk = False  # junk after a complete body: ignored from there on, as browsers do

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._junk:
            return b""
        if self._pending:
            data, self._pending = self._pending + data, b""  # once per output-limited call
        if not data:  # output the inflater still holds back, if any
            return self._inflate(b"", limit)
        view, out, pos = memoryview(data), bytearray(), 0
        while pos < len(view) and len(out) < limit and not self._junk:
            piece = view[pos : pos + self._step]
            out += self._inflate(piece, limit - len(out))
            if self._inflater.eof:
                used = len(piece) - len(self._inflater.unused_data)
                self._members += 1
                self._inflater = zlib.decompressobj(self._wbits)
                self._step = min(ZLIB_MAX_STEP, max(ZLIB_MIN_STEP, 2 * used))
            else:
                used = len(piece) - len(self._inflater.unconsumed_tail)
                self._step = min(ZLIB_MAX_STEP, 2 * self._step)
            pos += used
        if pos < len(view) and not self._junk:
            self._pending = bytes(view[pos:])
        return bytes(out)

    def _inflate(self, data: bytes | memoryview, limit: int) -> bytes:
        try:
            out = self._inflater.decompress(data, limit)
        except zlib.error:
            if self._members:  # junk after a complete gzip body
                self._junk = True
                return b""
            if not self._raw_deflate_ok:
                raise
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate without zlib header
            out = self._inflater.decompress(data, limit)
        self._raw_deflate_ok = False
        return out


class _Brotli:
    """brotli, asked for at most BROTLI_STEP bytes a call: its limit is a soft one."""

    def __init__(self) -> None:
        self._inflater = brotli.Decompressor()
        self._pending = bytearray()  # brotli refuses new input while it still holds output back

    def feed(self, data: bytes, limit: int) -> bytes:
        self._pending += data
        limit = min(limit, BROTLI_STEP)
        if not self._inflater.can_accept_more_data():
            return bytes(self._inflater.process(b"", output_buffer_limit=limit))
        data = bytes(self._pending)
        self._pending.clear()
        return bytes(self._inflater.process(data, output_buffer_limit=limit))


def _decoders(content_encoding: str, url: str) -> list[_Decoder]:
    """Decoders in the order to apply them (the header lists them in the order applied)."""
    decoders: list[_Decoder] = []
    for raw in reversed(content_encoding.lower().split(",")):
        name = raw.strip().removeprefix("x-")
        if name in ("", "identity"):
            continue
        if name in ("gzip", "deflate"):
            decoders.append(_Zlib(name))
        elif name == "br" and HAVE_BROTLI:
            decoders.append(_Brotli())
        else:
            raise FetchError(f"GET {url}: unsupported Content-Encoding {raw.strip()!r}", url=url)
    return decoders or [_Identity()]


class _Body:
    """The body decoded so far. The output is capped at ``cap``, every decoder's input at
    ``wire_cap(cap)``: the wire bytes, and what a ``gzip, gzip`` body's outer layer yields."""

    def __init__(self, decoders: list[_Decoder], url: str, cap: int) -> None:
        self._decoders = decoders
        self._url = url
        self._cap = cap
        self._wire_cap = wire_cap(cap)
        self._taken = [0] * len(decoders)
        self.data = bytearray()

    def check_declared(self, length: int) -> None:
        """A Content-Length already over a cap: refused before reading."""
        if isinstance(self._decoders[0], _Identity):
            _check_size(length, self._url, self._cap)
        self._check_encoded(length)

    def _check_encoded(self, size: int) -> None:
        if size > self._wire_cap:
            raise ResponseTooLarge(
                f"GET {self._url}: over {self._wire_cap} encoded bytes, more than a body "
                f"within max_bytes ({self._cap}) takes",
                url=self._url,
            )

    def feed(self, chunk: bytes) -> bool:
        """Decode ``chunk`` (b"": what decoders hold back); whether any decoder gave output."""
        gave = False
        for i, decoder in enumerate(self._decoders):
            self._taken[i] += len(chunk)
            self._check_encoded(self._taken[i])
            chunk = decoder.feed(chunk, self._cap + 1 - len(self.data))
            gave = gave or bool(chunk)
        self.data += chunk
        _check_size(len(self.data), self._url, self._cap)
        return gave


GZIP_MAGIC = b"\x1f\x8b"  # RFC 1952 ID1 ID2: no text body starts with these control bytes


TextDecoder = Callable[[bytes, str | None, str, int], Awaitable[str]]
"""``body_text``'s arguments → its answer, computed off the event loop."""


async def _in_thread(body: bytes, content_type: str | None, url: str, cap: int) -> str:
    return await asyncio.to_thread(body_text, body, content_type, url, cap)


def body_text(body: bytes, content_type: str | None, url: str, cap: int) -> str:
    """Stage 8, the one way body bytes become text: a gzip file inflated, then decoded.

    A ``.xml.gz`` sitemap is a gzip *file*: Content-Encoding (already undone by read_body)
    does not cover it, and servers label it ``application/gzip``, ``application/x-gzip``,
    ``application/octet-stream`` or an XML type. So it is told by its magic bytes alone,
    whatever the URL or headers say (a proxy that already inflated it leaves plain XML, which
    is then read as is). It inflates with the same capped decoder as Content-Encoding: a zip
    bomb saved as ``.xml.gz`` ends as ResponseTooLarge at ``cap`` bytes.
    """
    if body.startswith(GZIP_MAGIC):
        body = _inflate_file(body, url, cap)
    return charset.decode(body, content_type)


def _inflate_file(body: bytes, url: str, cap: int) -> bytes:
    inflated = _Body([_Zlib("gzip")], url, cap)
    try:
        _decode_all(inflated, [body])
    except ResponseTooLarge as exc:
        raise ResponseTooLarge(
            f"GET {url}: gzip file inflates to over max_bytes ({cap})", url=url
        ) from exc
    except zlib.error as exc:
        raise FetchError(f"GET {url}: corrupt gzip file ({exc})", url=url) from exc
    return bytes(inflated.data)


def _decode_all(body: _Body, chunks: Iterable[bytes]) -> None:
    """Feed every chunk, then what the decoders still hold back."""
    for chunk in chunks:
        body.feed(chunk)
    while body.feed(b""):
        pass


async def read_body(response: httpx.Response, url: str, cap: int) -> bytes:
    """The decoded body, or ResponseTooLarge as soon as it would exceed ``cap`` bytes decoded
    or ``wire_cap(cap)`` bytes encoded."""
    decoders = _decoders(response.headers.get("content-encoding", ""), url)
    declared = response.headers.get("content-length", "")
    body = _Body(decoders, url, cap)
    if declared.isascii() and declared.isdigit():  # refuse before reading a byte
        body.check_declared(int(declared))
    try:
        async for chunk in response.aiter_raw():
            body.feed(chunk)
        while body.feed(b""):  # what decoders held back
            pass
    except _BODY_ERRORS as exc:
        raise FetchError(f"GET {url}: corrupt compressed body ({exc})", url=url) from exc
    return bytes(body.data)


def _check_size(size: int, url: str, cap: int) -> None:
    if size > cap:
        raise ResponseTooLarge(f"GET {url}: body over max_bytes ({cap})", url=url)
