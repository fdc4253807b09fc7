"""`type: site` through the real CLI (issue 15): a homepage in, its feeds, news sitemaps or
the page itself discovered through the guarded fetcher, kept in Redis and polled as one source;
`status` (text and JSON agreeing) and `preview` show what was found. Loopback sites only."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.test_cli_preview import _snapshot
from tests.support.builders import (
    Story,
    atom,
    listing_page,
    meta_story_json_feed,
    news_sitemap,
    rss,
)
from tests.support.cli import meta_stories, run_cli, serve_stories, stream
from watcher.site import MAX_FEEDS_PROBED

pytestmark = pytest.mark.slow


def homepage(links: str = "", stories: list[Story] | None = None) -> str:
    """An outlet's front page: ``links`` in its head, a few article cards in its body."""
    body = listing_page(stories or []).split("<body>", 1)[1]
    return f"<!doctype html><html><head><title>Test News</title>{links}</head><body>{body}"


def status(config: Path) -> tuple[str, dict[str, Any]]:
    text = run_cli("status", "--config", str(config))
    as_json = run_cli("status", "--json", "--config", str(config))
    assert text.returncode == as_json.returncode == 0, text.stderr + as_json.stderr
    return text.stdout, json.loads(as_json.stdout)


def site_lines(found: dict[str, Any]) -> list[str]:
    """The text lines `status` must print for the JSON's discovery: the agreement check."""
    lines = [
        f"  site {found['url']}: discovered {found['discovered_at']} ({found['reason']}), "
        f"next discovery {found['next_discovery']}"
    ]
    lines += [f"    polls {p['kind']} {p['url']}" for p in found["polls"]]
    for p in found["probes"]:
        outcome = f"failed ({p['detail']})" if p["verdict"] == "failed" else p["verdict"]
        lines.append(f"    probed {p['kind']} {p['url']}: {outcome}, entries {p['entries']}")
    return lines


