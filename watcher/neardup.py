"""[dedupe] Pure near-duplicate arithmetic: shingles, bottom-k sketches, containment, verdicts.

Why bottom-k and not banded MinHash or SimHash (measured in ``bench/dedupe.py``):

- An aggregator copy often carries only the first 30-70 % of a story, under a new headline.
  Symmetric similarity (Jaccard, SimHash's Hamming distance) of such a copy to the original is
  0.3-0.7, the same range as two different stories that share a paragraph. What separates
  them is *containment*: how much of the copy lies inside the original.
- A bottom-k sketch (the k smallest shingle hashes of a text) is a uniform sample of the
  text's shingles *below a threshold*. Below the smaller of two thresholds both sketches are
  complete, so the shared anchors estimate containment in either direction, without storing
  the text. Every anchor of the original that lies inside a truncated copy is also among the
  copy's own smallest hashes, so the same anchors find the candidates (the "LSH" step) and
  verify them: no second sketch is stored.
- Memory is k anchors of a few bytes each, whatever the story's length.

Nothing here touches Redis, the network, the clock or randomness: ``watcher.store.fingerprints``
keeps the anchors in Redis and calls these functions with what it read back.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import math
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from watcher.dedupe import TextWords, text_words

SHINGLE_WORDS = 5  # 4-word shingles matched more stock phrases between different stories
SKETCH_SIZE = 40  # anchors stored per story: 40 x 6 bytes keeps a story under 400 B in Redis
QUERY_SIZE = 80  # anchors a lookup probes: more than stored, so a copy longer than its
#                  original (glued extra paragraphs) still probes every anchor below t_o
MIN_SHARED = 4  # fewer shared anchors than this is a quote or a stock phrase, never a story
CONTAINED = 0.35  # a copy this much inside the other story is that story: a truncated copy
#                   under a new headline and wrapper lines still scores 0.4-0.6; a shared
#                   paragraph up to a third of either story scores below 0.3
CONFIDENCE_Z = 0.5  # containment is a Wilson lower bound: 3 of 4 sampled anchors is not 0.75
RESEMBLANCE = 0.5  # symmetric Jaccard at which two full texts are the same story

_MASK64 = (1 << 64) - 1
MAX_HASH = _MASK64
_MIX = (  # odd 64-bit constants (golden ratio, murmur3 and xxhash primes) mixing word hashes
    0x9E3779B97F4A7C15,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0xD6E8FEB86659FD93,
    0xFF51AFD7ED558CCD,
)
_SHIFT = 29

if TYPE_CHECKING:  # numpy is imported where shingles are computed, in the workers: the
    import numpy as np  # daemon's own process looks anchors up and never loads it

Kind = Literal["near_duplicate", "contained"]


@dataclass(frozen=True, slots=True)
class Sketch:
    """A text's ``k`` smallest distinct shingle hashes (ascending) and its shingle count."""

    anchors: tuple[int, ...]
    size: int
    k: int = SKETCH_SIZE

    @property
    def threshold(self) -> int:
        """Every shingle hash of the text up to this value is in ``anchors``."""
        return self.anchors[-1] if len(self.anchors) >= self.k else MAX_HASH


@dataclass(frozen=True, slots=True)
class Overlap:
    """Shared anchors of a query and a candidate, counted where both samples are complete."""

    shared: int
    query_sampled: int
    candidate_sampled: float

    @property
    def query_contained(self) -> float:
        """Estimated share of the query's shingles that are in the candidate."""
        return self.shared / self.query_sampled if self.query_sampled else 0.0

    @property
    def candidate_contained(self) -> float:
        """Estimated share of the candidate's shingles that are in the query."""
        return min(1.0, self.shared / self.candidate_sampled) if self.candidate_sampled else 0.0

    @property
    def contained(self) -> float:
        """The larger containment, each a lower confidence bound given its sample size."""
        return max(
            wilson_lower(self.shared, self.query_sampled),
            wilson_lower(self.shared, self.candidate_sampled),
        )

    @property
    def resemblance(self) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        union = self.query_sampled + self.candidate_sampled - self.shared
        return self.shared / union if union > 0 else 0.0


