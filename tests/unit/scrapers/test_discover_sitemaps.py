"""Sitemap discovery: Google News, plain urlset, sitemap index, hardening and malformed bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers.discover import MAX_CHILD_SITEMAPS, Discovery, discover
from scrapers.discover.sitemaps import parse_w3c_datetime
from scrapers.errors import ParseError

DATA = Path(__file__).resolve().parents[2] / "data"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REUTERS_SITEMAP = "https://www.reuters.com/arc/outboundfeeds/news-sitemap/?outputType=xml"
GAZETTE_INDEX = "https://www.examplegazette.co.uk/sitemap.xml"
OMW_SITEMAP = "https://openmodelweekly.com/post-sitemap.xml"


def _run(name: str, base_url: str, **kwargs: object) -> Discovery:
    body = (DATA / name).read_text(encoding="utf-8")
    return discover("sitemap", body, base_url, now=NOW, **kwargs)  # type: ignore[arg-type]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


R = "https://www.reuters.com"
NEWS_EXPECTED = [
    (f"{R}/technology/artificial-intelligence/meta-releases-llama-5-open-weights-2026-11-23/",
     "2026-11-23T10:41:07Z", "Meta releases Llama 5 with open weights, steps up AI race"),
    (f"{R}/technology/eu-opens-inquiry-chatbot-data-practices-2026-11-23/",
     "2026-11-23T08:02:00Z", "EU opens inquiry into chatbot data practices"),
    (f"{R}/markets/deals/chipmaker-agrees-takeover-2026-11-23/?id=5&utm_source=sitemap",
     "2026-11-23T05:10:00Z", "Chipmaker agrees & signs $4 billion takeover"),
    (f"{R}/business/finance/bond-yields-slip-investors-await-fed-2026-11-22/",
     "2026-11-22T21:15:30Z", "Bond yields slip as investors await Fed minutes"),
    ("https://graphics.reuters.com/AI-DATACENTRES/POWER/2026-11-22/",
     "2026-11-22T20:00:00Z", "Graphic: The data centres straining America's grid"),
    (f"{R}/world/asia-pacific/typhoon-makes-landfall-2026-11-21/",
     "2026-11-21T09:00:00Z", "Typhoon makes landfall, thousands evacuated"),
]  # fmt: skip


def test_news_sitemap_entries() -> None:
    """A Google News sitemap yields same-site URLs, dated and titled by news:, newest first."""
    found = _run("sitemaps/reuters_news_sitemap.xml", REUTERS_SITEMAP)
    got = [(e.url, e.published_at, e.title) for e in found.entries]
    assert got == [(url, _utc(date), title) for url, date, title in NEWS_EXPECTED]
    assert found.follow == []


def test_news_sitemap_refuses_other_sites() -> None:
    """A <loc> on another registrable domain is refused and reported; subdomains are kept."""
    found = _run("sitemaps/reuters_news_sitemap.xml", REUTERS_SITEMAP)
    assert found.refused == [
        "https://www.partner-newswire.com/reuters/2026/11/23/syndicated-markets-wrap/"
    ]
    assert any(e.url.startswith("https://graphics.reuters.com/") for e in found.entries)


def test_news_sitemap_publication_date_wins_over_lastmod() -> None:
    """news:publication_date dates the story; a later lastmod (an edit) does not make it newer."""
    first = _run("sitemaps/reuters_news_sitemap.xml", REUTERS_SITEMAP).entries[0]
    assert first.published_at == _utc("2026-11-23T10:41:07Z")


@pytest.mark.parametrize(
    ("max_age", "count"),
    [(7 * 86400, 6), (86400, 5), (6 * 3600, 2), (None, 6)],
    ids=["week", "day", "six-hours", "none"],
)
def test_news_sitemap_max_age(max_age: float | None, count: int) -> None:
    """News sitemap entries published before now - max_age are skipped."""
    found = _run("sitemaps/reuters_news_sitemap.xml", REUTERS_SITEMAP, max_age=max_age)
    assert [e.url for e in found.entries] == [url for url, _, _ in NEWS_EXPECTED][:count]


OMW = "https://openmodelweekly.com"


@pytest.mark.parametrize(
    ("max_age", "expected"),
    [
        (7 * 86400, [
            (f"{OMW}/2026/11/23/llama-5-benchmarks-first-48-hours/", "2026-11-23T09:12:44+00:00"),
            (f"{OMW}/2026/11/22/gpu-prices-holiday-season/", "2026-11-22T16:05:00+01:00"),
            (f"{OMW}/2026/11/22/quick-note-discord-moving/", "2026-11-22T00:00:00+00:00"),
            (f"{OMW}/about/", None),
            (f"{OMW}/2026/11/21/reader-mailbag-november/", None),  # lastmod "last tuesday"
        ]),
        (None, [
            (f"{OMW}/2026/11/23/llama-5-benchmarks-first-48-hours/", "2026-11-23T09:12:44+00:00"),
            (f"{OMW}/2026/11/22/gpu-prices-holiday-season/", "2026-11-22T16:05:00+01:00"),
            (f"{OMW}/2026/11/22/quick-note-discord-moving/", "2026-11-22T00:00:00+00:00"),
            (f"{OMW}/2026/10/02/what-we-learned-from-a-year-of-evals/",
             "2026-10-02T12:00:00+00:00"),
            (f"{OMW}/about/", None),
            (f"{OMW}/2026/11/21/reader-mailbag-november/", None),
        ]),
    ],
    ids=["week", "none"],
)  # fmt: skip
def test_urlset_lastmod_entries(
    max_age: float | None, expected: list[tuple[str, str | None]]
) -> None:
    """A plain urlset is dated by lastmod, newest first, undated last in document order."""
    found = _run("sitemaps/yoast_post_sitemap.xml", OMW_SITEMAP, max_age=max_age)
    got = [(e.url, e.published_at) for e in found.entries]
    assert got == [(url, _utc(date) if date else None) for url, date in expected]
    assert all(e.title is None for e in found.entries)
    assert found.refused == []


G = "https://www.examplegazette.co.uk/sitemaps"
INDEX = [
    ("week", 7 * 86400, [
        f"{G}/news-2026-11-23.xml",
        "https://video.examplegazette.co.uk/sitemaps/video-latest.xml",
        f"{G}/news-2026-11-22.xml",
        f"{G}/news-2026-11-21.xml",
        f"{G}/news-2026-11-20.xml",
    ]),
    ("two-days", 2 * 86400, [
        f"{G}/news-2026-11-23.xml",
        "https://video.examplegazette.co.uk/sitemaps/video-latest.xml",
        f"{G}/news-2026-11-22.xml",
        f"{G}/sections.xml",  # undated: kept, after the dated ones
    ]),
    ("none", None, [
        f"{G}/news-2026-11-23.xml",
        "https://video.examplegazette.co.uk/sitemaps/video-latest.xml",
        f"{G}/news-2026-11-22.xml",
        f"{G}/news-2026-11-21.xml",
        f"{G}/news-2026-11-20.xml",
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("max_age", "follow"), [i[1:] for i in INDEX], ids=[i[0] for i in INDEX])
def test_sitemap_index_follow(max_age: float | None, follow: list[str]) -> None:
    """An index yields same-site children to follow: fresh ones, newest lastmod first, at most 5."""
    found = _run("sitemaps/gazette_sitemap_index.xml", GAZETTE_INDEX, max_age=max_age)
    assert found.follow == follow
    assert len(found.follow) <= MAX_CHILD_SITEMAPS
    assert found.entries == []


def test_sitemap_index_refuses_other_sites() -> None:
    """A child on another .co.uk domain is refused; a subdomain of the same site is followed."""
    found = _run("sitemaps/gazette_sitemap_index.xml", GAZETTE_INDEX)
    assert found.refused == ["https://cdn.othergazette.co.uk/sitemaps/partner-content.xml"]


def test_sitemap_limit_keeps_the_newest() -> None:
    """limit caps sitemap entries, keeping the newest."""
    found = _run("sitemaps/reuters_news_sitemap.xml", REUTERS_SITEMAP, limit=2)
    assert [e.url for e in found.entries] == [url for url, _, _ in NEWS_EXPECTED][:2]


def test_sitemap_entities_are_not_expanded() -> None:
    """External entities are never resolved: <loc>s using them are dropped, the rest kept."""
    found = _run("sitemaps/xxe_sitemap.xml", OMW_SITEMAP)
    assert [e.url for e in found.entries] == [
        "https://openmodelweekly.com/2026/11/23/plain-story-without-entities/"
    ]


def test_sitemap_accepts_a_feed_body() -> None:
    """An RSS feed configured as a sitemap is read as a feed, with the sitemap's same-site rule."""
    found = _run("feeds/edge_cases_rss2.xml", "https://valleyledger.com/tech/rss")
    assert "https://cdn.newswire-partner.net/stories/2026/11/23/syndicated-story" in found.refused
    assert [e.url for e in found.entries][:3] == [
        "https://valleyledger.com/tech/2026/11/23/permalink-guid-story",
        "https://valleyledger.com/tech/2026/11/23/relative-link-story",
        "https://valleyledger.com/tech/2026/11/23/feedburner-origlink-story",
    ]


