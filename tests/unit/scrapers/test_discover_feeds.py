"""Feed discovery: RSS 0.91/1.0/2.0 and Atom fixtures → entries; malformed bodies → ParseError."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers.discover import Discovery, discover
from scrapers.errors import ParseError

DATA = Path(__file__).resolve().parents[2] / "data" / "feeds"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FEED_URL = "https://feeds.example.com/tech/feed.xml"


def _read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def _run(name: str, base_url: str = FEED_URL, **kwargs: object) -> Discovery:
    return discover("feed", _read(name), base_url, now=NOW, **kwargs)  # type: ignore[arg-type]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


GUARDIAN = "https://www.theguardian.com/technology/2026/nov"
VERGE = "https://www.theverge.com/2026/11"
OMW = "https://openmodelweekly.com/2026/11"
NATURE = "https://www.nature.com/articles"
CHRONICLE = "http://www.harbourtownchronicle.com/news"
VALLEY = "https://valleyledger.com/tech"

# (fixture, [(url, published_at or None, title)]) with the default week-long max_age at NOW.
EXPECTED = [
    ("guardian_rss2.xml", [
        (f"{GUARDIAN}/23/meta-llama-5-zuckerberg-open-models", "2026-11-23T09:30:00Z",
         "Meta unveils Llama 5 as Zuckerberg doubles down on open models"),
        (f"{GUARDIAN}/22/techscape-superintelligence-data-centres", "2026-11-22T18:15:00Z",
         "TechScape: Why the superintelligence race is really about data centres"),
        (f"{GUARDIAN}/21/ico-inquiry-ai-chatbots-childrens-data?CMP=share_btn_link",
         "2026-11-21T07:00:00Z",
         "UK regulator opens inquiry into AI chatbots\u2019 use of children\u2019s data"),
    ]),
    ("verge_atom_full.xml", [
        (f"{VERGE}/23/24300001/meta-llama-5-open-weights-analysis", "2026-11-23T06:45:12-05:00",
         "Meta & the open-weights gamble: what Llama 5 means for everyone else"),
        (f"{VERGE}/22/24299870/threads-hide-like-counts", "2026-11-22T20:00:00Z",
         "Threads now lets you hide like counts on every post"),
        (f"{VERGE}/20/24298123/best-cheap-smartwatch-deals", "2026-11-20T14:30:00Z",
         "The best cheap smartwatches to buy right now"),
    ]),
    ("wordpress_rss2_content.xml", [
        (f"{OMW}/23/llama-5-benchmarks-first-48-hours/?utm_source=rss&utm_medium=rss"
         "&utm_campaign=llama-5-benchmarks-first-48-hours", "2026-11-23T08:15:42Z",
         "Llama 5 benchmarks: our first 48 hours with the open weights"),
        (f"{OMW}/22/quick-note-discord-moving/?utm_source=rss&utm_medium=rss"
         "&utm_campaign=quick-note-discord-moving", "2026-11-22T19:30:00-05:00",
         "Quick note: our Discord is moving"),
    ]),
    ("nature_rss1_rdf.xml", [
        (f"{NATURE}/d41586-026-03498-y", "2026-11-23T00:00:00Z",
         "Open-weight models catch up with closed rivals on reasoning benchmarks"),
        (f"{NATURE}/d41586-026-03512-1", "2026-11-22T09:00:00Z",
         "How much energy does AI really use? The numbers are in"),
    ]),
    ("rss091_netscape.xml", [
        (f"{CHRONICLE}/local/story.php?id=20931", None,
         "Council approves new ferry terminal after three-year wait"),
        (f"{CHRONICLE}/local/story.php?id=20927", None,
         "Harbour festival returns with record crowds"),
        (f"{CHRONICLE}/education/story.php?id=20915", None,
         "School board names new superintendent"),
    ]),
    ("edge_cases_rss2.xml", [
        (f"{VALLEY}/2026/11/23/permalink-guid-story", "2026-11-23T09:00:00Z",
         "Permalink guid stands in for a missing link"),
        ("https://feeds.example.com/tech/2026/11/23/relative-link-story", "2026-11-23T08:00:00Z",
         "Relative link resolved against the feed URL"),
        (f"{VALLEY}/2026/11/23/feedburner-origlink-story", "2026-11-23T07:00:00Z",
         "FeedBurner redirect replaced by the original link"),
        ("https://cdn.newswire-partner.net/stories/2026/11/23/syndicated-story",
         "2026-11-23T06:00:00Z", "Syndicated story on a CDN host is not refused"),
        (f"{VALLEY}/undated-story", None, "Undated story stays, after the dated ones"),
        (f"{VALLEY}/second-undated-story", None, "Second undated story keeps its feed order"),
    ]),
    ("unescaped_ampersand_rss2.xml", [
        ("https://marketsandmoney.com/2026/11/23/chips-cloud-earnings-season",
         "2026-11-23T07:45:00Z", "Chips & cloud: what the earnings season told us"),
        ("https://marketsandmoney.com/2026/11/22/bond-yields-slip-fed", "2026-11-22T16:20:00Z",
         "Bond yields slip as investors wait for the Fed"),
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("fixture", "expected"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_feed_fixture_entries(fixture: str, expected: list[tuple[str, str | None, str]]) -> None:
    """Each fixture yields exactly its fresh linked items: URL, UTC date and title, newest first."""
    found = _run(fixture)
    got = [(e.url, e.published_at, e.title) for e in found.entries]
    want = [(url, _utc(date) if date else None, title) for url, date, title in expected]
    assert got == want
    assert found.follow == []
    assert found.refused == []


@pytest.mark.parametrize("fixture", [e[0] for e in EXPECTED])
def test_feed_dates_are_utc(fixture: str) -> None:
    """Every published_at is timezone-aware UTC, whatever zone the feed wrote."""
    for entry in _run(fixture).entries:
        assert entry.published_at is None or entry.published_at.utcoffset() is not None
        assert entry.published_at is None or entry.published_at.tzinfo == UTC


AUTHORS = [
    ("guardian_rss2.xml", ["Dan Milmo Global technology editor", "Blake Montgomery", "Alex Hern"]),
    ("verge_atom_full.xml", ["Alex Heath", "Jay Peters", "Victoria Song"]),
    ("wordpress_rss2_content.xml", ["Priya Natarajan", "Sam Okafor"]),
    ("nature_rss1_rdf.xml", ["Elizabeth Gibney", "Sophia Chen"]),
    ("rss091_netscape.xml", [None, None, None]),
    ("edge_cases_rss2.xml", [None, None, None, "Valley Ledger Wire Desk", None, None]),
]


@pytest.mark.parametrize(("fixture", "authors"), AUTHORS, ids=[a[0] for a in AUTHORS])
def test_feed_authors(fixture: str, authors: list[str | None]) -> None:
    """Authors come from dc:creator, Atom <author><name> and RSS "email (Name)" as the name."""
    assert [e.author for e in _run(fixture).entries] == authors


CONTENT = [
    ("verge_atom_full.xml", [True, False, False]),  # full Atom <content>, a teaser, none
    ("wordpress_rss2_content.xml", [True, False]),  # full content:encoded, a two-line note
    ("nature_rss1_rdf.xml", [False, False]),  # a 200-char content:encoded stub is a teaser
    ("guardian_rss2.xml", [False, False, False]),  # description only: never content
]


@pytest.mark.parametrize(("fixture", "has_content"), CONTENT, ids=[c[0] for c in CONTENT])
def test_feed_full_content_only_when_substantial(fixture: str, has_content: list[bool]) -> None:
    """content carries the feed's HTML body only when it is the article (>= 500 chars of text)."""
    assert [e.content is not None for e in _run(fixture).entries] == has_content


