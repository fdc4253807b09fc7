"""Patterns that see untrusted text run in linear time: 10x the worst input costs ~10x.

Each case is the input that made the old pattern backtrack (named in the test id), fed
through the public function that uses the pattern. The ratio of 1 MB against 100 KB stays
under LINEAR (about 10 for linear time; the old patterns gave 100 or never finished).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers.charset import decode
from scrapers.clean import clean_text, load_rules
from scrapers.clean.steps import Line, is_timestamp
from scrapers.discover import discover
from scrapers.discover.feeds import looks_like_feed, looks_like_html, parse_feed
from scrapers.discover.homepage import feed_links
from scrapers.discover.pages import parse_page
from scrapers.errors import ScrapeError
from scrapers.extract import _TITLE_SUFFIX
from tests.support.growth import LINEAR, growth, repeated
from watcher.config import Topic
from watcher.neardup import line_shingles
from watcher.topics import compile_topics, match_topics
from watcher.updates import unit_prints
from watcher.words import _scan as _scan_words

BASE = "https://example.com/news"
_NOW = datetime(2026, 12, 1, tzinfo=UTC)
_TOPICS = compile_topics(
    [Topic.model_validate({"name": "t", "any": ["mark zuckerberg", "c++"], "none": ["x y"]})]
)


def _feed_with_title(n: int) -> str:
    title = "&lt;" * (n // 4)
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><link>https://example.com/a</link></item></channel></rss>"
    )


def _comment_bomb(n: int) -> str:
    return "<!---->" * (n // 7) + '<rss version="2.0"><channel></channel></rss>'


def _deep_links(n: int) -> str:
    """The issue's listing page: tens of thousands of links under 250 nested divs."""
    link = '<a href="/2026/11/30/story-number-{}">A headline of five words</a>\n'
    count = n // len(link)
    links = "".join(link.format(i) for i in range(count))
    return f"<html><body>{'<div>' * 250}{links}{'</div>' * 250}</body></html>"


def _nested_anchors(n: int) -> str:
    """120 nested anchors around one long text: each anchor used to read all of it."""
    opening = "".join(f'<span><a href="/2026/11/30/story-{i}">' for i in range(120))
    return f"<html><body>{opening}{'word ' * (n // 5)}</body></html>"


def _alternates(n: int, kind: str = "application/rss+xml") -> str:
    """A homepage head of alternate links (feeds, or stylesheets none of which is a feed)."""
    link = '<link rel="alternate" type="{}" href="/feeds/{}.xml">\n'
    count = n // len(link)
    return f"<html><head>{''.join(link.format(kind, i) for i in range(count))}</head></html>"


def _quietly(run: Callable[[str], object]) -> Callable[[str], object]:
    """``run``, where a documented ScrapeError is as good an outcome as a result."""

    def wrapped(text: str) -> object:
        try:
            return run(text)
        except ScrapeError as exc:
            return exc

    return wrapped


CASES: dict[str, tuple[Callable[[int], str], Callable[[str], object]]] = {
    # scrapers/discover/feeds.py: the HTML sniffing, 2^N on N empty comments
    "feeds-comment-bomb": (_comment_bomb, looks_like_html),
    "feeds-comment-bomb-discover": (
        _comment_bomb,
        _quietly(lambda body: discover("feed", body, BASE, now=_NOW)),
    ),
    "feeds-open-comment": (repeated("<!-- ", prefix=" "), looks_like_html),
    # scrapers/discover/feeds.py: the feed sniffing, over a prolog of comments or instructions
    "feeds-sniff-comments": (_comment_bomb, looks_like_feed),
    "feeds-sniff-instructions": (repeated("<?pi?> "), looks_like_feed),
    "feeds-sniff-open-doctype": (repeated("<!x "), looks_like_feed),
    # scrapers/discover/feeds.py: tag stripping, quadratic on a title of "&lt;"
    "feeds-title-of-lt": (_feed_with_title, lambda body: parse_feed(body, BASE)),
    # scrapers/clean/steps.py: the dateline, quadratic on one word of clock times
    "steps-dateline-times": (repeated("12:34-"), lambda text: is_timestamp(Line(0, text))),
    "steps-dateline-years": (repeated("2019-"), lambda text: is_timestamp(Line(0, text))),
    # scrapers/clean/steps.py: the byline tail, quadratic on whitespace runs
    "steps-byline-spaces": (
        repeated(" ", prefix="a", suffix="b"),
        lambda text: is_timestamp(Line(0, text)),
    ),
    "steps-byline-by": (repeated(" by x"), lambda text: is_timestamp(Line(0, text))),
    "clean-dateline-line": (repeated("12:34-"), clean_text),
    "clean-space-line": (repeated(" ", prefix="a", suffix="b"), clean_text),
    # scrapers/discover/pages.py: the link-context walk (links x depth) and nested anchors
    "pages-deep-links": (_deep_links, lambda body: parse_page(body, BASE)),
    "pages-nested-anchors": (_nested_anchors, lambda body: parse_page(body, BASE)),
    # scrapers/discover/homepage.py: a homepage of alternate links (feeds: capped; not feeds)
    "homepage-feed-links": (_alternates, lambda body: feed_links(body, BASE)),
    "homepage-other-links": (
        lambda n: _alternates(n, "text/css"),
        lambda body: feed_links(body, BASE),
    ),
    # scrapers/charset.py: "charset=" then a whitespace run split two ways
    "charset-header-spaces": (
        repeated(" ", prefix="text/html; charset=", suffix="!"),
        lambda header: decode(b"<p>hi</p>", header),
    ),
    # scrapers/extract.py: the " | Site" title suffix on whitespace runs
    "extract-title-spaces": (repeated(" ", prefix="a", suffix="b"), _TITLE_SUFFIX.split),
    # watcher/neardup.py: line and sentence breaks on whitespace runs
    "neardup-lines-spaces": (repeated(" ", prefix="a", suffix="b"), line_shingles),
    "neardup-sentences-spaces": (repeated(" ", prefix="a", suffix="b"), unit_prints),
    # watcher/topics.py (audited, already linear): phrase words joined by \s+
    "topics-spaces": (repeated(" ", prefix="mark"), lambda text: match_topics(None, text, _TOPICS)),
    "topics-words": (repeated("mark "), lambda text: match_topics(None, text, _TOPICS)),
    # watcher/words.py: the index's word scan (the scan itself: words_of caps its input)
    "words-one-long-run": (repeated("é"), lambda text: list(_scan_words(text))),
    "words-many-short": (repeated("ab, "), lambda text: list(_scan_words(text))),
    "words-underscores": (repeated("a_"), lambda text: list(_scan_words(text))),
}


@pytest.mark.parametrize("case", list(CASES))
def test_worst_input_grows_linearly(case: str) -> None:
    build, run = CASES[case]
    ratio = growth(build, run)
    assert ratio < LINEAR, f"{case}: 10x the input took {ratio:.0f}x as long"


def test_user_rules_run_in_linear_time(tmp_path: Path) -> None:
    """A rule that backtracks exponentially in Python's re is linear under RE2."""
    path = tmp_path / "mine.yaml"
    path.write_text("global:\n  drop:\n    - '^(a+)+$'\n    - '(x+x+)+y'\n", encoding="utf-8")
    rules = load_rules(path)
    ratio = growth(repeated("a", suffix="!"), lambda text: clean_text(text, rules=rules))
    assert ratio < LINEAR
    ratio = growth(repeated("x"), lambda text: clean_text(text, rules=rules))
    assert ratio < LINEAR
