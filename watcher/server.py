"""/healthz /readyz /metrics: a small WSGI app (prometheus-client's) served from a thread."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import redis.asyncio as aioredis
import structlog
from prometheus_client import make_wsgi_app
from redis import exceptions as redis_errors

from watcher import metrics
from watcher.errors import StoreUnavailable
from watcher.store.keys import Keys
from watcher.webhooks.delivery import Dispatcher

log = structlog.get_logger("watcher.server")

REFRESH_SECONDS = 5.0  # how stale /readyz and the stream gauges may be


@dataclass
class Health:
    """What /readyz reports; written by the event loop, read by the HTTP thread."""

    redis_ok: bool = False
    scheduler_running: bool = False
    shutting_down: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.redis_ok and self.scheduler_running and not self.shutting_down

    def as_json(self) -> bytes:
        body = {
            "ready": self.ready,
            "redis": self.redis_ok,
            "scheduler": self.scheduler_running,
            "shutting_down": self.shutting_down,
            **self.detail,
        }
        return json.dumps(body).encode()


Start = Callable[[str, list[tuple[str, str]]], Any]


def make_app(health: Health) -> Callable[[dict[str, Any], Start], Iterable[bytes]]:
    """WSGI dispatch: our two probes, everything else to prometheus-client's /metrics app."""
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
        start("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /healthz, /readyz or /metrics\n"]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes hit every few seconds; access lines would drown the canonical log lines."""


class HttpServer:
    """The endpoints in a daemon thread, so a busy event loop never fails a liveness probe."""

    def __init__(self, host: str, port: int, health: Health) -> None:
        self._server: WSGIServer = make_server(
            host, port, make_app(health), handler_class=_QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("http_listening", port=self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


async def refresh(
    client: aioredis.Redis, keys: Keys, health: Health, dispatcher: Dispatcher | None = None
) -> None:
    """Ping Redis and read stream and webhook gauges; /readyz turns false while Redis is away."""
    try:
        await client.ping()
        if dispatcher is not None:
            metrics.record_endpoints(await dispatcher.status())
        metrics.STREAM_LENGTH.set(await client.xlen(keys.stories))
        for group in await _groups(client, keys):
            name = str(group["name"])
            metrics.CONSUMER_PENDING.labels(name).set(int(group.get("pending") or 0))
            if group.get("lag") is not None:  # Redis 7 reports lag; 6.2 does not
                metrics.CONSUMER_LAG.labels(name).set(int(group["lag"]))
        health.redis_ok = True
    except (
        StoreUnavailable,
        redis_errors.ConnectionError,
        redis_errors.TimeoutError,
        OSError,
    ) as exc:
        health.redis_ok = False
        health.detail["redis_error"] = str(exc)
    else:
        health.detail.pop("redis_error", None)
    metrics.UP.set(1 if health.ready else 0)


async def _groups(client: aioredis.Redis, keys: Keys) -> list[dict[str, Any]]:
    try:
        groups: list[dict[str, Any]] = await client.xinfo_groups(keys.stories)
    except redis_errors.ResponseError:  # no stream yet
        return []
    return groups


async def keep_refreshed(
    client: aioredis.Redis,
    keys: Keys,
    health: Health,
    stopping: asyncio.Event,
    dispatcher: Dispatcher | None = None,
) -> None:
    """Refresh every few seconds until ``stopping`` is set."""
    while not stopping.is_set():
        await refresh(client, keys, health, dispatcher)
        try:
            await asyncio.wait_for(stopping.wait(), timeout=REFRESH_SECONDS)
        except TimeoutError:
            continue
