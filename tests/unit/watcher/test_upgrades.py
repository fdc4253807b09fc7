"""Pure decisions of issue 13: which joining version upgrades an emitted story, and why."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.builders import paragraphs
from watcher import metrics
from watcher.model import Outcome, PollReport, StoryRecord
from watcher.updates import Copy, is_fuller_units, unit_prints, upgrade_reason

EMITTED_COPY = {
    "url": "https://agg.test/a",
    "canonical_url": "https://agg.test/a",
    "site": "NewsNow",
    "content_hash": "sha256:copy",
    "original_url": "https://ledger.test/a",
    "original_source": "Loopback Ledger",
}
ORIGINAL = Copy("https://ledger.test/a?x=1", "Loopback Ledger", canonical="https://ledger.test/a")


@pytest.mark.parametrize(
    ("record", "copy", "fuller", "reason"),
    [
        (EMITTED_COPY, ORIGINAL, False, "original_found"),
        ({**EMITTED_COPY, "original_url": ""}, ORIGINAL, False, "original_found"),  # outlet
        ({**EMITTED_COPY, "content_hash": ""}, ORIGINAL, True, None),  # not emitted yet
        ({**EMITTED_COPY, "is_original": "1"}, ORIGINAL, True, None),  # the original is final
        (EMITTED_COPY, Copy("https://b.test/x", "B", names_url="https://agg.test/a"), True, None),
        (EMITTED_COPY, Copy("https://b.test/x", "B News"), True, "fuller_copy"),
        (EMITTED_COPY, Copy("https://b.test/x", "B News"), False, None),
        (
            EMITTED_COPY,
            Copy("https://b.test/x", "B", names_outlet="Loopback Ledger"),
            False,
            None,  # another copy naming the same original is not it
        ),
    ],
    ids=[
        "by-url",
        "by-outlet",
        "pending",
        "original-final",
        "copy-of-the-story",
        "fuller",
        "same-length",
        "another-copy",
    ],
)
def test_upgrade_reason_table(
    record: dict[str, Any], copy: Copy, fuller: bool, reason: str | None
) -> None:
    assert upgrade_reason(StoryRecord.from_fields(record), copy, fuller=fuller) == reason


def test_fuller_means_half_again_and_keeping_most_of_it() -> None:
    story = paragraphs("fuller", 8)
    half, whole = unit_prints("\n\n".join(story[:4])), unit_prints("\n\n".join(story))
    glued_one = unit_prints("\n\n".join([*story[:4], *paragraphs("glue", 1)]))
    mixed = unit_prints("\n\n".join([*story[:2], *paragraphs("glue", 2)]))
    assert is_fuller_units(half, whole)
    assert not is_fuller_units(whole, half)
    assert not is_fuller_units(half, glued_one)  # one glued paragraph is not "fuller"
    assert not is_fuller_units(mixed, whole)  # twice as long, but half the emitted text is gone
    assert not is_fuller_units(frozenset(), whole)


def test_an_upgrade_counts_as_story_updated_in_metrics_and_status() -> None:
    def emitted() -> float:
        sample = metrics.REGISTRY.get_sample_value(
            "watcher_stories_emitted_total", {"source": "upg", "event": "story.updated"}
        )
        return sample or 0.0

    before = emitted()
    outcome = Outcome("updated", "https://ledger.test/a", reason="original_found")
    metrics.record_article("upg", outcome)
    assert emitted() == before + 1
    report = PollReport("upg")
    report.count(outcome)
    report.count(Outcome("updated", "https://ledger.test/b", reason="material_change"))
    assert (report.updated, report.upgraded) == (2, 1)
