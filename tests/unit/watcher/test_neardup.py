"""Near-duplicate arithmetic: shingles, bottom-k sketches, containment, verdicts, updates."""

from __future__ import annotations

import pytest

from tests.support.builders import paragraphs
from watcher.neardup import (
    MAX_HASH,
    QUERY_SIZE,
    Overlap,
    Sketch,
    boilerplate_lines,
    compare,
    judge,
    overlap,
    rank,
    shingle_hashes,
    sketch,
    wilson_lower,
)
from watcher.updates import is_material_change

STORY = "\n\n".join(paragraphs("original-story", 8))
OTHER = "\n\n".join(paragraphs("another-story", 8))
WRAPPER = "Via NewsNow Aggregator in four minutes\n\n{}\n\nRead more stories like this on NewsNow"


def _truncated(text: str, share: float) -> str:
    words = text.split(" ")
    return " ".join(words[: int(len(words) * share)])


def _verdict(query_text: str, indexed_text: str) -> str | None:
    return judge(compare(sketch(query_text, QUERY_SIZE), sketch(indexed_text)))


def test_shingles_ignore_case_punctuation_and_paragraph_order() -> None:
    """Reordered paragraphs and cosmetic differences give the same shingle set."""
    a = "Meta delayed its Avocado model again.\n\nThe board approved the plan on Monday."
    b = "the board approved the plan on monday\nMETA delayed its “Avocado” model, again"
    assert shingle_hashes(a) == shingle_hashes(b)


def test_shingles_of_a_text_shorter_than_one_shingle() -> None:
    """A three-word text still has a fingerprint; an empty one has none."""
    assert len(shingle_hashes("Meta delays Avocado")) == 1
    assert shingle_hashes("  ") == set()


def test_sketch_keeps_the_smallest_hashes_and_its_threshold() -> None:
    """The sketch is the k smallest hashes; the threshold is the largest kept, or MAX when short."""
    hashes = shingle_hashes(STORY)
    full = sketch(STORY, k=10)
    assert full.anchors == tuple(sorted(hashes)[:10])
    assert full.threshold == full.anchors[-1]
    assert full.size == len(hashes)
    assert sketch("one two three four five six", k=10).threshold == MAX_HASH


@pytest.mark.parametrize(
    ("query", "indexed", "expected"),
    [
        (WRAPPER.format(STORY), STORY, "near_duplicate"),
        (STORY + "\n\n" + paragraphs("extra", 1)[0], STORY, "near_duplicate"),
        ("A New Headline For The Same Story Today\n\n" + STORY, STORY, "near_duplicate"),
        (WRAPPER.format(_truncated(STORY, 0.3)), STORY, "contained"),
        (WRAPPER.format(_truncated(STORY, 0.6)), STORY, "near_duplicate"),
        (STORY, WRAPPER.format(_truncated(STORY, 0.4)), "contained"),
        (OTHER, STORY, None),
        (OTHER + "\n\n" + paragraphs("original-story", 8)[3], STORY, None),
        (OTHER, OTHER.split(".")[0] + ". " + STORY, None),
    ],
    ids=[
        "other-wrapper",
        "extra-paragraph",
        "new-headline",
        "truncated-30",
        "truncated-60",
        "original-after-truncated-copy",
        "unrelated",
        "shares-one-paragraph",
        "shares-one-sentence",
    ],
)
def test_judge_table(query: str, indexed: str, expected: str | None) -> None:
    """Copies are the same story (near duplicate or contained); borrowed text is not."""
    assert _verdict(query, indexed) == expected


def test_overlap_counts_only_below_both_thresholds() -> None:
    """Anchors above the lower threshold are not evidence either way."""
    query = sketch(STORY, QUERY_SIZE)
    stored = sketch(STORY)
    found = overlap(query, candidate_threshold=stored.threshold, candidate_count=40, hits=40)
    assert found.query_sampled == 40
    assert found.query_contained == 1.0
    assert found.candidate_contained == 1.0


