"""Whatever bytes a receiver answers with, an attempt ends as a documented outcome.

The receiver here is a raw TCP server on 127.0.0.1 that reads the request head and writes
exactly the bytes of each case (broken status lines, oversized headers, a truncated body, a
protocol switch, binary header values), so nothing in between tidies them up.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from watcher.webhooks.sender import DETAIL_CHARS, Sender

pytestmark = pytest.mark.anyio

TOKEN_PATH = "/hook/SecretTokenInPath42"
REASONS = {"network_error", "http_500", "http_503", "http_429"}


class RawReceiver:
    """Answers every connection with ``reply`` (after reading the request head), then closes."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.settimeout(5)
                if _read_request(conn):
                    conn.sendall(self.reply)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self.sock.close()
        self.thread.join(timeout=5)


def _read_request(conn: socket.socket) -> bool:
    """Read the whole request, body included: closing on unread bytes would send a reset
    that can destroy the reply before the client reads it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if not (chunk := conn.recv(65536)):
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length and (chunk := conn.recv(65536)):
        body += chunk
    return True


@pytest.fixture
def raw() -> Iterator[list[RawReceiver]]:
    made: list[RawReceiver] = []
    yield made
    for r in made:
        r.close()


CASES = {
    "status-out-of-range": (b"HTTP/1.1 99999 Nope\r\ncontent-length: 0\r\n\r\n", "network_error"),
    "not-http": (b"\x00\xff\xfe garbage\r\n\r\n", "network_error"),
    "header-300kb": (
        b"HTTP/1.1 500 X\r\nx-a: " + b"a" * 300_000 + b"\r\ncontent-length: 0\r\n\r\n",
        "network_error",
    ),
    "bad-chunk-size": (
        b"HTTP/1.1 500 X\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        "network_error",
    ),
    "body-shorter-than-length": (
        b"HTTP/1.1 500 X\r\ncontent-length: 100\r\n\r\nabc",
        "network_error",
    ),
    "switching-protocols": (
        b"HTTP/1.1 101 Switching\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n",
        "network_error",
    ),
    "closed-without-reply": (b"", "network_error"),
    "no-reason-phrase": (b"HTTP/1.1 503\r\ncontent-length: 2\r\n\r\nhi", "http_503"),
    "binary-retry-after": (
        b"HTTP/1.1 429 X\r\nretry-after: \xff\xfe\x80\r\ncontent-length: 0\r\n\r\n",
        "http_429",
    ),
    "gzip-claimed-not-gzip": (
        b"HTTP/1.1 500 X\r\ncontent-encoding: gzip\r\ncontent-length: 5\r\n\r\nnotgz",
        "http_500",
    ),
    "http10-body-until-close-quoting-the-path": (
        b"HTTP/1.0 500 X\r\n\r\n" + b"\x00\x1b[2J no route " + TOKEN_PATH.encode() + b"\n" * 5000,
        "http_500",
    ),
}


@pytest.mark.parametrize(("reply", "reason"), list(CASES.values()), ids=list(CASES))
async def test_any_reply_is_a_documented_attempt(
    raw: list[RawReceiver], reply: bytes, reason: str
) -> None:
    """The attempt has a documented reason (never an exception), and its detail is one
    printable line within the bound that names the origin and not the path."""
    raw.append(RawReceiver(reply))
    sender = Sender(timeout=3.0, connections=1, allow_private_networks=("127.0.0.1/32",))
    try:
        attempt = await sender.post(f"http://127.0.0.1:{raw[0].port}{TOKEN_PATH}", b"{}", {})
    finally:
        await sender.aclose()
    assert attempt.reason == reason, attempt
    assert attempt.detail.startswith(f"POST http://127.0.0.1:{raw[0].port}")
    assert len(attempt.detail) <= DETAIL_CHARS
    assert attempt.detail.isprintable()
    assert "SecretTokenInPath42" not in attempt.detail
