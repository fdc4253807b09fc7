"""Listing-page discovery: article links kept, every kind of non-article link dropped."""

# ruff: noqa: E501 — the rule table keeps one HTML snippet per line so each case reads whole

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scrapers.discover import Discovery, discover
from scrapers.errors import ParseError
from scrapers.urls import canonicalize

DATA = Path(__file__).resolve().parents[2] / "data" / "pages"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECTION_URL = "https://www.dailyledger.com/technology/"
L = "https://www.dailyledger.com"


def _section(**kwargs: object) -> Discovery:
    body = (DATA / "ledger_technology_section.html").read_text(encoding="utf-8")
    return discover("page", body, SECTION_URL, now=NOW, **kwargs)  # type: ignore[arg-type]


def _snippet(html: str, base_url: str = "https://paper.example.org/news/") -> list[str]:
    """URLs discovered on a minimal page whose body is ``html``."""
    page = f"<!doctype html><html><head><title>t</title></head><body>{html}</body></html>"
    return [e.url for e in discover("page", page, base_url, now=NOW).entries]


SECTION_EXPECTED = [
    (f"{L}/technology/2026/nov/23/meta-llama-5-open-weights-release",
     "Meta releases Llama 5 with open weights as rivals close ranks"),  # image link first, titled later
    (f"{L}/technology/2026/nov/22/apple-vision-pro-2-review", None),  # card link "Review"
    (f"{L}/business/2026/nov/22/zuckerberg-superintelligence-lab-hiring-spree",
     "Zuckerberg\u2019s superintelligence lab goes on a hiring spree"),
    (f"{L}/technology/news-12345678", "EU regulators open inquiry into chatbot data practices"),
    (f"{L}/technology/2026/nov/21/data-centre-power-grid-strain",
     "Data centres strain the power grid in northern Virginia"),
    ("https://live.dailyledger.com/technology/2026/nov/23/ai-summit-live-updates",
     "AI summit: live updates from day two"),
    (f"{L}/technology/why-chip-export-rules-keep-changing",
     "Why chip export rules keep changing so often"),  # relative href
]  # fmt: skip


def test_section_page_articles_in_document_order() -> None:
    """The section page yields its same-site article links, deduped, titled, in page order."""
    found = _section()
    assert [(e.url, e.title) for e in found.entries] == SECTION_EXPECTED
    assert all(e.published_at is None for e in found.entries)
    assert found.follow == []


def test_section_page_refuses_cross_site_articles() -> None:
    """An article-looking link to another site is refused and reported, not followed."""
    assert _section().refused == [
        "https://www.partner-wire.com/tech/2026/11/23/startup-raises-record-funding-round"
    ]


DROPPED = [
    ("header-nav", "/world/2026/nov/23/ceasefire-talks-resume-in-cairo"),
    ("breadcrumb-role-navigation", "/technology/2026/nov/23/breadcrumb-trail-should-not-count"),
    ("section-nav", "/business/markets/"),
    ("subscribe", "/subscribe/black-friday-2026-digital-offer"),
    ("subscribe-header", "/subscribe?ref=header"),
    ("login", "/login?returnUrl=/technology/2026/nov/23/meta-llama-5-open-weights-release"),
    ("search", "/search"),
    ("search-query", "/search?q=meta+llama+open+weights"),
    ("tag", "/tag/meta"),
    ("tags", "/tags/open-source-software-licensing"),
    ("topic", "/topic/artificial-intelligence-ai"),
    ("category", "/category/gadgets/smartphones"),
    ("author", "/author/jane-reporter"),
    ("authors", "/authors/sam-lee-technology-editor"),
    ("profile-rel-author", "/profile/alex-morgan"),
    ("section-kicker-in-card", "/technology/artificial-intelligence"),
    ("newsletter", "/newsletters/techscape-sign-up-now"),
    ("account", "/account/preferences/email-settings"),
    ("pagination-query", "/technology/?page=2"),
    ("pagination-path", "/technology/page/3"),
    ("pagination-query-second", "/technology/all?sort=newest&page=4"),
    ("date-archive-rel-next", "/technology/2026/nov/23"),
    ("pdf", "/documents/2026/ai-safety-report-full-text.pdf"),
    ("image", "/technology/2026/nov/23/gallery/photo-of-the-launch-event.jpg"),
    ("audio", "/podcasts/2026/nov/23/techscape-episode-112.mp3"),
    ("page-itself", "/technology/"),
    ("home", "/"),
    ("aside-most-viewed", "/world/2026/nov/22/storm-warning-coastal-towns-evacuated"),
    ("footer-privacy", "/info/privacy-and-cookie-policy-notice"),
    ("footer-about", "/about-us"),
    ("footer-contact", "/help/contact-us"),
    ("facebook-share", "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fwww.dailyledger.com%2Ftechnology%2F"),
    ("x-share", "https://twitter.com/intent/tweet?url=https%3A%2F%2Fwww.dailyledger.com%2Ftechnology%2F&text=Technology"),
    ("instagram", "https://www.instagram.com/dailyledger/"),
]  # fmt: skip


