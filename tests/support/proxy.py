"""Proxies on 127.0.0.1 for tests, each logging what it relayed.

    with ForwardProxy() as proxy:     an HTTP forwarding proxy (absolute-form GETs)
        proxy.url                     http://127.0.0.1:PORT
        proxy.requests                (target URL, request headers) of every request relayed
    with Socks5Proxy() as proxy:      a SOCKS5 proxy (no auth, CONNECT only, RFC 1928)
        proxy.url                     socks5://127.0.0.1:PORT
        proxy.targets                 (host as the client sent it, port) of every CONNECT

Both relay only to loopback targets (tests send traffic nowhere else) and refuse any other;
the HTTP one does not tunnel (CONNECT), since the test sites speak plain HTTP.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self
from urllib.parse import urlsplit

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"}
)


class Relayed(NamedTuple):
    url: str
    headers: dict[str, str]


class _Served:
    """A socketserver on a loopback port, served on a thread while used as a context manager."""

    def __init__(self, server: socketserver.BaseServer) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])  # type: ignore[index]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class ForwardProxy(_Served):
    """A started-on-demand proxy; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Relayed] = []
        self._lock = threading.Lock()
        super().__init__(_Server(("127.0.0.1", 0), _Handler, self))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, relayed: Relayed) -> None:
        with self._lock:
            self.requests.append(relayed)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: Any, proxy: ForwardProxy) -> None:
        self.proxy = proxy
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is not the test's business."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""

    def do_GET(self) -> None:
        target = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.proxy.record(Relayed(self.path, headers))
        if target.scheme != "http" or not _is_loopback(target.hostname or ""):
            return self._answer(502, b"this test proxy relays to loopback only", {})
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
        try:
            forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request("GET", path or "/", headers=forwarded)
            response = upstream.getresponse()
            body = response.read()
            kept = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in HOP_BY_HOP | {"content-length", "transfer-encoding"}
            }
            self._answer(response.status, body, kept)
        finally:
            upstream.close()

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Socks5Proxy(_Served):
    """A SOCKS5 proxy: the client's CONNECT target (a name or an address) is resolved here."""

    def __init__(self) -> None:
        self.targets: list[tuple[str, int]] = []
        super().__init__(_SocksServer(("127.0.0.1", 0), _SocksHandler, self))

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"


class _SocksServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: Any, proxy: Socks5Proxy) -> None:
        self.proxy = proxy
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is not the test's business."""


class _SocksHandler(socketserver.BaseRequestHandler):
    server: _SocksServer

    def handle(self) -> None:
        client: socket.socket = self.request
        _version, methods = _read(client, 2)
        _read(client, methods)
        client.sendall(b"\x05\x00")  # no authentication
        _version, command, _reserved, kind = _read(client, 4)
        if kind == 1:
            host = socket.inet_ntoa(_read(client, 4))
        elif kind == 3:
            host = _read(client, _read(client, 1)[0]).decode("idna")
        else:
            host = socket.inet_ntop(socket.AF_INET6, _read(client, 16))
        (port,) = struct.unpack("!H", _read(client, 2))
        self.server.proxy.targets.append((host, port))
        if command != 1 or not _is_loopback(host):
            client.sendall(b"\x05\x02\x00\x01" + bytes(6))  # not allowed by ruleset
            return
        upstream = socket.create_connection((host, port), timeout=10)
        client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
        _pipe(client, upstream)


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client hung up")
        data += chunk
    return data


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Relay both ways until either side closes."""

    def one_way(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    back = threading.Thread(target=one_way, args=(b, a), daemon=True)
    back.start()
    one_way(a, b)
    back.join(timeout=10)
    b.close()
