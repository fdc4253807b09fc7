"""A real webhook receiver: an HTTP server on loopback port 0 in a thread, for tests and bench.

It records every request (path, headers, body, when) and answers from a per-test script, one
answer per request, then ``default``: a status code, ``(status, headers)``, or ``HANG`` (hold
the request without answering until the receiver is stopped or ``release()`` is called).
``stop()`` frees the port and ``start()`` takes the same one again, to simulate a receiver that
is down for a while. It counts accepted connections, so a test can prove none arrived.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = "hang"
# A Standard Webhooks secret for tests that configure an endpoint (never a real one).
SECRET = "whsec_" + base64.b64encode(b"cli-webhook-secret-0123456789").decode()
Answer = int | tuple[int, dict[str, str]] | str
MAX_BODY = 1_000_000


@dataclass(frozen=True)
class Recorded:
    """One request as the receiver saw it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the body had been read
    wall: float = 0.0  # time.time() then, to compare with a stream id's timestamp (bench)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the stdlib's 5 drops SYNs of a burst: 1 s retransmit stalls

    def __init__(self, address: tuple[str, int], owner: Receiver) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        with self.owner.lock:
            self.owner.connections += 1
            self.owner.sockets.add(request)
        return True

    def shutdown_request(self, request: Any) -> None:
        with self.owner.lock:
            self.owner.sockets.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answer in one segment: no 40 ms delayed-ACK stalls

    def do_POST(self) -> None:
        owner = self.server.owner
        length = min(int(self.headers.get("content-length") or 0), MAX_BODY)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = Recorded(self.command, self.path, headers, body, 0.0)
        answer = owner.record(record)
        if answer == HANG:
            owner.released.wait(timeout=60)
            self.close_connection = True
            return
        status, headers = answer if isinstance(answer, tuple) else (int(answer), {})
        payload = f"status {status}".encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST  # record whatever arrives

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""


class Receiver:
    """See the module docstring. ``url`` is ``http://<host>:<port>/hook``."""

    def __init__(
        self, script: Iterable[Answer] = (), *, default: Answer = 200, host: str = "127.0.0.1"
    ) -> None:
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.connections = 0
        self.sockets: set[socket.socket] = set()
        self.released = threading.Event()
        self._script = list(script)
        self._default = default
        self._host = host
        self._port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}/hook"

    def start(self) -> None:
        """Listen (again, on the same port once one was chosen) and serve in a thread."""
        self.released.clear()
        self._server = _Server((self._host, self._port), self)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and release hanging requests; the port is free until ``start()``."""
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self.lock:  # keep-alive connections outlive shutdown(): cut them, like a crash
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def release(self) -> None:
        """Let hanging requests end (without an answer)."""
        self.released.set()

    def script(self, *answers: Answer, default: Answer | None = None) -> None:
        """Answer the next requests with ``answers`` (then ``default``)."""
        with self.lock:
            self._script = list(answers)
            if default is not None:
                self._default = default

    def record(self, request: Recorded) -> Answer:
        with self.lock:
            self.requests.append(
                Recorded(
                    request.method,
                    request.path,
                    request.headers,
                    request.body,
                    time.monotonic(),
                    time.time(),
                )
            )
            return self._script.pop(0) if self._script else self._default

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [r.body for r in self.requests]

    async def wait_for(self, count: int, within: float = 15.0) -> list[Recorded]:
        """Poll (without blocking the event loop) until ``count`` requests arrived."""
        deadline = time.monotonic() + within
        while True:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.url}: {len(self.requests)} of {count} requests")
            await asyncio.sleep(0.02)
