"""No secret and no webhook URL token in any log line of the real CLI, even for internal errors.

The receiver here "does something odd" the way real ones do: its error page quotes the request
line, token and all. The internal error is real too: a counter in the endpoint's state hash
holds a word (as after an operator's mistaken HSET), so settling the failed attempt makes Redis
refuse HINCRBY inside the webhook worker, an error nobody translates, which is logged with its
traceback. (A key of the wrong type is a documented StoreCorrupt instead, without one: see
test_cli_webhook_isolation.py.)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import rss
from tests.support.cli import meta_stories, run_cli, serve_stories
from tests.support.receiver import SECRET, Receiver

pytestmark = pytest.mark.slow

TOKEN = "SlackTokenAbc123XyZ789"
TOKEN_PATH = f"/services/T0AAAA1111/B0BBBB2222/{TOKEN}"


class _Echo(BaseHTTPRequestHandler):
    """404 with the request line quoted in the body, as many frameworks' error pages do."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = f"no route for {self.command} {self.path}".encode()
        self.send_response(404)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{TOKEN_PATH}"
    server.shutdown()
    server.server_close()


def test_once_logs_no_secret_even_for_an_internal_error(
    site: Any,
    make_config: Callable[..., Path],
    receiver: Callable[..., Receiver],
    echo_url: str,
    redis_client: redis.Redis,
    ns: str,
) -> None:
    """`watcher once` with a Slack webhook (token in its path) whose receiver echoes the path,
    and a signed standard webhook: the failure lines and the internal error's traceback name
    the endpoint and its origin, never the token, the path or the signing secret."""
    stories = meta_stories(1)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    ok = receiver()
    config = make_config(
        [{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}],
        webhooks=[
            {"name": "bot", "url": echo_url, "secret": SECRET, "format": "slack"},
            {"name": "signed", "url": ok.url, "secret": SECRET},
        ],
    )
    redis_client.hset(f"{ns}:webhooks:endpoint:bot", "failed", "many")
    result = run_cli("once", "--config", str(config), "--wait", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    internal = [e for e in lines if e.get("event") == "webhook_internal_error"]
    assert internal, "the forced internal error must have been logged"
    assert internal[0]["exception"][0]["frames"], internal[0]  # a real traceback...
    assert all("locals" not in f for f in internal[0]["exception"][0]["frames"])  # ...no locals
    assert "not an integer" in internal[0]["exception"][0]["exc_value"]
    assert len(ok.requests) == 1  # the signed endpoint was really used with the secret
    for leak in (TOKEN, TOKEN_PATH, "T0AAAA1111", SECRET, SECRET.removeprefix("whsec_")):
        assert leak not in result.stderr, leak
        assert leak not in result.stdout, leak


def test_failure_lines_and_status_show_no_token(
    site: Any,
    make_config: Callable[..., Path],
    echo_url: str,
) -> None:
    """The ordinary failure path: the `webhook` warning line, the summary and `watcher status`
    (text and --json; they show the last failure's reason) name the endpoint and origin, not
    the token the receiver echoed back."""
    stories = meta_stories(1)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    config = make_config(
        [{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}],
        webhooks=[{"name": "bot", "url": echo_url, "secret": SECRET, "format": "slack"}],
    )
    once = run_cli("once", "--config", str(config), "--wait", "0")
    assert once.returncode == 0, once.stderr[-3000:]
    failures = [
        e
        for e in map(json.loads, once.stderr.splitlines())
        if e.get("event") == "webhook" and e.get("endpoint") == "bot"
    ]
    assert [(e["reason"], e["target"]) for e in failures] == [("http_404", echo_url.split("/s")[0])]
    status = run_cli("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert "webhook bot" in status.stdout
    assert "http_404" in status.stdout
    as_json = run_cli("status", "--json", "--config", str(config))
    assert "http_404" in as_json.stdout
    for text in (once.stdout, once.stderr, status.stdout, status.stderr, as_json.stdout):
        for leak in (TOKEN, TOKEN_PATH, "T0AAAA1111", SECRET.removeprefix("whsec_")):
            assert leak not in text, (leak, text[-2000:])


class _EchoLoud(BaseHTTPRequestHandler):
    """500 with an error page that quotes the path every way frameworks do: in the request
    line, JSON-escaped, the token alone, over many lines and kilobytes."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        escaped = json.dumps({"path": self.path})
        body = (
            f"no route for {self.command} {self.path}\n{escaped}\ninvalid token {TOKEN}\n"
            + "stack frame\n" * 300
        ).encode()
        self.send_response(500)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def loud_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoLoud)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{TOKEN_PATH}"
    server.shutdown()
    server.server_close()


def namespace_dump(redis_url: str, ns: str) -> str:
    """Every key of the namespace with its value, streams and their groups included (raw
    bytes: some values are binary records)."""
    client = redis.Redis.from_url(redis_url)
    out = []
    for key in client.scan_iter(match=f"{ns}:*", count=500):
        kind = client.type(key).decode()
        value: Any = {
            "string": client.get,
            "hash": client.hgetall,
            "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            "set": client.smembers,
            "list": lambda k: client.lrange(k, 0, -1),
            "stream": lambda k: (client.xrange(k), client.xinfo_groups(k)),
        }[kind](key)
        out.append(f"{key!r} {kind!r} {value!r}")
    client.close()
    return "\n".join(out)


def test_a_receivers_reply_quoting_the_token_is_stored_nowhere(
    site: Any,
    make_config: Callable[..., Path],
    loud_url: str,
    redis_client: redis.Redis,
    redis_url: str,
    ns: str,
) -> None:
    """The reasons an attempt leaves in Redis (the retry record, the endpoint's last reason,
    the dead letter) keep the receiver's words but not the token it quoted, as one line of at
    most 200 characters; no key or value of the namespace and no log line holds the token."""
    stories = meta_stories(1)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    config = make_config(
        [{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}],
        webhooks=[
            {"name": "dies", "url": loud_url, "secret": SECRET, "retry": ["50ms"]},
            {"name": "waits", "url": loud_url, "secret": SECRET, "retry": ["50ms", "1h"]},
        ],
    )
    once = run_cli("once", "--config", str(config), "--wait", "3")
    assert once.returncode == 0, once.stderr[-3000:]
    assert "failed attempts 4, dead 1, retrying later 1" in once.stdout, once.stdout
    ((_id, letter),) = redis_client.xrange(f"{ns}:webhooks:dead")
    waiting = json.loads(redis_client.hget(f"{ns}:webhooks:events:waits", letter["stream_id"]))
    reasons = json.loads(letter["reasons"]) + waiting["reasons"]
    assert len(reasons) == 4
    for reason in reasons:
        _when, _slug, detail = reason.split(" ", 2)
        assert detail.startswith("POST http://127.0.0.1:"), reason
        assert "HTTP 500: no route for POST ***" in detail, reason
        assert len(detail) <= 200
        assert "\n" not in reason
    dump = namespace_dump(redis_url, ns)
    assert "no route for POST ***" in dump  # the dump really holds the reasons
    for leak in (TOKEN, TOKEN_PATH, "T0AAAA1111", "B0BBBB2222"):
        assert leak not in dump, leak
        assert leak not in once.stderr + once.stdout, leak
