"""Topic matching: ``any`` / ``none`` words and phrases, case-insensitive, on word boundaries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.config import Topic


@dataclass(frozen=True, slots=True)
class CompiledTopic:
    name: str
    any_of: re.Pattern[str]
    none_of: re.Pattern[str] | None


def _phrase_pattern(phrases: Sequence[str]) -> re.Pattern[str]:
    # \s+ between words so "Mark  Zuckerberg" and a line break inside a phrase still match;
    # lookarounds rather than \b so phrases that start or end in punctuation ("C++") work.
    parts = [r"\s+".join(re.escape(word) for word in p.split()) for p in phrases if p.strip()]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def compile_topics(topics: Sequence[Topic]) -> list[CompiledTopic]:
    """Compile once per config; matching then costs one regex scan per topic."""
    return [
        CompiledTopic(
            name=t.name,
            any_of=_phrase_pattern(t.any_of),
            none_of=_phrase_pattern(t.none_of) if t.none_of else None,
        )
        for t in topics
    ]


def match_topics(title: str | None, text: str, topics: Sequence[CompiledTopic]) -> list[str]:
    """Names of the topics whose ``any`` matches title or text and whose ``none`` does not."""
    haystack = f"{title or ''}\n{text}"
    return [
        t.name
        for t in topics
        if t.any_of.search(haystack) and not (t.none_of and t.none_of.search(haystack))
    ]


def is_filtered(wanted: Sequence[str], matched: Sequence[str]) -> bool:
    """Whether a source's ``topics:`` filter (``wanted``) drops a story that matched
    ``matched``: no filter keeps every story, a filter keeps one matching any of its topics.
    The poll and ``watcher preview`` both ask this, so a preview says what a poll does."""
    return bool(wanted) and not set(matched) & set(wanted)
