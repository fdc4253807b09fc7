"""/metrics' fetch counters, from a real poll: the App, a real Redis and a loopback site."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import article_page, rss
from tests.support.cli import meta_stories
from watcher import metrics
from watcher.app import App
from watcher.config import load_config

pytestmark = pytest.mark.slow

FETCH = {"allow_private_networks": ["127.0.0.1/32"], "delay": "0s", "timeout": "10s"}


def _fetched(source: str) -> float:
    return (
        metrics.REGISTRY.get_sample_value("watcher_fetched_bytes_total", {"source": source}) or 0.0
    )


@pytest.mark.anyio
async def test_fetched_bytes_count_each_body_as_received_content_encoding_undone(
    site: Any, make_config: Callable[..., Path]
) -> None:
    """The feed's bytes plus the article's, gzip undone, whatever characters they decode to
    (a Latin-1 page: its text is longer in UTF-8 than on the wire)."""
    (story,) = meta_stories(1, prefix="fetched-bytes")
    base = site.url("").rstrip("/")
    page = article_page(story, base).replace("</p>", " Caf\u00e9 cr\u00e8me.</p>", 1)
    raw = page.encode("latin-1")
    site.add(story.path, gzip.compress(raw),
             headers={"content-encoding": "gzip",
                      "content-type": "text/html; charset=iso-8859-1"})  # fmt: skip
    feed = rss([story], base)
    site.add("/feed.xml", feed)
    name = "fetched-bytes"
    sources = [{"name": name, "type": "feed", "url": f"{base}/feed.xml", "every": "1h"}]
    config = load_config(make_config(sources, fetch=FETCH, workers=1), os.environ)
    before = _fetched(name)
    app = await App.open(config)
    try:
        await app.workers.start()
        report = await app.poll(config.sources[0])
    finally:
        await app.aclose()
    assert report.new == 1, report
    assert _fetched(name) - before == len(feed.encode()) + len(raw)


def _probes() -> float:
    return (
        metrics.REGISTRY.get_sample_value("watcher_fetch_seconds_count", {"kind": "probe"}) or 0.0
    )


@pytest.mark.anyio
async def test_site_discovery_probes_are_fetches_in_the_metrics(
    site: Any, make_config: Callable[..., Path]
) -> None:
    """A site's discovery counts each probe it fetched (its feed, the sitemaps it tried) as
    kind ``probe``, and the probes' bytes under the source, like its polls' requests."""
    (story,) = meta_stories(1, prefix="probe-metrics")
    base = site.url("").rstrip("/")
    site.add(story.path, article_page(story, base))
    link = '<link rel="alternate" type="application/rss+xml" href="/feeds/all.xml">'
    home = f"<!doctype html><html><head><title>News</title>{link}</head><body></body></html>"
    site.add("/", home, headers={"content-type": "text/html"})
    feed = rss([story], base)
    site.add("/feeds/all.xml", feed)
    name = "probe-metrics"
    sources = [{"name": name, "type": "site", "url": f"{base}/", "every": "1h"}]
    config = load_config(make_config(sources, fetch=FETCH, workers=1), os.environ)
    probes, fetched = _probes(), _fetched(name)
    app = await App.open(config)
    try:
        await app.workers.start()
        report = await app.poll(config.sources[0])
    finally:
        await app.aclose()
    assert report.new == 1, report
    probed = [s.path for s in site.requests if s.path != "/robots.txt"]
    # the homepage, the feed probed, then polled, the article; the rest are sitemaps tried
    sitemaps = len(probed) - 4
    assert probed.count("/feeds/all.xml") == 2
    assert _probes() - probes == 1 + sitemaps
    assert _fetched(name) - fetched == len(home) + 2 * len(feed.encode()) + len(
        article_page(story, base).encode()
    )
