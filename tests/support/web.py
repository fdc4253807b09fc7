"""The dashboard and API from a test: HTTP on loopback, and a `watcher run` fed by a local site.

``served_daemon`` starts the real `watcher run` on a free loopback port with one feed of the
test site: two stories and a copy of the first (same text, another URL, so it shows under
``also_at``); it yields once the daemon has polled and indexed them.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.builders import Story, rss, write_config
from tests.support.cli import Daemon, daemon, serve_stories, wait_until


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Any  # the HTTP message: .get() ignores case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str, headers: Mapping[str, str] | None = None) -> Answer:
    """GET http://127.0.0.1:<port><path>; an HTTP error is an answer, not an exception."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers, exc.read())
    except OSError:
        return Answer(0, {}, b"")


FIRST = Story("llama-ships", "Meta ships Llama to every developer")
SECOND = Story("zuck-interview", "Zuckerberg on superintelligence labs")
COPY = Story("mirror/llama-ships", "Meta ships Llama to every developer", body=FIRST.body)
LATER = Story("llama-follow-up", "Meta answers Llama licence questions")


@dataclass
class Served:
    run: Daemon
    port: int
    config: Path
    site: Any
    base: str

    def publish(self, *stories: Story) -> None:
        """Put ``stories`` (with the first three) on the feed, for the next poll."""
        listed = [FIRST, COPY, SECOND, *stories]
        serve_stories(self.site, listed)
        self.site.add("/feed.xml", rss(listed, self.base))


@contextmanager
def served_daemon(
    site: Any,
    tmp_path: Path,
    redis_url: str,
    ns: str,
    *,
    token: str | None = None,
    every: str = "2s",
    more_sources: Sequence[dict[str, Any]] = (),
    **extra: Any,
) -> Iterator[Served]:
    """A `watcher run` on a free port, polled once and indexed (see the module docstring)."""
    base = serve_stories(site, [FIRST, COPY, SECOND])
    site.add("/feed.xml", rss([FIRST, COPY, SECOND], base))
    port = free_port()
    http: dict[str, Any] = {"host": "127.0.0.1", "port": port}
    env = {}
    if token:  # from the environment, as the README tells users to pass it
        http["token"] = "${DASH_TEST_TOKEN}"
        env["DASH_TEST_TOKEN"] = token
    config = write_config(
        tmp_path / "watcher.yaml",
        redis={"url": redis_url, "namespace": ns},
        data_dir=str(tmp_path / "data"),
        http=http,
        fetch={"allow_private_networks": ["127.0.0.1/32"], "delay": "0s", "timeout": "5s"},
        topics=[{"name": "meta-ai", "any": ["Meta", "Llama", "Zuckerberg"]}],
        sources=[
            {"name": "local-news", "type": "feed", "url": f"{base}/feed.xml", "every": every},
            *more_sources,
        ],
        **extra,
    )
    with daemon(config, env) as run:
        served = Served(run, port, config, site, base)
        yield served


def stories_listed(port: int, headers: Mapping[str, str] | None = None) -> int:
    answer = get(port, "/api/stories", headers)
    return int(answer.json()["total"]) if answer.status == 200 else -1


def wait_for_stories(served: Served, count: int, headers: Mapping[str, str] | None = None) -> None:
    wait_until(
        lambda: stories_listed(served.port, headers) >= count,
        within=60,
        what=f"{count} stories in /api/stories",
    )


@contextmanager
def web_app_of(config_path: Path) -> Iterator[Any]:
    """The dashboard and API's WSGI app on a real App (Redis and all), its reads running on an
    event loop in a thread as in the daemon, for calls with a made-up WSGI environ."""
    import asyncio
    import os
    import threading

    from watcher.app import App
    from watcher.config import load_config
    from watcher.web.bridge import Bridge
    from watcher.web.reads import Reader
    from watcher.web.routes import make_web_app

    config = load_config(config_path, os.environ)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-loop", daemon=True)
    thread.start()
    app = asyncio.run_coroutine_threadsafe(App.open(config), loop).result(30)
    token = config.http.token.get_secret_value() if config.http.token else None
    try:
        yield make_web_app(Bridge(loop, Reader(app), slots=3), token)
    finally:
        asyncio.run_coroutine_threadsafe(app.aclose(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def call(app: Any, path: str, **environ: str) -> tuple[str, dict[str, str], bytes]:
    """One request to a WSGI app, no socket: (status, headers, body)."""
    from wsgiref.util import setup_testing_defaults

    path, _, query = path.partition("?")
    env: dict[str, Any] = {"PATH_INFO": path, "QUERY_STRING": query, **environ}
    setup_testing_defaults(env)
    answered: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        answered.update(status=status, headers=dict(headers))

    body = b"".join(app(env, start))
    return answered["status"], answered["headers"], body
