"""Untrusted input raises only documented errors (issue 11): regressions for each case found."""

from __future__ import annotations

import io
from pathlib import Path

import feedparser
import pytest

from scrapers.clean import clean_text
from scrapers.clean.learned import host_key
from scrapers.clean.rules import RulesError, load_rules, parse_rules, to_re2
from scrapers.discover.feeds import parse_feed, read_feed
from scrapers.errors import ParseError
from scrapers.extract import extract
from scrapers.urls import canonicalize

FEEDS = Path(__file__).resolve().parents[2] / "data" / "feeds"
BASE = "https://example.com/feed"


@pytest.mark.parametrize(
    ("name", "error"),
    [("stray_width_rss2.xml", TypeError), ("link_outlives_source_rss2.xml", KeyError)],
)
def test_a_feed_that_breaks_feedparser_still_yields_its_entries(
    name: str, error: type[Exception]
) -> None:
    data = (FEEDS / name).read_bytes()
    with pytest.raises(error):  # the bug this works around is still there in feedparser
        feedparser.parse(io.BytesIO(data))
    feed = read_feed(data.decode("utf-8"), BASE)
    assert feed.damage is not None  # lxml's repair is reported, with its position
    assert (feed.damage.url, feed.damage.line) == (
        BASE,
        {
            "stray_width_rss2.xml": 11,
            "link_outlives_source_rss2.xml": 12,
        }[name],
    )
    assert [entry.url.rsplit("/", 1)[1] for entry in feed.entries] == {
        "stray_width_rss2.xml": ["meta-ships-a-new-open-model", "regulators-look-at-the-deal"],
        "link_outlives_source_rss2.xml": ["chip-export-rules-tighten", "partner-story"],
    }[name]


def test_a_feed_that_breaks_feedparser_and_cannot_be_repaired_is_malformed() -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed("</width>", BASE)
    assert caught.value.slug == "malformed_feed"
    assert "TypeError" in str(caught.value)


PAGE = (
    '<html><head><link rel="canonical" href="{href}"><title>Meta ships a model</title></head>'
    "<body><h1>Meta ships a model</h1><p>{body}</p></body></html>"
)


@pytest.mark.parametrize(
    "href", ["http://[", "https://[::1", "http://[x]/a", "http://a:99999999999/"]
)
def test_an_unparseable_canonical_link_is_ignored(href: str) -> None:
    html = PAGE.format(href=href, body="The model is open and the weights are public. " * 5)
    article = extract(html, "https://example.com/2026/11/30/meta")
    assert article.canonical_url == "https://example.com/2026/11/30/meta"


def test_the_learned_host_key_of_an_unparseable_url_is_none() -> None:
    assert host_key("http://[") is None
    assert host_key("https://www.Example.com/a") == "example.com"
    assert clean_text("Some text of a page.", "http://[") == "Some text of a page."


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://b\u3002/a", "http://b/a"),  # an ideographic full stop becomes a trailing dot
        ("https://example.com/a? ", "https://example.com/a"),
        ("http:////x", "http:///x"),  # no host: "//x" must not read back as host x
        ("https:// /", "https:// /"),
        ("https://a/?b\x1c&\x1c", "https://a/?b"),  # found by fuzz/urls.py: \x1c is whitespace
        ("x/../Q::Z::", "./Q::Z::"),  # found by fuzz/urls.py: "Q:" must not become a scheme
    ],
)
def test_canonicalize_is_idempotent_on_junk_hosts(url: str, canonical: str) -> None:
    assert canonicalize(url) == canonical
    assert canonicalize(canonical) == canonical


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("global:\n  drop:\n    - 'a\x00'\n", 3, "unacceptable character #x0000"),  # ReaderError
        ("global:\n  drop: [a\n  sites: x\n", 3, "not valid YAML"),  # ParserError
        ("global:\n  drop:\n  - a\n - b\n", 4, "not valid YAML"),
        ("learned:\n  min_pages: !!int x\n", 2, "min_pages"),
        ("learned:\n  min_pages: !!python/object:os.system x\n", 2, "min_pages"),
        ("global: " + "[" * 5000, 0, "nested too deeply"),
    ],
)
def test_every_yaml_error_in_a_rules_file_is_a_rules_error(
    text: str, line: int, fragment: str
) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "mine.yaml")
    assert str(caught.value).startswith(f"mine.yaml:{line}: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        (r"(?<=by )\w+", "bad pattern"),  # lookbehind: needs backtracking
        (r"(a)\1", "bad pattern"),  # backreference
        (r"a++", "bad pattern"),  # possessive
        (r"[\W]x", "inside [...]"),
    ],
)
def test_a_rule_re2_cannot_compile_is_a_rules_error_at_its_line(
    tmp_path: Path, pattern: str, fragment: str
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(f"global:\n  drop:\n    - '^fine$'\n    - '{pattern}'\n", encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}:4: drop: ")
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (r"^(related|similar)( \w+){1,2}:?$", "Related artículos", True),  # \w is Unicode
        (r"^\d+ min read$", "\u0665 min read", True),  # \d is any decimal digit
        (r"^share\sthis$", "share\u00a0this", True),  # \s is Unicode whitespace
        (r"^a\Sb$", "a\u00a0b", False),
        (r"^[\w-]+$", "ab-\u00e9", True),
        (r"^[^\s]+$", "a\u2003b", False),
        (r"caf\u00e9$", "CAFÉ", True),  # \uXXXX and Unicode case folding
        (r"end\Z", "the end", True),
        (r"\\w", "\\w", True),  # an escaped backslash stays one
        (r"[]w]", "]", True),
    ],
)
def test_rules_keep_pythons_meaning_under_re2(pattern: str, text: str, matches: bool) -> None:
    rules = parse_rules(f"global:\n  drop:\n    - '{pattern}'\n", "mine.yaml")
    (rule,) = rules.global_rules.drop
    assert rule.pattern == pattern
    assert (rule.search(text) is not None) is matches, to_re2(pattern)


@pytest.mark.parametrize("body", ["\ufeff", "\ufeff \n", "\ufeff\ufeff"])
def test_a_feed_of_only_a_byte_order_mark_is_empty(body: str) -> None:
    """Found by the property test: feedparser's result for no bytes has no ``version``."""
    with pytest.raises(ParseError, match="empty body") as caught:
        parse_feed(body, BASE)
    assert caught.value.slug == "malformed_feed"
