"""Pure decisions of issue 5: when to re-check a known URL, who the original is, sentence prints
and boilerplate lines."""

from __future__ import annotations

from typing import Any

import pytest

from watcher.model import StoryRecord
from watcher.neardup import QUERY_SIZE, boilerplate_lines, line_shingles, shingle_hashes, sketch
from watcher.updates import (
    Copy,
    Original,
    OriginalMode,
    is_material_change,
    is_material_units,
    original_of,
    outlet_named,
    pack_units,
    recheck_due,
    unit_prints,
    unpack_units,
)

HOUR = 3600.0
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("first_seen", "last_checked", "listed_at", "now", "due"),
    [
        (0, 0, None, 1 * HOUR, False),
        (0, 0, None, 3 * HOUR, True),
        (0, 3 * HOUR, None, 5 * HOUR, False),
        (0, 40 * HOUR, None, 2 * DAY + 1, False),
        (0, 0, 10.0, 60.0, True),
        (0, 60.0, 10.0, 61.0, False),
        (0, 0, 10.0, 30 * DAY, True),
    ],
    ids=[
        "checked-recently",
        "interval-passed",
        "rechecked-since",
        "window-over",
        "source-redated-it",
        "redated-before-our-check",
        "redated-after-window",
    ],
)
def test_recheck_due_table(
    first_seen: float, last_checked: float, listed_at: float | None, now: float, due: bool
) -> None:
    """A story is re-checked when its source re-dates it, or every 3 h in its first 2 days."""
    got = recheck_due(
        first_seen=first_seen,
        last_checked=last_checked,
        listed_at=listed_at,
        now=now,
        every=3 * HOUR,
        window=2 * DAY,
    )
    assert got is due


def test_recheck_interval_off_when_zero() -> None:
    """``recheck_every: 0`` turns the interval off; a re-dated entry still counts."""
    common: dict[str, Any] = {"first_seen": 0, "last_checked": 0, "now": DAY, "window": 2 * DAY}
    assert not recheck_due(listed_at=None, every=0, **common)
    assert recheck_due(listed_at=10.0, every=0, **common)


ORIGINAL = "https://news.test/story"
STORY = {"url": ORIGINAL, "canonical_url": ORIGINAL, "site": "news.test"}
COPY_FIRST = {
    "url": "https://agg.test/x",
    "canonical_url": "https://agg.test/x",
    "site": "agg.test",
    "original_url": ORIGINAL,
    "original_source": "The Daily News",
}


@pytest.mark.parametrize(
    ("record", "copy", "expected"),
    [
        (STORY, Copy("https://agg.test/x", "Agg", names_url=ORIGINAL), ("", "", "")),
        (STORY, Copy("https://agg.test/x", "Agg", names_outlet="News"), ("", "", "")),
        (
            STORY,
            Copy("https://agg.test/x", "Agg", names_url="https://wire.test/a"),
            ("keep", "https://wire.test/a", "wire.test"),
        ),
        (
            STORY,
            Copy("https://agg.test/x", "Agg", names_outlet="Wire Service"),
            ("keep", "", "Wire Service"),
        ),
        (STORY, Copy("https://agg.test/y", "Agg"), ("", "", "")),
        (COPY_FIRST, Copy(ORIGINAL, "news.test"), ("replace", ORIGINAL, "The Daily News")),
        (
            COPY_FIRST,
            Copy("https://dailynews.test/a", "The Daily News"),
            ("replace", "https://dailynews.test/a", "The Daily News"),
        ),
        (COPY_FIRST, Copy("https://other.test/a", "Other"), ("", "", "")),
    ],
    ids=[
        "copy-names-the-story",
        "copy-names-the-story-outlet",
        "copy-names-another-url",
        "copy-names-another-outlet",
        "copy-names-nothing",
        "original-after-copy-by-url",
        "original-after-copy-by-outlet",
        "another-copy-after-copy",
    ],
)
def test_original_of_table(
    record: dict[str, str], copy: Copy, expected: tuple[OriginalMode, str, str]
) -> None:
    """The record keeps the original a copy names, and learns it when the original arrives."""
    assert original_of(StoryRecord.from_fields(record), copy) == Original(*expected)


@pytest.mark.parametrize(
    ("named", "site_name", "host", "same"),
    [
        ("The Guardian", "", "www.theguardian.com", True),
        ("Reuters", "", "reuters.com", True),
        ("The New York Times", "The New York Times", "nytimes.com", True),
        ("The New York Times", "", "nytimes.com", False),
        ("news.test", "", "news.test", True),
        ("Reuters", "", "bbc.co.uk", False),
        ("", "", "a.test", False),
    ],
    ids=["host-with-the", "host", "site-name", "abbreviated-host", "host-itself", "other", "empty"],
)
def test_outlet_named_table(named: str, site_name: str, host: str, same: bool) -> None:
    """An attribution names an outlet by its site name or its host, not by guesswork."""
    assert outlet_named(named, site_name, host) is same


TEXT = (
    "Meta will release its Avocado model next spring, three people said.\n\n"
    "Updated 10:32 am\n\nThe company spent fourteen billion dollars on Scale AI."
)


def test_sentence_prints_round_trip_in_8_bytes_each() -> None:
    """Packed prints come back equal, 8 bytes a sentence, and judge like the texts do."""
    units = unit_prints(TEXT)
    packed = pack_units(units)
    assert len(packed) == 8 * len(units) == 24
    assert unpack_units(packed) == units
    edited = TEXT.replace("next spring", "next winter")
    assert is_material_units(unpack_units(packed), unit_prints(edited))
    assert is_material_units(units, unit_prints(edited)) == is_material_change(TEXT, edited)
    assert not is_material_units(units, unit_prints(TEXT.replace("10:32", "11:05")))


def test_boilerplate_lines_are_the_ones_whose_anchors_recur() -> None:
    """A line most of whose sampled anchors are common is boilerplate; a body line is not."""
    text = (
        "Subscribe to the Morning Briefing newsletter for the top stories before breakfast\n\n"
        "Meta will release its Avocado model next spring, three people familiar said today"
    )
    lines = line_shingles(text)
    assert set().union(*lines) == shingle_hashes(text)
    query = sketch(text, QUERY_SIZE)
    common = frozenset(lines[0])
    assert boilerplate_lines(lines, query, common) == {0}
    assert boilerplate_lines(lines, query, frozenset()) == set()
    one_stock_phrase = frozenset(sorted(lines[1])[:1])
    assert boilerplate_lines(lines, query, one_stock_phrase) == set()
