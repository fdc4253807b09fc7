"""Which trafilatura readings a page pays for: one fast precision reading on a plain article,
the full one (with trafilatura's readability/justext comparison) only when the fast text is
short against the page (issue 12's speed bound, without the quality the comparison buys)."""

from __future__ import annotations

import sys
from dataclasses import replace

import lxml.html
import pytest

from scrapers import extract
from scrapers.extract import Candidates, Tuning, candidates, finish, precision_reading

extract_module = sys.modules["scrapers.extract"]

PARAGRAPH = (
    "The regional parliament voted on Thursday to extend the ban on new coal plants to 2040,"
    " a decision that energy companies had lobbied against for most of the past year."
)


def _record_readings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, bool]]:
    """(precision, fast) of every trafilatura reading extract makes, in order."""
    calls: list[tuple[bool, bool]] = []
    real = extract_module._trafilatura

    def recording(
        tree: lxml.html.HtmlElement, url: str | None, *, precision: bool = True, fast: bool = False
    ) -> str:
        calls.append((precision, fast))
        result: str = real(tree, url, precision=precision, fast=fast)
        return result

    monkeypatch.setattr(extract_module, "_trafilatura", recording)
    return calls


def test_a_plain_article_pays_for_one_fast_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_readings(monkeypatch)
    paragraphs = "".join(f"<p>{PARAGRAPH} ({n})</p>" for n in range(6))
    html = f"<html><body><article><h1>Coal ban</h1>{paragraphs}</article></body></html>"
    assert "(5)" in extract(html, "https://example.com/a").text
    assert calls == [(True, True)]


def test_a_short_fast_reading_is_read_again_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under trafilatura's own minimum (where its full reading asks justext) the full
    reading is made: on a news page it doubled the text of a brief (F1 0.64 -> 1.00)."""
    calls = _record_readings(monkeypatch)
    html = f"<html><body><article><h1>Coal ban</h1><p>{PARAGRAPH}</p></article></body></html>"
    assert "lobbied against" in extract(html, "https://example.com/a").text
    assert calls[:2] == [(True, True), (True, False)]


_RUN = "Sentence {} of a story this site keeps in bare div elements, with no paragraph at all."


def _div_page(runs: int) -> lxml.html.HtmlElement:
    divs = "".join(f"<div>{_RUN.format(i)}</div>" for i in range(runs))
    script = f"<script>var text = '{'x' * 500}';</script>"
    tree = extract_module._parse(f"<html><body>{script}{divs}</body></html>")
    assert tree is not None
    return tree


def test_long_text_runs_count_text_in_any_element_but_scripts() -> None:
    tree = _div_page(10)
    assert extract_module._body_like_chars(tree) == 0  # the paragraph measure sees nothing
    assert extract_module._long_text_chars(tree) == 10 * len(_RUN.format(0))


def test_a_fast_fragment_of_a_div_held_body_is_suspect() -> None:
    """The pages that lost most to the fast reading (WCXB, F1 0.99 -> 0.14) hold their body
    in <div>s: the paragraph gate calls a 1,400-character fragment of 18,000 complete."""
    found = candidates(_html(_div_page(40)))
    fragment = replace(found, fast=replace(found.fast, text="x " * 300))
    whole = replace(found, fast=replace(found.fast, text="x " * 1000))
    assert extract_module._fast_reading_suspect(fragment, extract_module.TUNING)
    assert not extract_module._fast_reading_suspect(whole, extract_module.TUNING)


def _html(tree: lxml.html.HtmlElement) -> str:
    return lxml.html.tostring(tree, encoding="unicode")


def test_always_both_keeps_every_reading_and_the_product_path_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bench's folds score every Tuning on one set of readings: with ``always_both`` the
    fast, the full precision and the default readings are all made; without it a plain
    article still pays for the fast one only."""
    calls = _record_readings(monkeypatch)
    paragraphs = "".join(f"<p>{PARAGRAPH} ({n})</p>" for n in range(6))
    html = f"<html><body><article><h1>Coal ban</h1>{paragraphs}</article></body></html>"
    both = candidates(html, always_both=True)
    assert calls == [(True, True), (True, False), (False, False)]
    assert both.full is not None
    assert both.default is not None
    calls.clear()
    found = candidates(html)
    assert calls == [(True, True)]
    assert found.full is None
    assert found.default is None
    assert finish(found).article.text == finish(both).article.text


def _fast_and_full(found: Candidates, fast: str, full: str) -> Candidates:
    """``found`` with these two precision readings, cleaned as the product cleans them."""
    reading = extract_module._reading
    return replace(
        found,
        fast=reading(found.rules, found.meta, found.url, fast),
        full=reading(found.rules, found.meta, found.url, full),
        default=None,
    )


def test_finish_takes_the_full_reading_by_the_tunings_share() -> None:
    """``finish`` decides which precision reading to use by the tuning it is given (the
    bench's folds choose ``full_share``): a fast text at 0.4 of the page's long text runs is
    kept under a 0.3 share and read in full under a 0.5 one."""
    found = candidates(_html(_div_page(40)), always_both=True)
    assert found.page_chars == 0  # the paragraph gate sees nothing
    assert found.long_chars > 0
    runs = [_RUN.format(i) for i in range(40)]
    both = _fast_and_full(found, "\n\n".join(runs[:16]), "\n\n".join(runs))
    assert 0.3 < len(both.fast.text) / found.long_chars < 0.5
    low, high = Tuning(full_share=0.3), Tuning(full_share=0.5)
    assert precision_reading(both, low) is both.fast
    assert precision_reading(both, high) is both.full
    assert "Sentence 39 " not in finish(both, tuning=low).article.text
    assert "Sentence 39 " in finish(both, tuning=high).article.text
    # Without a full reading (the product path, when it was not needed) the fast one stays.
    assert precision_reading(replace(both, full=None), high) is both.fast
