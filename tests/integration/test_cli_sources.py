"""Sources as people have them, through the real CLI: JSON Feed, gzipped sitemaps, OPML."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import meta_story_json_feed
from tests.support.cli import meta_stories, run_cli, stream

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