def test_sitemap_without_namespace_is_accepted() -> None:
    """Elements match by local name, so a sitemap missing its xmlns still parses."""
    body = "<urlset><url><loc>https://x.com/news/a-story-here</loc><lastmod>2026-11-23</lastmod></url></urlset>"
    found = discover("sitemap", body, "https://x.com/sitemap.xml", now=NOW)
    assert [(e.url, e.published_at) for e in found.entries] == [
        ("https://x.com/news/a-story-here", datetime(2026, 11, 23, tzinfo=UTC))
    ]


MALFORMED = [
    ("empty", "", "empty body"),
    ("whitespace", "\n  \n", "empty body"),
    ("html-page", (DATA / "feeds/html_served_as_feed.html").read_text(), "got an HTML page"),
    ("cut-in-first-url", "<urlset><url><loc>https://x.com/a</lo", "malformed XML at line 1"),
    ("plain-text", "Service temporarily unavailable", "malformed XML at line 1"),
    ("wrong-root", '<?xml version="1.0"?><response><ok/></response>', "root element <response>"),
]


@pytest.mark.parametrize(
    ("body", "detail"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_sitemap_malformed_body_raises(body: str, detail: str) -> None:
    """Bodies that are not sitemaps raise malformed_sitemap naming the URL and what is wrong."""
    with pytest.raises(ParseError) as caught:
        discover("sitemap", body, GAZETTE_INDEX, now=NOW)
    assert caught.value.slug == "malformed_sitemap"
    assert caught.value.url == GAZETTE_INDEX
    assert str(caught.value).startswith(f"{GAZETTE_INDEX}: ")
    assert detail in str(caught.value)


OPEN_MODEL = "https://openmodelweekly.com/sitemap.xml"


def test_sitemap_cut_off_keeps_the_whole_urls_and_reports_where() -> None:
    """A sitemap cut mid-``<url>`` (a generator that died mid-write) keeps the URLs read
    whole and says where it broke; the cut one (its ``<loc>`` half a URL) is not guessed at."""
    body = (DATA / "sitemaps/truncated_sitemap.xml").read_text()
    found = discover("sitemap", body, OPEN_MODEL, now=NOW, max_age=None)
    assert [e.url for e in found.entries] == [
        "https://openmodelweekly.com/2026/11/23/llama-5-benchmarks-first-48-hours/"
    ]
    assert found.damage is not None
    assert (found.damage.url, found.damage.reason) == (OPEN_MODEL, "malformed_sitemap")
    assert (found.damage.line, found.damage.column) == (9, 1)
    assert str(found.damage).startswith(f"{OPEN_MODEL}: malformed XML at line 9, column 1: ")


def test_sitemap_broken_mid_way_keeps_what_came_before() -> None:
    """A stray ``&`` inside the second ``<url>``: the first is kept, the second (read up to
    the error) and everything after it are not, and the damage names the column."""
    urls = "".join(f"<url><loc>https://x.com/news/{n}</loc></url>" for n in (1, 2, 3))
    body = '<?xml version="1.0"?><urlset>' + urls.replace("/2<", "/2 & more<") + "</urlset>"
    found = discover("sitemap", body, "https://x.com/sitemap.xml", now=NOW, max_age=None)
    assert [e.url for e in found.entries] == ["https://x.com/news/1"]
    assert found.damage is not None
    assert found.damage.line == 1
    assert found.damage.column == body.index("&") + 2  # libxml2: 1-based, past the "&"
    assert found.damage.message == "xmlParseEntityRef: no name"


def test_sitemap_index_cut_off_keeps_its_whole_children() -> None:
    """A sitemap index cut inside its third ``<sitemap>`` still leads to the first two."""
    children = "".join(
        f"<sitemap><loc>https://x.com/sitemap-{n}.xml</loc></sitemap>\n" for n in (1, 2, 3)
    )
    body = "<sitemapindex>\n" + children[: children.rindex("</loc>")]
    found = discover("sitemap", body, "https://x.com/sitemap.xml", now=NOW, max_age=None)
    assert found.follow == ["https://x.com/sitemap-1.xml", "https://x.com/sitemap-2.xml"]
    assert found.damage is not None
    assert found.damage.line == 4


def test_sitemap_with_an_undeclared_news_prefix_is_read_whole() -> None:
    """A Google News sitemap that forgot ``xmlns:news`` (common) breaks only namespace rules:
    the parser reads on, so every URL is kept, titled, and nothing is called damage."""
    urls = "".join(
        f"<url><loc>https://x.com/news/{n}</loc><news:news><news:title>T{n}</news:title>"
        "</news:news></url>"
        for n in (1, 2)
    )
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    found = discover("sitemap", body, "https://x.com/s.xml", now=NOW, max_age=None)
    assert [(e.url, e.title) for e in found.entries] == [  # undated: document order
        ("https://x.com/news/1", "T1"),
        ("https://x.com/news/2", "T2"),
    ]
    assert found.damage is None


def test_well_formed_sitemap_has_no_damage() -> None:
    body = "<urlset><url><loc>https://x.com/news/1</loc></url></urlset>"
    assert discover("sitemap", body, "https://x.com/s.xml", now=NOW).damage is None


W3C = [
    ("2026", datetime(2026, 1, 1, tzinfo=UTC)),
    ("2026-11", datetime(2026, 11, 1, tzinfo=UTC)),
    ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
    ("2026-11-23T10:15Z", datetime(2026, 11, 23, 10, 15, tzinfo=UTC)),
    ("2026-11-23T10:15:30+01:00", datetime(2026, 11, 23, 9, 15, 30, tzinfo=UTC)),
    ("2026-11-23T10:15:30.45-05:00", datetime(2026, 11, 23, 15, 15, 30, 450000, tzinfo=UTC)),
    ("2026-11-23T10:15:30", datetime(2026, 11, 23, 10, 15, 30, tzinfo=UTC)),
    (" 2026-11-23T10:15:30Z\n", datetime(2026, 11, 23, 10, 15, 30, tzinfo=UTC)),
    ("last tuesday", None),
    ("2026-13-40", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "expected"), W3C, ids=[repr(w[0]) for w in W3C])
def test_parse_w3c_datetime_table(text: str | None, expected: datetime | None) -> None:
    """Sitemap dates in every W3C Datetime precision parse to UTC; junk is None."""
    assert parse_w3c_datetime(text) == expected
