"""[dedupe] Pure story identity: normalized text, content hash, stable id, URL key.

``text_words`` normalizes a text once, line by line and sentence by sentence, for the three
prints a worker computes of every final text (``content_hash_of``, the near-duplicate
shingles, the sentence prints): each used to normalize the whole text again.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

_NON_WORD = re.compile(r"[^\w]+")
# ``normalize``'s words without the joining and splitting again: the runs of \w (whitespace is
# never \w, so ``_NON_WORD.sub(" ", x).split()`` is exactly these runs)
_WORD = re.compile(r"\w+")
# Line and sentence breaks. ``(?<!\s)``: a break starts where its whitespace run starts (the
# leftmost match always did); without it every position of a long run of spaces rescanned the
# rest of the run looking for a newline, quadratic in the run.
LINE_BREAK = re.compile(r"(?<!\s)\s*\n\s*")
SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|(?<!\s)\s*\n\s*")
_IN_LINE = re.compile(r"(?<=[.!?…])\s+")  # SENTENCE_BREAK where no newline is left


def normalize(text: str) -> str:
    """Case-, accent-form-, punctuation- and whitespace-insensitive form of a body.

    Two fetches of one article differ in quotes (curly vs straight), spacing and case of a
    headline-styled line; none of that makes a different story.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", folded).split())


def content_hash(text: str) -> str:
    """``sha256:<hex>`` of the normalized text (SPEC's ``content_hash``)."""
    return "sha256:" + hashlib.sha256(normalize(text).encode()).hexdigest()


Sentence = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TextWords:
    """A text's normalized words: ``lines`` (split at ``LINE_BREAK``) of sentences (split at
    ``SENTENCE_BREAK``), each the words of ``normalize(sentence)``; sentences without words
    are left out, lines without any stay (empty).

    Every break is a run of whitespace, and normalizing never joins across one (NFKC
    composes a starter with the marks after it; whitespace is never one of those), so the
    words of a line are its sentences' words and ``normalize(text)`` is all of them joined:
    ``tests/unit/watcher/test_text_words.py`` checks this against the per-piece functions.
    """

    lines: tuple[tuple[Sentence, ...], ...]

    def sentences(self) -> Iterator[Sentence]:
        """Every sentence with words, in order: ``SENTENCE_BREAK`` pieces of the text."""
        for line in self.lines:
            yield from line

    def line_words(self) -> list[list[str]]:
        """Each line's words: ``normalize(line).split()`` of each ``LINE_BREAK`` piece."""
        return [[word for sentence in line for word in sentence] for line in self.lines]

    def normalized(self) -> str:
        """``normalize`` of the whole text."""
        return " ".join(" ".join(sentence) for sentence in self.sentences())


def text_words(text: str) -> TextWords:
    """``text`` normalized once, by line and by sentence (see ``TextWords``)."""
    lines = []
    for line in LINE_BREAK.split(text):
        sentences = []
        for piece in _IN_LINE.split(line):
            words = tuple(_WORD.findall(unicodedata.normalize("NFKC", piece).casefold()))
            if words:
                sentences.append(words)
        lines.append(tuple(sentences))
    return TextWords(tuple(lines))


def content_hash_of(words: TextWords) -> str:
    """``content_hash`` of the text ``words`` came from."""
    return "sha256:" + hashlib.sha256(words.normalized().encode()).hexdigest()


def url_key(url: str) -> str:
    """A short fixed-size digest of a canonical URL, for Redis key names."""
    return hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()


def story_id(canonical_url: str) -> str:
    """Stable id of a story: the same canonical URL always gives the same id."""
    return hashlib.sha256(canonical_url.encode()).hexdigest()[:24]
