"""JSON Feed 1.0/1.1 as ``type: feed``: detected by content; hostile JSON → malformed_feed only."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapers.discover import discover
from scrapers.discover.feeds import MIN_CONTENT_CHARS
from scrapers.errors import ParseError, ScrapeError
from tests.support.growth import LINEAR, growth

DATA = Path(__file__).resolve().parents[2] / "data" / "feeds"
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
FEED_URL = "https://openmodelweekly.com/feed"  # no .json: detection is by content
OMW = "https://openmodelweekly.com/2026/11"


def _run(name: str, **kwargs: object) -> list[object]:
    body = (DATA / name).read_text(encoding="utf-8")
    return discover("feed", body, FEED_URL, now=NOW, **kwargs).entries  # type: ignore[arg-type]


def test_jsonfeed_11_entries_urls_dates_titles() -> None:
    """Items with a web link become entries: url, else a relative url resolved, else a URL id."""
    got = [(e.url, e.published_at, e.title) for e in _run("openmodel_jsonfeed_11.json")]
    assert got == [
        (f"{OMW}/23/llama-5-open-weights", datetime(2026, 11, 23, 13, 15, 42, tzinfo=UTC),
         "Llama 5 & the open-weights gamble"),
        (f"{OMW}/22/discord-moving", datetime(2026, 11, 22, 19, 30, tzinfo=UTC),
         "Quick note: our Discord is moving"),
        (f"{OMW}/21/benchmarks-explained", datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
         "Benchmarks, explained"),
    ]  # fmt: skip


def test_jsonfeed_authors_item_then_legacy_then_feed() -> None:
    """1.1 ``authors`` are joined; a non-list falls back to 1.0 ``author``; none → the feed's."""
    authors = [e.author for e in _run("openmodel_jsonfeed_11.json")]
    assert authors == ["Priya Natarajan, Sam Okafor", "Open Model Weekly Desk", "Legacy Author"]


def test_jsonfeed_full_content_html_and_text() -> None:
    """content_html is kept as is; content_text becomes <p> paragraphs; a short note is neither."""
    first, note, text = _run("openmodel_jsonfeed_11.json")
    assert first.content is not None
    assert first.content.count("<p>") == 4
    assert note.content is None
    assert text.content is not None
    assert text.content.count("<p>") == 4
    assert text.content.startswith("<p>Meta released Llama 5 on Monday morning")


def test_jsonfeed_10_teaser_is_not_content() -> None:
    """A 1.0 feed parses too; a teaser under MIN_CONTENT_CHARS is not the article."""
    [entry] = _run("chronicle_jsonfeed_10.json", max_age=None)
    assert entry.author == "Chronicle Staff"
    assert entry.content is None
    assert entry.published_at is None


def test_jsonfeed_content_text_is_escaped() -> None:
    """content_text is text: markup in it is escaped, never passed on as HTML."""
    text = "<script>alert(1)</script> " + "word " * MIN_CONTENT_CHARS
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [{"id": "1", "url": "https://x.com/a", "content_text": text}],
        }
    )
    [entry] = discover("feed", body, FEED_URL, now=NOW).entries
    assert entry.content is not None
    assert "<script>" not in entry.content
    assert "&lt;script&gt;" in entry.content


def _nested(depth: int) -> str:
    return '{"version": "https://jsonfeed.org/version/1.1", "items": ' + "[" * depth + "]" * depth


MALFORMED = [
    ("no-version", '{"items": [{"url": "https://x.com/a"}]}', "without a jsonfeed.org version"),
    ("other-version", '{"version": "1.1", "items": []}', "without a jsonfeed.org version"),
    ("syntax", '{"version": "https://jsonfeed.org/version/1",\n "items": [,]}', "line 2"),
    ("truncated", '{"version": "https://jsonfeed.org/version/1", "items": [', "malformed JSON"),
    ("items-not-list", '{"version": "https://jsonfeed.org/version/1", "items": {}}', "items list"),
    ("deep-nesting", _nested(100_000) + "}", "nested too deeply"),
    ("huge-integer", '{"version": "https://jsonfeed.org/version/1", "n": ' + "9" * 5000 + "}",
     "malformed JSON"),
    ("array", '["https://jsonfeed.org/version/1"]', "not a feed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "detail"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_jsonfeed_malformed_body_raises(body: str, detail: str) -> None:
    """Bodies that are not JSON Feeds raise malformed_feed naming the URL and what is wrong."""
    with pytest.raises(ParseError) as caught:
        discover("feed", body, FEED_URL, now=NOW)
    assert caught.value.slug == "malformed_feed"
    assert str(caught.value).startswith(f"{FEED_URL}: not a feed (")
    assert detail in str(caught.value)


def test_jsonfeed_empty_items_is_a_quiet_day() -> None:
    """A valid JSON Feed without items is no entries, not an error."""
    body = '\ufeff {"version": "https://jsonfeed.org/version/1.1", "items": []}'
    assert discover("feed", body, FEED_URL, now=NOW).entries == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    ["url", "external_url", "id", "title", "date_published", "date_modified", "authors",
     "author", "content_html", "content_text"]
)  # fmt: skip


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(items=st.lists(st.dictionaries(_KEYS, _JSON | st.just("https://x.com/a")), max_size=5))
def test_jsonfeed_any_field_types_raise_nothing_undocumented(items: list[object]) -> None:
    """Items whose fields have any JSON type give entries or a ScrapeError, nothing else."""
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items})
    with contextlib.suppress(ScrapeError):
        discover("feed", body, FEED_URL, now=NOW, max_age=None)


def test_jsonfeed_parse_grows_linearly() -> None:
    """10x the items (each with a long content_text of blank-line runs) costs ~10x, not 100x."""
    item = {"url": "https://x.com/a/{}", "content_text": "line\n \n" * 20, "title": "&lt;" * 20}

    def build(n: int) -> str:
        items = [dict(item, url=f"https://x.com/a/{i}") for i in range(n // 300)]
        return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items})

    ratio = growth(build, lambda body: discover("feed", body, FEED_URL, now=NOW, limit=10))
    assert ratio < LINEAR, f"10x the input took {ratio:.0f}x as long"
