"""A homepage's announced feeds (``<link rel="alternate">``) and news-sitemap detection."""

from __future__ import annotations

import time

import pytest

from scrapers.discover.homepage import MAX_ALTERNATES, FeedLink, feed_links, is_news_sitemap
from scrapers.errors import ParseError

BASE = "https://outlet.example/"


def test_feed_links_by_type_resolved_in_order_each_once() -> None:
    """RSS, Atom and JSON Feed links count (type case and parameters aside); stylesheets,
    canonical and oEmbed links do not; hrefs resolve against <base href>; an empty href
    (which would resolve to the page itself) and a javascript: one are dropped."""
    head = """<html><head><base href="https://outlet.example/en/">
      <link rel="stylesheet" type="text/css" href="/s.css">
      <link rel="canonical" href="https://outlet.example/">
      <link rel="alternate" type="application/json+oembed" href="/oembed">
      <link rel="Alternate" type="Application/RSS+XML; charset=utf-8" title=" All
        stories " href="rss.xml">
      <link rel="alternate" type="application/atom+xml" href="https://feeds.cdn.example/a">
      <link rel="alternate" type="application/feed+json" href="/feed.json">
      <link rel="alternate" type="application/rss+xml" href="rss.xml">
      <link rel="alternate" type="application/rss+xml" href="">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
      <link rel="alternate" hreflang="de" href="/de/">
    </head><body></body></html>"""
    found = feed_links(head, BASE)
    assert found.feeds == (
        FeedLink("https://outlet.example/en/rss.xml", "application/rss+xml", "All stories"),
        FeedLink("https://feeds.cdn.example/a", "application/atom+xml"),
        FeedLink("https://outlet.example/feed.json", "application/feed+json"),
    )
    assert not found.truncated


def test_ten_thousand_alternate_links_are_cut_at_the_limit() -> None:
    """A hostile homepage of 10 000 feed links: the first MAX_ALTERNATES are kept, in order,
    the rest are left unread and ``truncated`` says so; the scan is quick."""
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" href="/f/{i}.xml">'
        for i in range(10_000)
    )
    started = time.perf_counter()
    found = feed_links(f"<html><head>{links}</head><body></body></html>", BASE)
    elapsed = time.perf_counter() - started
    assert len(found.feeds) == MAX_ALTERNATES
    assert found.feeds[0].url == "https://outlet.example/f/0.xml"
    assert found.feeds[-1].url == f"https://outlet.example/f/{MAX_ALTERNATES - 1}.xml"
    assert found.truncated
    assert elapsed < 5, elapsed  # a hang guard; the growth is checked in test_linear_time


def test_an_empty_homepage_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not a page"):
        feed_links("   ", BASE)


@pytest.mark.parametrize(
    ("body", "news"),
    [
        ('<urlset xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">', True),
        ('<urlset xmlns:n="https://www.google.com/schemas/sitemap-news/0.9">', True),
        ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">', False),
    ],
    ids=["news", "news-https-other-prefix", "plain"],
)
def test_is_news_sitemap(body: str, news: bool) -> None:
    assert is_news_sitemap(body) is news
