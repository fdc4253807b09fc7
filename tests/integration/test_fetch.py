"""The fetcher against real loopback servers: every bad input is a test (tests/support/site.py)."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import resource
import socket
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

import httpcore
import pytest

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
from scrapers.fetch import (
    HAVE_BROTLI,
    MAX_HOLD,
    RETRY_AFTER_CEILING,
    Fetcher,
    FetchSettings,
    retry_after_seconds,
    wire_cap,
)
from tests.support.site import MEMBERS_TEXT, WRONG_CHARSET_TEXT, Site, gzip_bomb

pytestmark = pytest.mark.anyio

LOOPBACK = ("127.0.0.1/32",)


def settings(**over: object) -> FetchSettings:
    """Loopback allowed, no pacing, fast retries; each test overrides what it is about."""
    base: dict[str, object] = {
        "allow_private_networks": LOOPBACK,
        "delay": 0.0,
        "backoff": 0.01,
        "retries": 0,
        "timeout": 5.0,
    }
    return FetchSettings(**{**base, **over})  # type: ignore[arg-type]


class MapResolver:
    """Answers from a table and records every question; never asks real DNS."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise OSError(f"{host}: not in the test table")
        return self.table[host]


class NoConnect(httpcore.AsyncNetworkBackend):
    """A network backend that fails the test if anything tries to open a socket through it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def connect_tcp(
        self, host: str, port: int, *args: object, **kw: object
    ) -> httpcore.AsyncNetworkStream:
        self.calls.append((host, port))
        raise AssertionError(f"a connection to {host}:{port} was attempted")


# --- success and conditional GET ---


async def test_get_returns_text_and_validators(site: Site) -> None:
    """A 200 gives the decoded text, final URL, content type and the validators to store."""
    url = site.add(
        "/article",
        "<p>héllo</p>",
        headers={"Content-Type": "text/html; charset=utf-8"},
        etag='"v1"',
        last_modified="Mon, 23 Nov 2026 10:00:00 GMT",
    )
    async with Fetcher(settings()) as fetcher:
        page = await fetcher.get(url, accept="text/html")
    assert (page.url, page.status, page.text) == (url, 200, "<p>héllo</p>")
    assert page.content_type == "text/html; charset=utf-8"
    assert (page.etag, page.last_modified) == ('"v1"', "Mon, 23 Nov 2026 10:00:00 GMT")
    assert not page.not_modified
    seen = site.hits("/article")[0]
    assert seen.headers["user-agent"] == FetchSettings().user_agent
    assert seen.headers["accept"] == "text/html"


@pytest.mark.parametrize(
    ("sent", "header"),
    [
        ({"etag": '"v1"'}, "if-none-match"),
        ({"last_modified": "Mon, 23 Nov 2026 10:00:00 GMT"}, "if-modified-since"),
    ],
    ids=["etag", "last-modified"],
)
async def test_get_conditional_answers_not_modified(
    site: Site, sent: dict[str, str], header: str
) -> None:
    """A validator is sent as its conditional header, and the 304 comes back as not_modified."""
    url = site.add(
        "/feed.xml", "<rss/>", etag='"v1"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT"
    )
    async with Fetcher(settings()) as fetcher:
        page = await fetcher.get(url, **sent)
    assert page.not_modified
    assert (page.status, page.text) == (304, "")
    assert (page.etag, page.last_modified) == ('"v1"', "Mon, 23 Nov 2026 10:00:00 GMT")
    assert site.hits("/feed.xml")[0].headers[header] == next(iter(sent.values()))


async def test_get_stale_validator_gets_full_body(site: Site) -> None:
    """An ETag that no longer matches gets the new body and the new ETag."""
    url = site.add("/feed.xml", "<rss>new</rss>", etag='"v2"')
    async with Fetcher(settings()) as fetcher:
        page = await fetcher.get(url, etag='"v1"')
    assert (page.not_modified, page.text, page.etag) == (False, "<rss>new</rss>", '"v2"')


# --- statuses and retries ---


async def test_get_retries_5xx_then_raises_bad_status(site: Site) -> None:
    """A 500 is retried ``retries`` times, then surfaces as BadStatus(500)."""
    async with Fetcher(settings(retries=2)) as fetcher:
        with pytest.raises(BadStatus) as caught:
            await fetcher.get(site.url("/status/500"))
    assert (caught.value.status, caught.value.slug, caught.value.retryable) == (
        500,
        "http_500",
        True,
    )
    assert len(site.hits("/status/500")) == 3


async def test_get_does_not_retry_404(site: Site) -> None:
    """A 404 is final: one request, BadStatus(404), not retryable."""
    async with Fetcher(settings(retries=3)) as fetcher:
        with pytest.raises(BadStatus) as caught:
            await fetcher.get(site.url("/status/404"))
    assert (caught.value.status, caught.value.retryable) == (404, False)
    assert len(site.hits("/status/404")) == 1


async def test_get_honours_retry_after(site: Site) -> None:
    """A 429 with Retry-After: 1 is retried no sooner than 1 s later, and then succeeds."""
    async with Fetcher(settings(retries=1)) as fetcher:
        page = await fetcher.get(site.url("/retry-after/1"))
    assert page.text == "ok after waiting"
    first, second = site.hits("/retry-after/1")
    assert second.at - first.at >= 1.0


async def test_get_429_without_retries_carries_retry_after(site: Site) -> None:
    """With no retries left, the 429 surfaces with the server's Retry-After for the caller."""
    site.retry_after_failures = 5
    async with Fetcher(settings(retries=0)) as fetcher:
        with pytest.raises(BadStatus) as caught:
            await fetcher.get(site.url("/retry-after/7"))
    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)


