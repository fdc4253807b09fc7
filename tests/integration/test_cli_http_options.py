"""Per-source HTTP options through the real CLI: headers, user_agent and proxy (issue 15).

The proxy is a real forwarding proxy on 127.0.0.1 (tests/support/proxy.py); the SSRF guard
judges both the proxy's address and the target's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from tests.support.builders import rss
from tests.support.cli import meta_stories, run_cli, serve_stories, stream
from tests.support.proxy import ForwardProxy

pytestmark = pytest.mark.slow

TOKEN = "tok-5e3f9a8c1d2b4e6f"


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as running:
        yield running


def test_a_source_behind_a_proxy_with_its_own_headers_and_agent(
    site: Any,
    proxy: ForwardProxy,
    make_config: Callable[..., Path],
    redis_client: redis.Redis,
    ns: str,
) -> None:
    """Every request of the proxied source (robots.txt, feed, articles) goes through the
    proxy with the source's user agent and headers over fetch's; the other source goes
    direct with fetch's own; the ${ENV} header value never shows in the logs."""
    stories = meta_stories(2, prefix="proxied")
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    site.add("/direct.xml", rss([], base))
    config = make_config(
        [
            {
                "name": "behind",
                "type": "feed",
                "url": f"{base}/feed.xml",
                "proxy": proxy.url,
                "user_agent": "behind-agent/1.0",
                "headers": {"Authorization": "Bearer ${FEED_TOKEN}", "X-Shared": "source"},
            },
            {"name": "direct", "type": "feed", "url": f"{base}/direct.xml"},
        ],
        fetch={
            "allow_private_networks": ["127.0.0.1/32"],
            "delay": "0s",
            "timeout": "5s",
            "headers": {"X-Shared": "fetch", "X-Fetch-Only": "yes"},
        },
    )
    result = run_cli(
        "once", "--config", str(config), env={"FEED_TOKEN": TOKEN, "WATCHER_LOG_LEVEL": "debug"}
    )
    assert result.returncode == 0, result.stderr
    assert "behind: polled 2, new 2" in result.stdout, result.stdout
    assert sorted(d["source"] for d in stream(redis_client, ns)) == ["behind", "behind"]

    relayed = {urlsplit(r.url).path for r in proxy.requests}
    assert {"/robots.txt", "/feed.xml", *(s.path for s in stories)} <= relayed
    assert "/direct.xml" not in relayed  # the other source does not use the proxy
    for request in proxy.requests:
        assert request.headers["user-agent"] == "behind-agent/1.0"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["x-shared"] == "source"  # the source's header replaces fetch's
        assert request.headers["x-fetch-only"] == "yes"
    (direct,) = site.hits("/direct.xml")
    assert direct.headers["x-shared"] == "fetch"
    assert "authorization" not in direct.headers
    assert direct.headers["user-agent"].startswith("news-watcher/")
    assert TOKEN not in result.stderr + result.stdout


def test_a_proxy_on_a_refused_address_is_a_config_error(make_config: Callable[..., Path]) -> None:
    """`watcher check` names the key of a proxy whose literal address the guard refuses,
    and of a header the fetcher sets itself; a header value is never printed."""
    refused = make_config(
        [{"name": "a", "type": "feed", "url": "https://a.example/f",
          "proxy": "http://10.1.2.3:3128"}],
    )  # fmt: skip
    result = run_cli("check", "--config", str(refused))
    assert result.returncode == 2
    assert "sources[0].proxy: the proxy's address 10.1.2.3 is not a public address" in (
        result.stderr
    )
    malformed = make_config(
        [
            {"name": "b", "type": "feed", "url": "https://b.example/f",
             "headers": {"X-Bad": "line\r\nInjected: 1"}},
            {"name": "c", "type": "feed", "url": "https://c.example/f",
             "headers": {"Host": "x"}, "proxy": "ftp://p.example:21"},
        ],
    )  # fmt: skip
    result = run_cli("check", "--config", str(malformed))
    assert result.returncode == 2
    err = result.stderr
    assert "sources[0].headers: X-Bad: the value has a line break" in err
    assert "sources[1].headers: Host is set by the fetcher" in err
    assert "sources[1].proxy: must start with http://" in err
    assert "Injected" not in err


def test_a_proxy_named_on_a_refused_address_fails_the_fetch_clearly(
    proxy: ForwardProxy, make_config: Callable[..., Path]
) -> None:
    """A proxy given by name is refused when the fetch connects to it: the poll fails naming
    the proxy (never its password), and nothing reaches the proxy. The target is a public
    literal address, which passes the target check; no packet goes to it (only the proxy
    would connect to it, and the proxy is never reached)."""
    port = proxy.url.rsplit(":", 1)[1]
    config = make_config(
        [{"name": "p", "type": "feed", "url": "http://93.184.215.14/feed.xml",
          "proxy": f"http://user:hunter22@localhost:{port}"}],
        fetch={"allow_private_networks": False, "delay": "0s", "timeout": "5s"},
    )  # fmt: skip
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "source failed: private_address" in result.stdout, result.stdout
    assert f"proxy http://localhost:{port}: refused to connect to localhost" in result.stdout
    assert "hunter22" not in result.stdout + result.stderr
    assert not proxy.requests