def wilson_lower(hits: float, trials: float, z: float = CONFIDENCE_Z) -> float:
    """Wilson score lower bound of a proportion: small samples do not reach a threshold by luck."""
    if trials <= 0:
        return 0.0
    p = min(1.0, hits / trials)
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / (1 + z * z / trials)


@functools.lru_cache(maxsize=1 << 17)
def _word_hash(word: str) -> int:
    """A stable 64-bit hash of a word (memoized: news vocabulary repeats)."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _window_hashes(words: list[int], line_of: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every ``SHINGLE_WORDS``-word window that lies within one line, and the
    line it lies in, for the whole text at once (numpy's uint64 arithmetic wraps as ``&
    _MASK64`` did: the same hashes as the per-window loop this replaced)."""
    import numpy as np

    if len(words) < SHINGLE_WORDS:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    w = np.array(words, dtype=np.uint64)
    lines = np.array(line_of, dtype=np.int64)
    a, b, c, d, e = (np.uint64(m) for m in _MIX)
    n = len(w) - SHINGLE_WORDS + 1
    h = w[:n] * a + w[1 : n + 1] * b + w[2 : n + 2] * c + w[3 : n + 3] * d + w[4 : n + 4] * e
    h = (h ^ (h >> np.uint64(_SHIFT))) * a
    inside = lines[:n] == lines[SHINGLE_WORDS - 1 :]
    return h[inside], lines[:n][inside]


def _by_line(words: TextWords) -> list[np.ndarray]:
    """Each line's distinct window hashes, ascending; lines without any are left out. When
    no line has ``SHINGLE_WORDS`` words, the whole text is one line, padded with zeros."""
    import numpy as np

    hashes: list[int] = []
    line_of: list[int] = []
    for n, line in enumerate(words.line_words()):
        hashes += [_word_hash(w) for w in line]
        line_of += [n] * len(line)
    window, line_no = _window_hashes(hashes, line_of)
    if not len(window):
        if not hashes:
            return []
        padded = (hashes + [0] * SHINGLE_WORDS)[: max(len(hashes), SHINGLE_WORDS)]
        window, line_no = _window_hashes(padded, [0] * len(padded))
    order = np.lexsort((window, line_no))
    window, line_no = window[order], line_no[order]
    new_line = np.empty(len(window), dtype=bool)
    new_line[0] = True
    new_line[1:] = line_no[1:] != line_no[:-1]
    distinct = new_line.copy()
    distinct[1:] |= window[1:] != window[:-1]
    window, new_line = window[distinct], new_line[distinct]
    return np.split(window, np.flatnonzero(new_line)[1:])


def shingle_hashes(text: str) -> set[int]:
    """64-bit hashes of the text's word 5-grams, taken line by line.

    Lines are shingled separately so that reordering paragraphs, or a headline and a byline
    glued above the body, adds no shingles that span two unrelated lines. Lines of fewer
    than five words (bylines, captions, "Updated 3 min ago") add nothing unless the whole
    text is that short.
    """
    return set().union(*line_shingles(text))


def line_shingles(text: str) -> list[set[int]]:
    """``shingle_hashes`` per line, so a lookup can drop lines it finds to be boilerplate."""
    return [set(line.tolist()) for line in _by_line(text_words(text))]


def boilerplate_lines(
    lines: Sequence[AbstractSet[int]], query: Sketch, common: frozenset[int]
) -> set[int]:
    """Lines of a text that the index says recur across stories: boilerplate, not story.

    ``common`` anchors are held by many indexed stories. Only the smallest hashes of a
    boilerplate line are held by every story carrying it (a story keeps a hash only below
    its own threshold), so a line's other anchors look rare: one long story whose text is
    half site boilerplate would then look "contained" in every other story with that
    boilerplate. So a line is dropped whole when its *two smallest* anchors are common, the
    ones most stories carrying the line keep, or when most of its sampled anchors are. One
    stock phrase inside a story's own line ("did not respond to a request") is common too,
    and may even be the line's smallest hash, but it rarely holds the two smallest.
    """
    sampled_all = set(query.anchors)
    out = set()
    for i, line in enumerate(lines):
        sampled = sampled_all.intersection(line)
        hits = sampled & common
        if not hits:
            continue
        if hits.issuperset(heapq.nsmallest(2, sampled)) or 2 * len(hits) >= len(sampled):
            out.add(i)
    return out