async def test_get_refused_connection_is_connect_failed(site: Site) -> None:
    """A port nobody listens on is retried, then surfaces as ConnectFailed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Fetcher(settings(retries=1)) as fetcher:
        with pytest.raises(ConnectFailed) as caught:
            await fetcher.get(f"http://127.0.0.1:{port}/")
    assert caught.value.slug == "connect"


# --- time limits ---


async def test_get_hanging_host_times_out(site: Site) -> None:
    """A server that never answers is a FetchTimeout after the configured timeout."""
    async with Fetcher(settings(timeout=0.5, robots=False)) as fetcher:
        with pytest.raises(FetchTimeout):
            await fetcher.get(site.url("/hang"))


async def test_get_dribbling_host_hits_total_deadline(site: Site) -> None:
    """A byte every 0.1 s never trips the read timeout, but the total deadline ends it."""
    async with Fetcher(settings(timeout=0.5, robots=False)) as fetcher:
        with pytest.raises(FetchTimeout) as caught:
            await fetcher.get(site.url("/slow"))
    assert "/slow" in str(caught.value)


# --- size limits and decoding ---


@pytest.mark.parametrize(
    ("size", "too_large"), [(10_000, False), (10_001, True)], ids=["at-cap", "over-cap"]
)
async def test_get_enforces_max_bytes(site: Site, size: int, too_large: bool) -> None:
    """A body of max_bytes is kept; one byte more is ResponseTooLarge naming the URL and cap."""
    url = site.url(f"/big/{size}")
    async with Fetcher(settings(max_bytes=10_000)) as fetcher:
        if too_large:
            with pytest.raises(ResponseTooLarge, match=r"/big/10001.*\(10000\)"):
                await fetcher.get(url)
        else:
            assert len((await fetcher.get(url)).text) == size


async def test_get_gzip_bomb_is_cut_off(site: Site) -> None:
    """1 GiB of gzipped zeros stops at max_bytes: ResponseTooLarge, and memory stays small."""
    gzip_bomb()  # built once per process; not this test's memory
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    async with Fetcher(settings(max_bytes=1_000_000)) as fetcher:
        with pytest.raises(ResponseTooLarge, match="1000000"):
            await fetcher.get(site.url("/gzip-bomb"))
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    # ~7 MiB here; inflating whole 64 KiB network chunks (httpx's decoders) peaks past 120 MiB
    assert grown_mib < 64


def _deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODED = [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", _deflate_raw),
    ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
]
if HAVE_BROTLI:
    import brotli

    ENCODED.append(("br", brotli.compress))


@pytest.mark.parametrize(
    ("encoding", "compress"),
    ENCODED,
    ids=[f"{name}-{i}" for i, (name, _) in enumerate(ENCODED)],
)
async def test_get_decompresses_content_encoding(
    site: Site, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    """Compressed bodies under the cap come back whole and decoded."""
    text = "Meta delayed its model. " * 2000
    url = site.add("/z", compress(text.encode()), headers={"Content-Encoding": encoding})
    async with Fetcher(settings()) as fetcher:
        page = await fetcher.get(url)
    assert page.text == text


async def test_get_compressed_body_over_cap(site: Site) -> None:
    """The cap applies to the decompressed size, not the few bytes on the wire."""
    url = site.add("/z", gzip.compress(b"a" * 50_000), headers={"Content-Encoding": "gzip"})
    async with Fetcher(settings(max_bytes=20_000)) as fetcher:
        with pytest.raises(ResponseTooLarge):
            await fetcher.get(url)


async def test_get_unknown_content_encoding_is_fetch_error(site: Site) -> None:
    """A body in an encoding we cannot decode is a FetchError, not garbage text."""
    url = site.add("/z", b"\x00\x01", headers={"Content-Encoding": "zstd"})
    async with Fetcher(settings()) as fetcher:
        with pytest.raises(FetchError, match="zstd"):
            await fetcher.get(url)


async def test_get_corrupt_gzip_is_fetch_error(site: Site) -> None:
    """A body that claims gzip but is not is a FetchError, never a zlib exception."""
    url = site.add("/z", b"not gzip at all", headers={"Content-Encoding": "gzip"})
    async with Fetcher(settings()) as fetcher:
        with pytest.raises(FetchError, match="corrupt"):
            await fetcher.get(url)


async def test_get_wrong_charset_decoded_right(site: Site) -> None:
    """A page that says latin-1 but sends UTF-8 is read as UTF-8."""
    async with Fetcher(settings()) as fetcher:
        page = await fetcher.get(site.url("/wrong-charset"))
    assert WRONG_CHARSET_TEXT in page.text


async def test_get_html_as_feed_is_returned_as_served(site: Site) -> None:
    """The fetcher does not judge content: an HTML body served as RSS comes back as text."""
    async with Fetcher(settings()) as fetcher:
        page = await fetcher.get(site.url("/html-as-feed"), accept="application/rss+xml")
    assert page.content_type.startswith("application/rss+xml")
    assert "<html" in page.text.lower()


# --- redirects and schemes ---


async def test_get_follows_redirect(site: Site) -> None:
    """A redirect is followed and the Page names the final URL."""
    target = site.add("/target", "arrived")
    async with Fetcher(settings()) as fetcher:
        page = await fetcher.get(site.url("/redirect-to?url=/target"))
    assert (page.url, page.text) == (target, "arrived")


async def test_get_redirect_loop_is_too_many_redirects(site: Site) -> None:
    """A redirect loop stops after max_redirects hops with TooManyRedirects."""
    async with Fetcher(settings(max_redirects=3)) as fetcher:
        with pytest.raises(TooManyRedirects) as caught:
            await fetcher.get(site.url("/redirect-loop"))
    assert caught.value.slug == "redirect_loop"
    assert len(site.hits("/redirect-loop")) == 4


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/", "http:///nohost"]
)
async def test_get_refuses_non_http_schemes(site: Site, url: str) -> None:
    """Only http(s) URLs with a host are fetched; others are a clear FetchError."""
    async with Fetcher(settings()) as fetcher:
        with pytest.raises(FetchError, match="http"):
            await fetcher.get(url)
    assert site.connections == 0


async def test_get_refuses_redirect_to_file_scheme(site: Site) -> None:
    """A redirect to file:// is refused like a direct one."""
    async with Fetcher(settings()) as fetcher:
        with pytest.raises(FetchError, match="file:///etc/passwd"):
            await fetcher.get(site.url("/redirect-to?url=file:///etc/passwd"))


