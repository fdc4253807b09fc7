"""/healthz /readyz /metrics, and the dashboard and API (``watcher.web``), served by waitress."""

from __future__ import annotations

import asyncio
import errno
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from prometheus_client import make_wsgi_app
from waitress import wasyncore
from waitress.server import create_server

from watcher import metrics
from watcher.errors import StoreUnavailable, WatcherError
from watcher.store import Client
from watcher.store.keys import Keys
from watcher.store.retention import StreamPolicy, stream_view

log = structlog.get_logger("watcher.server")

REFRESH_SECONDS = 5.0  # how stale /readyz and the stream gauges may be


@dataclass
class Health:
    """What /readyz reports; written by the event loop, read by the HTTP thread."""

    redis_ok: bool = False
    scheduler_running: bool = False
    shutting_down: bool = False
    workers: int | None = None  # live parsing workers; None until the pool is first checked
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return (
            self.redis_ok
            and self.scheduler_running
            and not self.shutting_down
            and self.workers != 0
        )

    def as_json(self) -> bytes:
        body = {
            "ready": self.ready,
            "redis": self.redis_ok,
            "scheduler": self.scheduler_running,
            "shutting_down": self.shutting_down,
            "workers": self.workers,
            **self.detail,
        }
        return json.dumps(body).encode()


Start = Callable[[str, list[tuple[str, str]]], Any]


WsgiApp = Callable[[dict[str, Any], Start], Iterable[bytes]]


def make_app(health: Health, web: WsgiApp | None = None) -> WsgiApp:
    """WSGI dispatch: our two probes and prometheus-client's /metrics, always answered without
    Redis; every other path to the dashboard and API (``web``) when it is served."""
    prometheus = make_wsgi_app(metrics.REGISTRY)

    def app(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            start("200 OK", [("Content-Type", "application/json")])
            return [b'{"alive": true}']
        if path == "/readyz":
            status = "200 OK" if health.ready else "503 Service Unavailable"
            start(status, [("Content-Type", "application/json")])
            return [health.as_json()]
        if path == "/metrics":
            return prometheus(environ, start)
        if web is not None:
            return web(environ, start)
        start("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /healthz, /readyz or /metrics\n"]

    return app


# waitress multiplexes every connection on one poll() loop and hands only complete requests
# to its threads, so idle or half-sent connections cost a buffer, never a thread. Bounds:
LOOP_SECONDS = 0.2  # the loop wakes this often to notice stop(): SIGTERM waits at most this
IDLE_SECONDS = 5.0  # a connection silent this long is closed (a probe takes milliseconds)
CLEANUP_SECONDS = 1.0  # how often idle connections are looked for
CONNECTION_LIMIT = 1000  # past this, new connections wait in the backlog until idle ones go
HEADER_BYTES = 8192  # a probe's request is ~100 bytes; bounds memory per connection
# Probes answer in microseconds; dashboard and API reads wait on Redis, at most THREADS - 1 at
# once (``web.bridge``), so one thread is always left for a probe or /metrics.
THREADS = 4
WEB_SLOTS = THREADS - 1


class ListenFailed(WatcherError):
    """The HTTP endpoints cannot listen on ``http.host``:``http.port`` (busy, or not ours to
    bind); the message names the address and what to do, in one line."""


def _listen_failed(host: str, port: int, exc: OSError) -> ListenFailed:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        why = "the port is in use (another watcher run?)"
    elif exc.errno == errno.EACCES:
        why = "permission denied (ports below 1024 need privileges)"
    else:
        why = exc.strerror or str(exc)
    return ListenFailed(
        f"cannot listen on {where}: {why}; stop the other process, or set http.port "
        "(WATCHER_HTTP_PORT in the default config) to a free port"
    )


WILDCARDS = ("", "0.0.0.0", "::")  # every interface: the dashboard is at loopback too


def dashboard_url(host: str, port: int) -> str:
    """Where a person on this machine opens the dashboard: the bound host, or loopback for a
    wildcard bind (``0.0.0.0`` is no address to browse to; without ``http.token`` only
    loopback clients may look anyway)."""
    shown = "127.0.0.1" if host in WILDCARDS else host
    if ":" in shown:
        shown = f"[{shown}]"  # an IPv6 literal
    return f"http://{shown}:{port}/"


class HttpServer:
    """The endpoints in a daemon thread, so a busy event loop never fails a liveness probe.

    Served by waitress rather than wsgiref: wsgiref answers one connection at a time with no
    timeout, so one idle client held every probe (and SIGTERM) for as long as it liked.
    """

    def __init__(self, host: str, port: int, health: Health, web: WsgiApp | None = None) -> None:
        self._host = host
        self._map: dict[int, Any] = {}
        try:
            self._server = self._create(host, port, make_app(health, web))
        except OSError as exc:
            wasyncore.close_all(self._map)
            raise _listen_failed(host, port, exc) from None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    def _create(self, host: str, port: int, app: WsgiApp) -> Any:
        return create_server(
            app,
            map=self._map,
            host=host,
            port=port,
            threads=THREADS,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=IDLE_SECONDS,
            cleanup_interval=CLEANUP_SECONDS,
            max_request_header_size=HEADER_BYTES,
            max_request_body_size=HEADER_BYTES,
            asyncore_use_poll=True,  # select() fails past 1024 descriptors
            asyncore_loop_timeout=LOOP_SECONDS,
            ident="news-watcher",
            expose_tracebacks=False,
        )

    @property
    def port(self) -> int:
        server: Any = self._server
        if hasattr(server, "effective_port"):
            return int(server.effective_port)
        return int(server.effective_listen[0][1])  # several addresses (e.g. "localhost")

    def start(self) -> None:
        self._thread.start()
        log.info(
            "http_listening",
            host=self._host,
            port=self.port,
            url=dashboard_url(self._host, self.port),
        )

    def stop(self) -> None:
        """Stop within LOOP_SECONDS (plus the threads' exit), whatever the clients are doing."""
        self._stopping.set()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        """The I/O loop, one short round at a time so that stop() is noticed; then close every
        connection and the listening sockets in this thread, the loop's own."""
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=LOOP_SECONDS, map=self._map, use_poll=True, count=1)
        finally:
            self._server.task_dispatcher.shutdown(timeout=1)
            wasyncore.close_all(self._map)


