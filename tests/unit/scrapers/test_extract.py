"""extract(): the public API, errors, and metadata read from meta tags and JSON-LD."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

import scrapers
from scrapers import Article, extract
from scrapers.errors import ExtractionError

extract_module = sys.modules["scrapers.extract"]

PARAGRAPH = (
    "The regional parliament voted on Thursday to extend the ban on new coal plants to 2040,"
    " a decision that energy companies had lobbied against for most of the past year."
)


def _page(head: str = "", body: str = "", lang: str = ' lang="en"') -> str:
    paragraphs = "".join(f"<p>{PARAGRAPH} ({n})</p>" for n in range(4))
    return (
        f"<!DOCTYPE html><html{lang}><head><title>Coal ban extended</title>{head}</head>"
        f"<body><article><h1>Coal ban extended</h1>{body}{paragraphs}</article></body></html>"
    )


def test_public_api_is_exactly_the_spec_names() -> None:
    """scrapers exports extract, clean_text and Article, and nothing else."""
    assert sorted(scrapers.__all__) == ["Article", "clean_text", "extract"]
    assert scrapers.Article is Article


def test_extract_returns_cleaned_paragraphs_split_by_blank_lines() -> None:
    """Article.text holds the body paragraphs separated by a blank line, without the title."""
    article = extract(_page(), "https://example.com/a")
    assert article.text.split("\n\n") == [f"{PARAGRAPH} ({n})" for n in range(4)]
    assert article.title == "Coal ban extended"


@pytest.mark.parametrize(
    "html",
    ["", "   ", "<html><body><nav><a href='/'>Home</a></nav></body></html>"],
    ids=["empty", "blank", "navigation-only"],
)
def test_extract_raises_extraction_error_without_article_text(html: str) -> None:
    """A page with no article text raises ExtractionError with reason empty_extraction."""
    with pytest.raises(ExtractionError) as caught:
        extract(html, "https://example.com/empty")
    assert caught.value.reason == "empty_extraction"
    assert caught.value.url == "https://example.com/empty"


@pytest.mark.parametrize(
    ("head", "field", "expected"),
    [
        (
            '<meta property="og:title" content="Coal ban extended to 2040">',
            "title",
            "Coal ban extended to 2040",
        ),
        ('<meta name="author" content="By Ana Ruiz">', "author", "Ana Ruiz"),
        (
            '<script type="application/ld+json">{"@type":"NewsArticle","author":[{"name":"A B"},'
            '{"name":"C D"}]}</script>',
            "author",
            "A B, C D",
        ),
        (
            '<meta property="article:published_time" content="2024-01-02T03:04:05Z">',
            "published_at",
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        ),
        (
            '<script type="application/ld+json">{"@graph":[{"@type":"NewsArticle",'
            '"datePublished":"2024-01-02T03:04:05+0100"}]}</script>',
            "published_at",
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            '<link rel="canonical" href="/news/coal">',
            "canonical_url",
            "https://www.example.com/news/coal",
        ),
        (
            '<meta property="og:url" content="https://example.com/c">',
            "canonical_url",
            "https://example.com/c",
        ),
        ('<meta property="og:site_name" content="Example News">', "site", "Example News"),
        ("", "site", "example.com"),
        ("", "canonical_url", "https://www.example.com/a?x=1"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_extract_reads_metadata(head: str, field: str, expected: object) -> None:
    """Each metadata field comes from its usual places, with sensible fallbacks."""
    article = extract(_page(head=head), "https://www.example.com/a?x=1")
    assert getattr(article, field) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [(' lang="en-GB"', "en"), (' lang="de"', "en"), ("", "en"), (' lang="sv"', "en")],
    ids=["declared", "declared-wrong", "undeclared", "declared-swedish"],
)
def test_extract_language(lang: str, expected: str) -> None:
    """The language the text is written in wins over the template's declaration."""
    assert extract(_page(lang=lang), "https://example.com/a").language == expected


def test_guess_language_refuses_short_text_and_names_many_languages() -> None:
    """Too short a text gives no guess rather than a wrong one; Polish, Swedish and Japanese,
    which the old function-word lists could not name, are named."""
    assert extract_module.guess_language("Hello there") is None
    assert (
        extract_module.guess_language("これは日本語の文章です。今日は天気がいいですね。" * 5)
        == "ja"
    )
    polish = "Rada miasta przyjęła budżet na przyszły rok po długiej debacie o inwestycjach."
    assert extract_module.guess_language(polish * 3) == "pl"
    swedish = "Stadsfullmäktige antog budgeten för nästa år efter en lång debatt om skolorna."
    assert extract_module.guess_language(swedish * 3) == "sv"


def test_polish_story_on_an_english_template_is_polish() -> None:
    """A Polish page whose template says lang="en" comes out "pl"."""
    polish = (
        "<p>Rada miasta przyjęła we wtorek budżet na przyszły rok po długiej debacie, w której"
        " radni spierali się o inwestycje w szkoły, drogi i komunikację miejską.</p>"
    )
    html = f'<html lang="en"><body><article><h1>Budżet</h1>{polish * 4}</article></body></html>'
    assert extract(html, "https://example.pl/a").language == "pl"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-11-19", datetime(2019, 11, 19)),
        ("2019-11-19T08:00:00.000Z", datetime(2019, 11, 19, 8, tzinfo=UTC)),
        ("2019-11-19 08:00", datetime(2019, 11, 19, 8)),
        ("yesterday", None),
    ],
)
def test_parse_date(value: str, expected: datetime | None) -> None:
    """ISO dates and datetimes parse; anything else is None."""
    assert extract_module.parse_date(value) == expected


def test_dom_rules_remove_related_blocks_but_never_the_article() -> None:
    """A class-named related block goes; an article wrapper whose class matches a rule stays."""
    related = '<div class="related-stories"><p>Other story headline here</p></div>'
    html = _page(body=related).replace("<article>", '<article class="post comments-open">')
    text = extract(html, "https://example.com/a").text
    assert "Other story headline" not in text
    assert text.count(PARAGRAPH) == 4


_LONG_BODY = " ".join(
    f"Sentence {i} tells what Meta said about its Llama models and why it changed course."
    for i in range(12)
)


def test_boilerpy3_second_opinion_when_trafilatura_finds_nothing() -> None:
    """A site that wraps its story in markup trafilatura discards (here a <footer>) still
    yields the story: boilerpy3's independent reading is taken when it is much longer."""
    html = f"<html><body><h1>Meta</h1><footer><p>{_LONG_BODY}</p></footer></body></html>"
    tree = extract_module._parse(html)
    # The premise: trafilatura misses the story.
    assert len(extract_module._trafilatura(tree, None)) < extract_module.MIN_BODY_CHARS
    assert "Sentence 11 tells" in extract(html, "https://example.com/a").text


def test_boilerpy3_is_not_consulted_when_trafilatura_has_the_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second opinion costs a second parse: the hot path must not pay for it."""

    def refuse(_html: str) -> str:
        raise AssertionError("boilerpy3 ran on a page trafilatura handled")

    monkeypatch.setattr(extract_module, "_boilerpy3", refuse)
    html = f"<html><body><h1>Meta</h1><article><p>{_LONG_BODY}</p></article></body></html>"
    assert "Sentence 11 tells" in extract(html, "https://example.com/a").text
