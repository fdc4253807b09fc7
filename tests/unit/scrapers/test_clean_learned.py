"""Learned site boilerplate: a paragraph on N distinct pages of a host is its template."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scrapers import clean_text
from scrapers.clean import MemoryParagraphCounter, load_rules, paragraph_fingerprint

TEMPLATE = (
    "The Daily Example is funded by readers like you, and every contribution, however big or"
    " small, keeps our journalism open to everyone."
)


def _page(n: int) -> str:
    """A different story each time, with the site's template paragraph at the end."""
    return (
        f"Story number {n} opens with a paragraph about a council vote on budget item {n}, which"
        f" was approved by a narrow margin after a long debate.\n\n"
        f"A second paragraph of story {n} adds detail about what the vote means for residents"
        f" of ward {n} and what happens next.\n\n{TEMPLATE}"
    )


def test_template_paragraph_is_dropped_from_the_nth_distinct_page() -> None:
    """Pages 1-2 keep the recurring paragraph; from page 3 (min_pages=3) it is dropped."""
    counter = MemoryParagraphCounter()
    outputs = [
        clean_text(_page(n), f"https://www.example.com/news/{n}", counter=counter)
        for n in range(1, 5)
    ]
    assert [TEMPLATE in out for out in outputs] == [True, True, False, False]
    assert all(f"Story number {n} opens" in outputs[n - 1] for n in range(1, 5))


def test_the_same_page_cleaned_again_counts_once() -> None:
    """Re-cleaning one URL never makes its own paragraphs look like a template."""
    counter = MemoryParagraphCounter()
    for _ in range(5):
        out = clean_text(_page(1), "https://example.com/news/1", counter=counter)
    assert TEMPLATE in out


def test_counts_are_per_host() -> None:
    """Two pages on one host and two on another do not add up to three."""
    counter = MemoryParagraphCounter()
    for n, host in enumerate(["a.example", "a.example", "b.example", "b.example"]):
        out = clean_text(_page(n), f"https://{host}/{n}", counter=counter)
    assert TEMPLATE in out


def test_min_pages_comes_from_the_rules() -> None:
    """A rules file raising min_pages to 5 keeps the paragraph on pages 3 and 4."""
    rules = replace(load_rules(), min_pages=5)
    counter = MemoryParagraphCounter()
    kept = [
        TEMPLATE in clean_text(_page(n), f"https://example.com/{n}", rules=rules, counter=counter)
        for n in range(1, 7)
    ]
    assert kept == [True, True, True, True, False, False]


def test_headings_are_never_learned_as_boilerplate() -> None:
    """A subheading every article of a site uses ("Why this matters") stays."""
    counter = MemoryParagraphCounter()
    for n in range(1, 6):
        text = _page(n).replace(TEMPLATE, "Why this matters\n\n" + TEMPLATE)
        out = clean_text(text, f"https://example.com/{n}", counter=counter)
    assert "Why this matters" in out
    assert TEMPLATE not in out


def test_without_url_or_counter_nothing_is_learned() -> None:
    """No host means no learned rules: the paragraph stays however often it is seen."""
    counter = MemoryParagraphCounter()
    for n in range(5):
        out = clean_text(_page(n), counter=counter)
    assert TEMPLATE in out


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Support us today!", "support  us today"),
        ("Support — us, today.", "SUPPORT US TODAY"),
    ],
)
def test_fingerprint_ignores_case_spacing_and_punctuation(a: str, b: str) -> None:
    """Two spellings of one paragraph share a fingerprint."""
    assert paragraph_fingerprint(a) == paragraph_fingerprint(b)


def test_fingerprint_differs_for_different_words() -> None:
    """Different paragraphs have different fingerprints."""
    assert paragraph_fingerprint("Support us today") != paragraph_fingerprint("Support us now")


def test_memory_counter_is_bounded() -> None:
    """The in-memory counter forgets the least recently used hosts and paragraphs."""
    counter = MemoryParagraphCounter(max_hosts=2, max_paragraphs_per_host=3)
    assert counter.seen_on_pages("a", ["p1", "p2"], "page1") == [1, 1]
    counter.seen_on_pages("b", ["p1"], "page1")
    counter.seen_on_pages("c", ["p1"], "page1")  # evicts host "a"
    assert counter.seen_on_pages("a", ["p1"], "page2") == [1]
    counter.seen_on_pages("a", ["p2", "p3", "p4"], "page3")  # evicts paragraph "p1"
    assert counter.seen_on_pages("a", ["p1", "p4"], "page4") == [1, 2]