def test_feed_full_content_is_the_html_body() -> None:
    """The kept content is the entry's HTML, paragraphs and all, not the summary."""
    content = _run("verge_atom_full.xml").entries[0].content
    assert content is not None
    assert content.count("<p>") == 4
    assert "Meta released Llama 5 on Monday morning" in content
    assert "experimentation will happen over the coming weeks" in content


MAX_AGE = [
    ("week", 7 * 86400, 3),
    ("two-days", 2 * 86400, 2),  # cut-off 2026-11-21T12:00: the 21 Nov 07:00 item goes
    ("one-hour", 3600, 0),
    ("none", None, 4),  # the 12 Nov item comes back
]


@pytest.mark.parametrize(
    ("max_age", "count"), [m[1:] for m in MAX_AGE], ids=[m[0] for m in MAX_AGE]
)
def test_feed_max_age_window(max_age: float | None, count: int) -> None:
    """Entries published before now - max_age are skipped; max_age=None keeps everything."""
    found = _run("guardian_rss2.xml", max_age=max_age)
    assert len(found.entries) == count
    if max_age is not None:
        for entry in found.entries:
            assert entry.published_at is not None
            assert (NOW - entry.published_at).total_seconds() <= max_age


def test_feed_undated_entries_survive_any_max_age() -> None:
    """Undated items cannot be judged stale, so even a one-second window keeps them in order."""
    found = _run("edge_cases_rss2.xml", max_age=1)
    assert [e.url for e in found.entries] == [
        f"{VALLEY}/undated-story",
        f"{VALLEY}/second-undated-story",
    ]


@pytest.mark.parametrize("limit", [0, 1, 2, 3])
def test_feed_limit_keeps_the_newest(limit: int) -> None:
    """limit caps the entries, keeping the newest ones."""
    full = _run("guardian_rss2.xml").entries
    assert _run("guardian_rss2.xml", limit=limit).entries == full[:limit]


