"""Config of per-source HTTP options (headers, user_agent, proxy) and ``type: site``."""

from __future__ import annotations

from typing import Any

import pytest

from scrapers.fetch import RequestOptions
from watcher.config import parse_config
from watcher.errors import ConfigError


def _config(source: dict[str, Any], **fetch: Any) -> dict[str, Any]:
    base = {"name": "a", "type": "site", "url": "https://outlet.example/"}
    return {"fetch": fetch, "sources": [{**base, **source}]}


def _problems(tree: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(tree, {})
    return [str(p) for p in caught.value.problems]


def test_a_site_source_with_its_options_and_their_request_options() -> None:
    """``type: site`` is a source type; the options become the fetcher's RequestOptions,
    ${ENV} values interpolated; a source without them inherits (None) fetch's."""
    tree = _config(
        {
            "headers": {"Authorization": "Bearer ${TOKEN}"},
            "user_agent": "outlet-bot/2",
            "proxy": "socks5h://user:pw@proxy.example:1080",
        },
        headers={"Accept-Language": "de"},
        proxy="http://proxy.example:3128",
    )
    config = parse_config(tree, {"TOKEN": "t0k"})
    source = config.sources[0]
    assert source.type == "site"
    assert source.http_options == RequestOptions(
        user_agent="outlet-bot/2",
        headers=(("Authorization", "Bearer t0k"),),
        proxy="socks5h://user:pw@proxy.example:1080",
    )
    assert config.fetch.headers == {"Accept-Language": "de"}
    plain = parse_config(_config({}), {}).sources[0].http_options
    assert plain == RequestOptions()


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ({"headers": {"Bad Name": "x"}}, "sources[0].headers: 'Bad Name' is not a valid header"),
        ({"headers": {"User-Agent": "x"}}, "User-Agent is set by the fetcher and cannot be "
                                           "configured (use user_agent)"),
        ({"headers": {"accept-encoding": "zstd"}}, "accept-encoding is set by the fetcher"),
        ({"headers": {"X-A": "1", "x-a": "2"}}, "x-a is given twice"),
        ({"headers": {"X-A": "a\nb"}}, "X-A: the value has a line break"),
        ({"user_agent": " "}, "sources[0].user_agent: is empty (leave it out to use"),
        ({"proxy": "socks4://p.example:1080"}, "sources[0].proxy: must start with http://"),
        ({"proxy": "http://p.example:3128/path"}, "without a path"),
        ({"proxy": "http://10.0.0.5:3128"}, "sources[0].proxy: the proxy's address 10.0.0.5 is "
                                            "not a public address"),
        ({"proxy": "http://[::1]:3128"}, "the proxy's address ::1 is not a public address"),
        ({"type": "homepage"}, "sources[0].type: Input should be 'feed', 'sitemap', 'page' or "
                               "'site'"),
    ],
    ids=["name", "user-agent", "encoding", "twice", "newline", "empty-agent", "socks4",
         "path", "private-proxy", "loopback-v6-proxy", "type"],
)  # fmt: skip
def test_bad_options_are_named_by_key(source: dict[str, Any], problem: str) -> None:
    problems = _problems(_config(source))
    assert any(problem in p for p in problems), problems


def test_a_secret_header_value_is_never_in_a_message() -> None:
    problems = _problems(_config({"headers": {"X-Key": "s3cr3t\r\nX-Evil: 1"}}))
    assert problems
    assert not any("s3cr3t" in p for p in problems)


def test_a_private_proxy_is_allowed_where_the_guard_allows_it() -> None:
    """fetch.allow_private_networks decides for the proxy as for targets."""
    tree = _config({"proxy": "http://10.0.0.5:3128"}, allow_private_networks=["10.0.0.0/8"])
    assert parse_config(tree, {}).sources[0].proxy == "http://10.0.0.5:3128"
    fetch_wide = _config({}, proxy="http://127.0.0.1:3128")
    assert any("fetch.proxy: the proxy's address 127.0.0.1" in p for p in _problems(fetch_wide))
