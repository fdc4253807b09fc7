"""A republication credit's link becomes the document's original_url (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapers.clean.drift import PageFigures
from scrapers.model import Article, Entry, Page
from watcher.neardup import shingles_of
from watcher.pipeline import make_document
from watcher.tasks import Parsed, TextFacts
from watcher.updates import pack_units, unit_prints

TEXT = "The council approved the harbour budget on Tuesday after a long debate."


def _document(article: Article, url: str = "https://aggregator.example/s/1") -> dict[str, object]:
    facts = TextFacts("hash", TEXT, (), shingles_of(TEXT), pack_units(unit_prints(TEXT)))
    parsed = Parsed(article, facts, PageFigures(len(TEXT), len(TEXT)))
    page = Page(url=url, status=200, text="")
    doc = make_document(Entry(url), page, parsed, source="s", fetched_at=datetime.now(UTC))
    return {"original_url": doc.original_url, "original_source": doc.original_source}


def test_credit_link_to_another_site_is_the_original_url() -> None:
    """ "Originally published by <a href=…>nytimes.com</a>" names the original's URL."""
    article = Article(
        text=TEXT, original_source="nytimes.com", original_url="https://www.nytimes.com/2026/a"
    )
    assert _document(article) == {
        "original_url": "https://www.nytimes.com/2026/a",
        "original_source": "nytimes.com",
    }


def test_credit_link_to_the_same_site_is_not_an_original() -> None:
    """A credit linking back into the copy's own site names no other original."""
    article = Article(text=TEXT, original_url="https://aggregator.example/about")
    assert _document(article) == {"original_url": None, "original_source": None}