@pytest.mark.parametrize("href", [d[1] for d in DROPPED], ids=[d[0] for d in DROPPED])
def test_section_page_drops_non_article_links(href: str) -> None:
    """Each non-article link in the fixture is neither an entry nor refused."""
    url = canonicalize(href if href.startswith("http") else L + href)
    found = _section()
    assert url not in {canonicalize(e.url) for e in found.entries}
    assert url not in {canonicalize(u) for u in found.refused}


def test_section_page_fixture_contains_every_dropped_link() -> None:
    """The dropped-link table is real: every one of its links is present in the fixture."""
    body = (DATA / "ledger_technology_section.html").read_text(encoding="utf-8")
    for _, href in DROPPED:
        assert f'href="{href.replace("&", "&amp;")}"' in body, href


@pytest.mark.parametrize("limit", [0, 1, 3, 7, 50])
def test_section_page_limit_keeps_page_order(limit: int) -> None:
    """limit keeps the first links in page order."""
    assert [(e.url, e.title) for e in _section(limit=limit).entries] == SECTION_EXPECTED[:limit]


RULES = [
    ("date-path-short-text-in-main", '<main><a href="/2026/11/23/story">More</a></main>', []),
    ("date-path-in-article", '<article><a href="/2026/11/23/story">More</a></article>', ["https://paper.example.org/2026/11/23/story"]),
    ("long-slug-headline", '<main><a href="/why-chip-rules-change">Why chip rules keep changing</a></main>', ["https://paper.example.org/why-chip-rules-change"]),
    ("digit-id-headline", '<main><a href="/a/123456">Council approves new ferry terminal</a></main>', ["https://paper.example.org/a/123456"]),
    ("query-id-headline", '<main><a href="/story.php?id=20931">Council approves new ferry terminal</a></main>', ["https://paper.example.org/story.php?id=20931"]),
    ("depth-two-headline", '<main><a href="/world/europe-summit">Leaders meet for a summit</a></main>', ["https://paper.example.org/world/europe-summit"]),
    ("depth-two-in-heading", '<main><h3><a href="/world/summit">Summit</a></h3></main>', ["https://paper.example.org/world/summit"]),
    ("depth-two-short-in-article", '<article><a href="/world/europe">Europe</a></article>', []),
    ("depth-one-headline", '<main><a href="/about">Read all about us here today</a></main>', []),
    ("article-header-counts", '<article><header><h2><a href="/news/some-long-slug">A</a></h2></header></article>', ["https://paper.example.org/news/some-long-slug"]),
    ("page-header-skipped", '<header><h2><a href="/news/some-long-story-slug">A long headline here</a></h2></header>', []),
    ("article-in-page-header", '<header><article><a href="/news/some-long-story-slug">A long headline here</a></article></header>', []),
    ("aside-in-article", '<article><aside><a href="/news/some-long-story-slug">A long headline here</a></aside></article>', []),
    ("role-banner", '<div role="banner"><a href="/news/some-long-story-slug">A long headline here</a></div>', []),
    ("rel-tag", '<main><a rel="tag" href="/news/some-long-story-slug">A long headline here</a></main>', []),
    ("rel-sponsored", '<main><a rel="nofollow sponsored" href="/news/some-long-story-slug">A long headline here</a></main>', []),
    ("mailto", '<main><a href="mailto:desk@paper.example.org?subject=a-long-story">Email the news desk now</a></main>', []),
    ("javascript", '<main><a href="javascript:void(0)">Open the menu of stories now</a></main>', []),
    ("tel", '<main><a href="tel:+441234567890">Call the newsroom on this number</a></main>', []),
    ("fragment", '<main><a href="#comments-section-long">Jump to the comments below</a></main>', []),
    ("wordpress-search", '<main><a href="/news/?s=meta+llama">Search results for meta llama</a></main>', []),
    ("wordpress-reply", '<article><a href="/2026/11/23/story/?replytocom=881">Reply to this comment</a></article>', []),
    ("cloudflare-email", '<main><a href="/cdn-cgi/l/email-protection#a1b2c3">Email the author of this</a></main>', []),
    ("feed-link", '<main><a href="/news/feed/">Subscribe to this section by RSS</a></main>', []),
    ("same-url-twice", '<main><a href="/a/one-two-three">One two three four</a><a href="/a/one-two-three#x">One two three four five</a></main>', ["https://paper.example.org/a/one-two-three"]),
    ("tracking-stripped", '<main><a href="/a/one-two-three?utm_source=hp&id=2">One two three four</a></main>', ["https://paper.example.org/a/one-two-three?id=2"]),
    ("base-href", '<main><a href="story-with-long-slug">Headline with four words</a></main>', ["https://paper.example.org/news/story-with-long-slug"]),
]  # fmt: skip


