"""One story, its best version (issue 13), through the real `watcher` CLI.

An origin outlet on 127.0.0.1 ("Loopback Ledger") and an aggregator on 127.0.0.2 (NewsNow),
a real Redis, `watcher once` as a subprocess: when the original arrives after a copy was
emitted, or a materially fuller copy does, the stream (and the webhooks) get one
``story.updated`` with the same id and the better version.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
import standardwebhooks

from scrapers import extract
from tests.integration.test_cli_neardup import aggregator_page, base, events, once, record
from tests.support.builders import Story, article_page, document, paragraphs, rss, write_config
from tests.support.cli import run_cli
from tests.support.receiver import SECRET
from tests.support.site import Site
from watcher.dedupe import content_hash
from watcher.store.keys import Keys
from watcher.store.stories import Stories
from watcher.webhooks.signing import webhook_id

pytestmark = pytest.mark.slow

ORIGIN, AGGREGATOR = "origin", "aggregator"
OUTLET = "Loopback Ledger"


@pytest.fixture
def aggregator() -> Iterator[Site]:
    with Site(host="127.0.0.2") as started:
        yield started


def make_config(
    tmp_path: Path, redis_url: str, ns: str, site: Site, agg: Site, **extra: Any
) -> Path:
    return write_config(
        tmp_path / "watcher.yaml",
        redis={"url": redis_url, "namespace": ns},
        data_dir=str(tmp_path / "data"),
        http={"host": "127.0.0.1", "port": 0},
        fetch={"allow_private_networks": ["127.0.0.0/8"], "delay": "0s", "timeout": "5s"},
        sources=[
            {"name": ORIGIN, "type": "feed", "url": site.url("/feed.xml")},
            {"name": AGGREGATOR, "type": "feed", "url": agg.url("/feed.xml")},
        ],
        **extra,
    )


@pytest.fixture
def config(tmp_path: Path, redis_url: str, ns: str, site: Site, aggregator: Site) -> Path:
    return make_config(tmp_path, redis_url, ns, site, aggregator)


def original_story() -> Story:
    return Story("ledger-avocado-delay", "Meta delays its Avocado model", body=paragraphs("led", 6))


def publish_original(site: Site, story: Story) -> str:
    """The outlet's own page (og:site_name names it) and its feed; returns the page's URL."""
    site.add(story.path, article_page(story, base(site), site_name=OUTLET))
    site.add("/feed.xml", rss([story], base(site)))
    return f"{base(site)}{story.path}"


def copy_of(
    original: Story,
    agg: Site,
    slug: str,
    *,
    keep: int,
    canonical: str | None = None,
    credit: str = "",
    glued: int = 0,
) -> tuple[Story, str]:
    """An aggregator copy: the first ``keep`` paragraphs under its own headline, naming its
    original by a cross-site ``canonical`` and/or a ``credit`` line, or not at all."""
    copy = Story(slug, f"Everyone is talking about {slug}", body=original.body[:keep])
    url = f"{base(agg)}{copy.path}"
    more = paragraphs(f"glued-{slug}", glued) if glued else []
    agg.add(copy.path, aggregator_page(copy, glued=more, canonical=canonical or url, credit=credit))
    return copy, url


def list_copies(agg: Site, copies: list[Story]) -> None:
    agg.add("/feed.xml", rss(copies, base(agg)))


def full_text(site: Site, story: Story) -> str:
    url = f"{base(site)}{story.path}"
    return extract(article_page(story, base(site), site_name=OUTLET), url=url).text


def assert_original_found(
    client: redis.Redis, ns: str, site: Site, original: Story, copies: list[str]
) -> dict[str, Any]:
    """The stream: the copy created, then one story.updated that is the original."""
    original_url = f"{base(site)}{original.path}"
    [(created, first), (updated, second)] = events(client, ns)
    assert (created, updated) == ("story.created", "story.updated")
    assert second["id"] == first["id"]
    assert second["update_reason"] == "original_found"
    assert second["url"] == second["canonical_url"] == original_url
    assert second["original_url"] == original_url
    assert second["text"] == full_text(site, original)
    assert second["content_hash"] == content_hash(second["text"])
    assert second["site"] == OUTLET
    assert sorted(second["also_at"]) == sorted(copies)
    stored = record(client, ns, first["id"])
    assert stored["url"] == original_url
    assert stored["content_hash"] == second["content_hash"]
    return second


def test_original_after_a_truncated_copy_is_one_update(
    site: Site, aggregator: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """A truncated copy whose canonical link and credit name the original is emitted first;
    the original, polled later, is one story.updated (original_found, the full text); a
    third poll of both changes nothing, and `watcher status` counts the upgrade."""
    original = original_story()
    original_url = publish_original(site, original)
    copy, copy_url = copy_of(
        original,
        aggregator,
        "agg-ledger",
        keep=4,
        canonical=original_url,
        credit=f"This article originally appeared in {OUTLET}.",
    )
    list_copies(aggregator, [copy])

    assert "new 1" in once(config, AGGREGATOR)
    [(_e, first)] = events(redis_client, ns)
    assert first["site"] == "NewsNow"  # the outlet's name, as `watcher extract` says
    assert first["original_url"] == original_url
    summary = once(config, ORIGIN)
    assert "updated 1 (upgraded 1)" in summary, summary
    updated = assert_original_found(redis_client, ns, site, original, [copy_url])
    assert updated["original_source"] == OUTLET

    once(config, ORIGIN, AGGREGATOR)
    assert len(events(redis_client, ns)) == 2
    status = run_cli("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert "updated 1 (upgraded 1)" in status.stdout, status.stdout


def test_original_after_a_full_copy(
    site: Site, aggregator: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """A full copy naming the original by its canonical link only: upgraded to the original."""
    original = original_story()
    original_url = publish_original(site, original)
    copy, copy_url = copy_of(original, aggregator, "agg-full", keep=6, canonical=original_url)
    list_copies(aggregator, [copy])
    once(config, AGGREGATOR)
    once(config, ORIGIN)
    assert_original_found(redis_client, ns, site, original, [copy_url])


def test_copy_naming_its_original_in_text_only(
    site: Site, aggregator: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """ "This article originally appeared in Loopback Ledger", no canonical link: the page
    whose og:site_name is that outlet is the original."""
    original = original_story()
    publish_original(site, original)
    credit = f"This article originally appeared in {OUTLET}."
    copy, copy_url = copy_of(original, aggregator, "agg-credit", keep=4, credit=credit)
    list_copies(aggregator, [copy])
    once(config, AGGREGATOR)
    [(_e, first)] = events(redis_client, ns)
    assert first["original_source"] == OUTLET
    assert "original_url" not in first
    once(config, ORIGIN)
    updated = assert_original_found(redis_client, ns, site, original, [copy_url])
    assert updated["original_source"] == OUTLET


def test_two_copies_then_the_original(
    site: Site, aggregator: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """Two truncated copies are one story (the second is no fuller); the original is one
    update listing both copies."""
    original = original_story()
    original_url = publish_original(site, original)
    first, first_url = copy_of(original, aggregator, "agg-one", keep=4, canonical=original_url)
    second, second_url = copy_of(original, aggregator, "agg-two", keep=4, glued=1)
    list_copies(aggregator, [first])
    once(config, AGGREGATOR)
    list_copies(aggregator, [first, second])
    assert "new 0, duplicate 2" in once(config, AGGREGATOR)  # one known, one near-duplicate
    assert len(events(redis_client, ns)) == 1
    once(config, ORIGIN)
    assert_original_found(redis_client, ns, site, original, [first_url, second_url])


def test_original_first_then_copies_is_never_updated(
    site: Site, aggregator: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """The original emitted first stays: copies (naming it or not, even a full one) only
    grow its also_at."""
    original = original_story()
    original_url = publish_original(site, original)
    once(config, ORIGIN)
    named, named_url = copy_of(original, aggregator, "agg-named", keep=4, canonical=original_url)
    plain, plain_url = copy_of(original, aggregator, "agg-plain", keep=6, glued=2)
    list_copies(aggregator, [named, plain])
    assert "new 0, duplicate 2" in once(config, AGGREGATOR)
    [(event, doc)] = events(redis_client, ns)
    assert event == "story.created"
    assert doc["url"] == original_url
    assert sorted(record(redis_client, ns, doc["id"])["also_at"]) == sorted([named_url, plain_url])


def test_materially_fuller_copy_replaces_a_truncated_one(
    site: Site, aggregator: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """A half copy naming nobody, then a whole one naming nobody: fuller_copy, its text."""
    original = original_story()
    half, half_url = copy_of(original, aggregator, "agg-half", keep=3)
    list_copies(aggregator, [half])
    once(config, AGGREGATOR)
    site.add(original.path, aggregator_page(original, glued=[], canonical=site.url(original.path)))
    site.add("/feed.xml", rss([original], base(site)))
    assert "updated 1 (upgraded 1)" in once(config, ORIGIN)
    [(_c, first), (updated, second)] = events(redis_client, ns)
    assert updated == "story.updated"
    assert (second["id"], second["update_reason"]) == (first["id"], "fuller_copy")
    assert len(second["text"]) > 1.5 * len(first["text"])
    assert second["also_at"] == [half_url]


def test_webhooks_get_story_updated_with_the_same_id_scheme(
    site: Site,
    aggregator: Site,
    tmp_path: Path,
    redis_url: str,
    ns: str,
    redis_client: redis.Redis,
    receiver: Any,
) -> None:
    """An endpoint subscribed to both events gets the created copy, then the update with its
    reason and original; one subscribed to story.created only gets the first."""
    every, created_only = receiver(), receiver()
    hooks = [
        {"name": "all", "url": every.url, "secret": SECRET},
        {"name": "new", "url": created_only.url, "secret": SECRET, "events": ["story.created"]},
    ]
    config = make_config(tmp_path, redis_url, ns, site, aggregator, webhooks=hooks)
    original = original_story()
    original_url = publish_original(site, original)
    copy, _url = copy_of(original, aggregator, "agg-hook", keep=4, canonical=original_url)
    list_copies(aggregator, [copy])
    for source in (AGGREGATOR, ORIGIN):
        result = run_cli("once", "--config", str(config), "--wait", "5", "--source", source)
        assert result.returncode == 0, result.stderr
    ids = [entry_id for entry_id, _f in redis_client.xrange(f"{ns}:stories")]
    assert len(ids) == 2
    payloads = [standardwebhooks.Webhook(SECRET).verify(r.body, r.headers) for r in every.requests]
    assert [p["type"] for p in payloads] == ["story.created", "story.updated"]
    assert [r.headers["webhook-id"] for r in every.requests] == [
        webhook_id(ns, "all", sid) for sid in ids
    ]
    update = payloads[1]["data"]
    assert update["id"] == payloads[0]["data"]["id"]
    assert (update["url"], update["site"]) == (original_url, OUTLET)
    assert (update["update_reason"], update["original_url"]) == ("original_found", original_url)
    assert [r.headers["webhook-id"] for r in created_only.requests] == [
        webhook_id(ns, "new", ids[0])
    ]


def test_two_replicas_racing_on_an_original_and_its_copy(
    site: Site, aggregator: Site, config: Path, redis_client: redis.Redis, ns: str
) -> None:
    """Two `watcher once` at the same time, each polling both outlets: one story.created
    and at most one story.updated (which, if any, is the original)."""
    original = original_story()
    original_url = publish_original(site, original)
    credit = f"This article originally appeared in {OUTLET}."
    copy, _url = copy_of(
        original, aggregator, "agg-race", keep=4, canonical=original_url, credit=credit
    )
    list_copies(aggregator, [copy])
    with ThreadPoolExecutor(2) as pool:
        for out in pool.map(lambda _i: once(config, ORIGIN, AGGREGATOR), range(2)):
            assert "failed 0" in out, out
    emitted = events(redis_client, ns)
    kinds = [event for event, _doc in emitted]
    assert kinds.count("story.created") == 1, kinds
    assert kinds.count("story.updated") <= 1, kinds
    assert len({doc["id"] for _e, doc in emitted}) == 1
    assert emitted[-1][1]["url"] == original_url  # the latest version is the original


@pytest.mark.anyio
async def test_concurrent_upgrades_with_one_original_emit_once(redis_url: str, ns: str) -> None:
    """The store step under the race: two replicas upgrading with the same read record, one
    emits and the other is stale (compare-and-set on content_hash and version)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    stories = Stories(client, Keys(ns))
    copy = document("https://agg.test/a", "Meta delays Avocado.")
    await stories.record_story(copy, [copy.url], "story.created")
    better = document("https://news.test/a", "Meta delays Avocado, three people said.")
    better = replace(better, id=copy.id, update_reason="original_found")
    results = await asyncio.gather(
        *(
            stories.upgrade_story(
                better, [better.url], compared=(copy.content_hash, "0"), fields={}
            )
            for _ in range(2)
        )
    )
    stored = await stories.record(copy.id)
    await client.aclose()
    assert sorted(r.kind for r in results) == ["stale", "updated"]
    assert stored.url == better.url
    assert stored.also_at == (copy.url,)


