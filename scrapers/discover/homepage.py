"""An outlet's homepage → the feeds it announces, and what a sitemap body is. Pure: no I/O.

    feed_links(body, base_url)     ``<link rel="alternate" type="...">`` feeds, in order
      1 parse the page with lxml's HTML parser (linear in the body)
      2 keep ``<link>`` elements whose rel has ``alternate`` and whose type is a feed type
        (RSS, Atom, RDF, JSON Feed); resolve href against ``<base href>`` / the page URL
      3 stop after MAX_ALTERNATES such links: a homepage announces a handful (site, comments,
        a few sections); a page with 10 000 is hostile or broken, and only the first are
        considered (``truncated`` says so)
    is_news_sitemap(body)          whether a sitemap uses the Google News extension

Feeds on another host (FeedBurner, a CDN) are kept: a site's own page may name them, and the
fetcher's guard judges every address anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapers.discover.pages import document_of
from scrapers.urls import is_web_url, resolve

__all__ = [
    "FEED_TYPES",
    "MAX_ALTERNATES",
    "FeedLink",
    "HomepageLinks",
    "feed_links",
    "is_news_sitemap",
]

MAX_ALTERNATES = 50  # feed links considered per homepage; the rest are ignored (and counted)
FEED_TYPES: frozenset[str] = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",  # JSON Feed's registered type
        "application/json",  # JSON Feed as many sites label it (oEmbed says json+oembed)
        "application/x.atom+xml",
        "text/xml",
        "application/xml",
    }
)
NEWS_NAMESPACE = "google.com/schemas/sitemap-news/"  # xmlns:news, http or https, 0.9


@dataclass(frozen=True, slots=True)
class FeedLink:
    """One feed a homepage announces: its absolute URL, declared type and title."""

    url: str
    type: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class HomepageLinks:
    """The feeds a homepage announces, first MAX_ALTERNATES only; ``truncated``: there were
    more (left unread)."""

    feeds: tuple[FeedLink, ...] = ()
    truncated: bool = False


def feed_links(body: str, base_url: str, *, limit: int = MAX_ALTERNATES) -> HomepageLinks:
    """Stages 1-3 (module docstring). Raises ParseError(kind="malformed_page") for a body
    that is not HTML at all (empty)."""
    document, base = document_of(body, base_url)
    found: dict[str, FeedLink] = {}
    for element in document.iter("link"):
        rel = set((element.get("rel") or "").lower().split())
        kind = (element.get("type") or "").lower().split(";")[0].strip()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        href = (element.get("href") or "").strip()
        url = resolve(href, base) if href else ""
        if not is_web_url(url) or url in found:
            continue
        if len(found) == limit:
            return HomepageLinks(tuple(found.values()), truncated=True)
        title = " ".join((element.get("title") or "").split()) or None
        found[url] = FeedLink(url, kind, title)
    return HomepageLinks(tuple(found.values()))


def is_news_sitemap(body: str) -> bool:
    """Whether a sitemap body declares the Google News namespace (``news:`` entries): the
    publisher's list of its recent articles, the best source a site has."""
    return NEWS_NAMESPACE in body
