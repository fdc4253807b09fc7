"""Message templates and digests: safe substitution, config errors, grouping by topic."""

from __future__ import annotations

from datetime import datetime

import pytest

from watcher import template
from watcher.config import MessageTemplate, parse_config
from watcher.errors import ConfigError
from watcher.webhooks.digest import DIGEST_SEQ, digest_id, period_of
from watcher.webhooks.message import digest_message, group_by_topic, story_message

SOURCES = [{"name": "s", "type": "feed", "url": "https://a.test/f"}]
STORY = {
    "id": "1",
    "url": "https://news.test/a",
    "title": "Llama 5",
    "site": "news.test",
    "source": "tech",
    "topics": ["meta-ai"],
    "excerpt": "Meta said.",
}


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("$title ($outlet)", []),
        ("${title}s", []),
        ("$$5 $title", []),
        ("$secret", ["unknown placeholder $secret"]),
        ("{title.__class__}", []),  # braces are plain text: no attribute access
        ("$", ["has a malformed placeholder"]),
    ],
    ids=["fields", "braced", "dollar", "unknown", "no-format-spec", "malformed"],
)
def test_template_problems_name_the_placeholder(text: str, wanted: list[str]) -> None:
    """Only the fixed story fields are placeholders; anything else is named as a problem."""
    found = template.problems(text, template.STORY_FIELDS)
    assert [f.split(" (")[0] for f in found] == wanted


def test_unknown_placeholder_is_a_config_problem_at_its_key() -> None:
    """`watcher check` names notify[0].template.title for a placeholder that does not exist."""
    tree = {
        "sources": SOURCES,
        "notify": [{"name": "n", "url": "json://h.test/", "template": {"title": "$x"}}],
    }
    with pytest.raises(ConfigError) as info:
        parse_config(tree, {})
    assert [p.path for p in info.value.problems] == ["notify[0].template.title"]


def test_story_message_fills_the_user_template() -> None:
    """Title and body come from the template with the story's fields; braces stay literal."""
    texts = MessageTemplate(title="[$outlet] $title {title}", body="$link")
    message = story_message(texts, "story.updated", STORY)
    assert message.title == "[news.test] Llama 5 {title}"
    assert message.body == "https://news.test/a"


def test_digest_lists_stories_under_each_topic_other_last() -> None:
    """A story in two topics appears under both; stories without a topic come last."""
    stories = [
        dict(STORY, id="1", title="A", topics=["meta-ai", "chips"]),
        dict(STORY, id="2", title="B", topics=[]),
        dict(STORY, id="3", title="C", topics=["chips"]),
    ]
    groups = group_by_topic(stories)
    assert [(g.topic, [s["title"] for s in g.stories]) for g in groups] == [
        ("chips", ["A", "C"]),
        ("meta-ai", ["A"]),
        ("other", ["B"]),
    ]
    data = {"period_start": "T0", "period_end": "T1", "stories": stories}
    message = digest_message(MessageTemplate(), data)
    assert message.title == "3 stories (T0 to T1)"
    assert message.body.splitlines()[:3] == [
        "chips (2)",
        "- A (news.test) https://news.test/a",
        "- C (news.test) https://news.test/a",
    ]


@pytest.mark.parametrize(
    ("now", "every", "start", "end"),
    [
        (
            "2026-12-02T10:59:59+00:00",
            3600,
            "2026-12-02T10:00:00+00:00",
            "2026-12-02T11:00:00+00:00",
        ),
        (
            "2026-12-02T11:00:00+00:00",
            3600,
            "2026-12-02T11:00:00+00:00",
            "2026-12-02T12:00:00+00:00",
        ),
        (
            "2026-12-02T23:30:00+00:00",
            86400,
            "2026-12-02T00:00:00+00:00",
            "2026-12-03T00:00:00+00:00",
        ),
    ],
    ids=["end-excluded", "start-included", "day-at-midnight-utc"],
)
def test_digest_periods_are_aligned_to_the_clock(
    now: str, every: float, start: str, end: str
) -> None:
    """Every replica and restart computes the same period for the same moment."""
    period = period_of(datetime.fromisoformat(now), every)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)
    assert digest_id(period) == f"{period.end_ms}-{DIGEST_SEQ}"  # never a stream entry's id