# --- robots.txt ---


@pytest.mark.parametrize(
    "robots",
    ["User-agent: *\nDisallow: /private", "User-agent: news-watcher\nDisallow: /\n"],
    ids=["everyone", "our-agent"],
)
async def test_get_robots_disallow(site: Site, robots: str) -> None:
    """A path robots.txt disallows for us raises RobotsDisallowed and is never requested."""
    site.robots = robots
    async with Fetcher(settings()) as fetcher:
        with pytest.raises(RobotsDisallowed):
            await fetcher.get(site.url("/private/story"))
    assert site.hits("/private/story") == []


async def test_get_robots_fetched_once_per_host(site: Site) -> None:
    """robots.txt is read once and cached for the next requests to the host."""
    site.robots = "User-agent: *\nDisallow: /private"
    url = site.add("/public", "ok")
    async with Fetcher(settings()) as fetcher:
        for _ in range(3):
            await fetcher.get(url)
    assert len(site.hits("/robots.txt")) == 1
    assert len(site.hits("/public")) == 3


@pytest.mark.parametrize("status", [404, 410, 500, 503])
async def test_get_robots_missing_or_failing_allows(site: Site, status: int) -> None:
    """A 4xx robots.txt means no rules and a 5xx one is read leniently: both allow."""
    site.add("/robots.txt", "User-agent: *\nDisallow: /", status=status)
    url = site.add("/story", "ok")
    async with Fetcher(settings()) as fetcher:
        assert (await fetcher.get(url)).text == "ok"


