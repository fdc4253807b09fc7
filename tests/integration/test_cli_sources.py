"""Sources as people have them, through the real CLI: JSON Feed, gzipped sitemaps, OPML."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import meta_story_json_feed, news_sitemap, rss
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


def _opml_file(path: Path, feeds: list[tuple[str, str]]) -> Path:
    """An OPML export as feed readers write it: feeds in two folders."""
    half = len(feeds) // 2
    folders = [("News", feeds[:half]), ("Tech &amp; more", feeds[half:])]
    body = "".join(
        f'<outline text="{folder}">'
        + "".join(
            f'<outline type="rss" text="{escape(title)}" xmlUrl="{escape(url)}"/>'
            for title, url in items
        )
        + "</outline>"
        for folder, items in folders
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>Reader'
        f"</title></head><body>{body}</body></opml>\n",
        encoding="utf-8",
    )
    return path


def _commented_config(path: Path, redis_url: str, ns: str, first_feed: str) -> Path:
    path.write_text(
        f"""# my watcher: comments must survive an import
redis: {{url: "{redis_url}", namespace: {ns}}}   # this test's namespace
data_dir: {path.parent / "data"}
http: {{host: 127.0.0.1, port: 0}}
fetch:
  allow_private_networks: [127.0.0.1/32]   # the loopback site
  delay: 0s
  timeout: 5s
topics:
  - name: meta-ai
    any: [Meta]
sources:
  # the one I had before
  - name: first
    type: feed
    url: {first_feed}
    topics: [meta-ai]
# webhooks come later
""",
        encoding="utf-8",
    )
    return path


def test_sources_import_50_feeds_then_check_then_once(
    site: Any, tmp_path: Path, redis_url: str, ns: str, redis_client: redis.Redis
) -> None:
    """An OPML file of 50 loopback feeds (one already configured) is imported with names and
    topics, keeping the config's comments; `watcher check` passes and `watcher once` polls
    all 50 sources, one new story each."""
    stories = meta_stories(50, prefix="opml")
    base = serve_stories(site, stories)
    feeds = []
    for i, story in enumerate(stories):
        feeds.append((f"Loopback Wire {i} — Tëch", site.add(f"/feeds/{i}.xml", rss([story], base))))
    opml = _opml_file(tmp_path / "reader.opml", feeds)
    config = _commented_config(tmp_path / "watcher.yaml", redis_url, ns, feeds[0][1])
    before = config.read_text(encoding="utf-8")

    imported = run_cli(
        "--config", str(config), "sources", "import", str(opml), "--topics", "meta-ai"
    )
    assert imported.returncode == 0, imported.stderr
    assert f"{opml}: 49 feeds added to {config} as sources, 1 skipped" in imported.stdout
    assert f"skipped {feeds[0][1]}: already the source first" in imported.stderr
    after = config.read_text(encoding="utf-8")
    assert after.startswith(before.split("# webhooks come later")[0])  # nothing above moved
    assert after.endswith("    topics: [meta-ai]\n# webhooks come later\n")
    assert "  - name: loopback-wire-7-tech\n    type: feed\n" in after

    checked = run_cli("--config", str(config), "check")
    assert checked.returncode == 0, checked.stderr
    assert "ok (50 sources, 1 topic)" in checked.stdout

    once = run_cli("--config", str(config), "once", timeout=180)
    assert once.returncode == 0, once.stderr
    assert once.stdout.count(": polled 1, new 1, duplicate 0, filtered 0, failed 0") == 50
    assert len(stream(redis_client, ns)) == 50

    again = run_cli("--config", str(config), "sources", "import", str(opml), "--print")
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert again.stderr.count("already the source") == 50
    assert config.read_text(encoding="utf-8") == after


def test_sources_import_print_leaves_the_config_alone(
    tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    """--print writes the YAML to paste on stdout and does not touch the config file."""
    config = make_config([{"name": "old", "type": "feed", "url": "https://old.example/feed"}])
    text = config.read_text()
    opml = _opml_file(tmp_path / "f.opml", [("A Feed", "https://a.example/feed"),
                                            ("B Feed", "https://b.example/rss")])  # fmt: skip
    result = run_cli("--config", str(config), "sources", "import", str(opml), "--print")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "  - name: a-feed\n    type: feed\n    url: https://a.example/feed\n"
        "  - name: b-feed\n    type: feed\n    url: https://b.example/rss\n"
    )
    assert config.read_text() == text


def test_sources_import_says_feed_for_one_and_feeds_for_more(
    tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    """The import's summary reads right: ``1 feed added``, then ``2 feeds added``."""
    config = make_config([{"name": "old", "type": "feed", "url": "https://old.example/feed"}])
    one = _opml_file(tmp_path / "one.opml", [("A Feed", "https://a.example/feed")])
    first = run_cli("--config", str(config), "sources", "import", str(one))
    assert first.returncode == 0, first.stderr
    assert f"{one}: 1 feed added to {config} as sources, 0 skipped" in first.stdout
    two = _opml_file(tmp_path / "two.opml", [("B Feed", "https://b.example/rss"),
                                              ("C Feed", "https://c.example/rss")])  # fmt: skip
    second = run_cli("--config", str(config), "sources", "import", str(two))
    assert second.returncode == 0, second.stderr
    assert f"{two}: 2 feeds added to {config} as sources, 0 skipped" in second.stdout


def test_sources_import_refusals_exit_codes(
    tmp_path: Path, make_config: Callable[..., Path]
) -> None:
    """An unknown topic is exit 2; a 100k-outline or missing file is exit 1 with why; the
    config is untouched either way."""
    config = make_config([{"name": "old", "type": "feed", "url": "https://old.example/feed"}])
    text = config.read_text()
    opml = _opml_file(tmp_path / "f.opml", [("A", "https://a.example/feed")])
    unknown = run_cli("--config", str(config), "sources", "import", str(opml), "--topics", "nope")
    assert unknown.returncode == 2
    assert "unknown topic(s): nope" in unknown.stderr
    big = _opml_file(
        tmp_path / "big.opml", [(f"F{i}", f"https://x.example/{i}") for i in range(100_000)]
    )
    refused = run_cli("--config", str(config), "sources", "import", str(big))
    assert refused.returncode == 1
    assert "100002 outlines, more than the 3000 imported at once" in refused.stderr  # + folders
    missing = run_cli("--config", str(config), "sources", "import", str(tmp_path / "no.opml"))
    assert missing.returncode == 1
    assert "No such file" in missing.stderr
    assert config.read_text() == text


def test_sources_export_writes_the_feed_sources_as_opml(make_config: Callable[..., Path]) -> None:
    """export prints OPML 2.0 of the feed sources (a sitemap source is left out, said on stderr)."""
    config = make_config(
        [
            {"name": "a", "type": "feed", "url": "https://a.example/feed?x=1&y=2"},
            {"name": "m", "type": "sitemap", "url": "https://a.example/sitemap.xml"},
        ]
    )
    result = run_cli("--config", str(config), "sources", "export")
    assert result.returncode == 0, result.stderr
    assert (
        '<outline type="rss" text="a" title="a" xmlUrl="https://a.example/feed?x=1&amp;y=2" />'
        in result.stdout
    )
    assert "sitemap.xml" not in result.stdout
    assert "left out 1 source that OPML cannot list (it lists feeds only): m (sitemap)" in (
        result.stderr
    ), result.stderr
