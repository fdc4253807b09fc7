"""watcher preview tells a URL's source type by its body, not its URL or Content-Type."""

from __future__ import annotations

import pytest

from watcher.preview import detect_kind

KINDS = [
    ("json-feed", '\ufeff {"version": "https://jsonfeed.org/version/1.1", "items": []}', "feed"),
    ("rss", '<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', "feed"),
    ("atom", '<feed xmlns="http://www.w3.org/2005/Atom"></feed>', "feed"),
    (
        "urlset",
        '<?xml version="1.0"?><urlset xmlns="x"><url><loc>a</loc></url></urlset>',
        "sitemap",
    ),
    ("index", "<!-- generated --><sitemapindex><sitemap/></sitemapindex>", "sitemap"),
    ("html", "<!doctype html><html><body><a href='/a'>A</a></body></html>", "page"),
    ("html-after-comment", "<!-- cache --><html><body></body></html>", "page"),
]


@pytest.mark.parametrize(("body", "kind"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS])
def test_detect_kind_table(body: str, kind: str) -> None:
    """JSON Feed, RSS and Atom are feeds; urlset and sitemapindex sitemaps; HTML a page."""
    assert detect_kind(body) == kind