async def test_get_robots_off_is_not_fetched(site: Site) -> None:
    """With robots disabled, robots.txt is neither fetched nor obeyed."""
    site.robots = "User-agent: *\nDisallow: /"
    url = site.add("/story", "ok")
    async with Fetcher(settings(robots=False)) as fetcher:
        assert (await fetcher.get(url)).text == "ok"
    assert site.hits("/robots.txt") == []


# --- politeness ---


@pytest.mark.parametrize("per_host", [1, 2])
async def test_get_respects_per_host_concurrency(site: Site, per_host: int) -> None:
    """No more than per_host requests to one host are in flight at once (and that many are)."""
    urls = [site.add(f"/p{i}", "ok", delay=0.3) for i in range(4)]
    async with Fetcher(settings(per_host=per_host, robots=False)) as fetcher:
        await asyncio.gather(*(fetcher.get(url) for url in urls))
    assert site.max_in_flight == per_host


async def test_get_spaces_request_starts_per_host(site: Site) -> None:
    """Requests to one host start at least ``delay`` apart, even with free concurrency."""
    urls = [site.add(f"/p{i}", "ok") for i in range(3)]
    async with Fetcher(settings(per_host=3, delay=0.3, robots=False)) as fetcher:
        await asyncio.gather(*(fetcher.get(url) for url in urls))
    starts = sorted(seen.at for seen in site.requests)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= 0.25  # 0.3 s apart when sent; arrival can shift by scheduling


async def test_get_slow_host_does_not_delay_others(site: Site) -> None:
    """With per_host=1, a slow request to one host does not hold back another host."""
    slow = site.add("/slow-story", "late", delay=1.0)
    with Site("127.0.0.2") as other:
        quick = other.add("/quick", "soon")
        allow = ("127.0.0.1/32", "127.0.0.2/32")
        async with Fetcher(settings(per_host=1, robots=False, allow_private_networks=allow)) as f:
            pending = asyncio.create_task(f.get(slow))
            while not site.hits("/slow-story"):  # noqa: ASYNC110 — the server is another thread
                await asyncio.sleep(0.01)
            assert (await f.get(quick)).text == "soon"
            assert not pending.done()  # the other host answered while this one still worked
            assert (await pending).text == "late"


# --- SSRF guard ---


