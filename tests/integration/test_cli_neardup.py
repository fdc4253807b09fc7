"""Syndicated copies, updates and same-topic stories through the real `watcher` CLI (issue 5).

An origin site on 127.0.0.1 and an aggregator on 127.0.0.2 (a different host, so a canonical
link from one to the other is cross-site), a real Redis, `watcher once` as a subprocess.
At the end, the store steps under them raced in-process as two replicas would race them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import redis
import redis.asyncio as aioredis

from scrapers import extract
from tests.support.builders import Story, article_page, document, paragraphs, rss, write_config
from tests.support.cli import run_cli
from tests.support.site import Site
from watcher.dedupe import content_hash, story_id
from watcher.store.fingerprints import NearDupIndex
from watcher.store.keys import Keys
from watcher.store.stories import Stories

pytestmark = pytest.mark.slow

ORIGIN = "origin"
AGGREGATOR = "aggregator"


@pytest.fixture
def aggregator() -> Iterator[Site]:
    """A second loopback site on another host: the aggregator that republishes stories."""
    with Site(host="127.0.0.2") as started:
        yield started


@pytest.fixture
def config(tmp_path: Path, redis_url: str, ns: str, site: Site, aggregator: Site) -> Path:
    """Two feed sources, the origin's and the aggregator's, fetching from loopback only."""
    return write_config(
        tmp_path / "watcher.yaml",
        redis={"url": redis_url, "namespace": ns},
        data_dir=str(tmp_path / "data"),
        http={"host": "127.0.0.1", "port": 0},
        fetch={"allow_private_networks": ["127.0.0.0/8"], "delay": "0s", "timeout": "5s"},
        sources=[
            {"name": ORIGIN, "type": "feed", "url": site.url("/feed.xml")},
            {"name": AGGREGATOR, "type": "feed", "url": aggregator.url("/feed.xml")},
        ],
    )


def events(client: redis.Redis, ns: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, document) of every stream entry, oldest first."""
    return [(f["event"], json.loads(f["data"])) for _id, f in client.xrange(f"{ns}:stories")]


def record(client: redis.Redis, ns: str, sid: str) -> dict[str, Any]:
    raw = client.hgetall(f"{ns}:story:{sid}")
    return {**raw, "also_at": json.loads(raw.get("also_at") or "[]")}


def base(host: Site) -> str:
    return host.url("").rstrip("/")


def publish(host: Site, stories: list[Story], **page: Any) -> None:
    """Serve each story's page and a feed listing them all."""
    for story in stories:
        host.add(story.path, article_page(story, base(host)), **page)
    host.add("/feed.xml", rss(stories, base(host)))


def aggregator_page(story: Story, *, glued: list[str], canonical: str, credit: str = "") -> str:
    """An aggregator's copy: its own chrome and headline, the body, other stories glued after."""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in story.body)
    more = "\n".join(f"<p>{escape(p)}</p>" for p in glued)
    credit_line = f"<p>{escape(credit)}</p>" if credit else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(story.title)} - NewsNow</title>