@pytest.mark.parametrize(("html", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_page_link_rules(html: str, expected: list[str]) -> None:
    """Each structural rule keeps or drops a link as documented in pages.py."""
    assert _snippet(html) == expected


def test_page_base_href_is_honoured() -> None:
    """A <base href> in the head changes what relative links resolve against."""
    page = (
        '<html><head><base href="https://paper.example.org/archive/"></head><body><main>'
        '<a href="2026/11/23/story-slug-here">Headline of the archived story</a></main></body></html>'
    )
    found = discover("page", page, "https://paper.example.org/news/", now=NOW)
    assert [e.url for e in found.entries] == [
        "https://paper.example.org/archive/2026/11/23/story-slug-here"
    ]


def test_page_title_only_from_headline_like_text() -> None:
    """An anchor like "Read more" gives no title; a headline anchor to the same URL fills it in."""
    page = (
        '<article><a href="/2026/11/23/story">Read more</a>'
        '<h2><a href="/2026/11/23/story">Council approves the ferry terminal</a></h2></article>'
        '<article><a href="/2026/11/22/other">More</a></article>'
    )
    found = discover(
        "page", f"<html><body>{page}</body></html>", "https://paper.example.org/", now=NOW
    )
    assert [(e.url, e.title) for e in found.entries] == [
        ("https://paper.example.org/2026/11/23/story", "Council approves the ferry terminal"),
        ("https://paper.example.org/2026/11/22/other", None),
    ]


@pytest.mark.parametrize("body", ["", "   \n  "], ids=["empty", "whitespace"])
def test_page_empty_body_raises(body: str) -> None:
    """An empty listing page raises malformed_page naming the URL."""
    with pytest.raises(ParseError) as caught:
        discover("page", body, SECTION_URL, now=NOW)
    assert caught.value.slug == "malformed_page"
    assert str(caught.value) == f"{SECTION_URL}: not a page (empty body)"


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>t</title></channel></rss>',
        '<?xml version="1.0"?><?xml-stylesheet href="/rss.xsl"?><!-- c --><rss version="2.0"><channel/></rss>',
        '<rss version="2.0"><channel><item><link>https://paper.example.org/news/a</link></item></channel></rss>',
        '\ufeff<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>',
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
    ],
    ids=["rss-declared", "rss-stylesheet", "rss-bare", "atom-bom", "rss1-rdf"],
)
def test_page_source_serving_a_feed_says_use_type_feed(body: str) -> None:
    """A feed given as a page source is malformed_page saying what it is and which type reads
    it, not lxml's complaint about encoding declarations (nor, undeclared, zero links)."""
    with pytest.raises(ParseError) as caught:
        discover("page", body, SECTION_URL, now=NOW)
    assert caught.value.slug == "malformed_page"
    assert str(caught.value) == (
        f"{SECTION_URL}: serves an RSS/Atom feed, not a page: use type: feed"
    )


def test_xhtml_page_with_an_xml_declaration_is_a_page() -> None:
    """An XHTML listing page that opens with ``<?xml ... encoding=...?>`` is read as a page;
    lxml refuses such a declaration in text, and the body is already decoded text."""
    body = (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body>'
        '<a href="/news/2026/11/23/meta-opens-llama">Meta opens Llama to every developer</a>'
        "</body></html>"
    )
    found = discover("page", body, "https://paper.example.org/news/", now=NOW)
    assert [e.url for e in found.entries] == [
        "https://paper.example.org/news/2026/11/23/meta-opens-llama"
    ]