def sketch_of(hashes: set[int], k: int = SKETCH_SIZE) -> Sketch:
    """The bottom-``k`` sketch of a set of shingle hashes."""
    return Sketch(tuple(heapq.nsmallest(k, hashes)), len(hashes), k)


def sketch(text: str, k: int = SKETCH_SIZE) -> Sketch:
    """The bottom-``k`` sketch of a text."""
    return sketch_of(shingle_hashes(text), k)


def overlap(
    query: Sketch,
    *,
    candidate_threshold: int,
    candidate_count: int,
    hits: int,
    ignored: frozenset[int] = frozenset(),
    candidate_ignored: int = 0,
) -> Overlap:
    """Count shared anchors where both samples are complete (below the lower threshold).

    ``hits`` are the query anchors found among the candidate's (all below both thresholds,
    since they are in both sketches). ``ignored`` anchors (boilerplate seen in many stories)
    count on neither side; ``candidate_ignored`` of them were the candidate's. When the
    query's threshold is the lower one, the candidate's anchors below it are estimated from
    the spacing of its anchors, since a lookup does not read them back.
    """
    limit = min(candidate_threshold, query.threshold)
    query_sampled = sum(1 for a in query.anchors if a <= limit and a not in ignored)
    if candidate_threshold <= query.threshold:
        candidate_sampled = float(candidate_count)
    else:
        candidate_sampled = candidate_count * limit / candidate_threshold
    candidate_sampled = max(candidate_sampled - candidate_ignored, float(hits))
    return Overlap(hits, query_sampled, candidate_sampled)


def compare(query: Sketch, candidate: Sketch) -> Overlap:
    """Overlap of two sketches held in memory (tests, the bench's in-memory pass)."""
    hits = len(set(query.anchors) & set(candidate.anchors))
    return overlap(
        query,
        candidate_threshold=candidate.threshold,
        candidate_count=len(candidate.anchors),
        hits=hits,
    )


def judge(found: Overlap) -> Kind | None:
    """Whether the query is the candidate's story: a near duplicate, a contained copy, or not.

    1 fewer than ``MIN_SHARED`` shared anchors is never a story: a quote or a stock phrase
    yields a few. 2 resembling texts (Jaccard ≥ ``RESEMBLANCE``) are near duplicates.
    3 one text largely inside the other (a truncated copy inside its original, or the original
    around an earlier truncated copy) is a contained copy; the containment is a lower bound
    so that a handful of sampled anchors cannot decide it.
    """
    if found.shared < MIN_SHARED:
        return None
    if found.resemblance >= RESEMBLANCE:
        return "near_duplicate"
    if found.contained >= CONTAINED:
        return "contained"
    return None


def rank(kind: Kind, found: Overlap) -> tuple[bool, int]:
    """Order of matching candidates: near duplicates first, then the most shared anchors.

    A copy with an extra paragraph taken from another story contains that story too; the
    story it resembles as a whole is the one it copies.
    """
    return kind == "near_duplicate", found.shared


@dataclass(frozen=True, slots=True)
class Shingles:
    """A text's line shingles, ready for the index: computed where the text is (a worker
    process), so that a lookup on the event loop is only its Redis round trips.

    Each line keeps only its ``QUERY_SIZE`` smallest hashes. Nothing is lost: a hash among
    the k smallest of a union of lines is among the k smallest of its own line, so every
    query sketch of any subset of lines is the same, and ``boilerplate_lines`` looks only at
    sampled anchors. (``Sketch.size`` of a second lookup counts the kept hashes; nothing
    stores or compares it.) ``query`` is the first lookup's sketch, of all lines.
    """

    lines: tuple[frozenset[int], ...]
    query: Sketch


def shingles_of(text: str) -> Shingles:
    """``line_shingles`` of ``text``, cut to what a lookup reads, plus the first query."""
    return shingles_of_words(text_words(text))


def shingles_of_words(words: TextWords) -> Shingles:
    """``shingles_of`` the text ``words`` came from."""
    import numpy as np

    full = _by_line(words)
    lines = tuple(frozenset(line[:QUERY_SIZE].tolist()) for line in full)
    every = np.unique(np.concatenate(full)) if full else np.empty(0, np.uint64)
    return Shingles(lines, Sketch(tuple(every[:QUERY_SIZE].tolist()), len(every), QUERY_SIZE))
