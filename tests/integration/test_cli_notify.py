"""notify: channels through the real CLI: `check` names a bad Apprise URL, `once` delivers a
json:// channel and keeps a mailto:// password out of every log line and of `status`."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import rss
from tests.support.cli import meta_stories, run_cli, serve_stories
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow

PASSWORD = "Sup3r-Secret-Mail-Pw"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def feed_source(site: Any, n: int) -> dict[str, Any]:
    stories = meta_stories(n)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    return {"name": "local", "type": "feed", "url": f"{base}/feed.xml"}


def test_check_names_a_template_placeholder_that_does_not_exist(
    site: Any, make_config: Callable[..., Path]
) -> None:
    """`watcher check` exits 2 naming the template key of an unknown placeholder."""
    notify = [
        {"name": "odd", "url": "nosuchservice://x"},
        {"name": "tpl", "url": "json://127.0.0.1:9/", "template": {"body": "$nope"}},
    ]
    config = make_config([feed_source(site, 1)], notify=notify)
    result = run_cli("check", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert "notify[1].template.body: unknown placeholder $nope" in result.stderr


def test_check_names_a_channel_problem_at_its_key(
    site: Any, make_config: Callable[..., Path]
) -> None:
    """A URL Apprise cannot read is a config problem at notify[0].url."""
    config = make_config([feed_source(site, 1)], notify=[{"name": "odd", "url": "nosuch://x"}])
    result = run_cli("check", "--config", str(config))
    assert result.returncode == 2
    assert "notify[0].url: Apprise cannot load this URL" in result.stderr


def test_once_delivers_json_and_hides_the_mail_password(
    site: Any, make_config: Callable[..., Path], receiver: Callable[..., Receiver]
) -> None:
    """One cycle: the json:// channel gets each story; the mail server is down, so its attempt
    fails; the password shows neither in the logs nor in `status` (text or JSON)."""
    rx = receiver()
    mail = (
        f"mailto://watcher:{PASSWORD}@127.0.0.1:{closed_port()}"
        "?from=watcher@news.test&to=desk@news.test&mode=insecure"
    )
    notify = [
        {"name": "feed-json", "url": rx.url.replace("http://", "json://")},
        {"name": "mail", "url": mail, "retry": ["1h"]},
    ]
    config = make_config([feed_source(site, 2)], notify=notify)
    once = run_cli("once", "--config", str(config), "--wait", "0")
    assert once.returncode == 0, once.stderr
    assert len(rx.requests) == 2
    assert {json.loads(r.body)["title"].split(":")[0] for r in rx.requests} == {"New story"}
    assert PASSWORD not in once.stderr + once.stdout
    status = run_cli("status", "--config", str(config))
    as_json = run_cli("status", "--json", "--config", str(config))
    assert PASSWORD not in status.stdout + as_json.stdout
    assert "webhook mail (apprise → mailto://" in status.stdout, status.stdout
    assert "webhook feed-json (apprise → json://127.0.0.1:" in status.stdout, status.stdout
    row = json.loads(as_json.stdout)["webhooks"]["mail"]
    assert row["failed"] == 2
    assert "notify_failed" in row["last_reason"]
