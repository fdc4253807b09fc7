"""Topic matching: words and phrases, case-insensitive, on word boundaries."""

from __future__ import annotations

import pytest

from watcher.config import Topic
from watcher.topics import compile_topics, match_topics

TOPICS = compile_topics(
    [
        Topic.model_validate(
            {
                "name": "meta-ai",
                "any": ["Meta", "Llama", "Mark Zuckerberg"],
                "none": ["Metaverse real estate"],
            }
        ),
        Topic.model_validate({"name": "cpp", "any": ["C++"]}),
    ]
)


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Meta ships a model", "", ["meta-ai"]),
        (None, "the llama 4 family underperformed", ["meta-ai"]),
        (None, "Metadata is not Meta", ["meta-ai"]),
        (None, "Metadata and metaphors", []),
        (None, "said Mark\nZuckerberg today", ["meta-ai"]),
        (None, "Meta sells Metaverse Real Estate", []),
        (None, "written in C++ today", ["cpp"]),
        (None, "nothing relevant", []),
    ],
    ids=[
        "title",
        "case",
        "word-boundary-hit",
        "word-boundary-miss",
        "phrase-across-newline",
        "none-wins",
        "punctuation",
        "none",
    ],
)
def test_match_topics_table(title: str | None, text: str, expected: list[str]) -> None:
    """A topic matches when any phrase appears as whole words and no 'none' phrase does."""
    assert match_topics(title, text, TOPICS) == expected
