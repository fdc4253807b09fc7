"""[emit] The words a story is found by (``/api/stories?q=``): title and text → index words.

Pure. One linear scan (a single repeated character class: nothing to backtrack), casefolded,
bounded per story so the inverted index in Redis (``store/search.py``) grows with the number
of stories, not with their length. The query is tokenized by the same function, so both
sides agree on a word.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

# Distinct words indexed per story: the title and the lead. Each costs ~100 bytes of Redis
# (a sorted-set member), so 100 keep a story's index near 11 KiB (bench/dashboard.py).
MAX_WORDS = 100
MAX_QUERY_WORDS = 8  # words of one q (all must match); more is not a search, it is a paste
MIN_CHARS = 2  # "AI" is a word worth finding; one letter is not
MAX_CHARS = 40  # longer runs are URLs, hashes or glued text, not words anyone types
SCAN_CHARS = 200_000  # the text scanned for words at most; MAX_WORDS are found long before

# Python's re, not RE2: one character class repeated cannot backtrack (every character is
# looked at once), and RE2's Python wrapper costs ~30 µs a match, 10x the whole scan here.
_WORD = re.compile(r"[^\W_]+")
# Words in nearly every English story: indexing them costs the most and finds nothing.
STOPWORDS = frozenset(
    (
        *("a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has"),
        *("have", "he", "her", "his", "in", "is", "it", "its", "of", "on", "or", "our"),
        *("she", "that", "the", "their", "them", "they", "this", "to", "was", "we", "were"),
        *("will", "with", "you"),
    )
)


MAX_TOPICS = 50  # topics indexed per story (a config has a handful)


@dataclass(frozen=True, slots=True)
class Indexed:
    """What the index keeps of one stream entry: the story in brief and its words."""

    stream_id: str
    event: str
    story_id: str
    source: str
    topics: tuple[str, ...]
    brief: tuple[tuple[str, str], ...]  # (field, value) for the listing: title, site, url...
    words: tuple[str, ...]


BRIEF_FIELDS = (
    *("title", "url", "site", "source", "published_at", "fetched_at", "excerpt"),
    *("update_reason", "original_source"),
)


def indexed_entry(stream_id: str, event: str, data: str) -> Indexed | None:
    """A ``stories`` stream entry → what the index keeps; None for an entry that is not a
    story document (someone else's XADD), which the index skips."""
    try:
        doc = json.loads(data)
        story_id, source = str(doc["id"]), str(doc.get("source") or "")
        topics = tuple(str(t) for t in (doc.get("topics") or [])[:MAX_TOPICS])
        text = str(doc.get("text") or "")
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    brief = tuple((f, str(doc[f])) for f in BRIEF_FIELDS if doc.get(f) not in (None, ""))
    brief += (("topics", json.dumps(list(topics), ensure_ascii=False)),)
    title = doc.get("title") if isinstance(doc.get("title"), str) else None
    return Indexed(stream_id, event, story_id, source, topics, brief, words_of(title, text))


def words_of(title: str | None, text: str, limit: int = MAX_WORDS) -> tuple[str, ...]:
    """The distinct index words of a story, title first, at most ``limit``."""
    found: dict[str, None] = {}
    for part in (title or "", text[:SCAN_CHARS]):
        for word in _scan(part):
            found.setdefault(word)
            if len(found) >= limit:
                return tuple(found)
    return tuple(found)


def query_words(q: str) -> tuple[str, ...]:
    """The words of a search, as the index spells them (stopwords dropped), at most
    ``MAX_QUERY_WORDS``: a story matches when it has every one."""
    return words_of(None, q[: MAX_QUERY_WORDS * (MAX_CHARS + 1)], limit=MAX_QUERY_WORDS)


def _scan(text: str) -> Iterator[str]:
    """The words of ``text``, lazily: a caller that has enough stops the scan."""
    for match in _WORD.finditer(text.casefold()):
        word = match.group()
        if MIN_CHARS <= len(word) <= MAX_CHARS and word not in STOPWORDS:
            yield word
