"""Recall guards: the five ways extraction used to throw real body text away (issue 12).

Each test builds a page of one failure class and checks the article survives: a step aimed at
short lines never drops a long one, a cut never takes most of the body, a DOM drop never
removes the element holding the body, precision mode's fragment loses to the full body, and a
real brief is an article.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import trafilatura

from scrapers import extract
from scrapers.clean.steps import Context, Decision, Line, guarded, run_steps, section_cuts

extract_module = sys.modules["scrapers.extract"]

SENTENCES = [
    f"Paragraph {n} says the harbour authority expects the new quay to take"
    f" {n + 2} more months, after divers found old timber piles under the silt."
    for n in range(8)
]
TITLE = "Harbour quay delayed by old timber piles"


def _html(body: str, head: str = "") -> str:
    return (
        f'<html lang="en"><head><title>{TITLE}</title>'
        f'<meta property="og:title" content="{TITLE}">{head}</head><body>{body}</body></html>'
    )


def test_whole_article_in_one_table_cell_starting_with_the_headline_survives() -> None:
    """Class 1: on table-layout pages the whole story is one line that opens with the title;
    the title step removes the title, never that line."""
    cell = f"{TITLE}<br><br>" + "<br><br>".join(SENTENCES)
    html = _html(f"<table><tr><td>{cell}</td></tr></table>")
    article = extract(html, "https://example.com/quay")
    for sentence in SENTENCES:
        assert sentence in article.text


def test_title_step_keeps_a_long_line_that_contains_the_title() -> None:
    """Class 1, at the step: a 'title' drop of a line far longer than the title is refused."""
    long_line = Line(0, f"| {TITLE} | " + " ".join(SENTENCES) + " |")
    lines = [long_line, Line(1, SENTENCES[0])]
    assert guarded(lines, {0: "title"}) == {}
    assert guarded([Line(0, TITLE), *lines[1:]], {0: "title"}) == {0: "title"}


def test_body_that_precision_mode_loses_is_found_by_the_default_mode() -> None:
    """Class 2: favor_precision keeps a teaser where the default settings find the body; the
    product compares both and keeps the body."""
    # Unclosed header markup leaves the article inside the site's <header> (and inside a
    # "menu" block): precision mode prunes headers, and its readability fallback skips
    # menu-named blocks, so it finds nothing; the default mode finds the story.
    story = "".join(f"<p>{s}</p>" for s in SENTENCES)
    html = _html(
        "<header class='site-header'><div class='header-menu-container'>"
        f"<button class='menu-button'>Menu<main><article><h1>{TITLE}</h1>{story}</article>"
        "</main></button></div></header><footer>Footer</footer>"
    )
    precise = trafilatura.extract(html, favor_precision=True) or ""
    default = trafilatura.extract(html) or ""
    assert len(precise) * 2 < len(default)  # the premise: precision mode loses the body
    article = extract(html, "https://example.com/quay")
    for sentence in SENTENCES:
        assert sentence in article.text


def test_in_body_related_reading_heading_does_not_cut_the_article() -> None:
    """Class 3: an in-body "Related reading: …" heading with the article going on after it
    loses the heading only."""
    paragraphs = "".join(f"<p>{s}</p>" for s in SENTENCES[:4])
    rest = "".join(f"<p>{s}</p>" for s in SENTENCES[4:])
    body = f"<article><h1>{TITLE}</h1>{paragraphs}<h3>Related reading: ports</h3>{rest}</article>"
    article = extract(_html(body), "https://example.com/quay")
    for sentence in SENTENCES:
        assert sentence in article.text
    assert "Related reading" not in article.text


def test_in_body_block_heading_with_short_lines_before_the_paragraphs_does_not_cut() -> None:
    """Class 3, when the heading's next lines are short: "Top content …" reads like a block of
    other stories, and a subheading and a glued glossary tooltip come before the article's
    paragraphs go on, two in a row. Only the heading goes."""
    paragraphs = "".join(f"<p>{s}</p>" for s in SENTENCES[:4])
    rest = "".join(f"<p>{s}</p>" for s in SENTENCES[4:])
    body = (
        f"<article><h1>{TITLE}</h1>{paragraphs}<h2>Top content trends to watch in 2026</h2>"
        "<p>Here is what the harbour has in store next</p><p>1. Quay building.</p>"
        f"{rest}</article>"
    )
    article = extract(_html(body), "https://example.com/quay")
    for sentence in SENTENCES:
        assert sentence in article.text
    assert "Top content trends" not in article.text


def test_a_block_of_headlines_with_teasers_is_still_cut() -> None:
    """The other side: a "Top stories" block alternates headlines and teaser paragraphs, never
    two paragraphs in a row, so it is cut with everything after it."""
    paragraphs = "".join(f"<p>{s}</p>" for s in SENTENCES[:4])
    teaser = (
        "The council met again on Tuesday to discuss the budget for the new bridge and"
        " heard from residents for over three hours about the plans."
    )
    block = "".join(
        f"<p><a href='/s{n}'>Other story {n} headline</a></p><p>{teaser}</p>" for n in range(3)
    )
    body = f"<article><h1>{TITLE}</h1>{paragraphs}<h3>Top stories</h3>{block}</article>"
    article = extract(_html(body), "https://example.com/quay")
    for sentence in SENTENCES[:4]:
        assert sentence in article.text
    assert "Other story" not in article.text
    assert "council met again" not in article.text


def test_a_cut_that_would_take_most_of_the_body_is_refused() -> None:
    """Class 3, at the step runner: whatever step asks for it, a cut taking most of the body
    is refused; only its heading goes."""
    lines = [Line(0, SENTENCES[0]), Line(1, "Related articles")]
    lines += [Line(k + 2, s) for k, s in enumerate(SENTENCES[1:])]

    def cut_at_heading(kept: Sequence[Line], ctx: Context) -> Decision:
        return Decision(
            {
                line.index: "section" if k == 1 else "after:section"
                for k, line in enumerate(kept)
                if k >= 1
            }
        )

    ctx = Context(extract_module.default_rules().global_rules)
    kept = run_steps(lines, ctx, (cut_at_heading,)).kept
    assert [line.text for line in kept] == SENTENCES
    assert section_cuts(lines, ctx).drop == {1: "section"}  # the article goes on after it


def test_body_inside_a_readmore_wrapper_is_not_dropped() -> None:
    """Class 4: a class rule matching the element that holds the body ("readmore-wrapper")
    does not remove it, even when the page has more (short) paragraphs elsewhere."""
    sidebar = "".join(f"<p><a href='/s{n}'>Short sidebar item {n}</a></p>" for n in range(20))
    story = "".join(f"<p>{s}</p>" for s in SENTENCES)
    body = (
        f"<h1>{TITLE}</h1><div class='readmore-wrapper'>{story}</div>"
        f"<aside class='sidebar'>{sidebar}</aside>"
    )
    tree = extract_module._parse(_html(body))
    extract_module.drop_blocks(tree, extract_module.default_rules().global_rules.dom_drop)
    assert tree.xpath("//div[@class='readmore-wrapper']")
    report = extract_module.extract_report(_html(body), "https://example.com/quay")
    assert report.engine != "boilerpy3"  # trafilatura found it: no rescue was needed
    for sentence in SENTENCES:
        assert sentence in report.article.text


def test_dom_drop_keeps_an_element_holding_much_of_the_body() -> None:
    """Class 4, at the DOM: a matching block that holds a large share of the page's
    paragraph text stays; a small matching block goes."""
    story = "".join(f"<p>{s}</p>" for s in SENTENCES[:3])
    html = (
        f"<html><body><div class='sharing-tools'>{story}</div>"
        "<div class='sharing-bar'><p>Share this</p></div>"
        + "".join(f"<p>{s}</p>" for s in SENTENCES[3:])
        + "".join(f"<p>Menu item {n}</p>" for n in range(10))
        + "</body></html>"
    )
    tree = extract_module._parse(html)
    rules = extract_module.default_rules().global_rules.dom_drop
    assert extract_module.drop_blocks(tree, rules) == 1
    assert tree.xpath("//div[@class='sharing-tools']")
    assert not tree.xpath("//div[@class='sharing-bar']")


def test_a_nine_word_brief_is_an_article() -> None:
    """Class 5: a real brief of under ten words is extracted, not an ExtractionError."""
    brief = "Harbour quay opening is delayed until spring, officials said."
    assert len(brief.split()) == 9
    html = _html(f"<article><h1>{TITLE}</h1><p>{brief}</p></article>")
    assert extract(html, "https://example.com/quay").text == brief