async def test_get_refuses_redirect_to_other_loopback(site: Site) -> None:
    """Allowing 127.0.0.1/32 does not allow a redirect to 127.0.0.2: no connection reaches it."""
    with Site("127.0.0.2") as other:
        other.add("/secret", "internal")
        hop = site.url(f"/redirect-to?url={other.url('/secret')}")
        async with Fetcher(settings(allow_private_networks=LOOPBACK)) as fetcher:
            with pytest.raises(BlockedAddress) as caught:
                await fetcher.get(hop)
        assert caught.value.slug == "private_address"
        assert site.hits("/redirect-to")  # the first hop did happen
        assert (other.connections, other.requests) == (0, [])


async def test_get_refuses_loopback_by_default(site: Site) -> None:
    """With allow_private_networks=False, 127.0.0.1 itself is refused before connecting."""
    url = site.add("/story", "ok")
    async with Fetcher(settings(allow_private_networks=False)) as fetcher:
        with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1"):
            await fetcher.get(url)
    assert site.connections == 0


async def test_get_refuses_ipv4_mapped_loopback_literal(site: Site) -> None:
    """An IPv4-mapped IPv6 literal of loopback is refused without resolving or connecting."""
    resolver = MapResolver({})
    async with Fetcher(settings(allow_private_networks=False), resolver=resolver) as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.get(f"http://[::ffff:127.0.0.1]:{site.port}/")
    assert (resolver.calls, site.connections) == ([], 0)


@pytest.mark.parametrize("robots", [True, False], ids=["robots-on", "robots-off"])
async def test_get_refuses_metadata_before_connecting(robots: bool) -> None:
    """A name resolving to 169.254.169.254 is refused; the socket layer is never reached."""
    resolver = MapResolver({"metadata.test": ["169.254.169.254"]})
    sockets = NoConnect()
    fetcher = Fetcher(
        settings(allow_private_networks=False, robots=robots, retries=2),
        resolver=resolver,
        network_backend=sockets,
    )
    async with fetcher:
        with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254"):
            await fetcher.get("http://metadata.test/latest/meta-data/")
    assert resolver.calls == [("metadata.test", 80)]
    assert sockets.calls == []


async def test_get_refuses_when_any_answer_is_private(site: Site) -> None:
    """One blocked address among the answers refuses the host, even if another is allowed."""
    resolver = MapResolver({"mixed.test": ["127.0.0.1", "10.0.0.1"]})
    async with Fetcher(settings(), resolver=resolver) as fetcher:
        with pytest.raises(BlockedAddress, match=r"10\.0\.0\.1"):
            await fetcher.get(f"http://mixed.test:{site.port}/")
    assert site.connections == 0


async def test_get_connects_to_checked_address_keeping_host(site: Site) -> None:
    """A resolved name is fetched from the checked IP while Host still names the site."""
    url = site.add("/story", "ok")
    resolver = MapResolver({"news.test": ["127.0.0.1"]})
    async with Fetcher(settings(), resolver=resolver) as fetcher:
        page = await fetcher.get(url.replace("127.0.0.1", "news.test"))
    assert page.text == "ok"
    assert site.hits("/story")[0].headers["host"] == f"news.test:{site.port}"
    assert ("news.test", site.port) in resolver.calls


@pytest.mark.parametrize("retries", [0, 1])
async def test_get_unresolvable_host_is_dns_failed(retries: int) -> None:
    """A name the resolver cannot answer is DnsFailed (slug "dns", still a ConnectFailed, so
    retried), not "connect" and not an OSError; with no address there is no socket at all."""
    resolver = MapResolver({})
    sockets = NoConnect()
    fetcher = Fetcher(
        settings(retries=retries, robots=False), resolver=resolver, network_backend=sockets
    )
    async with fetcher:
        with pytest.raises(DnsFailed, match=r"GET http://nowhere\.test/: cannot resolve") as caught:
            await fetcher.get("http://nowhere.test/")
    assert caught.value.slug == "dns"
    assert isinstance(caught.value, ConnectFailed)
    assert resolver.calls == [("nowhere.test", 80)] * (retries + 1)
    assert sockets.calls == []


