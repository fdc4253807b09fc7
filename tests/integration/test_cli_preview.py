"""`watcher preview`: a dry run of a source or URL through the real CLI; Redis is not written."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import (
    Story,
    listing_page,
    meta_story_json_feed,
    news_sitemap,
    paragraphs,
    rss,
)
from tests.support.cli import meta_stories, run_cli, serve_stories

pytestmark = pytest.mark.slow


def _snapshot(client: redis.Redis, ns: str) -> dict[str, bytes | None]:
    """Every key of the namespace with its serialized value (TTLs tick, so they are left out)."""
    return {key: client.dump(key) for key in sorted(client.scan_iter(match=f"{ns}:*"))}


@pytest.fixture
def raw_redis(redis_url: str) -> Any:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_preview_of_a_source_sorts_entries_and_writes_nothing(
    site: Any, make_config: Callable[..., Path], raw_redis: redis.Redis, ns: str
) -> None:
    """After one poll, preview of the source says which entries are new, known, too old or
    refused by robots, cleans a sample, and leaves every Redis key as it was."""
    old_story, fresh = meta_stories(2, prefix="preview")
    stale = Story("preview-stale", "Meta ships a model last month",
                  published=datetime.now(UTC) - timedelta(days=30))  # fmt: skip
    hidden = Story("preview-hidden", "Meta ships a hidden model")
    base = serve_stories(site, [old_story, fresh, stale, hidden])
    site.robots = f"User-agent: *\nDisallow: {hidden.path}\n"
    site.add("/feed.xml", rss([old_story], base))
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}])
    assert run_cli("once", "--config", str(config)).returncode == 0
    site.add("/feed.xml", rss([old_story, fresh, stale, hidden], base))
    before = _snapshot(raw_redis, ns)
    fetched_before = len(site.hits(fresh.path))

    result = run_cli("--config", str(config), "preview", "local")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"local: feed at {base}/feed.xml" in out
    assert "entries: 4 (new 1, known 1, too old 1, refused by robots 1)" in out
    for fate, story in (("new", fresh), ("known", old_story), ("too_old", stale),
                        ("robots", hidden)):  # fmt: skip
        assert any(line.split()[0] == fate and f"{base}{story.path}" in line
                   for line in out.splitlines() if line.startswith("  ")), (fate, out)  # fmt: skip
    assert f"article 1: {fresh.title}" in out
    assert f"  > {fresh.body[0][:60]}" in out
    assert "cleaning dropped" in out
    assert len(site.hits(fresh.path)) == fetched_before + 1  # the sample was fetched, once
    assert not site.hits(hidden.path)
    assert _snapshot(raw_redis, ns) == before


def test_preview_of_urls_tells_the_kind_by_content(
    site: Any, make_config: Callable[..., Path], raw_redis: redis.Redis, ns: str
) -> None:
    """A URL that is no source is previewed by what it serves: a gzipped sitemap index is a
    sitemap (children followed), a JSON Feed a feed (its content is the article), an HTML
    section page a page; Redis holds no key of the namespace afterwards."""
    stories = meta_stories(2, prefix="kinds")
    base = serve_stories(site, stories)
    site.add("/news.xml.gz", gzip.compress(news_sitemap(stories, base).encode()))
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/news.xml.gz</loc></sitemap></sitemapindex>"
    )
    site.add("/sitemap.xml.gz", gzip.compress(index.encode()))
    site.add("/feed", meta_story_json_feed(stories, base))
    site.add("/tech/", listing_page(stories), headers={"content-type": "text/html"})
    config = make_config([{"name": "other", "type": "feed", "url": "https://other.example/f"}])
    before = _snapshot(raw_redis, ns)

    sitemap = run_cli("--config", str(config), "preview", f"{base}/sitemap.xml.gz")
    assert sitemap.returncode == 0, sitemap.stderr
    assert f"sitemap at {base}/sitemap.xml.gz" in sitemap.stdout
    assert f"followed child sitemap {base}/news.xml.gz" in sitemap.stdout
    assert "entries: 2 (new 2," in sitemap.stdout

    hits = len(site.hits(stories[0].path))
    feed = run_cli("--config", str(config), "preview", f"{base}/feed", "--sample", "1")
    assert feed.returncode == 0, feed.stderr
    assert f"feed at {base}/feed" in feed.stdout
    assert feed.stdout.count("article ") == 1
    assert len(site.hits(stories[0].path)) == hits  # full content: no page fetched

    page = run_cli("--config", str(config), "preview", f"{base}/tech/", "--sample", "0")
    assert page.returncode == 0, page.stderr
    assert f"page at {base}/tech/" in page.stdout
    assert "entries: 2 (new 2," in page.stdout
    assert _snapshot(raw_redis, ns) == before


def test_preview_refusals(site: Any, make_config: Callable[..., Path]) -> None:
    """Neither a source nor a URL is exit 2; a source that fails (404) is exit 1 with why."""
    config = make_config([{"name": "other", "type": "feed", "url": "https://other.example/f"}])
    unknown = run_cli("--config", str(config), "preview", "nope")
    assert unknown.returncode == 2
    assert "nope: neither a configured source nor an http(s) URL" in unknown.stderr
    missing = run_cli("--config", str(config), "preview", site.url("/status/404"))
    assert missing.returncode == 1
    assert "http_404" in missing.stderr


# ~2.8 MB of article: about a second of extraction here, far past a 0.1 s deadline (as in
# test_cli_workers.py): a real page, only long.
HEAVY_PARAGRAPHS = 6000


def test_preview_parses_in_a_worker_under_the_parse_deadline(
    site: Any, make_config: Callable[..., Path]
) -> None:
    """Preview parses a stranger's bytes as a poll does: in a worker, under
    fetch.parse_timeout. A sampled article past the deadline says parse_timeout in its place
    while the others are shown; a feed past it fails the preview, naming the URL, promptly."""
    fine = meta_stories(1, prefix="preview-fine")[0]
    heavy = Story(
        "preview-heavy",
        "Meta heavy story",
        body=paragraphs("heavy", HEAVY_PARAGRAPHS),
        published=fine.published - timedelta(minutes=1),
    )  # listed after: article 2
    base = serve_stories(site, [fine, heavy])
    site.add("/feed.xml", rss([fine, heavy], base))
    # 0.3 s: the heavy page takes ~1 s, the feed and the fine page a few tens of ms (a margin
    # for a loaded machine: every parse of the preview runs under the same deadline)
    fetch = {"allow_private_networks": ["127.0.0.1/32"], "delay": "0s", "parse_timeout": "0.3s"}
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}],
                         fetch=fetch)  # fmt: skip
    result = run_cli("--config", str(config), "preview", "local")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"article 1: {fine.title}" in out
    assert f"  > {fine.body[0][:60]}" in out
    assert f"article 2: {heavy.title}\n  failed: parse_timeout: {base}{heavy.path}" in out, out

    many = [Story(f"item-{i}", f"Meta item {i}", body=["-"]) for i in range(5000)]
    site.add("/big.xml", rss(many, base))
    slow = run_cli("--config", str(config), "preview", f"{base}/big.xml")
    assert slow.returncode == 1, slow.stdout
    assert f"watcher: {base}/big.xml: parse_timeout: {base}/big.xml" in slow.stderr, slow.stderr


def test_preview_shows_what_the_topics_filter_drops_as_the_poll_does(
    site: Any, make_config: Callable[..., Path], raw_redis: redis.Redis, ns: str
) -> None:
    """Preview of a source with ``topics:`` marks a sampled off-topic entry ``filtered`` and
    shows none of its text, says which new entries were not checked, and agrees with the
    poll that follows: that entry is the one ``once`` counts as filtered."""
    hour_ago = datetime.now(UTC) - timedelta(hours=1)  # newest first: the order sampled
    on = Story("preview-on-topic", "Meta opens its Llama weights", published=hour_ago)
    off = Story("preview-off-topic", "City council approves new bike lanes downtown",
                published=hour_ago - timedelta(minutes=1),
                body=["The council voted for protected lanes downtown. " * 12])  # fmt: skip
    later = Story("preview-unsampled", "Meta ships more Llama tools",
                  published=hour_ago - timedelta(minutes=2))  # fmt: skip
    base = serve_stories(site, [on, off, later])
    site.add("/feed.xml", rss([on, off, later], base))
    source = {"name": "local", "type": "feed", "url": f"{base}/feed.xml", "topics": ["meta-ai"]}
    config = make_config([source])
    before = _snapshot(raw_redis, ns)

    result = run_cli("--config", str(config), "preview", "local", "--sample", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    counts = "new 2, known 0, too old 0, refused by robots 0, filtered by topics 1"
    assert f"entries: 3 ({counts})" in out
    listed = [line.split()[0] for line in out.splitlines() if f"{base}{off.path}  " in line]
    assert listed == ["filtered"], out
    assert f"article 1: {on.title}\n  {base}{on.path} | site" in out
    assert (
        f"article 2: {off.title}\n  filtered: topics (matched no topic; the source wants"
        " meta-ai): a poll marks it seen and emits nothing" in out
    ), out
    assert off.body[0][:40] not in out  # none of the dropped article's text
    assert "topics filter meta-ai: checked on sampled articles only; 1 other new entry may" in out
    assert _snapshot(raw_redis, ns) == before

    polled = run_cli("once", "--config", str(config))
    assert "new 2, duplicate 0, filtered 1" in polled.stdout, polled.stdout


def test_preview_says_a_child_sitemap_is_cut_off_and_judges_its_old_entries(
    site: Any, make_config: Callable[..., Path]
) -> None:
    """A sitemap index whose child is cut off inside its last ``<url>``: preview lists what
    was read whole, says where the child broke (as ``once`` would), and judges the child's
    month-old entry ``too old`` as the root's would be, instead of leaving it out unseen."""
    fresh, cut = meta_stories(2, prefix="cutoff")
    stale = Story("cutoff-stale", "Meta ships a model last month",
                  published=datetime.now(UTC) - timedelta(days=30))  # fmt: skip
    base = serve_stories(site, [fresh, stale, cut])
    child = news_sitemap([fresh, stale, cut], base)
    site.add("/news.xml", child[: child.rindex(cut.path) + 8])
    index = f"<sitemapindex><sitemap><loc>{base}/news.xml</loc></sitemap></sitemapindex>"
    site.add("/sitemap.xml", index)
    config = make_config([{"name": "news", "type": "sitemap", "url": f"{base}/sitemap.xml"}])

    result = run_cli("--config", str(config), "preview", "news", "--sample", "0")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"  followed child sitemap {base}/news.xml" in out, out
    assert f"  source damaged: malformed_sitemap: {base}/news.xml: malformed XML at line " in out
    assert "entries: 2 (new 1, known 0, too old 1, refused by robots 0)" in out, out
    assert not site.hits(cut.path[:8])
