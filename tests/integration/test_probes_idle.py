"""`watcher run`'s probes under idle and slow clients: /healthz answers, SIGTERM exits.

With the old single-threaded server one idle TCP connection made every probe time out and
held SIGTERM past 60 s. The product promise: with 100 idle connections open, `/healthz`
answers within 1 s and SIGTERM exits within 10 s.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_daemon_http import free_port
from tests.support.builders import rss
from tests.support.cli import daemon, meta_stories, serve_stories, wait_until

pytestmark = pytest.mark.slow

PROBE_TIMEOUT = 1.0  # the product requirement: an answer within 1 s


def probe(port: int, path: str = "/healthz") -> tuple[int, bytes]:
    """One GET on a fresh connection; raises (socket timeout) when no answer comes in 1 s."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def answers(port: int) -> bool:
    with contextlib.suppress(OSError):
        return probe(port)[0] == 200
    return False


@contextlib.contextmanager
def clients(port: int, idle: int, partial: int) -> Iterator[list[socket.socket]]:
    """``idle`` connections that send nothing and ``partial`` that send half a request line."""
    opened: list[socket.socket] = []
    try:
        for i in range(idle + partial):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i >= idle:
                sock.sendall(b"GET /healthz HT")
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


@pytest.fixture
def probed_config(site: Any, make_config: Callable[..., Path]) -> tuple[Path, int]:
    stories = meta_stories(1)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    port = free_port()
    source = {"name": "local", "type": "feed", "url": f"{base}/feed.xml", "every": "60s"}
    return make_config([source], http={"host": "127.0.0.1", "port": port}), port


def test_healthz_answers_and_sigterm_exits_with_100_idle_connections(
    probed_config: tuple[Path, int],
) -> None:
    """100 idle connections and 20 half-sent request lines block neither /healthz (each of
    several probes answers within 1 s) nor SIGTERM (exit 0 within 10 s)."""
    config, port = probed_config
    with daemon(config) as run:
        wait_until(lambda: answers(port), what="/healthz")
        with clients(port, idle=100, partial=20):
            for _ in range(10):
                assert probe(port) == (200, b'{"alive": true}')
                status, _body = probe(port, "/readyz")
                assert status in (200, 503)
                time.sleep(0.2)
            assert run.stop(timeout=10) == 0
        assert "Traceback" not in run.stderr, run.stderr[-3000:]


def test_probes_keep_answering_after_idle_clients_time_out(
    probed_config: tuple[Path, int],
) -> None:
    """Idle connections are dropped by the server after its timeout, freeing what they held,
    and probes answer throughout (no slot is leaked to a client that never spoke)."""
    config, port = probed_config
    with daemon(config) as run:
        wait_until(lambda: answers(port), what="/healthz")
        with clients(port, idle=100, partial=0) as idle:
            _wait_for_eof(idle, port)
        assert run.stop(timeout=10) == 0


def _wait_for_eof(idle: list[socket.socket], port: int) -> None:
    deadline = time.monotonic() + 30
    for sock in idle:  # the server closes each one: recv returns b"" (EOF)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(1) == b""
        assert probe(port)[0] == 200