def test_a_homepage_with_an_atom_link_polls_the_feed_as_the_site(
    site: Any,
    make_config: Callable[..., Path],
    redis_client: redis.Redis,
    raw_redis: redis.Redis,
    ns: str,
) -> None:
    """The homepage's <link rel=alternate> Atom feed is found and polled; stories carry the
    site source's name; the discovery is stored, reused by the next poll (the homepage is not
    probed again), and shown by status in text and JSON alike. Preview shows the same
    discovery and writes nothing."""
    stories = meta_stories(2, prefix="atomsite")
    base = serve_stories(site, stories)
    link = '<link rel="alternate" type="application/atom+xml" title="All" href="/feeds/all.atom">'
    site.add("/", homepage(link), headers={"content-type": "text/html"})
    site.add("/feeds/all.atom", atom(stories, base))
    config = make_config([{"name": "outlet", "type": "site", "url": f"{base}/"}])

    before = _snapshot(raw_redis, ns)
    shown = run_cli("--config", str(config), "preview", f"{base}/", "--sample", "1")
    assert shown.returncode == 0, shown.stderr
    assert f"{base}/: site at {base}/" in shown.stdout
    assert f"    polls feed {base}/feeds/all.atom" in shown.stdout
    assert "entries: 2 (new 2," in shown.stdout
    assert _snapshot(raw_redis, ns) == before

    first = run_cli("once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "outlet: polled 2, new 2" in first.stdout, first.stdout
    assert [d["source"] for d in stream(redis_client, ns)] == ["outlet", "outlet"]
    homepage_hits = len(site.hits("/"))

    second = run_cli("once", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert len(site.hits("/")) == homepage_hits  # the stored discovery served this poll

    text, body = status(config)
    found = body["sources"]["outlet"]["site"]
    assert found["reason"] == "first"
    assert found["polls"] == [{"kind": "feed", "url": f"{base}/feeds/all.atom"}]
    assert {"kind": "feed", "url": f"{base}/feeds/all.atom", "verdict": "feed",
            "entries": 2, "detail": None} in found["probes"]  # fmt: skip
    lines = text.splitlines()
    start = lines.index(site_lines(found)[0])
    assert lines[start : start + len(site_lines(found))] == site_lines(found)


def test_a_homepage_with_only_robots_sitemap_uses_the_gzipped_news_index(
    site: Any,
    make_config: Callable[..., Path],
    redis_client: redis.Redis,
    raw_redis: redis.Redis,
    ns: str,
) -> None:
    """No feed link: robots.txt's Sitemap: line names a gzipped sitemap index whose child is
    a news sitemap; that index is polled (children followed) as the site."""
    stories = meta_stories(3, prefix="newsidx")
    base = serve_stories(site, stories)
    site.add("/", homepage(), headers={"content-type": "text/html"})
    site.robots = "User-agent: *\nAllow: /\nSitemap: /sitemaps/index.xml.gz\n"
    site.add("/sitemaps/news-1.xml", news_sitemap(stories, base))
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemaps/news-1.xml</loc></sitemap></sitemapindex>"
    )
    site.add("/sitemaps/index.xml.gz", gzip.compress(index.encode()),
             headers={"content-type": "application/gzip"})  # fmt: skip
    config = make_config([{"name": "wire", "type": "site", "url": f"{base}/"}])

    before = _snapshot(raw_redis, ns)
    shown = run_cli("--config", str(config), "preview", "wire", "--sample", "0")
    assert shown.returncode == 0, shown.stderr
    assert f"    polls sitemap {base}/sitemaps/index.xml.gz" in shown.stdout
    assert f"{base}/sitemaps/index.xml.gz: news_sitemap, entries 3" in shown.stdout
    assert f"followed child sitemap {base}/sitemaps/news-1.xml" in shown.stdout
    assert "entries: 3 (new 3," in shown.stdout
    assert _snapshot(raw_redis, ns) == before
    assert not [hit for hit in site.requests if hit.path == "/news-sitemap.xml"]  # robots first

    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "wire: polled 3, new 3" in result.stdout, result.stdout
    assert {d["source"] for d in stream(redis_client, ns)} == {"wire"}
    _text, body = status(config)
    assert body["sources"]["wire"]["site"]["polls"] == [
        {"kind": "sitemap", "url": f"{base}/sitemaps/index.xml.gz"}
    ]


def test_a_homepage_with_neither_is_polled_as_a_listing_page(
    site: Any,
    make_config: Callable[..., Path],
    redis_client: redis.Redis,
    raw_redis: redis.Redis,
    ns: str,
) -> None:
    """No feed link, no robots.txt, no sitemap at the conventional paths (each probed, each
    a 404 recorded with why): the homepage itself is the listing page."""
    stories = meta_stories(2, prefix="plainsite")
    base = serve_stories(site, stories)
    site.add("/", homepage(stories=stories), headers={"content-type": "text/html"})
    config = make_config([{"name": "plain", "type": "site", "url": f"{base}/"}])

    before = _snapshot(raw_redis, ns)
    shown = run_cli("--config", str(config), "preview", f"{base}/", "--sample", "0")
    assert shown.returncode == 0, shown.stderr
    assert f"    polls page {base}/" in shown.stdout
    assert f"    probed sitemap {base}/news-sitemap.xml: failed (http_404), entries 0" in (
        shown.stdout
    )
    assert "entries: 2 (new 2," in shown.stdout
    assert _snapshot(raw_redis, ns) == before

    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "plain: polled 2, new 2" in result.stdout, result.stdout
    text, body = status(config)
    found = body["sources"]["plain"]["site"]
    assert found["polls"] == [{"kind": "page", "url": f"{base}/"}]
    assert all(line in text.splitlines() for line in site_lines(found))


def test_a_discovered_feed_that_stops_working_is_rediscovered(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """The site moved its feed: the stored feed 404s, so the poll discovers again at once,
    finds the new feed, polls it and stores the new discovery (reason: failure)."""
    old, new = meta_stories(2, prefix="moved")
    base = serve_stories(site, [old, new])
    link = '<link rel="alternate" type="application/atom+xml" href="{}">'
    site.add("/", homepage(link.format("/old.atom")), headers={"content-type": "text/html"})
    site.add("/old.atom", atom([old], base))
    config = make_config([{"name": "mover", "type": "site", "url": f"{base}/"}])
    assert "mover: polled 1, new 1" in run_cli("once", "--config", str(config)).stdout

    site.add("/old.atom", "gone", status=404)
    site.add("/", homepage(link.format("/new.atom")), headers={"content-type": "text/html"})
    site.add("/new.atom", atom([old, new], base))
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "mover: polled 2, new 1, duplicate 1" in result.stdout, result.stdout
    _text, body = status(config)
    found = body["sources"]["mover"]["site"]
    assert (found["reason"], found["polls"]) == (
        "failure",
        [{"kind": "feed", "url": f"{base}/new.atom"}],
    )


@pytest.fixture
def raw_redis(redis_url: str) -> Any:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_a_news_sitemap_and_a_full_content_feed_are_both_polled(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """Preferred: the news sitemap (it lists every article) and the full-content JSON Feed
    (it carries them), not the teaser RSS; an article both list is fetched from neither
    page: the feed's content serves it, and the story is emitted once."""
    stories = meta_stories(2, prefix="both")
    base = serve_stories(site, stories)
    links = (
        '<link rel="alternate" type="application/rss+xml" href="/teasers.rss">'
        '<link rel="alternate" type="application/feed+json" href="/full.json">'
    )
    site.add("/", homepage(links), headers={"content-type": "text/html"})
    site.add("/teasers.rss", rss(stories, base))
    site.add("/full.json", meta_story_json_feed(stories, base))
    site.robots = "User-agent: *\nAllow: /\nSitemap: /news.xml\n"
    site.add("/news.xml", news_sitemap(stories, base))
    config = make_config([{"name": "both", "type": "site", "url": f"{base}/"}])

    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "both: polled 2, new 2" in result.stdout, result.stdout
    assert len(stream(redis_client, ns)) == 2
    assert not any(site.hits(s.path) for s in stories)  # the feed's content was the article
    _text, body = status(config)
    assert body["sources"]["both"]["site"]["polls"] == [
        {"kind": "sitemap", "url": f"{base}/news.xml"},
        {"kind": "feed", "url": f"{base}/full.json"},
    ]


def test_a_day_old_discovery_is_made_again(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """The stored discovery is a value in Redis: aged by a day, the next poll discovers the
    site again (reason: daily) and picks up the feed it has announced since."""
    stories = meta_stories(1, prefix="daily")
    base = serve_stories(site, stories)
    site.add("/", homepage(stories=stories), headers={"content-type": "text/html"})
    config = make_config([{"name": "daily", "type": "site", "url": f"{base}/"}])
    assert run_cli("once", "--config", str(config)).returncode == 0
    key = f"{ns}:site:daily"
    stored = json.loads(redis_client.get(key) or "{}")
    assert stored["polls"] == [{"kind": "page", "url": f"{base}/"}]
    link = '<link rel="alternate" type="application/atom+xml" href="/new.atom">'
    site.add("/", homepage(link, stories), headers={"content-type": "text/html"})
    site.add("/new.atom", atom(stories, base))
    assert run_cli("once", "--config", str(config)).returncode == 0
    assert json.loads(redis_client.get(key) or "{}")["polls"] == stored["polls"]  # not yet
    aged = datetime.fromisoformat(stored["discovered_at"]) - timedelta(days=1)
    redis_client.set(key, json.dumps({**stored, "discovered_at": aged.isoformat()}))

    assert run_cli("once", "--config", str(config)).returncode == 0
    again = json.loads(redis_client.get(key) or "{}")
    assert again["reason"] == "daily"
    assert again["polls"] == [{"kind": "feed", "url": f"{base}/new.atom"}]


def test_a_homepage_with_ten_thousand_alternate_links_is_bounded(
    site: Any, make_config: Callable[..., Path]
) -> None:
    """Hostile: 10 000 feed links in the head. The scan (in a worker) keeps the first
    MAX_ALTERNATES, the first MAX_FEEDS_PROBED are fetched, the poll completes, and status
    says that more feeds were announced than probed."""
    stories = meta_stories(1, prefix="hostile")
    base = serve_stories(site, stories)
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" href="/f/{i}.xml">'
        for i in range(10_000)
    )
    for i in range(10_000):
        site.add(f"/f/{i}.xml", rss(stories, base))
    site.add("/", homepage(links), headers={"content-type": "text/html"})
    config = make_config([{"name": "hostile", "type": "site", "url": f"{base}/"}])

    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "hostile: polled 1, new 1" in result.stdout, result.stdout
    fetched = {hit.path for hit in site.requests if hit.path.startswith("/f/")}
    assert fetched == {f"/f/{i}.xml" for i in range(MAX_FEEDS_PROBED)}
    text, body = status(config)
    assert body["sources"]["hostile"]["site"]["feeds_truncated"] is True
    assert f"more feeds announced than the {MAX_FEEDS_PROBED} probed: left out" in text
