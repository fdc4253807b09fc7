"""The linear-time rewrites decide exactly as the patterns they replaced (kept here as the spec).

Each old pattern backtracked on some input (see test_linear_time.py); on every input both must
agree. The alphabets are small so that hypothesis hits the interesting cases: runs, overlaps,
separators next to each other.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scrapers.charset import _HEADER_CHARSET, _META_CHARSET
from scrapers.clean import default_rules
from scrapers.clean.rules import RuleSet
from scrapers.clean.steps import _BYLINE_TAIL, is_dateline
from scrapers.discover.feeds import _strip_tags, looks_like_html
from scrapers.extract import _TITLE_SUFFIX
from watcher.dedupe import LINE_BREAK, SENTENCE_BREAK

OLD_DATELINE = re.compile(
    r"\b\d{1,2}:\d{2}\b.*\b(19|20)\d{2}\b|\b(19|20)\d{2}\b.*\b\d{1,2}:\d{2}\b"
)
OLD_BYLINE_TAIL = re.compile(r"\s+(by|von|par|por|di|door)\s+\w+(\s+\w+){0,3}$", re.IGNORECASE)
OLD_HTML_START = re.compile(
    r"\A\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL
)
OLD_TAG = re.compile(r"<[^>]*>")
OLD_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE)
OLD_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE)
OLD_TITLE_SUFFIX = re.compile("\\s+[|\u2013\u2014-]\\s+")
OLD_LINES = re.compile(r"\s*\n\s*")
OLD_SENTENCES = re.compile(r"(?<=[.!?…])\s+|\s*\n\s*")

EXAMPLES = settings(max_examples=300, deadline=timedelta(seconds=1), database=None)


def _text(*pieces: str, size: int = 40) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces), max_size=size).map("".join)


@EXAMPLES
@given(_text("1", "2", "9", "0", "12", "19", "20", ":", "-", " ", "a", "\u0661", "\n", size=25))
def test_dateline_is_the_old_pattern(text: str) -> None:
    assert is_dateline(text) == bool(OLD_DATELINE.search(text))


@EXAMPLES
@given(_text(" ", "\u00a0", "\t", "by", "von", "BY", "a", "word", ".", "\u00e9", size=20))
def test_byline_tail_is_the_old_pattern(text: str) -> None:
    assert _BYLINE_TAIL.sub("", text) == OLD_BYLINE_TAIL.sub("", text)


@EXAMPLES
@given(_text("<!--", "-->", "--", "<!---->", " ", "\n", "<html>", "<html ", "<!doctype html>",
             "<!DOCTYPE  HTML", "<rss>", "x", "<", ">", "\ufeff", size=12))  # fmt: skip
def test_html_sniffing_is_the_old_pattern_on_comments_that_close_at_their_first_end(
    text: str,
) -> None:
    """Only difference by design: a comment ends at its first ``-->``, as in HTML, while the old
    pattern could also end one at a later ``-->`` (treating ``--> junk <!--`` as comment)."""
    old = bool(OLD_HTML_START.match(text.lstrip("\ufeff")))
    if old != looks_like_html(text):
        assert old
        assert not re.match(r"\A\s*(?:<!--(?:(?!-->).)*-->\s*)*<(?:!doctype\s+html|html[\s>])",
                            text.lstrip("\ufeff"), re.IGNORECASE | re.DOTALL)  # fmt: skip


@EXAMPLES
@given(_text("<", ">", "a", " ", "&lt;", "<b>", "</b>", size=30))
def test_strip_tags_is_the_old_pattern(text: str) -> None:
    assert _strip_tags(text) == OLD_TAG.sub("", text)


@EXAMPLES
@given(_text("charset", "CharSet", "=", " ", "\t", '"', "'", "utf-8", "!", ";", size=12))
def test_charset_patterns_are_the_old_ones(text: str) -> None:
    old, new = OLD_HEADER_CHARSET.search(text), _HEADER_CHARSET.search(text)
    assert (old and old.group(1)) == (new and new.group(1))
    raw = ("<meta " + text + ">").encode()
    old_b, new_b = OLD_META_CHARSET.search(raw), _META_CHARSET.search(raw)
    assert (old_b and old_b.group(1)) == (new_b and new_b.group(1))


@EXAMPLES
@given(_text(" ", "\n", "\t", "\u00a0", "a", ".", "!", "|", "-", "\u2013", size=25))
def test_split_patterns_are_the_old_ones(text: str) -> None:
    assert _TITLE_SUFFIX.split(text) == OLD_TITLE_SUFFIX.split(text)
    assert LINE_BREAK.split(text) == OLD_LINES.split(text)
    assert SENTENCE_BREAK.split(text) == OLD_SENTENCES.split(text)


def _rule_words() -> list[str]:
    """Words the packaged rules are made of, so random lines hit them."""
    rules = default_rules()
    sources = [
        rule.pattern for f in fields(RuleSet) for rule in getattr(rules.global_rules, f.name)
    ]
    return sorted({word for source in sources for word in re.findall(r"[^\W\d_]{2,}", source)})


RULE_WORDS = _rule_words()
RULE_LINES = st.lists(
    st.sampled_from(RULE_WORDS)
    | st.sampled_from(["2024", "3", "\u0663", "Getty Images", "Reuters", "más", "é", "(", ")"]),
    max_size=8,
).flatmap(
    lambda words: st.lists(
        st.sampled_from([" ", " ", ": ", " | ", "/", ".", "\u00a0", ", "]),
        min_size=len(words),
        max_size=len(words),
    ).map(lambda seps: "".join(w + s for w, s in zip(words, seps, strict=True)).strip())
)


@settings(max_examples=400, deadline=timedelta(seconds=1), database=None)
@given(RULE_LINES)
def test_packaged_rules_decide_as_pythons_re_would(line: str) -> None:
    """RE2 with to_re2 agrees with Python's re on every packaged rule, line by line."""
    rules = default_rules()
    for kind in fields(RuleSet):
        for rule in getattr(rules.global_rules, kind.name):
            expected = re.search(rule.pattern, line, re.IGNORECASE) is not None
            assert (rule.search(line) is not None) is expected, (kind.name, rule.pattern)