# --- dedupe.settle: a copy naming another outlet waits for its original ---


def settle_config(
    tmp_path: Path, redis_url: str, ns: str, site: Site, agg: Site, settle: str
) -> Path:
    return make_config(tmp_path, redis_url, ns, site, agg, dedupe={"settle": settle})


def test_settle_emits_the_original_once_when_it_comes_in_time(
    site: Site, aggregator: Site, tmp_path: Path, redis_url: str, ns: str, redis_client: redis.Redis
) -> None:
    """With dedupe.settle, the copy is held (nothing on the stream); its original, polled
    within the window, is the single story.created, with the copy in also_at."""
    # the window only has to outlast one `watcher once`: 30 s did not under a loaded parallel run
    config = settle_config(tmp_path, redis_url, ns, site, aggregator, "10m")
    original = original_story()
    original_url = publish_original(site, original)
    copy, copy_url = copy_of(original, aggregator, "agg-wait", keep=4, canonical=original_url)
    list_copies(aggregator, [copy])
    assert "held 1" in once(config, AGGREGATOR)
    assert events(redis_client, ns) == []
    assert redis_client.zcard(f"{ns}:pending") == 1
    assert "new 1" in once(config, ORIGIN)
    [(event, doc)] = events(redis_client, ns)
    assert event == "story.created"
    assert "update_reason" not in doc
    assert (doc["url"], doc["original_url"], doc["site"]) == (original_url, original_url, OUTLET)
    assert doc["text"] == full_text(site, original)
    assert doc["also_at"] == [copy_url]
    assert redis_client.zcard(f"{ns}:pending") == 0
    once(config, ORIGIN, AGGREGATOR)
    assert len(events(redis_client, ns)) == 1


def test_settle_releases_a_held_copy_once_after_the_window(
    site: Site, aggregator: Site, tmp_path: Path, redis_url: str, ns: str, redis_client: redis.Redis
) -> None:
    """The process that held the copy exits (as if it died); after the window, the next
    polls (two at once) emit it once, as it is, from Redis."""
    config = settle_config(tmp_path, redis_url, ns, site, aggregator, "1s")
    original = original_story()
    credit = f"This article originally appeared in {OUTLET}."
    copy, copy_url = copy_of(original, aggregator, "agg-late", keep=4, credit=credit)
    list_copies(aggregator, [copy])
    site.add("/feed.xml", rss([], base(site)))
    assert "held 1" in once(config, AGGREGATOR)
    assert events(redis_client, ns) == []
    time.sleep(1.5)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _i: once(config, ORIGIN), range(2)))
    [(event, doc)] = events(redis_client, ns)
    assert (event, doc["url"], doc["original_source"]) == ("story.created", copy_url, OUTLET)
    assert redis_client.zcard(f"{ns}:pending") == 0
    once(config, ORIGIN, AGGREGATOR)
    assert len(events(redis_client, ns)) == 1
