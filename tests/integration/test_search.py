"""The story index on a real Redis: built from the stream, searched by words, topics, sources."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.support.builders import document
from watcher.app import App
from watcher.config import load_config
from watcher.errors import ConfigError
from watcher.store.keys import Keys
from watcher.store.search import StoryIndex, StoryQuery
from watcher.store.stories import Stories
from watcher.tasks import index_entries
from watcher.words import Indexed, query_words

pytestmark = pytest.mark.anyio


async def tokenize(batch: list[tuple[str, str, str]]) -> list[Indexed | None]:
    """The worker task itself, run in this process (the pool is tested elsewhere)."""
    return index_entries(batch)


async def _recorded(client: aioredis.Redis, ns: str) -> tuple[Stories, StoryIndex]:
    stories, index = Stories(client, Keys(ns)), StoryIndex(client, Keys(ns))
    for url, text, topics, source in [
        ("https://a.test/1", "Meta ships Llama five to developers.", ["meta-ai"], "feed-a"),
        ("https://b.test/2", "Zuckerberg talks about superintelligence.", ["meta-ai"], "feed-b"),
        ("https://c.test/3", "A quiet day for gardening clubs.", [], "feed-a"),
    ]:
        doc = document(url, text, topics=topics, source=source, title=text.split(".")[0])
        assert (await stories.record_story(doc, [url], "story.created")).kind == "new"
    return stories, index


async def test_index_answers_words_topics_sources_and_since(
    client: aioredis.Redis, ns: str
) -> None:
    """Each filter narrows the listing, filters combine as AND, and the total counts all."""
    _stories, index = await _recorded(client, ns)
    assert await index.catch_up(tokenize) == 3
    assert await index.catch_up(tokenize) == 0  # the cursor moved: nothing read twice

    async def titles(**query: object) -> list[str | None]:
        page = await index.stories(StoryQuery(**query))  # type: ignore[arg-type]
        return [b.title for b in page.stories]

    assert await titles() == [
        "A quiet day for gardening clubs",
        "Zuckerberg talks about superintelligence",
        "Meta ships Llama five to developers",
    ]
    assert await titles(words=query_words("LLAMA")) == ["Meta ships Llama five to developers"]
    assert await titles(words=query_words("llama gardening")) == []
    assert await titles(topic="meta-ai", source="feed-a") == ["Meta ships Llama five to developers"]
    assert await titles(source="feed-a", words=query_words("quiet")) == [
        "A quiet day for gardening clubs"
    ]
    assert await titles(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    page = await index.stories(StoryQuery(limit=1, offset=1))
    assert (page.total, [b.title for b in page.stories]) == (
        3,
        ["Zuckerberg talks about superintelligence"],
    )
    assert not [k async for k in client.scan_iter(match=f"{ns}:ix:tmp:*")]


async def test_index_brief_keeps_any_text_exactly(client: aioredis.Redis, ns: str) -> None:
    """The brief crosses to Redis as one JSON argument: accents, emoji (beyond the BMP),
    quotes, backslashes and newlines come back as they went."""
    stories, index = Stories(client, Keys(ns)), StoryIndex(client, Keys(ns))
    title = 'Caf\u00e9 \U0001f600 "quoted" \\ back\\slash\nand a second line \u4e2d\u6587'
    doc = document("https://a.test/odd", "Meta ships Llama five.", title=title, source="feed-a")
    assert (await stories.record_story(doc, ["https://a.test/odd"], "story.created")).kind == "new"
    assert await index.catch_up(tokenize) == 1
    (brief,) = (await index.stories(StoryQuery())).stories
    assert brief.title == title
    assert brief.url == "https://a.test/odd"


async def test_index_story_shows_versions_and_copies(client: aioredis.Redis, ns: str) -> None:
    """An update is a second version with its own text; a copy's URL shows under also_at."""
    stories, index = await _recorded(client, ns)
    first = document("https://a.test/1", "Meta ships Llama five to developers.")
    copy = document("https://mirror.test/1", "Meta ships Llama five to developers.")
    assert (await stories.record_story(copy, [copy.url], "story.created")).kind == "duplicate"
    edited = document("https://a.test/1", "Meta ships Llama five to all developers today.")
    recorded = await stories.update_story(edited, compared=first.content_hash, fields={})
    assert recorded.kind == "updated"
    await index.catch_up(tokenize)
    detail = await index.story(first.id)
    assert detail is not None
    assert [v.event for v in detail.versions] == ["story.updated", "story.created"]
    assert detail.text == "Meta ships Llama five to all developers today."
    assert detail.brief.also_at == ("https://mirror.test/1",)
    assert detail.brief.versions == 2
    assert detail.brief.latest_event == "story.updated"
    found = await index.stories(StoryQuery(words=query_words("today")))
    assert [b.id for b in found.stories] == [first.id]
    assert await index.story("no-such-story") is None


async def test_index_skips_entries_that_are_not_stories(client: aioredis.Redis, ns: str) -> None:
    """Someone else's XADD on the stream is read past, not indexed, and does not stop it."""
    await client.xadd(f"{ns}:stories", {"event": "story.created", "data": "not json"})
    await client.xadd(f"{ns}:stories", {"other": "field"})
    _stories, index = await _recorded(client, ns)
    assert await index.catch_up(tokenize) == 5
    assert (await index.stories(StoryQuery())).total == 3


async def test_index_retention_from_the_config_bounds_every_index_key(
    client: aioredis.Redis, ns: str, make_config: Callable[..., Path]
) -> None:
    """``index.retention: 2h`` gives the index's keys (listing, words, brief) two hours of
    life, not the records' 30 days: the lever on what the index costs in Redis."""
    source = {"name": "local", "type": "feed", "url": "http://127.0.0.1:9/feed.xml"}
    config = load_config(make_config([source], index={"retention": "2h"}), os.environ)
    assert config.index.retention == 7200
    app = await App.open(config)
    try:
        doc = document("https://a.test/1", "Meta ships Llama five.", title="Meta ships Llama")
        await app.stories.record_story(doc, [doc.url], "story.created")
        assert await app.index.catch_up(tokenize) == 1
    finally:
        await app.aclose()
    keys = Keys(ns)
    for key in (keys.index_stories, keys.index_word("llama"), keys.index_doc(doc.id)):
        assert 0 < await client.ttl(key) <= 7200, key
    assert await client.ttl(keys.story(doc.id)) > 7200  # the record keeps its own 30 days


def test_index_retention_is_bounded_by_the_records_it_points_at(
    make_config: Callable[..., Path],
) -> None:
    source = {"name": "local", "type": "feed", "url": "http://127.0.0.1:9/feed.xml"}
    with pytest.raises(ConfigError, match=r"index\.retention"):
        load_config(make_config([source], index={"retention": "60d"}), {})