class EndpointHealth(Protocol):
    """What /metrics reads of notification endpoints (the Dispatcher is one): the server
    knows this method, not the notify package."""

    async def status(self) -> dict[str, dict[str, Any]]: ...


class WorkerPool(Protocol):
    """What /readyz asks of the parsing pool (watcher.workers.Workers is one)."""

    def check(self) -> int: ...


async def refresh(
    client: Client,
    keys: Keys,
    health: Health,
    policy: StreamPolicy,
    dispatcher: EndpointHealth | None = None,
    pool: WorkerPool | None = None,
) -> None:
    """Read the stream and webhook gauges (one stream read serves every gauge); /readyz
    turns false while Redis is away, and while no parsing worker is alive. ``policy`` is the
    one emits trim by, so the gauges judge lag against the configured cap and channels, as
    `watcher status` does."""
    if pool is not None:
        health.workers = pool.check()
    try:
        endpoints = await dispatcher.status() if dispatcher is not None else {}
        metrics.record_endpoints(endpoints)
        view = await stream_view(client, keys, policy)
        metrics.STREAM_LENGTH.set(view.length)
        for group in view.groups:
            metrics.CONSUMER_PENDING.labels(group.name).set(group.pending)
            if group.lag is not None:
                metrics.CONSUMER_LAG.labels(group.name).set(group.lag)
            if not group.own:
                metrics.STREAM_GROUP_LAGGING.labels(group.name).set(
                    1 if group.lagging_past_cap else 0
                )
        health.redis_ok = True
    except (StoreUnavailable, OSError) as exc:
        health.redis_ok = False
        health.detail["redis_error"] = str(exc)
    else:
        health.detail.pop("redis_error", None)
    metrics.UP.set(1 if health.ready else 0)


async def keep_refreshed(
    client: Client,
    keys: Keys,
    health: Health,
    stopping: asyncio.Event,
    policy: StreamPolicy,
    dispatcher: EndpointHealth | None = None,
    pool: WorkerPool | None = None,
) -> None:
    """Refresh every few seconds until ``stopping`` is set."""
    while not stopping.is_set():
        await refresh(client, keys, health, policy, dispatcher, pool)
        try:
            await asyncio.wait_for(stopping.wait(), timeout=REFRESH_SECONDS)
        except TimeoutError:
            continue
