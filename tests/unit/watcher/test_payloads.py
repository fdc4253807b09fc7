"""Webhook bodies: SPEC's standard JSON, readable Slack and Discord messages, endpoint filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from watcher.store.deliveries import Delivery, stream_time
from watcher.webhooks.payloads import (
    DATA_FIELDS,
    DISCORD_TITLE,
    MAX_TITLE,
    event_data,
    is_wanted,
    render,
)

DOC = {
    "id": "s1",
    "url": "https://news.test/a?id=1",
    "canonical_url": "https://news.test/a",
    "source": "tech",
    "site": "news.test",
    "title": "Meta <delays> Avocado & more",
    "author": "A. Writer",
    "published_at": "2026-11-20T08:00:00+00:00",
    "fetched_at": "2026-11-23T00:00:00+00:00",
    "language": "en",
    "text": "Full text that must not be sent.",
    "excerpt": "Meta delayed its model.",
    "topics": ["meta-ai"],
    "content_hash": "sha256:00",
    "also_at": [],
}
WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def body_of(fmt: Any, doc: dict[str, Any] = DOC, event: str = "story.created") -> Any:
    return json.loads(render(fmt, event, event_data(doc), WHEN))


def test_event_data_has_exactly_specs_fields() -> None:
    """The webhook data carries SPEC's eight fields and nothing else (no full text)."""
    data = event_data(DOC)
    assert tuple(data) == DATA_FIELDS
    assert data["title"] == DOC["title"]
    assert data["topics"] == ["meta-ai"]


@pytest.mark.parametrize(
    ("override", "field", "expected"),
    [
        ({"title": None}, "title", None),
        ({"published_at": None}, "published_at", None),
        ({"topics": None}, "topics", []),
        ({"title": "x" * 5000}, "title", "x" * (MAX_TITLE - 1) + "\u2026"),
    ],
    ids=["no-title", "no-date", "no-topics", "long-title-bounded"],
)
def test_event_data_handles_missing_and_oversized_fields(
    override: dict[str, Any], field: str, expected: Any
) -> None:
    """Missing fields become null or empty; an oversized one is cut, so bodies stay bounded."""
    assert event_data({**DOC, **override})[field] == expected


def test_standard_body_is_specs_shape() -> None:
    """The standard body is {type, timestamp, data} with the event's ISO timestamp."""
    assert body_of("standard") == {
        "type": "story.created",
        "timestamp": "2026-11-23T12:00:00+00:00",
        "data": event_data(DOC),
    }


def test_slack_message_is_readable_and_escaped() -> None:
    """Slack gets a linked title, the outlet, the excerpt, and Slack's control chars escaped."""
    message = body_of("slack")
    first = message["blocks"][0]["text"]["text"]
    assert "<https://news.test/a?id=1|Meta &lt;delays&gt; Avocado &amp; more>" in first
    assert "news.test" in first
    assert message["blocks"][1]["text"]["text"] == "Meta delayed its model."
    assert "meta-ai" in message["blocks"][2]["elements"][0]["text"]
    assert message["text"].startswith("New story: Meta &lt;delays&gt;")


def test_slack_link_cannot_be_broken_by_the_url() -> None:
    """A pipe or angle bracket in the URL is percent-encoded, so the link stays one link."""
    message = body_of("slack", {**DOC, "url": "https://x.test/a|b>c"})
    assert "<https://x.test/a%7Cb%3Ec|" in message["blocks"][0]["text"]["text"]


def test_discord_message_is_readable_and_mentions_are_off() -> None:
    """Discord gets an embed (title links to the story, outlet, excerpt) and pings nobody."""
    message = body_of("discord", {**DOC, "title": "@everyone *read* this"})
    embed = message["embeds"][0]
    assert embed["title"] == "@everyone *read* this"
    assert embed["url"] == DOC["url"]
    assert embed["description"] == "Meta delayed its model."
    assert embed["author"] == {"name": "news.test"}
    assert embed["timestamp"] == "2026-11-20T08:00:00+00:00"
    assert message["allowed_mentions"] == {"parse": []}
    assert "\\*read\\*" in message["content"]


@pytest.mark.parametrize(
    ("published_at", "timestamp"),
    [
        ("2026-11-20T08:00:00", "2026-11-20T08:00:00+00:00"),
        ("yesterday", None),
        (None, None),
    ],
    ids=["naive-is-utc", "unparseable-left-out", "absent"],
)
def test_discord_embed_timestamp_only_when_valid(
    published_at: str | None, timestamp: str | None
) -> None:
    """Discord rejects a bad embed timestamp, so only a valid ISO date is sent."""
    embed = body_of("discord", {**DOC, "published_at": published_at})["embeds"][0]
    assert embed.get("timestamp") == timestamp


def test_discord_title_respects_embed_limit() -> None:
    """A title over Discord's 256-character embed limit is cut, not rejected by Discord."""
    embed = body_of("discord", {**DOC, "title": "y" * 400})["embeds"][0]
    assert len(embed["title"]) == DISCORD_TITLE


@pytest.mark.parametrize("fmt", ["slack", "discord"])
def test_readable_formats_fall_back_to_url_without_title(fmt: str) -> None:
    """A story without a title is still readable: the URL stands in for it."""
    assert DOC["url"] in json.dumps(body_of(fmt, {**DOC, "title": None}))


@pytest.mark.parametrize("fmt", ["slack", "discord"])
def test_readable_formats_say_updated(fmt: str) -> None:
    """A story.updated event reads "Updated story", not "New story"."""
    assert "Updated story" in json.dumps(body_of(fmt, event="story.updated"))


@pytest.mark.parametrize(
    ("event", "topics", "events", "wanted", "expected"),
    [
        ("story.created", ["a"], [], [], True),
        ("story.created", ["a", "b"], [], ["b"], True),
        ("story.created", ["a"], [], ["b"], False),
        ("story.created", [], [], ["b"], False),
        ("story.updated", ["a"], ["story.created"], [], False),
        ("story.created", ["a"], ["story.created"], ["a"], True),
    ],
    ids=["no-filters", "topic-overlap", "topic-miss", "untagged-story", "event-miss", "both"],
)
def test_is_wanted(
    event: str, topics: list[str], events: list[str], wanted: list[str], expected: bool
) -> None:
    """An endpoint gets an event when its events and topics filters (if any) both match."""
    assert is_wanted(event, topics, events=events, wanted=wanted) is expected


@pytest.mark.parametrize(
    ("stream_id", "moment"),
    [
        ("1700000000000-0", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("1700000000123-7", datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)),
    ],
    ids=["whole-second", "millis-and-sequence"],
)
def test_stream_time_reads_the_id(stream_id: str, moment: datetime) -> None:
    """An entry's time is the millisecond timestamp in its stream id."""
    assert stream_time(stream_id) == moment
    assert Delivery(stream_id, "story.created", {}).occurred_at == moment
