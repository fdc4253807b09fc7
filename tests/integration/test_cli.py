"""The real `watcher` CLI as a subprocess against a real Redis and a loopback news site."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import (
    Story,
    article_page,
    atom,
    listing_page,
    news_sitemap,
    rss,
    write_config,
)
from tests.support.cli import (
    REPO,
    daemon,
    line_with,
    meta_stories,
    run_cli,
    serve_stories,
    start_cli,
    stream,
    wait_until,
)

pytestmark = pytest.mark.slow


def test_once_emits_each_story_once_then_uses_conditional_get(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """First cycle emits every story; the second sends If-None-Match, gets 304, emits nothing."""
    stories = meta_stories(3)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base), etag='"v1"')
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}])

    first = run_cli("once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "local: polled 3, new 3, duplicate 0, filtered 0, failed 0" in first.stdout
    assert sorted(d["title"] for d in stream(redis_client, ns)) == sorted(s.title for s in stories)

    second = run_cli("once", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert "new 0" in second.stdout
    assert "[not modified]" in second.stdout
    assert site.hits("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'
    assert len(stream(redis_client, ns)) == 3
    assert len(site.hits(stories[0].path)) == 1  # articles were not fetched again


def test_once_emits_new_item_but_not_tracking_variant(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """A new feed item is emitted; the same article under ?utm_source= is not."""
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}])
    assert run_cli("once", "--config", str(config)).returncode == 0

    fresh = Story("meta-fresh-news", "Meta reveals a brand new model")
    serve_stories(site, [fresh])
    site.add("/feed.xml", rss([*stories, fresh], base, query="?utm_source=rss&utm_medium=feed"))
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "polled 3, new 1, duplicate 2" in result.stdout
    docs = stream(redis_client, ns)
    assert [d["title"] for d in docs].count(fresh.title) == 1
    assert len(docs) == 3
    assert all("utm_" not in d["url"] for d in docs)


def test_once_dedupes_across_feed_atom_sitemap_and_page_sources(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """One story listed by four kinds of source is emitted once; each source reports it."""
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    site.add("/rss.xml", rss(stories, base))
    site.add("/atom.xml", atom(stories, base), headers={"content-type": "application/atom+xml"})
    site.add(
        "/news-sitemap.xml",
        news_sitemap(stories, base),
        headers={"content-type": "application/xml"},
    )
    site.add("/tech/", listing_page(stories), headers={"content-type": "text/html"})
    config = make_config(
        [
            {"name": "rss", "type": "feed", "url": f"{base}/rss.xml"},
            {"name": "atom", "type": "feed", "url": f"{base}/atom.xml"},
            {"name": "sitemap", "type": "sitemap", "url": f"{base}/news-sitemap.xml"},
            {"name": "listing", "type": "page", "url": f"{base}/tech/"},
        ]
    )
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    for name in ("rss", "atom", "sitemap", "listing"):
        assert f"{name}: polled 2," in result.stdout, result.stdout
    # Sources are polled concurrently, so which source wins each story varies; the total does not.
    new = [int(n) for n in re.findall(r"\bnew (\d+),", result.stdout)]
    assert sum(new) == 2, result.stdout
    docs = stream(redis_client, ns)
    assert sorted(d["title"] for d in docs) == sorted(s.title for s in stories)


def test_once_topic_filter_drops_and_remembers_off_topic(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """Off-topic articles are filtered (not emitted) and not fetched again next cycle."""
    on = Story("meta-on-topic", "Meta opens its Llama weights")
    off = Story("garden-off-topic", "Tomatoes grow well in July", body=["Gardening tips " * 40])
    base = serve_stories(site, [on, off])
    site.add("/feed.xml", rss([on, off], base))
    config = make_config(
        [{"name": "local", "type": "feed", "url": f"{base}/feed.xml", "topics": ["meta-ai"]}]
    )
    result = run_cli("once", "--config", str(config))
    assert "new 1, duplicate 0, filtered 1" in result.stdout, result.stdout
    assert [d["title"] for d in stream(redis_client, ns)] == [on.title]
    assert stream(redis_client, ns)[0]["topics"] == ["meta-ai"]
    run_cli("once", "--config", str(config))
    assert len(site.hits(off.path)) == 1


def test_once_reports_failing_source_and_keeps_the_others(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """A source answering 500 and one serving HTML as a feed are reported; the good one emits."""
    stories = meta_stories(1)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    site.add("/broken.xml", "oops", status=500)
    config = make_config(
        [
            {"name": "good", "type": "feed", "url": f"{base}/feed.xml"},
            {"name": "broken", "type": "feed", "url": f"{base}/broken.xml"},
            {"name": "htmlfeed", "type": "feed", "url": f"{base}/html-as-feed"},
        ],
        fetch={"allow_private_networks": ["127.0.0.1/32"], "delay": "0s", "timeout": "5s"},
    )
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "good: polled 1, new 1" in result.stdout
    assert "source failed: http_500" in result.stdout
    assert "source failed: malformed_feed" in result.stdout
    assert len(stream(redis_client, ns)) == 1
    status = run_cli("status", "--config", str(config))
    assert "last error" in status.stdout
    assert "http_500" in status.stdout


def test_once_reads_a_damaged_feed_and_reports_where_it_breaks(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """A feed with one good item, then an unclosed one and no </rss>: the good item is
    emitted, and the damage is a feed_malformed WARNING (source, URL, line, column), a
    `source damaged` line in `once` and a warning in `status` until the feed is fixed; its
    ETag is not kept, so the fixed feed is read on the next poll."""
    (story,) = meta_stories(1)
    base = serve_stories(site, [story])
    good = rss([story], base).removesuffix("</channel></rss>")
    site.add("/feed.xml", f"{good}\n<item><title>unclosed\n</channel>", etag='"v1"')
    url = f"{base}/feed.xml"
    config = make_config([{"name": "damaged", "type": "feed", "url": url}])

    once = run_cli("once", "--config", str(config))
    assert once.returncode == 0, once.stderr[-3000:]
    assert "damaged: polled 1, new 1, duplicate 0, filtered 0, failed 0" in once.stdout
    assert [d["url"] for d in stream(redis_client, ns)] == [f"{base}{story.path}"]
    assert f"  source damaged: malformed_feed: {url}: malformed XML at line 4, column " in (
        once.stdout
    ), once.stdout
    logged = [json.loads(x) for x in once.stderr.splitlines() if "feed_malformed" in x]
    assert [(x["level"], x["source"], x["url"], x["line"]) for x in logged] == [
        ("warning", "damaged", url, 4)
    ], logged
    assert isinstance(logged[0]["column"], int)
    assert logged[0]["error"] == "mismatched tag"

    status = run_cli("status", "--config", str(config))
    assert re.search(
        rf"^  warning \S+: malformed_feed: {re.escape(url)}: malformed XML at line 4",
        status.stdout,
        re.MULTILINE,
    ), status.stdout
    body = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)
    assert body["sources"]["damaged"]["last_warning"].startswith(f"malformed_feed: {url}: ")
    assert body["sources"]["damaged"]["last_error"] is None

    site.add("/feed.xml", rss([story], base), etag='"v2"')  # the publisher fixes it
    fixed = run_cli("once", "--config", str(config))
    assert "damaged: polled 1, new 0, duplicate 1" in fixed.stdout, fixed.stdout
    assert "source damaged" not in fixed.stdout
    body = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)
    assert body["sources"]["damaged"]["last_warning"] is None


def test_once_reads_a_cut_off_child_sitemap_up_to_the_cut_and_says_so(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """A sitemap index whose child sitemap is cut off inside its second ``<url>``: the first
    story is emitted, the cut one is not fetched from half a URL, and the damage is a
    sitemap_malformed WARNING, a `source damaged` line in `once` and a `status` warning."""
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    child = news_sitemap(stories, base)
    site.add("/sitemap-news.xml", child[: child.rindex(stories[1].path) + 8])
    index = f"<sitemapindex><sitemap><loc>{base}/sitemap-news.xml</loc></sitemap></sitemapindex>"
    site.add("/sitemap.xml", index)
    config = make_config([{"name": "news", "type": "sitemap", "url": f"{base}/sitemap.xml"}])

    once = run_cli("once", "--config", str(config))
    assert once.returncode == 0, once.stderr[-3000:]
    assert "news: polled 1, new 1, duplicate 0, filtered 0, failed 0" in once.stdout, once.stdout
    assert [d["url"] for d in stream(redis_client, ns)] == [f"{base}{stories[0].path}"]
    child_url = f"{base}/sitemap-news.xml"
    damage = f"malformed_sitemap: {child_url}: malformed XML at line 3, column "
    assert f"  source damaged: {damage}" in once.stdout, once.stdout
    logged = [json.loads(x) for x in once.stderr.splitlines() if "sitemap_malformed" in x]
    assert [(x["level"], x["source"], x["url"], x["line"]) for x in logged] == [
        ("warning", "news", child_url, 3)
    ], logged
    assert not site.hits(stories[1].path[:8])  # nothing asked for the half URL

    text = run_cli("status", "--config", str(config)).stdout
    assert f"stream {ns}:stories: 1 story; near-duplicate index: 1 story\n" in text, text
    status = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)
    assert status["sources"]["news"]["last_warning"].startswith(damage)
    assert status["sources"]["news"]["last_error"] is None


def test_once_failed_article_is_retried_next_cycle(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """An article that failed (404 now) is not marked seen: it is emitted once it comes back."""
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    site.add(stories[1].path, "gone for now", status=404)
    site.add("/feed.xml", rss(stories, base), etag='"v1"')
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}])
    first = run_cli("once", "--config", str(config))
    assert "new 1, duplicate 0, filtered 0, failed 1" in first.stdout
    assert f"failed {base}{stories[1].path}: http_404" in first.stdout
    serve_stories(site, [stories[1]])
    second = run_cli("once", "--config", str(config))
    assert "new 1" in second.stdout, second.stdout  # the feed's ETag was not kept: no 304
    assert len(stream(redis_client, ns)) == 2


def test_kill_9_mid_cycle_loses_nothing(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """A watcher killed -9 while articles are in flight loses none of them on the next cycle."""
    stories = meta_stories(4)
    base = serve_stories(site, stories)
    site.add(stories[3].path, article_page(stories[3], base), delay=30)  # never finishes in time
    site.add("/feed.xml", rss(stories, base), etag='"v1"')
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}])
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "once", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not site.hits(stories[3].path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert site.hits(stories[3].path), "the slow article was never requested"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close() if proc.stdout else None
    proc.stderr.close() if proc.stderr else None
    site.add(stories[3].path, article_page(stories[3], base))  # the host recovers
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    titles = sorted(d["title"] for d in stream(redis_client, ns))
    assert titles == sorted(s.title for s in stories)


def test_check_reports_bad_config_with_key_path_and_exit_2(tmp_path: Path) -> None:
    """`watcher check` prints each problem with its key path and exits 2."""
    config = write_config(
        tmp_path / "bad.yaml",
        fetch={"timeout": "soon"},
        sources=[{"name": "x", "type": "rss", "url": "https://example.com/feed"}],
    )
    result = run_cli("check", "--config", str(config))
    assert result.returncode == 2
    assert "fetch.timeout:" in result.stderr
    assert "sources[0].type:" in result.stderr


def test_check_accepts_the_default_config() -> None:
    """The shipped config passes `watcher check`."""
    result = run_cli("check", env={"REDIS_URL": ""})
    assert result.returncode == 0, result.stderr


def test_once_with_unreachable_redis_exits_1(tmp_path: Path) -> None:
    """Redis down: `watcher once` says so clearly and exits 1."""
    config = write_config(
        tmp_path / "w.yaml",
        redis={"url": "redis://127.0.0.1:1/0", "namespace": "x"},
        fetch={"allow_private_networks": ["127.0.0.1/32"]},  # else check refuses the source
        sources=[{"name": "x", "type": "feed", "url": "http://127.0.0.1:1/feed"}],
    )
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 1
    assert "Redis at redis://127.0.0.1:1/0 is unreachable" in result.stderr


def test_run_daemon_polls_and_stops_cleanly_on_sigterm(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """`watcher run` emits on its first poll and exits 0 soon after SIGTERM."""
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    config = make_config(
        [{"name": "local", "type": "feed", "url": f"{base}/feed.xml", "every": "1h"}]
    )
    with daemon(config) as run:
        wait_until(lambda: len(stream(redis_client, ns)) >= 2, what="two stories")
        assert len(stream(redis_client, ns)) == 2
        assert run.stop() == 0
        assert '"event": "stopped"' in run.stderr


def test_tail_prints_documents_as_json_lines(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """`watcher tail --from-start` prints one JSON document per story with its event."""
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}])
    run_cli("once", "--config", str(config))
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "tail", "--from-start", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [json.loads(proc.stdout.readline()) for _ in range(2)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close() if proc.stdout else None
    assert {line["event"] for line in lines} == {"story.created"}
    assert sorted(line["title"] for line in lines) == sorted(s.title for s in stories)


def test_tail_keeps_following_a_quiet_stream(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """`watcher tail` waits on a stream with nothing new for as long as it takes, then prints
    what arrives: its blocking read once outlasted redis-py's reply timeout (5 s in redis-py
    8), and an idle tail ended after 5 s with "Redis is unreachable"."""
    stories = meta_stories(1)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}])
    proc = start_cli("tail", "--config", str(config))
    try:
        line_with(proc.stderr, "reading stream")
        time.sleep(7)  # nothing to read for longer than the old 5 s reply timeout
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert run_cli("once", "--config", str(config), "--wait", "0").returncode == 0
        line = json.loads(line_with(proc.stdout, "story.created"))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        for pipe in (proc.stdout, proc.stderr):
            pipe.close() if pipe else None
    assert (line["event"], line["title"]) == ("story.created", stories[0].title)
    assert code == 0


def test_extract_prints_article_json_from_a_file(tmp_path: Path) -> None:
    """`watcher extract page.html` prints the article as JSON with its metadata."""
    story = Story("meta-extract", "Meta's new model, explained")
    page = tmp_path / "page.html"
    page.write_text(article_page(story, "https://news.example"))
    result = run_cli("extract", str(page), "--url", f"https://news.example{story.path}")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["title"] == story.title
    assert doc["text"].startswith(story.body[0][:40])
    assert "Related Articles" not in doc["text"]
