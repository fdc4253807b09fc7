"""robots.txt ``Sitemap:`` lines, read from the fetcher's robots cache (for ``type: site``)."""

from __future__ import annotations

import pytest

from scrapers.fetch import Fetcher
from scrapers.politeness import MAX_SITEMAPS
from tests.integration.test_fetch import settings
from tests.support.site import Site

pytestmark = pytest.mark.anyio


async def test_robots_sitemaps_resolved_unique_in_order(site: Site) -> None:
    """Sitemap lines (any case, relative or on another host) come back absolute, in order,
    each once; non-web values are dropped; the Disallow rules do not hide them."""
    site.robots = (
        "User-agent: *\nDisallow: /\n\n"
        "Sitemap: /news-sitemap.xml.gz\n"
        "sitemap: https://cdn.example.com/sitemaps/index.xml\n"
        "SITEMAP: /news-sitemap.xml.gz\n"
        "Sitemap: javascript:alert(1)\n"
        "Sitemap: /sitemap_index.xml # the full index\n"
    )
    async with Fetcher(settings()) as fetcher:
        found = await fetcher.robots_sitemaps(site.url("/any/page"))
    assert found == [
        site.url("/news-sitemap.xml.gz"),
        "https://cdn.example.com/sitemaps/index.xml",
        site.url("/sitemap_index.xml"),
    ]


async def test_robots_sitemaps_share_the_cached_robots_txt(site: Site) -> None:
    """Asking for sitemaps and fetching pages read robots.txt once between them."""
    site.robots = "User-agent: *\nAllow: /\nSitemap: /s.xml"
    page = site.add("/p", "ok")
    async with Fetcher(settings()) as fetcher:
        await fetcher.get(page)
        assert await fetcher.robots_sitemaps(page) == [site.url("/s.xml")]
        assert await fetcher.robots_sitemaps(site.url("/")) == [site.url("/s.xml")]
    assert len(site.hits("/robots.txt")) == 1


@pytest.mark.parametrize("robots", [None, ""], ids=["missing-404", "empty"])
async def test_robots_sitemaps_none_without_robots(site: Site, robots: str | None) -> None:
    """No robots.txt (404) or an empty one lists no sitemaps, and that is not an error."""
    site.robots = robots
    async with Fetcher(settings()) as fetcher:
        assert await fetcher.robots_sitemaps(site.url("/")) == []


async def test_robots_sitemaps_capped(site: Site) -> None:
    """A robots.txt of 10 000 Sitemap lines gives the first MAX_SITEMAPS, not 10 000."""
    site.robots = "".join(f"Sitemap: /sitemap-{i}.xml\n" for i in range(10_000))
    async with Fetcher(settings()) as fetcher:
        found = await fetcher.robots_sitemaps(site.url("/"))
    assert found == [site.url(f"/sitemap-{i}.xml") for i in range(MAX_SITEMAPS)]
