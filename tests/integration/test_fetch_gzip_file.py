"""Bodies that are gzip files (``.xml.gz`` sitemaps) are inflated within max_bytes."""

from __future__ import annotations

import gzip
import resource

import pytest

from scrapers.errors import FetchError, ResponseTooLarge
from scrapers.fetch import Fetcher
from tests.integration.test_fetch import settings
from tests.support.site import Site, gzip_bomb

pytestmark = pytest.mark.anyio

SITEMAP = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    "<url><loc>https://x.test/caf\u00e9</loc></url></urlset>"
)

LABELS = [
    ("application-gzip", "/sitemap.xml.gz", {"Content-Type": "application/gzip"}),
    ("x-gzip", "/sitemap.xml.gz", {"Content-Type": "application/x-gzip"}),
    ("octet-stream-no-gz-suffix", "/sitemap", {"Content-Type": "application/octet-stream"}),
    ("xml-type", "/sitemap.xml", {"Content-Type": "application/xml"}),
    ("file-and-content-encoding", "/sitemap.xml.gz",
     {"Content-Type": "application/gzip", "Content-Encoding": "gzip"}),
]  # fmt: skip


@pytest.mark.parametrize(("path", "headers"), [c[1:] for c in LABELS], ids=[c[0] for c in LABELS])
async def test_get_inflates_a_gzip_file_body(
    site: Site, path: str, headers: dict[str, str]
) -> None:
    """A gzip file is told by its magic bytes, whatever its URL and Content-Type say, and is
    inflated after (and on top of) any Content-Encoding; its XML declaration then decodes it."""
    body = gzip.compress(SITEMAP.encode("utf-8"))
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.compress(body)
    url = site.add(path, body, headers=headers)
    async with Fetcher(settings()) as fetcher:
        page = await fetcher.get(url)
    assert page.text == SITEMAP


async def test_get_gz_url_already_inflated_is_read_as_is(site: Site) -> None:
    """A .xml.gz a proxy already inflated has no magic bytes: it is the XML, read as is."""
    url = site.add("/sitemap.xml.gz", SITEMAP.encode(), headers={"Content-Type": "text/xml"})
    async with Fetcher(settings()) as fetcher:
        assert (await fetcher.get(url)).text == SITEMAP


async def test_get_gzip_file_over_max_bytes_inflated_is_too_large(site: Site) -> None:
    """A gzip file small on the wire but over max_bytes inflated is too_large."""
    url = site.add("/s.xml.gz", gzip.compress(b"<urlset>" + b" " * 50_000 + b"</urlset>"))
    async with Fetcher(settings(max_bytes=20_000)) as fetcher:
        with pytest.raises(ResponseTooLarge, match=r"gzip file inflates to over max_bytes"):
            await fetcher.get(url)


async def test_get_zip_bomb_as_xml_gz_is_too_large(site: Site) -> None:
    """1 GiB of zeros saved as sitemap.xml.gz (1 MB, under max_bytes on the wire) stops at
    max_bytes inflated: too_large, and memory stays small."""
    bomb = gzip_bomb()  # built once per process; not this test's memory
    url = site.add("/sitemap.xml.gz", bomb, headers={"Content-Type": "application/gzip"})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    async with Fetcher(settings(max_bytes=2_000_000)) as fetcher:
        with pytest.raises(ResponseTooLarge) as caught:
            await fetcher.get(url)
    assert caught.value.reason == "too_large"
    assert "2000000" in str(caught.value)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 64  # the body (1 MB) and the cap (2 MB) a few times, not the 1 GiB


async def test_get_corrupt_gzip_file_is_fetch_error(site: Site) -> None:
    """Magic bytes then junk is a FetchError naming the gzip file, never a zlib exception."""
    url = site.add("/s.xml.gz", b"\x1f\x8bnot really gzip", headers={"Content-Type": "text/xml"})
    async with Fetcher(settings()) as fetcher:
        with pytest.raises(FetchError, match="corrupt gzip file"):
            await fetcher.get(url)