def test_overlap_ignores_boilerplate_anchors_on_both_sides() -> None:
    """Anchors many stories hold count neither as shared nor as sampled."""
    query = sketch(STORY, QUERY_SIZE)
    ignored = frozenset(query.anchors[:10])
    found = overlap(
        query,
        candidate_threshold=sketch(STORY).threshold,
        candidate_count=40,
        hits=30,
        ignored=ignored,
        candidate_ignored=10,
    )
    assert (found.shared, found.query_sampled, found.candidate_sampled) == (30, 30, 30.0)


def test_boilerplate_lines_are_those_whose_smallest_anchors_are_common() -> None:
    """A line is boilerplate when its two smallest anchors, or most of its anchors, recur.

    The stories carrying a line keep its smallest hashes first, so two common smallest
    anchors mark a recurring line even when its larger anchors look rare; one common anchor
    (a stock phrase), even the line's smallest, does not drop a line of the story's own.
    """
    site_line = {1, 6, 60, 70, 80}
    own_line = {2, 51, 61, 71, 81}
    mostly_common = {5, 91, 92}
    plain = {4, 52, 62}
    lines = [site_line, own_line, mostly_common, plain]
    query = Sketch(tuple(sorted(set().union(*lines))), 16, QUERY_SIZE)
    common = frozenset({1, 6, 2, 91, 92})
    assert boilerplate_lines(lines, query, common) == {0, 2}


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (Overlap(3, 3, 3.0), None),
        (Overlap(4, 5, 40.0), "contained"),
        (Overlap(4, 40, 40.0), None),
        (Overlap(30, 40, 40.0), "near_duplicate"),
        (Overlap(12, 80, 12.0), "contained"),
    ],
    ids=["too-few-shared", "small-copy-inside", "weak", "resembling", "original-around-copy"],
)
def test_judge_thresholds(found: Overlap, expected: str | None) -> None:
    """Fewer than four shared anchors never match; containment and resemblance decide the rest."""
    assert judge(found) == expected


def test_wilson_lower_bound_punishes_small_samples() -> None:
    """Three of four is weaker evidence than thirty of forty."""
    assert wilson_lower(3, 4) < wilson_lower(30, 40) < 0.75
    assert wilson_lower(0, 0) == 0.0


def test_rank_prefers_near_duplicates_then_shared_anchors() -> None:
    """A copy's own story beats a story whose paragraph it borrowed."""
    whole = rank("near_duplicate", Overlap(20, 30, 30.0))
    borrowed = rank("contained", Overlap(35, 80, 35.0))
    assert whole > borrowed
    assert rank("contained", Overlap(9, 9, 9.0)) > rank("contained", Overlap(5, 5, 5.0))


BODY = (
    "Meta will release its Avocado model next spring, three people said.\n\n"
    "The company spent fourteen billion dollars on Scale AI in June.\n\n"
    "Related: Ten things to know about the metaverse this week\n\n"
    "Updated 10:32 am · 1,204 views"
)


@pytest.mark.parametrize(
    ("new", "material"),
    [
        (BODY, False),
        (BODY.replace("10:32 am · 1,204 views", "11:05 am · 9,311 views"), False),
        ("\n\n".join(reversed(BODY.split("\n\n"))), False),
        (BODY.replace("next spring", "next winter"), True),
        (BODY.replace("fourteen billion", "four billion"), True),
        (BODY + "\n\nMeta declined to comment on the report when reached on Tuesday.", True),
        ("\n\n".join(BODY.split("\n\n")[1:]), True),
    ],
    ids=[
        "same",
        "timestamp-and-counter",
        "reordered-blocks",
        "changed-fact",
        "corrected-figure",
        "new-paragraph",
        "paragraph-removed",
    ],
)
def test_is_material_change_table(new: str, material: bool) -> None:
    """Changed sentences are updates; timestamps, counters and reordering are cosmetic."""
    assert is_material_change(BODY, new) is material
