"""Listing pages (section fronts, topic pages) → same-site article links. Pure: no I/O.

A section page links to everything: navigation, tags, authors, pagination, sign-in, share
buttons, files, and the articles we want. Each ``<a>`` goes through three questions:

1 where is it? Links in page chrome (nav, header, footer, aside, ARIA navigation/banner/
  contentinfo/complementary/search regions) are skipped; a ``<header>``/``<footer>`` inside an
  ``<article>`` is the article's own and counts as content.
2 what is it? Fragments, non-web schemes, files, the page itself, the home page, social sites,
  ``rel`` tag/author/next/prev/sponsored, and paths or query keys in the tables below are not
  articles.
3 does it look like an article? A strong URL signal (date in the path, an id with digits, a slug
  of three or more words) needs any content signal (headline-like text of four or more words, a
  heading, an ``<article>`` card); a weak one (path depth two or more) needs headline text or a
  heading, since ``/technology/ai`` inside a card is a section kicker, not a story.

Same-site articles become entries in document order, one per canonical URL (the title comes
from the first headline-like anchor to it). Cross-site links that pass 1-3 are refused, so the
caller can log them; everything else is simply not an article.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import lxml.html
from lxml import etree

from scrapers.discover.feeds import looks_like_feed
from scrapers.errors import ParseError
from scrapers.model import Entry
from scrapers.urls import canonicalize, host_of, is_web_url, resolve, same_site

__all__ = [
    "MEDIA_EXTENSIONS",
    "NON_ARTICLE_QUERY_KEYS",
    "NON_ARTICLE_SEGMENTS",
    "SOCIAL_DOMAINS",
    "PageLinks",
    "parse_page",
]

# Path segments (any position, whole segment, case-insensitive) of pages that list or gate
# articles rather than being one. Sorted.
NON_ARTICLE_SEGMENTS: frozenset[str] = frozenset(
    {
        "account",  # /account/preferences: reader settings
        "accounts",
        "author",  # /author/jane-doe: WordPress author archives
        "authors",  # /authors/...: Condé Nast, Vox Media
        "categories",
        "category",  # /category/gadgets: WordPress category archives
        "cdn-cgi",  # /cdn-cgi/l/email-protection: Cloudflare
        "contact",
        "contact-us",
        "feed",  # /feed/, /technology/rss: the feeds themselves
        "login",  # /login?returnUrl=...: gates
        "logout",
        "newsletter",  # /newsletter, /newsletters/...: sign-up pages
        "newsletters",
        "page",  # /page/2: WordPress and most CMSs' pagination
        "privacy",
        "privacy-policy",
        "profile",  # /profile/alex-morgan: Guardian contributor pages
        "register",
        "rss",
        "search",  # /search, /search/results
        "section",  # /section/technology: NYT section fronts
        "sections",
        "sign-in",
        "sign-up",
        "signin",
        "signup",
        "subscribe",  # /subscribe/offer-...: paywall offers
        "subscription",
        "subscriptions",
        "tag",  # /tag/meta: WordPress tag archives
        "tags",
        "terms",
        "topic",  # /topic/ai, /topics/...: topic fronts (BBC, NYT)
        "topics",
        "wp-admin",  # WordPress back office
        "wp-login.php",
    }
)
# Query keys of pagination, search and comment views of a page. Sorted.
NON_ARTICLE_QUERY_KEYS: frozenset[str] = frozenset(
    {
        "page",  # ?page=2: pagination
        "paged",  # ?paged=2: WordPress pagination
        "q",  # ?q=...: search
        "query",
        "replytocom",  # ?replytocom=123: WordPress comment reply view of an article
        "s",  # ?s=...: WordPress search
        "search",
        "share",  # ?share=facebook: WordPress share buttons
    }
)
# File links: images, documents, audio/video, feeds and assets are not article pages. Sorted.
MEDIA_EXTENSIONS: tuple[str, ...] = (
    ".avif", ".bmp", ".css", ".doc", ".docx", ".epub", ".gif", ".ico", ".jpeg", ".jpg", ".js",
    ".json", ".m4a", ".mov", ".mp3", ".mp4", ".ogg", ".pdf", ".png", ".ppt", ".pptx", ".rss",
    ".svg", ".wav", ".webm", ".webp", ".xls", ".xlsx", ".xml", ".zip",
)  # fmt: skip
# Social networks and share services: links there are share buttons or profiles, never a story
# of this site, so they are ignored rather than reported as refused. Sorted.
SOCIAL_DOMAINS: frozenset[str] = frozenset(
    {
        "bsky.app",
        "facebook.com",
        "flipboard.com",
        "instagram.com",
        "linkedin.com",
        "pinterest.com",
        "reddit.com",
        "t.me",
        "threads.net",
        "tiktok.com",
        "twitter.com",
        "wa.me",
        "whatsapp.com",
        "x.com",
        "youtu.be",
        "youtube.com",
    }
)

# Where a link is page chrome: elements and ARIA landmark roles.
_CHROME_TAGS = frozenset({"aside", "footer", "header", "nav"})
_CHROME_ROLES = frozenset({"banner", "complementary", "contentinfo", "navigation", "search"})
_SECTION_OWNED = frozenset({"footer", "header"})  # chrome only when not inside an <article>
_HEADINGS = frozenset({"h1", "h2", "h3", "h4"})
_SKIP_REL = frozenset({"author", "next", "prev", "sponsored", "tag"})
HEADLINE_WORDS = 4  # "Meta ships Llama 5" is a headline; "Read more", "312 comments" are not
ANCHOR_TEXT_MAX = 2000  # characters of an anchor's text read; headlines run under 300
SLUG_WORDS = 3  # "why-chip-export-rules" is a story slug; "about-us", "contact-us" are not
_DATE_IN_PATH = re.compile(
    r"/(?:19|20)\d{2}[/-](?:\d{1,2}|[a-z]{3})(?:[/-]\d{1,2})?(?:/|-|$)", re.I
)
_DATE_ARCHIVE = re.compile(r"/(?:19|20)\d{2}(?:/(?:\d{1,2}|[a-z]{3}))?(?:/\d{1,2})?/?$", re.I)
_DIGIT_ID = re.compile(r"\d{4,}")  # ids such as news-12345678, story.php?id=20931, /a/123456
_SPACE = re.compile(r"\s+")
# XHTML's ``<?xml ... encoding=...?>``: lxml refuses it in a str, and the body is already text.
_XML_DECLARATION = re.compile(r"\s*<\?xml[^>]*\?>")

Signal = Literal["strong", "weak", ""]


@dataclass(frozen=True)
class PageLinks:
    """Same-site article entries in document order, and cross-site article links refused."""

    entries: list[Entry] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Link:
    """One anchor: where it points and what surrounds it."""

    url: str
    text: str
    in_heading: bool
    in_article: bool


@dataclass(frozen=True, slots=True)
class _Where:
    """What an element and its ancestors are: page chrome, a heading, an article."""

    chrome: bool = False
    heading: bool = False
    article: bool = False

    def child(self, element: Any) -> _Where:
        """The same for a child ``element`` of the element this describes (stage 1's rules)."""
        tag = element.tag.lower()
        chrome = (
            self.chrome
            or (element.get("role") or "").lower() in _CHROME_ROLES
            or (tag in _CHROME_TAGS and not (tag in _SECTION_OWNED and self.article))
        )
        return _Where(chrome, self.heading or tag in _HEADINGS, self.article or tag == "article")


_TOP = _Where()


def parse_page(body: str, base_url: str) -> PageLinks:
    """The article links of a listing page. Raises ParseError(kind="malformed_page")."""
    document, base = document_of(body, base_url)
    found: dict[str, Entry] = {}
    refused: list[str] = []
    for anchor, where in _anchors(document):
        link = _link(anchor, where, base)
        if link is None or not _is_article(link, base_url):
            continue
        if not same_site(link.url, base_url):
            refused.append(link.url)
            continue
        _remember(found, link)
    return PageLinks(entries=list(found.values()), refused=list(dict.fromkeys(refused)))


def document_of(body: str, base_url: str) -> tuple[Any, str]:
    """The parsed HTML document and the URL its links resolve against (``<base href>``, else
    ``base_url``); ParseError(kind="malformed_page") for an empty or unparseable body."""
    document = _parse_html(body, base_url)
    return document, _document_base(document, base_url)


def _parse_html(body: str, base_url: str) -> Any:
    """The document root; ParseError for empty or unparseable bodies."""
    if not body.strip():
        raise ParseError(
            f"{base_url}: not a page (empty body)", url=base_url, kind="malformed_page"
        )
    if looks_like_feed(body):
        raise ParseError(
            f"{base_url}: serves an RSS/Atom feed, not a page: use type: feed",
            url=base_url,
            kind="malformed_page",
        )
    text = body.lstrip("\ufeff")
    declaration = _XML_DECLARATION.match(text)
    try:
        return lxml.html.document_fromstring(text[declaration.end() :] if declaration else text)
    except (etree.ParserError, ValueError) as exc:  # lxml's words are about its own API
        raise ParseError(
            f"{base_url}: not an HTML page", url=base_url, kind="malformed_page"
        ) from exc


def _document_base(document: Any, base_url: str) -> str:
    """``<base href>`` when the page sets one, resolved against where we fetched it."""
    hrefs = document.xpath("//head/base/@href")
    return resolve(str(hrefs[0]), base_url) if hrefs else base_url


def _anchors(document: Any) -> Iterator[tuple[Any, _Where]]:
    """Every ``<a>`` in document order, with what its ancestors make of it.

    One walk, each element's ``_Where`` computed once from its parent's: asking each anchor for
    its ancestors instead cost links x depth (55k links under 250 nested divs took 21 s).
    """
    where: dict[Any, _Where] = {}
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions have no children
        parent = element.getparent()
        above = where[parent] if parent is not None else _TOP
        if element.tag == "a":
            yield element, above
        where[element] = above.child(element)


def _link(anchor: Any, where: _Where, base: str) -> _Link | None:
    """Stages 1 and 2's cheap part: None for chrome, fragments, non-web and rel-marked links."""
    if where.chrome:
        return None
    href = (anchor.get("href") or "").strip()
    if not href or href.startswith("#"):
        return None
    if set((anchor.get("rel") or "").lower().split()) & _SKIP_REL:
        return None
    url = resolve(href, base)
    if not is_web_url(url):
        return None
    text = _SPACE.sub(" ", _text(anchor)).strip()
    return _Link(url=url, text=text, in_heading=where.heading, in_article=where.article)


def _text(anchor: Any) -> str:
    """The anchor's text, cut after ANCHOR_TEXT_MAX characters.

    Anchors can nest (120 ``<span><a>`` around one long text): each would read all of it, a
    cost of depth x page size (a 1 MB page took 5 s), and no headline is that long anyway.
    """
    pieces: list[str] = []
    size = 0
    for piece in anchor.itertext():
        pieces.append(piece[: ANCHOR_TEXT_MAX - size])
        size += len(pieces[-1])
        if size >= ANCHOR_TEXT_MAX:
            break
    return "".join(pieces)


def _is_article(link: _Link, page_url: str) -> bool:
    """Stages 2 and 3: not a known non-article URL, and URL and context look like a story."""
    if _is_non_article_url(link.url, page_url):
        return False
    headline = len(link.text.split()) >= HEADLINE_WORDS
    strength = _url_signal(link.url)
    if strength == "strong":
        return headline or link.in_heading or link.in_article
    if strength == "weak":
        return headline or link.in_heading
    return False


def _is_non_article_url(url: str, page_url: str) -> bool:
    """Stage 2: the page itself, home, social, files, archives and listing/gate paths."""
    parts = urlsplit(url)
    path = parts.path.lower()
    segments = {segment for segment in path.split("/") if segment}
    keys = {key.lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    return (
        canonicalize(url) == canonicalize(page_url)
        or (path in ("", "/") and not parts.query)
        or _is_social(url)
        or path.endswith(MEDIA_EXTENSIONS)
        or bool(_DATE_ARCHIVE.search(path))
        or bool(segments & NON_ARTICLE_SEGMENTS)
        or bool(keys & NON_ARTICLE_QUERY_KEYS)
    )


def _is_social(url: str) -> bool:
    """Share buttons and profiles on social networks (any subdomain of SOCIAL_DOMAINS)."""
    host = host_of(url)
    return any(host == domain or host.endswith("." + domain) for domain in SOCIAL_DOMAINS)


def _url_signal(url: str) -> Signal:
    """How much the URL alone says "story": strong (date, digit id, long slug), weak (deep)."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    slug = segments[-1] if segments else ""
    if (
        _DATE_IN_PATH.search(parts.path)
        or _DIGIT_ID.search(parts.path + "?" + parts.query)
        or len(re.split(r"[-_]+", slug)) >= SLUG_WORDS
    ):
        return "strong"
    return "weak" if len(segments) >= 2 else ""


def _remember(found: dict[str, Entry], link: _Link) -> None:
    """Keep the first position of each article; take a title from the first headline anchor."""
    key = canonicalize(link.url)
    headline = len(link.text.split()) >= HEADLINE_WORDS or (link.in_heading and bool(link.text))
    title = link.text if headline else None
    known = found.get(key)
    if known is None:
        found[key] = Entry(url=key, title=title)
    elif known.title is None and title:
        found[key] = Entry(url=known.url, title=title)