@pytest.mark.parametrize(
    "ip", ["169.254.170.2", "fd20:ce::254", "168.63.129.16", "100.100.100.200", "fd00:ec2::254"]
)
@pytest.mark.parametrize(
    "allow", [True, ("0.0.0.0/0", "::/0")], ids=["allow-true", "allow-everything"]
)
async def test_get_refuses_metadata_even_when_private_networks_are_allowed(
    ip: str, allow: object
) -> None:
    """A name resolving to a cloud metadata address is refused under any allow setting that
    merely encloses it; the guard answers before any socket is opened."""
    resolver = MapResolver({"meta.test": [ip]})
    sockets = NoConnect()
    fetcher = Fetcher(
        settings(allow_private_networks=allow, robots=False),
        resolver=resolver,
        network_backend=sockets,
    )
    async with fetcher:
        with pytest.raises(BlockedAddress, match=ip):
            await fetcher.get("http://meta.test/latest/meta-data/")
    assert sockets.calls == []


async def test_get_system_resolver_tries_next_address(site: Site) -> None:
    """localhost via the system resolver works even if its first answer (::1) is not listening."""
    url = site.add("/story", "ok").replace("127.0.0.1", "localhost")
    allow = ("127.0.0.0/8", "::1/128")
    async with Fetcher(settings(allow_private_networks=allow)) as fetcher:
        assert (await fetcher.get(url)).text == "ok"


