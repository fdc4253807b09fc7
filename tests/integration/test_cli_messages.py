"""What a new user reads when a source or an `extract` target is wrong, with the real CLI.

Each message names what the user gave (the source's URL, the file) and what to do, in the
product's words: never robots.txt when the page is what was refused, never a library's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.builders import rss, write_config
from tests.support.cli import meta_stories, run_cli, serve_stories
from tests.support.site import Site

pytestmark = pytest.mark.slow

HINT = "set fetch.allow_private_networks to allow it, e.g. ["
DIRECT = {"delay": "0s", "timeout": "5s"}  # allow_private_networks left at its default: false


def test_once_names_the_refused_source_and_the_setting_not_robots_txt(
    site: Site, make_config: Callable[..., Path]
) -> None:
    """A source on a name that resolves to loopback, with private networks not allowed: check
    passes (it looks no name up), then the poll fails naming the source's URL, the address
    and the setting that allows it, not the robots.txt read first; nothing reaches the site."""
    base = serve_stories(site, meta_stories(1))
    site.add("/feed.xml", rss(meta_stories(1), base))
    url = site.url("/feed.xml").replace("127.0.0.1", "localhost")
    config = make_config([{"name": "local", "type": "feed", "url": url}], fetch=DIRECT)
    assert run_cli("check", "--config", str(config)).returncode == 0
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    failure = re.search(r"source failed: private_address: (.*)", result.stdout)
    assert failure, result.stdout
    assert failure[1].startswith(f"GET {url}: refused to connect to localhost ("), failure[1]
    assert f"): not a public address ({HINT}" in failure[1]
    assert "robots.txt" not in result.stdout
    assert site.connections == 0


def test_extract_of_a_refused_url_names_it_and_the_setting(site: Site, tmp_path: Path) -> None:
    """`watcher extract` of a loopback URL without a config (private networks refused): one
    line naming the URL and how to allow exactly that address; no socket was opened."""
    url = site.add("/page", "<html><body><p>never served</p></body></html>")
    result = run_cli("extract", url, "--config", str(tmp_path / "absent.yaml"))
    assert result.returncode == 1
    assert result.stderr == (
        f"watcher: {url}: GET {url}: refused to connect to 127.0.0.1: not a public address "
        "(set fetch.allow_private_networks to allow it, e.g. [127.0.0.1/32])\n"
    )
    assert site.connections == 0


def test_check_warns_of_a_source_at_a_literal_address_the_guard_refuses(tmp_path: Path) -> None:
    """A source URL whose host is a literal IPv4 or IPv6 address outside
    allow_private_networks fails every poll, so check names it at its key path, with the fix;
    a warning, exit 0: a failing source never stops the daemon or the other sources (SPEC).
    An allowed private address, a public one and a host name (not resolved) pass silently."""
    config = write_config(
        tmp_path / "watcher.yaml",
        fetch={"allow_private_networks": ["10.0.0.0/8"]},
        sources=[
            {"name": "loop4", "type": "feed", "url": "http://127.0.0.1:8080/feed.xml"},
            {"name": "allowed", "type": "feed", "url": "http://10.1.2.3/feed.xml"},
            {"name": "loop6", "type": "page", "url": "http://[::1]/news/"},
            {"name": "named", "type": "feed", "url": "http://localhost/feed.xml"},
            {"name": "public", "type": "feed", "url": "http://93.184.215.14/feed.xml"},
            {"name": "metadata", "type": "feed", "url": "http://169.254.169.254/latest/"},
        ],
    )
    result = run_cli("check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"{config}: ok (6 sources, 0 topics)\n"
    fails = ": every poll of it will fail"
    assert result.stderr.splitlines() == [
        f"{config}: warning: sources[0].url: 127.0.0.1 is not a public address"
        f" ({HINT}127.0.0.1/32]){fails}",
        f"{config}: warning: sources[2].url: ::1 is not a public address ({HINT}::1/128]){fails}",
        f"{config}: warning: sources[5].url: 169.254.169.254 is not a public address "
        f"({HINT}169.254.169.254/32]){fails}",
    ]


def test_extract_of_a_missing_file_says_no_such_file(tmp_path: Path) -> None:
    """`watcher extract` of a path that does not exist says so, not that it is no http URL."""
    missing = tmp_path / "nofile.html"
    result = run_cli("extract", str(missing), "--config", str(tmp_path / "absent.yaml"))
    assert result.returncode == 1
    assert result.stderr == f"watcher: {missing}: no such file\n"


def test_page_source_serving_a_feed_says_use_type_feed(
    site: Site, make_config: Callable[..., Path]
) -> None:
    """A `type: page` source whose URL serves RSS fails saying it is a feed and which type
    reads it, without lxml's words about encoding declarations."""
    base = serve_stories(site, meta_stories(1))
    url = site.add("/feed.xml", rss(meta_stories(1), base))
    config = make_config([{"name": "listing", "type": "page", "url": f"{url}?v=3"}])
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert (
        f"source failed: malformed_page: {url}?v=3: serves an RSS/Atom feed, not a page: "
        "use type: feed"
    ) in result.stdout, result.stdout
    assert "Unicode strings" not in result.stdout + result.stderr
