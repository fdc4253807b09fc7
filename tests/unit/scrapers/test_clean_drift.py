"""Drift alarm: a source whose text suddenly shrinks or is mostly removed raises an alarm."""

from __future__ import annotations

import sys

import pytest

from scrapers.clean.drift import Drift, PageFigures

extract_module = sys.modules["scrapers.extract"]


def _run(pages: list[tuple[int, int]]) -> Drift:
    drift = Drift()
    for extracted, kept in pages:
        drift = drift.updated(PageFigures(extracted, kept))
    return drift


@pytest.mark.parametrize(
    ("pages", "alarm"),
    [
        ([(5000, 4000)] * 30, None),
        ([(5000, 4000)] * 30 + [(600, 500)] * 5, "text_shrank"),
        ([(5000, 4000)] * 30 + [(5000, 800)] * 5, "mostly_removed"),
        ([(5000, 4000)] * 30 + [(600, 500)], None),
        ([(600, 500)] * 5, None),
        ([(4000, 1000)] * 40, None),
    ],
    ids=["steady", "shrank", "mostly-removed", "one-short-page", "too-few-pages", "always-noisy"],
)
def test_drift_alarm(pages: list[tuple[int, int]], alarm: str | None) -> None:
    """Only a sustained change against the source's own normal raises an alarm."""
    assert _run(pages).alarm() == alarm


def test_removed_share_of_an_empty_extraction_is_zero() -> None:
    """An empty extraction removes nothing (and does not divide by zero)."""
    assert PageFigures(0, 0).removed_share == 0.0


def test_extract_report_measures_what_cleaning_removed() -> None:
    """extract_report gives the figures the drift alarm needs and the dropped lines."""
    body = "".join(
        f"<p>Paragraph {n} tells the story of the vote in plain words for every reader.</p>"
        for n in range(5)
    )
    follow = "<p>Follow us on Twitter</p>"
    html = f"<html><body><article><h1>Vote</h1>{body}{follow}</article></body></html>"
    report = extract_module.extract_report(html, "https://example.com/a")
    assert report.figures.kept_chars == len(report.article.text)
    assert report.figures.extracted_chars > report.figures.kept_chars
    assert ("Follow us on Twitter", "rule") in report.dropped
