"""`watcher run`'s HTTP endpoints while its Redis goes away and comes back.

The daemon gets a Redis server of its own (a `redis-server` child on a free loopback port) so the
test can stop it without touching the shared one.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.builders import rss, write_config
from tests.support.cli import daemon, meta_stories, serve_stories, wait_until
from tests.support.receiver import SECRET, Receiver

pytestmark = pytest.mark.slow


NO_DISK = ("--appendonly", "no", "--dir")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    """A throwaway redis-server on loopback that the test may stop and start again."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self._tmp = tmp
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self._proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def samples(body: bytes) -> dict[str, list[Any]]:
    """/metrics parsed by prometheus-client's own parser: family name → samples."""
    return {f.name: f.samples for f in text_string_to_metric_families(body.decode())}


def test_probes_and_metrics_follow_redis_going_away_and_back(
    site: Any, own_redis: OwnRedis, tmp_path: Path, receiver: Callable[..., Receiver]
) -> None:
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    rx = receiver()
    http_port = free_port()
    config = write_config(
        tmp_path / "watcher.yaml",
        redis={"url": own_redis.url, "namespace": "probe"},
        data_dir=str(tmp_path / "data"),
        http={"host": "127.0.0.1", "port": http_port},
        fetch={"allow_private_networks": ["127.0.0.1/32"], "delay": "0s", "timeout": "5s"},
        topics=[{"name": "meta-ai", "any": ["Meta"]}],
        sources=[{"name": "local", "type": "feed", "url": f"{base}/feed.xml", "every": "2s"}],
        webhooks=[{"name": "news", "url": rx.url, "secret": SECRET}],
    )
    with daemon(config) as run:
        wait_until(lambda: get(http_port, "/readyz")[0] == 200)
        assert json.loads(get(http_port, "/readyz")[1])["workers"] >= 1
        assert get(http_port, "/healthz") == (200, b'{"alive": true}')
        wait_until(lambda: len(rx.requests) >= 2)
        wait_until(lambda: _sample(get(http_port, "/metrics")[1], "watcher_stream_length") == 2)
        families = samples(get(http_port, "/metrics")[1])
        emitted = [s for s in families["watcher_stories_emitted"] if s.name.endswith("_total")]
        assert sum(s.value for s in emitted) == 2
        delivered = families["watcher_webhook_deliveries"]
        assert (
            next(
                s.value
                for s in delivered
                if s.name.endswith("_total") and s.labels.get("endpoint") == "news"
            )
            == 2
        )
        assert "watcher_fetch_seconds" in families
        assert _sample(get(http_port, "/metrics")[1], "watcher_ready") == 1

        own_redis.stop()
        wait_until(lambda: get(http_port, "/readyz")[0] == 503)
        _status, body = get(http_port, "/readyz")
        assert json.loads(body)["redis"] is False
        assert get(http_port, "/healthz")[0] == 200
        assert _sample(get(http_port, "/metrics")[1], "watcher_ready") == 0
        time.sleep(3)  # let a poll or two and the webhook loops meet the missing Redis
        assert run.proc.poll() is None, "the daemon must outlive its Redis"

        own_redis.start()
        wait_until(lambda: get(http_port, "/readyz")[0] == 200)
        assert run.stop() == 0
        assert "Traceback" not in run.stderr, run.stderr[-3000:]


def _sample(body: bytes, name: str) -> float | None:
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None


def _event(stderr: str, name: str) -> dict[str, Any] | None:
    lines = [json.loads(x) for x in stderr.splitlines() if x.startswith("{")]
    return next((x for x in lines if x["event"] == name), None)


def test_start_up_lines_name_the_redis_masked_and_the_dashboard_url(
    site: Any, own_redis: OwnRedis, tmp_path: Path
) -> None:
    """`watcher run` on a password-protected REDIS_URL says at start which Redis it uses,
    the password masked (and nowhere in its log), and where the dashboard is."""
    password = "s3cret-start-up"
    with socket.create_connection(("127.0.0.1", own_redis.port), timeout=5) as s:
        s.sendall(f"CONFIG SET requirepass {password}\r\n".encode())
        assert s.recv(16).startswith(b"+OK")
    stories = meta_stories(1)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    http_port = free_port()
    config = write_config(
        tmp_path / "watcher.yaml",
        redis={"url": f"redis://:{password}@127.0.0.1:{own_redis.port}/0", "namespace": "boot"},
        data_dir=str(tmp_path / "data"),
        http={"host": "127.0.0.1", "port": http_port},
        fetch={"allow_private_networks": ["127.0.0.1/32"], "delay": "0s", "timeout": "5s"},
        sources=[{"name": "local", "type": "feed", "url": f"{base}/feed.xml", "every": "1h"}],
    )

    with daemon(config) as run:
        wait_until(lambda: _event(run.stderr, "started"), what="the started line")
        started, listening = _event(run.stderr, "started"), _event(run.stderr, "http_listening")
        assert run.stop() == 0
        err = run.stderr
    assert started is not None
    assert listening is not None
    assert started["redis"] == f"redis://:***@127.0.0.1:{own_redis.port}/0"
    assert started["namespace"] == "boot"
    assert listening["url"] == f"http://127.0.0.1:{http_port}/"
    assert listening["port"] == http_port
    assert password not in err


def test_start_up_line_names_the_embedded_redis(tmp_path: Path) -> None:
    """Without REDIS_URL the started line says ``embedded``, its socket and its data dir."""
    config = write_config(
        tmp_path / "watcher.yaml",
        redis={"url": "", "namespace": "boot"},
        data_dir=str(tmp_path / "data"),
        http={"host": "127.0.0.1", "port": 0},
        sources=[{"name": "local", "type": "feed", "url": "http://127.0.0.1:9/feed.xml"}],
    )
    with daemon(config) as run:
        wait_until(lambda: _event(run.stderr, "started"), what="the started line")
        started = _event(run.stderr, "started")
        assert run.stop() == 0
    assert started is not None
    assert started["redis"] == "embedded"
    assert started["redis_socket"].endswith("redis.socket"), started
    assert started["data_dir"] == str((tmp_path / "data").resolve())