def test_feed_duplicate_links_collapse_to_the_newest() -> None:
    """Two items with the same canonical link yield one entry, the newer one."""
    body = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <item><title>Old copy</title><link>https://x.com/a/story-one?utm_source=rss</link>
        <pubDate>Sun, 22 Nov 2026 10:00:00 GMT</pubDate></item>
      <item><title>Updated copy</title><link>https://x.com/a/story-one#top</link>
        <pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>
    </channel></rss>"""
    found = discover("feed", body, FEED_URL, now=NOW)
    assert [e.title for e in found.entries] == ["Updated copy"]


def test_feed_declared_latin1_body_is_not_decoded_twice() -> None:
    """A body already decoded to text keeps its accents even if its XML declaration says Latin-1."""
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        '<rss version="2.0"><channel><title>Le Fil</title>'
        "<item><title>Le caf\u00e9 co\u00fbte plus cher \u00e0 Paris</title>"
        "<link>https://lefil.fr/economie/cafe-cout-paris</link></item></channel></rss>"
    )
    [entry] = discover("feed", body, "https://lefil.fr/rss", now=NOW).entries
    assert entry.title == "Le caf\u00e9 co\u00fbte plus cher \u00e0 Paris"


def test_feed_tolerates_bozo_when_entries_parsed() -> None:
    """A bare '&' makes the XML ill-formed, but the items parsed, so the feed is used."""
    assert len(_run("unescaped_ampersand_rss2.xml").entries) == 2


UNCLOSED_ITEM = (
    '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Broken</title>\n'
    "<item><title>Meta ships Llama 5</title><link>https://x.com/llama-5</link></item>\n"
    "<item><title>unclosed\n</channel>"
)

# (id, body, urls read, (line, column, parser message) of the damage, or None: well-formed)
DAMAGED = [
    ("unclosed-item", UNCLOSED_ITEM, ["https://x.com/llama-5"], (5, 2, "mismatched tag")),
    (
        "bare-ampersand",
        _read("unescaped_ampersand_rss2.xml"),
        [
            "https://marketsandmoney.com/2026/11/23/chips-cloud-earnings-season",
            "https://marketsandmoney.com/2026/11/22/bond-yields-slip-fed",
        ],
        (4, 20, "not well-formed (invalid token)"),
    ),
    (
        "latin1-declared",  # the HTTP charset overrides the declaration: nothing is lost
        '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel>'
        "<item><link>https://x.com/a</link></item></channel></rss>",
        ["https://x.com/a"],
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "urls", "where"), [d[1:] for d in DAMAGED], ids=[d[0] for d in DAMAGED]
)
def test_feed_partly_read_keeps_its_entries_and_says_where_it_breaks(
    body: str, urls: list[str], where: tuple[int, int, str] | None
) -> None:
    """A feed whose XML breaks still gives every entry that could be read, and its damage
    names the URL and the parser's line and column, so the loss is not silent."""
    found = discover("feed", body, FEED_URL, now=NOW)
    assert sorted(e.url for e in found.entries) == sorted(urls)
    if where is None:
        assert found.damage is None
        return
    assert found.damage is not None
    assert (found.damage.line, found.damage.column, found.damage.message) == where
    assert (found.damage.url, found.damage.reason) == (FEED_URL, "malformed_feed")
    assert str(found.damage) == (
        f"{FEED_URL}: malformed XML at line {where[0]}, column {where[1]}: {where[2]}"
    )


MALFORMED = [
    ("empty", "", "empty body"),
    ("whitespace", " \n\t ", "empty body"),
    ("html-page", _read("html_served_as_feed.html"), "got an HTML page"),
    ("html-no-doctype", "<html><body><p>Moved</p></body></html>", "got an HTML page"),
    (
        "html-after-comment",
        "<!-- cache: miss -->\n<!DOCTYPE html><html></html>",
        "got an HTML page",
    ),
    ("truncated", _read("truncated_rss2.xml"), "line 9"),
    ("plain-text", "Service temporarily unavailable", "not a feed"),
    ("json", '{"items": [{"url": "https://x.com/a"}]}', "not a feed"),
]


@pytest.mark.parametrize(
    ("body", "detail"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_feed_malformed_body_raises(body: str, detail: str) -> None:
    """Bodies that are not feeds raise malformed_feed naming the URL and what is wrong."""
    with pytest.raises(ParseError) as caught:
        discover("feed", body, FEED_URL, now=NOW)
    assert caught.value.slug == "malformed_feed"
    assert caught.value.url == FEED_URL
    message = str(caught.value)
    assert message.startswith(f"{FEED_URL}: ")
    assert detail in message


def test_feed_body_naming_a_file_is_not_opened() -> None:
    """A body that happens to be a path is parsed as text: discovery never reads files."""
    body = str(DATA / "guardian_rss2.xml")
    with pytest.raises(ParseError, match="not a feed"):
        discover("feed", body, FEED_URL, now=NOW)


def test_feed_empty_channel_is_not_an_error() -> None:
    """A well-formed feed with no items is a quiet day, not a failure."""
    body = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert discover("feed", body, FEED_URL, now=NOW) == Discovery(entries=[])


def test_discover_unknown_kind_raises() -> None:
    """A source type discover does not know is a programming error, reported as ValueError."""
    with pytest.raises(ValueError, match="unknown source kind"):
        discover("podcast", "", FEED_URL, now=NOW)  # type: ignore[arg-type]
