"""A loopback HTTP site for tests: per-test routes, a request log and named hostile routes.

    site.add("/feed.xml", body, headers={...}, etag='"v1"')   a route of this test
    site.url("/feed.xml")                                        its absolute URL
    site.requests                                                every request, in order
    site.connections / site.max_in_flight                        accepted sockets / overlap

Hostile routes, always there:
    /slow               dribbles one byte every 0.1 s (Content-Length promises more)
    /hang               reads the request and never answers
    /status/{code}      that status, a short body
    /retry-after/{s}    429 with Retry-After: s, the first ``retry_after_failures`` times; then 200
    /redirect-loop      302 to itself
    /redirect-to?url=   302 to ``url``
    /big/{n}            n bytes of "a"
    /gzip-bomb          ~1 MB of gzip inflating to 1 GiB of zeros (Content-Encoding: gzip)
    /gzip-members/{n}   n empty gzip members, then one saying MEMBERS_TEXT; ?layers=2 gzips
                        that again ("gzip, gzip"); n = "endless": empty members until hung up
    /wrong-charset      says latin-1, sends UTF-8
    /html-as-feed       an HTML page served as application/rss+xml
    /robots.txt         ``site.robots`` when set, else 404

The server runs in a thread; a client that hangs up mid-answer is normal here, not an error.
"""

from __future__ import annotations

import gzip
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

BOMB_SIZE = 1 << 30  # what the gzip bomb inflates to
CHUNK = 64 * 1024
DATA = Path(__file__).resolve().parents[1] / "data"
WRONG_CHARSET_TEXT = "Café naïve — “quoted” Zürich, Ελλάδα"
MEMBERS_TEXT = "the member after the empty ones"
EMPTY_MEMBER = gzip.compress(b"", mtime=0)  # 20 bytes that inflate to nothing
_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class Seen(NamedTuple):
    """One request as the server saw it; ``at`` is time.monotonic() on arrival."""

    method: str
    path: str
    headers: dict[str, str]
    at: float


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds to wait before answering (to make requests overlap)


