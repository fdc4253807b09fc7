"""The fetcher through a proxy (``RequestOptions.proxy``): HTTP and SOCKS5 proxies on
127.0.0.1, the guard on the proxy's address and on the target's, and one lane per options."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scrapers.errors import BlockedAddress
from scrapers.fetch import Fetcher, RequestOptions
from tests.integration.test_fetch import settings
from tests.support.proxy import ForwardProxy, Socks5Proxy
from tests.support.site import Site

pytestmark = pytest.mark.anyio


@pytest.fixture
def http_proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as running:
        yield running


async def test_socks5_proxy_carries_the_request(site: Site) -> None:
    """socks5:// (socksio, declared as httpx[socks]) relays robots.txt and the page."""
    page = site.add("/p", "through socks")
    with Socks5Proxy() as proxy:
        async with Fetcher(settings()) as fetcher:
            got = await fetcher.get(page, options=RequestOptions(proxy=proxy.url))
        assert got.text == "through socks"
        assert proxy.targets
        assert set(proxy.targets) == {("127.0.0.1", site.port)}
    assert [seen.path for seen in site.requests] == ["/robots.txt", "/p"]


async def test_options_choose_the_lane_and_direct_overrides_a_fetch_proxy(
    site: Site, http_proxy: ForwardProxy
) -> None:
    """A fetch-wide proxy carries requests without options; ``proxy=""`` goes direct; a
    user agent of the source's is sent to robots.txt too (it is what robots.txt judges)."""
    site.robots = "User-agent: picky\nDisallow: /p\n"
    page = site.add("/p", "page")
    async with Fetcher(settings(proxy=http_proxy.url)) as fetcher:
        await fetcher.get(page)
        assert len(http_proxy.requests) == 2  # robots.txt and the page
        await fetcher.get(page, options=RequestOptions(proxy=""))
        assert len(http_proxy.requests) == 2
        assert not await fetcher.allows(page, RequestOptions(user_agent="picky/2.0", proxy=""))
    agents = [seen.headers["user-agent"] for seen in site.hits("/robots.txt")]
    assert agents[-1] == "picky/2.0"


async def test_a_refused_target_is_not_sent_to_the_proxy(http_proxy: ForwardProxy) -> None:
    """Behind a proxy the guard cannot see the target's socket: the target is checked first,
    so a metadata or private address never reaches the proxy."""
    options = RequestOptions(proxy=http_proxy.url)
    async with Fetcher(settings()) as fetcher:
        for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/"):
            with pytest.raises(BlockedAddress, match=r"\(target, via proxy\)"):
                await fetcher.get(url, options=options)
    assert not http_proxy.requests