<link rel="canonical" href="{canonical}">
<meta property="og:site_name" content="NewsNow">
<meta property="article:published_time" content="{story.published.isoformat()}">
</head><body>
<div class="topbar"><a href="/">NewsNow</a> <a href="/apps">Get the app</a></div>
<main><article>
<h1>{escape(story.title)}</h1>
<p>Aggregated by NewsNow · 4 min read</p>
{body}
{credit_line}
{more}
</article></main>
<footer>NewsNow aggregates headlines from around the web.</footer>
</body></html>"""


def syndicate(
    original: Story, aggregator: Site, origin: Site, *, names_original: bool = False
) -> Story:
    """Publish a truncated copy of ``original`` under another headline on the aggregator.

    The copy keeps the first half of the body, then glues two paragraphs of another story
    after it. With ``names_original`` its canonical link points at the original (cross-site)
    and it says where the story originally appeared.
    """
    copy = Story(
        f"agg-{original.slug}",
        f"Why everyone is talking about {original.title.split()[-1]}",
        body=original.body[: len(original.body) // 2],
    )
    copy_url = f"{base(aggregator)}{copy.path}"
    canonical = f"{base(origin)}{original.path}" if names_original else copy_url
    credit = "This article originally appeared in Test News." if names_original else ""
    page = aggregator_page(
        copy, glued=paragraphs("unrelated-glued-story", 2), canonical=canonical, credit=credit
    )
    aggregator.add(copy.path, page)
    aggregator.add("/feed.xml", rss([copy], base(aggregator)))
    return copy


def once(config: Path, *sources: str) -> str:
    args = [arg for name in sources for arg in ("--source", name)]
    result = run_cli("once", "--config", str(config), "--wait", "0", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def original_story() -> Story:
    return Story("meta-avocado-delay", "Meta delays its Avocado model", body=paragraphs("avo", 8))


@pytest.mark.parametrize("first", [ORIGIN, AGGREGATOR], ids=["original-first", "copy-first"])
def test_original_and_aggregator_copy_emit_once_with_both_urls(
    first: str,
    site: Site,
    aggregator: Site,
    config: Path,
    redis_client: redis.Redis,
    ns: str,
) -> None:
    """An original and its truncated, re-headlined, glued-onto aggregator copy are one story."""
    original = original_story()
    publish(site, [original])
    copy = syndicate(original, aggregator, site)
    second = AGGREGATOR if first == ORIGIN else ORIGIN

    assert "new 1" in once(config, first)
    summary = once(config, second)
    assert f"{second}: polled 1, new 0, duplicate 1" in summary, summary

    emitted = events(redis_client, ns)
    assert len(emitted) == 1
    story = record(redis_client, ns, emitted[0][1]["id"])
    urls = {f"{base(site)}{original.path}", f"{base(aggregator)}{copy.path}"}
    assert {story["url"], *story["also_at"]} == urls
    assert story["url"] == emitted[0][1]["url"]


def test_copy_naming_its_original_ends_up_pointing_at_it(
    site: Site, aggregator: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """A copy seen first keeps the original it names; when the original comes, it becomes
    the story's version (one story.updated, issue 13) and the copy is among its URLs."""
    original = original_story()
    publish(site, [original])
    copy = syndicate(original, aggregator, site, names_original=True)
    original_url = f"{base(site)}{original.path}"

    once(config, AGGREGATOR)
    [(_event, doc)] = events(redis_client, ns)
    assert doc["url"] == f"{base(aggregator)}{copy.path}"
    assert doc["original_url"] == original_url
    assert doc["original_source"] == "Test News"

    assert "updated 1" in once(config, ORIGIN)
    assert [event for event, _doc in events(redis_client, ns)] == ["story.created", "story.updated"]
    story = record(redis_client, ns, doc["id"])
    assert story["url"] == story["original_url"] == original_url
    assert story["original_source"] == "Test News"
    assert story["also_at"] == [f"{base(aggregator)}{copy.path}"]


