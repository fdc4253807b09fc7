"""One normalization for the three prints: ``text_words`` gives exactly what the content hash,
the near-duplicate shingles and the sentence prints computed when each normalized the text
itself (those values are stored in Redis, so they must never change). The references below
are the code as it was before the shared pass."""

from __future__ import annotations

import hashlib
import heapq
import re
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.dedupe import content_hash, content_hash_of, normalize, text_words
from watcher.neardup import (
    _MIX,
    QUERY_SIZE,
    SHINGLE_WORDS,
    _word_hash,
    line_shingles,
    shingles_of,
    sketch_of,
)
from watcher.updates import Unit, unit_prints

_MASK64 = (1 << 64) - 1
OLD_LINES = re.compile(r"(?<!\s)\s*\n\s*")
OLD_SENTENCES = re.compile(r"(?<=[.!?…])\s+|(?<!\s)\s*\n\s*")


def _old_window_hashes(words: list[int], out: set[int]) -> None:
    a, b, c, d, e = _MIX
    streams = (words, words[1:], words[2:], words[3:], words[4:])
    for v, w, x, y, z in zip(*streams, strict=False):
        h = (v * a + w * b + x * c + y * d + z * e) & _MASK64
        out.add(((h ^ (h >> 29)) * a) & _MASK64)


def old_line_shingles(text: str) -> list[set[int]]:
    out: list[set[int]] = []
    for line in OLD_LINES.split(text):
        hashes: set[int] = set()
        _old_window_hashes([_word_hash(w) for w in normalize(line).split()], hashes)
        if hashes:
            out.append(hashes)
    if not out:
        words = [_word_hash(w) for w in normalize(text).split()]
        if words:
            hashes = set()
            padded = (words + [0] * SHINGLE_WORDS)[: max(len(words), SHINGLE_WORDS)]
            _old_window_hashes(padded, hashes)
            out.append(hashes)
    return out


def _old_hash(words: tuple[str, ...], size: int) -> int:
    digest = hashlib.blake2b(" ".join(words).encode(), digest_size=size).digest()
    return int.from_bytes(digest, "big")


def _old_masked(unit: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("#" if word.isdigit() else word for word in unit)


def old_unit_prints(text: str) -> frozenset[Unit]:
    units = [tuple(normalize(u).split()) for u in OLD_SENTENCES.split(text)]
    return frozenset(
        Unit(_old_hash(u, 4), _old_hash(_old_masked(u), 3), min(len(u), 255)) for u in units if u
    )


def old_content_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(normalize(text).encode()).hexdigest()


# Whitespace of every kind, sentence ends, marks that combine, characters NFKC expands (into
# spaces too: U+00A8, U+FDFA), casefold expansions (ß), digits, and word characters.
SPACES = [" ", "  ", "\n", "\n\n", " \n ", "\t", "\r", "\u00a0", "\u2028", "\u3000", "\x1c", "\x85"]
PUNCTUATION = [".", "!", "?", "…", ",", "-", "'", "\u201c"]
MARKS = [
    "\u0301",
    "\u0308",
    "\u00a8",
    "\ufdfa",
    "\ufb01",
    "\u2460",
    "ß",
    "İ",
    "e\u0301",
    "\u1100\u1161",
]
# Digits beyond ASCII too: "\u0663" (Arabic-Indic three) is a digit word, "²" one after NFKC.
WORDS = ["1", "2024", "10:32", "x2", "\u0663", "²", "word", "Story", "the", "a", "b", "c", "d", "e"]
PIECES = st.sampled_from([*SPACES, *PUNCTUATION, *MARKS, *WORDS])
TEXTS = st.lists(PIECES, max_size=60).map("".join)
EXAMPLES = settings(max_examples=400, deadline=timedelta(seconds=2), database=None)

STORY = (
    "Meta delays the release of Avocado, its next model.\n\nThe company said on Tuesday that"
    " testing took longer than planned. “We want it right,” a spokesperson said… Updated"
    " 10:32 am.\n- first point of a list\n- second point of the same list\n\nÉtude: naïve café"
    " ﬁnances in 2024!"
)


def _assert_same(text: str) -> None:
    words = text_words(text)
    assert words.normalized() == normalize(text)
    assert content_hash_of(words) == content_hash(text) == old_content_hash(text)
    assert unit_prints(text) == old_unit_prints(text)
    old = old_line_shingles(text)
    assert line_shingles(text) == old
    shingles = shingles_of(text)
    assert shingles.lines == tuple(frozenset(heapq.nsmallest(QUERY_SIZE, line)) for line in old)
    assert shingles.query == sketch_of(set().union(*old), QUERY_SIZE)


@EXAMPLES
@given(TEXTS)
def test_words_give_the_prints_each_function_gave(text: str) -> None:
    _assert_same(text)


def test_words_give_the_prints_of_a_story_and_of_short_texts() -> None:
    """A real-looking story (several lines, sentences, lists), and texts whose every line is
    under five words (shingled whole, padded), or empty."""
    for text in (STORY, STORY * 30, "Meta delays Avocado", "a\nb c\nd e f", "  ", ""):
        _assert_same(text)
