"""Golden pages written for this project: extract() gives exactly the expected text and metadata."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers import extract

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.html"))


def _meta(name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((GOLDEN / f"{name}.meta.json").read_text(encoding="utf-8"))
    return data


def test_golden_cases_exist() -> None:
    """The golden directory holds pages, so the parametrized tests below are not vacuous."""
    assert len(CASES) >= 3


@pytest.mark.parametrize("name", CASES)
def test_extract_matches_golden_text(name: str) -> None:
    """The cleaned body equals <name>.expected.txt, paragraph for paragraph."""
    meta = _meta(name)
    html = (GOLDEN / f"{name}.html").read_text(encoding="utf-8")
    expected = (GOLDEN / f"{name}.expected.txt").read_text(encoding="utf-8").strip()
    assert extract(html, meta["url"]).text == expected


@pytest.mark.parametrize("name", CASES)
def test_extract_matches_golden_metadata(name: str) -> None:
    """Title, author, date, language, canonical URL, site and original source as expected."""
    meta = _meta(name)
    html = (GOLDEN / f"{name}.html").read_text(encoding="utf-8")
    article = extract(html, meta["url"])
    published = article.published_at.astimezone(UTC).isoformat() if article.published_at else None
    got = {
        "title": article.title,
        "author": article.author,
        "published_at": published,
        "language": article.language,
        "canonical_url": article.canonical_url,
        "site": article.site,
        "original_source": article.original_source,
    }
    assert got == {key: meta.get(key) for key in got}


def test_published_at_is_timezone_aware() -> None:
    """Dates with an offset come back as aware datetimes."""
    meta = _meta("related_paragraphs")
    html = (GOLDEN / "related_paragraphs.html").read_text(encoding="utf-8")
    assert extract(html, meta["url"]).published_at == datetime(2024, 3, 5, 8, 30, tzinfo=UTC)