def test_copy_naming_a_known_original_joins_it(
    site: Site, aggregator: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """A copy whose canonical link is a known story's URL joins that story, not emitted."""
    original = original_story()
    publish(site, [original])
    copy = syndicate(original, aggregator, site, names_original=True)
    once(config, ORIGIN)
    assert "new 0, duplicate 1" in once(config, AGGREGATOR)
    [(_event, doc)] = events(redis_client, ns)
    assert doc["id"] == story_id(f"{base(site)}{original.path}")
    assert record(redis_client, ns, doc["id"])["also_at"] == [f"{base(aggregator)}{copy.path}"]


def bump(host: Site, stories: list[Story]) -> list[Story]:
    """The feed dates its items now (+1 min): the source says the articles changed."""
    later = [replace(s, published=datetime.now(UTC) + timedelta(minutes=1)) for s in stories]
    host.add("/feed.xml", rss(later, base(host)))
    return later


def test_material_edit_emits_story_updated(
    site: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """A re-dated article whose text changed materially is emitted again as story.updated."""
    original = original_story()
    publish(site, [original], etag='"v1"')
    once(config, ORIGIN)
    edited = replace(original, body=[*original.body[:-1], "Meta now says Avocado ships in March."])
    edited = bump(site, [edited])[0]
    site.add(edited.path, article_page(edited, base(site)), etag='"v2"')

    summary = once(config, ORIGIN)
    assert "new 0, duplicate 0, filtered 0, failed 0, updated 1" in summary, summary
    assert site.hits(original.path)[-1].headers.get("if-none-match") == '"v1"'
    [(created, first), (updated, second)] = events(redis_client, ns)
    assert (created, updated) == ("story.created", "story.updated")
    assert second["id"] == first["id"]
    assert "Avocado ships in March" in second["text"]
    assert second["content_hash"] != first["content_hash"]
    assert record(redis_client, ns, first["id"])["content_hash"] == second["content_hash"]


def test_cosmetic_change_and_not_modified_emit_nothing(
    site: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """A 304, then a changed view counter and reordered paragraphs, are not updates."""
    original = original_story()
    original.body.append("Read 1,204 times")
    publish(site, [original], etag='"v1"')
    once(config, ORIGIN)

    bump(site, [original])
    once(config, ORIGIN)
    assert site.hits(original.path)[-1].headers.get("if-none-match") == '"v1"'
    assert len(site.hits(original.path)) == 2

    body = [original.body[1], original.body[0], *original.body[2:-1]]
    cosmetic = replace(original, body=[*body, "Read 9,311 times"])
    cosmetic = bump(site, [cosmetic])[0]
    site.add(cosmetic.path, article_page(cosmetic, base(site)), etag='"v2"')
    url = f"{base(site)}{original.path}"
    before, after = (
        extract(article_page(s, base(site)), url=url).text for s in (original, cosmetic)
    )
    assert before != after  # the re-fetched text really differs, cosmetically
    once(config, ORIGIN)
    assert len(site.hits(original.path)) == 3
    assert [event for event, _doc in events(redis_client, ns)] == ["story.created"]


def test_two_same_topic_stories_are_two_stories(
    site: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """Same company, a shared quote and the same site boilerplate do not merge two stories."""
    quote = (
        '"We are building the most capable open models in the world, and we will keep doing '
        "that,\" Mark Zuckerberg, Meta's chief executive, said on a call with investors."
    )
    boilerplate = [
        "Subscribe to the Morning Briefing newsletter to get the day's top stories in your "
        "inbox before breakfast every weekday.",
        "This article was produced by the Test News newsroom and is protected by copyright, "
        "all rights reserved worldwide.",
    ]

    def story(slug: str, title: str) -> Story:
        body = paragraphs(slug, 5)
        return Story(
            slug, title, body=[boilerplate[0], *body[:2], quote, *body[2:], boilerplate[1]]
        )

    stories = [
        story("meta-avocado-delay", "Meta delays its Avocado model"),
        story("meta-ad-revenue", "Meta's ad revenue beats forecasts"),
    ]
    publish(site, stories)
    assert "new 2, duplicate 0" in once(config, ORIGIN)
    assert sorted(doc["title"] for _e, doc in events(redis_client, ns)) == sorted(
        s.title for s in stories
    )


# --- the store steps under the pipeline, raced as two replicas would race them ---


@pytest.mark.anyio
async def test_concurrent_updates_of_one_story_emit_one(redis_url: str, ns: str) -> None:
    """Two replicas re-checking the same edit at once: one story.updated, the other is stale."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    stories = Stories(client, Keys(ns))
    doc = document("https://news.test/a", "Meta delays Avocado.")
    await stories.record_story(doc, [doc.url], "story.created")
    edited = replace(
        doc, text="Meta ships Avocado.", content_hash=content_hash("Meta ships Avocado.")
    )
    results = await asyncio.gather(
        *(stories.update_story(edited, compared=doc.content_hash, fields={}) for _ in range(2))
    )
    await client.aclose()
    assert sorted(r.kind for r in results) == ["stale", "updated"]


@pytest.mark.anyio
async def test_copy_attached_before_its_original_is_emitted_is_kept(
    redis_url: str, ns: str, redis_client: redis.Redis
) -> None:
    """A copy claimed while its original is still in flight joins the original's also_at."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    stories = Stories(client, Keys(ns))
    original = document("https://news.test/a", "Meta delays Avocado, three people said.")
    copy = document("https://agg.test/a", "Meta delays Avocado.")
    await stories.attach_copy(original.id, copy, [copy.url], reason="near_duplicate")
    recorded = await stories.record_story(original, [original.url], "story.created")
    await client.aclose()
    assert recorded.kind == "new"
    assert record(redis_client, ns, original.id)["also_at"] == [copy.url]
    [(_event, doc)] = events(redis_client, ns)
    assert doc["also_at"] == [copy.url]
    assert redis_client.ttl(f"{ns}:story:{original.id}") > 0


@pytest.mark.anyio
async def test_index_count_is_the_stories_claimed(redis_url: str, ns: str) -> None:
    """``count`` (for status) is the number of stories the index holds; copies are not added."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    index = NearDupIndex(client, Keys(ns))
    text = "\n\n".join(paragraphs("counted", 6))
    assert await index.claim(story_id("https://a.test/1"), text) is None
    assert await index.claim(story_id("https://b.test/2"), text) is not None
    assert await index.claim(story_id("https://c.test/3"), "\n\n".join(paragraphs("other"))) is None
    assert await index.count() == 2
    await client.aclose()
