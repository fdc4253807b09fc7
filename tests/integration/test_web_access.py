"""Who the dashboard and API answer, through made-up peer addresses in the WSGI environ (no
traffic leaves loopback): without a token only loopback peers, with one only its holders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from scrapers.clean.drift import Drift
from tests.support.web import call, web_app_of
from watcher.model import PollReport
from watcher.store.keys import Keys
from watcher.store.status import SourceStatus

OUTSIDE = "203.0.113.9"  # TEST-NET-3: an address that is never dialled, only named
TOKEN = "a-token-of-thirty-two-characters"
SOURCES = [{"name": "quiet", "type": "feed", "url": "http://127.0.0.1:9/feed.xml", "every": "1h"}]


@pytest.mark.parametrize(
    ("peer", "extra", "status"),
    [
        ("127.0.0.1", {}, "200 OK"),
        ("127.8.9.10", {}, "200 OK"),
        ("::1", {}, "200 OK"),
        ("::ffff:127.0.0.1", {}, "200 OK"),
        (OUTSIDE, {}, "403 Forbidden"),
        ("10.1.2.3", {}, "403 Forbidden"),
        ("::ffff:203.0.113.9", {}, "403 Forbidden"),
        ("", {}, "403 Forbidden"),
        ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": OUTSIDE}, "403 Forbidden"),
        ("127.0.0.1", {"HTTP_FORWARDED": f"for={OUTSIDE}"}, "403 Forbidden"),
    ],
    ids=[
        "loopback",
        "loopback-net",
        "ipv6-loopback",
        "mapped-loopback",
        "public",
        "private",
        "mapped-public",
        "no-peer",
        "proxied-xff",
        "proxied-forwarded",
    ],
)
def test_without_token_only_loopback_peers_are_answered(
    make_config: Callable[..., Path], peer: str, extra: dict[str, str], status: str
) -> None:
    """No http.token: loopback peers read the API and dashboard, anyone else (or a request a
    proxy forwarded) gets 403, on every page."""
    with web_app_of(make_config(SOURCES)) as app:
        for path in ("/api/sources", "/api/stories", "/", "/stories", "/webhooks"):
            got, _headers, body = call(app, path, REMOTE_ADDR=peer, **extra)
            assert got == status, (path, body[:200])
            if got.startswith("403"):
                assert b"loopback" in body or b"proxied" in body


def test_with_token_every_peer_needs_it(
    make_config: Callable[..., Path],
) -> None:
    """With http.token, a public peer with the token is answered and a loopback peer without
    it is not (401 with a Basic challenge, so a browser asks for it)."""
    config = make_config(SOURCES, http={"host": "127.0.0.1", "port": 0, "token": TOKEN})
    with web_app_of(config) as app:
        got, _h, _b = call(
            app, "/api/sources", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
        )
        assert got == "200 OK"
        got, headers, _b = call(app, "/", REMOTE_ADDR="127.0.0.1")
        assert got == "401 Unauthorized"
        assert headers["WWW-Authenticate"].startswith("Basic")
        got, _h, _b = call(
            app, "/api/sources", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer nope"
        )
        assert got == "401 Unauthorized"


def test_dashboard_pages_forbid_scripts_and_writes(make_config: Callable[..., Path]) -> None:
    """Every HTML page carries a CSP without script-src; a POST is 405, not a write."""
    with web_app_of(make_config(SOURCES)) as app:
        for path in ("/", "/stories", "/webhooks"):
            got, headers, body = call(app, path, REMOTE_ADDR="127.0.0.1")
            assert got == "200 OK", body[:300]
            assert "script-src" not in headers["Content-Security-Policy"]
            assert headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert b"<script" not in body
        got, headers, _b = call(app, "/api/sources", REMOTE_ADDR="127.0.0.1", REQUEST_METHOD="POST")
        assert (got, headers["Allow"]) == ("405 Method Not Allowed", "GET")


def test_sources_page_shows_a_failing_source_with_its_reason(
    make_config: Callable[..., Path], redis_url: str, ns: str
) -> None:
    """A source whose last poll failed reads "failing" with the error's reason and message,
    its drift alarm and interval, escaped (the message quotes a stranger's server)."""

    async def failed_poll() -> None:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        report = PollReport(source="quiet", error="GET http://x/<b>feed</b>: timeout")
        report.reason = "timeout"
        await SourceStatus(client, Keys(ns)).save(report, datetime.now(UTC), Drift())
        await client.aclose()

    asyncio.run(failed_poll())
    with web_app_of(make_config(SOURCES)) as app:
        got, _headers, body = call(app, "/", REMOTE_ADDR="127.0.0.1")
    html = body.decode()
    assert got == "200 OK"
    assert "failing" in html
    assert "timeout" in html
    assert "GET http://x/&lt;b&gt;feed&lt;/b&gt;: timeout" in html
    assert "every 1h" in html
