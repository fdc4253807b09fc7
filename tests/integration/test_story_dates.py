"""A story's ``published_at``: the page's own tags, else the feed entry's date, else the date
htmldate finds in the page. Real CLI (``once``), Redis and loopback site."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import Story, article_page, rss
from tests.support.cli import run_cli, stream

pytestmark = pytest.mark.slow

# recent, to the second (the feed's RFC 822 dates have no fractions), within any max_age
FEED_DATE = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
TAG_DATE = FEED_DATE - timedelta(hours=1)
PAGE_DATE = "2025-03-03"  # written in the page's text only: htmldate's to find


def _untagged(story: Story, base: str) -> str:
    """The article page without its date tag, its date in a byline instead."""
    html = re.sub(r'<meta property="article:published_time"[^>]*>', "", article_page(story, base))
    return html.replace("<article>", f'<article><p class="byline-date">Published {PAGE_DATE}</p>')


def test_published_at_is_the_tags_else_the_feeds_else_the_pages_guess(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    tagged = Story("dates-tagged", "Meta ships a tagged model", published=FEED_DATE)
    entry_dated = Story("dates-entry", "Meta ships an untagged model", published=FEED_DATE)
    undated = Story("dates-none", "Meta ships a model nobody dated", published=FEED_DATE)
    base = site.url("").rstrip("/")
    site.add(
        tagged.path,
        article_page(tagged, base).replace(FEED_DATE.isoformat(), TAG_DATE.isoformat()),
    )
    site.add(entry_dated.path, _untagged(entry_dated, base))
    site.add(undated.path, _untagged(undated, base))
    feed = rss([tagged, entry_dated, undated], base)
    feed = re.sub(
        rf"(<guid>{re.escape(base + undated.path)}</guid>)<pubDate>[^<]*</pubDate>", r"\1", feed
    )
    assert feed.count("<pubDate>") == 2
    site.add("/feed.xml", feed)
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}])
    expected = [
        (tagged, TAG_DATE.isoformat()),  # the page's tag wins over the feed
        (entry_dated, FEED_DATE.isoformat()),  # no tag: the feed's date, not a guess
        (undated, f"{PAGE_DATE}T00:00:00+00:00"),  # neither: what htmldate found
    ]
    preview = run_cli("--config", str(config), "preview", "local", "--sample", "3")
    assert preview.returncode == 0, preview.stderr
    for story, date in expected:  # preview says what the stream will
        assert f"{base}{story.path} | site " in preview.stdout, preview.stdout
        assert any(
            line.startswith(f"  {base}{story.path} |") and line.endswith(f"| {date}")
            for line in preview.stdout.splitlines()
        ), (story.slug, preview.stdout)
    result = run_cli("once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    dates = {doc["title"]: doc["published_at"] for doc in stream(redis_client, ns)}
    assert dates == {story.title: date for story, date in expected}