# --- Retry-After parsing (pure) ---

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        ("120", 120.0),
        ("Mon, 23 Nov 2026 10:00:30 GMT", 30.0),
        ("Mon, 23 Nov 2026 09:59:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("²", None),
        ("\uff11\uff12\uff10", None),  # fullwidth 120
        ("٣", None),
        ("1.5", None),
        ("Mon, 23 Nov 99999999999 10:00:30 GMT", None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_CEILING),
        ("Mon, 32 Nov 2026 10:00:30 GMT", None),
        ("Mon, 23 Nov 2026 10:00:30 +9999", None),
        ("Mon, 23 Nov 2026 99:00:30 GMT", None),
        ("9" * 5000, RETRY_AFTER_CEILING),
    ],
    ids=[
        "none",
        "empty",
        "zero",
        "seconds",
        "http-date",
        "past-date",
        "garbage",
        "negative",
        "superscript-digit",
        "fullwidth-digits",
        "arabic-indic-digit",
        "fraction",
        "year-overflow",
        "year-9999",
        "day-32",
        "offset-overflow",
        "hour-99",
        "huge-delta",
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    """Retry-After is delta-seconds (ASCII digits only) or an HTTP-date, read against
    ``now``; junk is None and nothing raises; longer than the ceiling reads as the ceiling."""
    assert retry_after_seconds(value, NOW) == expected


# --- Retry-After from a real server: junk never raises, a long one ends the fetch ---


@pytest.mark.parametrize(
    "value", ["²", "Mon, 23 Nov 99999999999 10:00:30 GMT"], ids=["unicode-digit", "year-overflow"]
)
@pytest.mark.parametrize("retries", [0, 1])
async def test_get_unusable_retry_after_is_ignored(site: Site, value: str, retries: int) -> None:
    """A Retry-After nobody can read is no Retry-After: the 429 is BadStatus without one,
    retried with the usual backoff (never ValueError or OverflowError)."""
    url = site.add("/limited", "slow down", status=429, headers={"Retry-After": value})
    async with Fetcher(settings(retries=retries)) as fetcher:
        with pytest.raises(BadStatus) as caught:
            await fetcher.get(url)
    assert (caught.value.status, caught.value.retry_after) == (429, None)
    assert len(site.hits("/limited")) == retries + 1


@pytest.mark.parametrize("status", [429, 503])
async def test_get_long_retry_after_is_rate_limited_and_holds_the_host(
    site: Site, status: int
) -> None:
    """A Retry-After over max_retry_after ends the fetch at once (no sleeping, no retry) as
    RateLimited, and the host stays held: the next request to it is HostDeferred without
    being sent, robots.txt included. Another host is not held."""
    url = site.add("/feed", "go away", status=status, headers={"Retry-After": "3600"})
    other_page = site.add("/other", "fine")
    with Site("127.0.0.2") as other:
        elsewhere = other.add("/story", "elsewhere")
        allow = ("127.0.0.1/32", "127.0.0.2/32")
        async with Fetcher(settings(retries=3, allow_private_networks=allow)) as fetcher:
            async with asyncio.timeout(10):  # hang guard: a wait for Retry-After is 30 s+
                with pytest.raises(RateLimited) as limited:
                    await fetcher.get(url)
                sent = len(site.requests)
                with pytest.raises(HostDeferred) as deferred:
                    await fetcher.get(other_page)
                assert (await fetcher.get(elsewhere)).text == "elsewhere"
    assert (limited.value.slug, limited.value.host, limited.value.status) == (
        "rate_limited",
        "127.0.0.1",
        status,
    )
    assert len(site.hits("/feed")) == 1  # not retried
    assert len(site.requests) == sent  # robots.txt was not asked either
    assert deferred.value.slug == "deferred"
    assert deferred.value.until == limited.value.until
    assert "/other" in str(deferred.value)
    assert 3590 < (limited.value.until - datetime.now(UTC)).total_seconds() <= MAX_HOLD


async def test_get_rate_limit_hold_is_capped_at_an_hour(site: Site) -> None:
    """Retry-After: a week holds the host for an hour, no longer."""
    url = site.add("/feed", "go away", status=429, headers={"Retry-After": str(7 * 86400)})
    async with Fetcher(settings(robots=False)) as fetcher:
        with pytest.raises(RateLimited) as caught:
            await fetcher.get(url)
    assert (caught.value.until - datetime.now(UTC)).total_seconds() <= MAX_HOLD


async def test_get_retry_after_within_the_budget_still_waits(site: Site) -> None:
    """Retry-After: 1 with max_retry_after 1 is waited for and retried, as before."""
    async with Fetcher(settings(retries=1, max_retry_after=1.0)) as fetcher:
        page = await fetcher.get(site.url("/retry-after/1"))
    assert page.text == "ok after waiting"


# --- compressed bytes are capped, and decoding is linear in them ---


async def test_get_endless_empty_gzip_members_are_too_large(site: Site) -> None:
    """Empty gzip members inflate to nothing, forever: the cap on encoded bytes ends them."""
    async with Fetcher(settings(max_bytes=100_000)) as fetcher:
        with pytest.raises(ResponseTooLarge, match=rf"over {wire_cap(100_000)} encoded bytes"):
            await fetcher.get(site.url("/gzip-members/endless"))


@pytest.mark.parametrize("layers", [1, 2])
async def test_get_members_past_the_encoded_cap_are_too_large(site: Site, layers: int) -> None:
    """A body whose encoded bytes exceed wire_cap is too large, even when what it decodes to
    is tiny; for "gzip, gzip" the inner layer's bytes count too (they are tiny on the wire)."""
    members = wire_cap(100_000) // 20 + 1
    async with Fetcher(settings(max_bytes=100_000)) as fetcher:
        with pytest.raises(ResponseTooLarge, match="encoded bytes"):
            await fetcher.get(site.url(f"/gzip-members/{members}?layers={layers}"))


@pytest.mark.parametrize("layers", [1, 2], ids=["gzip", "gzip-gzip"])
async def test_get_decoding_empty_gzip_members_is_linear(site: Site, layers: int) -> None:
    """Many empty members before the real one decode to the real one, and ten times as many
    members take about ten times as long, not a hundred (quadratic copying did that).

    One layer exercises members split across network chunks; two layers hand the inner
    decoder megabytes in one call, where copying the rest after each member was quadratic.
    """

    async def seconds(members: int) -> float:
        best = float("inf")
        async with Fetcher(settings(robots=False)) as fetcher:
            for _ in range(3):  # the best of three: the machine is shared
                started = time.perf_counter()
                page = await fetcher.get(site.url(f"/gzip-members/{members}?layers={layers}"))
                best = min(best, time.perf_counter() - started)
                assert page.text == MEMBERS_TEXT
        return best

    small, large = await seconds(10_000), await seconds(100_000)
    assert large / small < 30, (small, large)
