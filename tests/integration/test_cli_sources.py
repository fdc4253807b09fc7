"""Sources as people have them, through the real CLI: JSON Feed, gzipped sitemaps, OPML."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import meta_story_json_feed, news_sitemap
from tests.support.cli import meta_stories, run_cli, serve_stories, stream
from tests.support.site import gzip_bomb

pytestmark = pytest.mark.slow


def test_once_reads_a_json_feed_with_full_content_without_fetching_pages(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """A JSON Feed served as application/json at a URL without .json is read by its content;
    its content_html is the article, so no article page is fetched."""
    stories = meta_stories(3, prefix="json")
    base = site.url("").rstrip("/")
    site.add(
        "/feed", meta_story_json_feed(stories, base), headers={"content-type": "application/json"}
    )
    config = make_config([{"name": "jsonfeed", "type": "feed", "url": f"{base}/feed"}])
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "jsonfeed: polled 3, new 3, duplicate 0, filtered 0, failed 0" in result.stdout
    docs = stream(redis_client, ns)
    assert sorted(d["title"] for d in docs) == sorted(s.title for s in stories)
    assert all(d["author"] == "Jane Reporter" for d in docs)
    assert all(not site.hits(s.path) for s in stories)
    assert stories[0].body[1] in next(d["text"] for d in docs if d["title"] == stories[0].title)


def test_once_follows_a_gzipped_sitemap_index_to_gzipped_news_sitemaps(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """A .xml.gz sitemap index (application/x-gzip) listing .xml.gz news sitemaps
    (application/gzip) yields their stories."""
    stories = meta_stories(4, prefix="gz")
    base = serve_stories(site, stories)
    for i, part in enumerate((stories[:2], stories[2:])):
        site.add(
            f"/news-{i}.xml.gz",
            gzip.compress(news_sitemap(part, base).encode()),
            headers={"content-type": "application/gzip"},
        )
    index = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<sitemap><loc>{base}/news-{i}.xml.gz</loc></sitemap>" for i in range(2))
        + "</sitemapindex>"
    )
    site.add(
        "/sitemap.xml.gz",
        gzip.compress(index.encode()),
        headers={"content-type": "application/x-gzip"},
    )
    config = make_config([{"name": "gz", "type": "sitemap", "url": f"{base}/sitemap.xml.gz"}])
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "gz: polled 4, new 4, duplicate 0, filtered 0, failed 0" in result.stdout
    assert sorted(d["title"] for d in stream(redis_client, ns)) == sorted(s.title for s in stories)


def test_once_reports_a_zip_bomb_sitemap_as_too_large(
    site: Any, make_config: Callable[..., Path]
) -> None:
    """A 1 GiB-of-zeros sitemap.xml.gz fails its source with too_large; the run still ends 0
    for the other source."""
    site.add("/sitemap.xml.gz", gzip_bomb(), headers={"content-type": "application/gzip"})
    stories = meta_stories(1, prefix="ok")
    base = serve_stories(site, stories)
    site.add("/ok.xml.gz", gzip.compress(news_sitemap(stories, base).encode()))
    config = make_config(
        [
            {"name": "bomb", "type": "sitemap", "url": f"{base}/sitemap.xml.gz"},
            {"name": "ok", "type": "sitemap", "url": f"{base}/ok.xml.gz"},
        ],
        fetch={"allow_private_networks": ["127.0.0.1/32"], "delay": "0s", "max_bytes": 2_000_000},
    )
    result = run_cli("once", "--config", str(config))
    assert "ok: polled 1, new 1" in result.stdout, result.stdout + result.stderr
    assert "too_large" in result.stdout, result.stdout