@cache
def gzip_bomb() -> bytes:
    """A valid gzip of BOMB_SIZE zeros, built once per process from one repeated block.

    After a full flush a deflate compressor starts afresh, so every 1 MiB block of zeros
    compresses to the same bytes; repeating them avoids deflating a whole gigabyte.
    """
    block = b"\0" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(BOMB_SIZE // len(block)):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    end = compressor.flush()  # an empty final block
    trailer = struct.pack("<II", crc, BOMB_SIZE & 0xFFFFFFFF)
    return header + deflated * (BOMB_SIZE // len(block)) + end + trailer


class Site:
    """A started-on-demand loopback server; use as a context manager or start()/stop()."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.robots: str | None = None
        self.retry_after_failures = 1
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server((host, 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> Site:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Site:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def add(
        self,
        path: str,
        body: bytes | str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float = 0.0,
    ) -> str:
        """Serve ``body`` at ``path``; answers 304 to a matching If-None-Match/-Modified-Since."""
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(data, status, dict(headers or {}), etag, last_modified, delay)
        return self.url(path)

    def hits(self, path: str) -> list[Seen]:
        """Requests for ``path`` (query included in the match when ``path`` has one)."""
        return [seen for seen in self.requests if _matches(seen.path, path)]

    # --- called from handler threads ---
    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def accepted(self) -> None:
        with self._lock:
            self.connections += 1

    def take_retry_failure(self) -> bool:
        """Whether this /retry-after request should still fail (counts down per site)."""
        with self._lock:
            if self.retry_after_failures <= 0:
                return False
            self.retry_after_failures -= 1
            return True


def _matches(seen: str, path: str) -> bool:
    return seen == path if "?" in path else urlsplit(seen).path == path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: Any, site: Site) -> None:
        self.site = site
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.site.accepted()
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-answer is what hostile routes are for: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so pooled connections are exercised
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def do_GET(self) -> None:
        site = self.server.site
        headers = {key.lower(): value for key, value in self.headers.items()}
        site.record(Seen("GET", self.path, headers, time.monotonic()))
        site.enter()
        try:
            self._dispatch(site, urlsplit(self.path))
        except _DISCONNECTS:
            self.close_connection = True
        finally:
            site.leave()

    def _dispatch(self, site: Site, url: Any) -> None:
        path: str = url.path
        if path in site.routes:
            return self._route(site.routes[path])
        name, _, arg = path.strip("/").partition("/")
        hostile = getattr(self, "_hostile_" + name.replace("-", "_").replace(".", "_"), None)
        if hostile is None or path == "/":
            return self._send(404, b"not found")
        return hostile(site, arg, parse_qs(url.query))

    def _route(self, route: Route) -> None:
        if route.delay:
            time.sleep(route.delay)
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if self._is_fresh(route):
            return self._send(304, b"", headers)
        return self._send(route.status, route.body, headers)

    def _is_fresh(self, route: Route) -> bool:
        etag, since = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        if route.etag and etag:
            return route.etag in [tag.strip() for tag in etag.split(",")]
        return bool(route.last_modified and since == route.last_modified)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    # --- hostile routes: /<name>/<arg> → _hostile_<name>(site, arg, query) ---
    def _hostile_slow(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        for _ in range(1000):
            if site.stopping.wait(0.1):
                break
            self.wfile.write(b"x")
            self.wfile.flush()
        self.close_connection = True

    def _hostile_hang(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        site.stopping.wait(60)
        self.close_connection = True

    def _hostile_status(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        self._send(int(arg), f"status {arg}".encode())

    def _hostile_retry_after(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        if site.take_retry_failure():
            return self._send(429, b"slow down", {"Retry-After": arg})
        return self._send(200, b"ok after waiting")

    def _hostile_redirect_loop(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        self._send(302, b"", {"Location": "/redirect-loop"})

    def _hostile_redirect_to(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        self._send(302, b"", {"Location": query["url"][0]})

    def _hostile_big(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        size = int(arg)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for start in range(0, size, CHUNK):
            self.wfile.write(b"a" * min(CHUNK, size - start))

    def _hostile_gzip_bomb(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        bomb = gzip_bomb()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(bomb)))
        self.end_headers()
        for start in range(0, len(bomb), CHUNK):
            self.wfile.write(bomb[start : start + CHUNK])

    def _hostile_gzip_members(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        if arg == "endless":
            return self._endless_members(site)
        body = EMPTY_MEMBER * int(arg) + gzip.compress(MEMBERS_TEXT.encode(), mtime=0)
        encoding = "gzip"
        if query.get("layers") == ["2"]:
            body, encoding = gzip.compress(body, mtime=0), "gzip, gzip"
        return self._send(200, body, {"Content-Type": "text/plain", "Content-Encoding": encoding})

    def _endless_members(self, site: Site) -> None:
        """No Content-Length: the body runs until the client hangs up (or the site stops)."""
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Connection", "close")
        self.end_headers()
        block = EMPTY_MEMBER * (CHUNK // len(EMPTY_MEMBER))
        while not site.stopping.is_set():
            self.wfile.write(block)
        self.close_connection = True

    def _hostile_wrong_charset(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        body = f"<html><body><p>{WRONG_CHARSET_TEXT}</p></body></html>".encode()
        self._send(200, body, {"Content-Type": "text/html; charset=iso-8859-1"})

    def _hostile_html_as_feed(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        body = (DATA / "feeds" / "html_served_as_feed.html").read_bytes()
        self._send(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})

    def _hostile_robots_txt(self, site: Site, arg: str, query: dict[str, list[str]]) -> None:
        if site.robots is None:
            return self._send(404, b"no robots.txt")
        return self._send(200, site.robots.encode())
