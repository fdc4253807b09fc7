"""Sitemaps (urlset, Google News, sitemap index) → entries and child sitemaps. Pure: no I/O.

1 parse with a hardened lxml parser: no entity expansion, no DTD or network fetches, no huge
  trees. A ``<loc>`` that contains an entity reference is dropped rather than guessed at.
  A sitemap whose XML breaks part-way (a generator that died mid-write, a stray ``&``) keeps the
  elements read whole before the break, with ``SitemapLinks.damage`` saying where it broke:
  a 40,000-URL sitemap is not lost to one bad byte, nor passed as clean.
2 ``<sitemapindex>`` → children (dated by ``<lastmod>``); ``<urlset>`` → entries dated by
  ``news:publication_date`` (Google News), else ``<lastmod>``, titled by ``news:title``
3 any URL on another site is refused (a sitemap may only list its own site's URLs), and
  reported so the caller can log it
4 an RSS/Atom body is accepted too, as search engines do: it is parsed as a feed

Elements are matched by local name: many sitemaps get the namespace URI slightly wrong
(``https://`` instead of ``http://``, or none at all) and are otherwise fine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from scrapers.discover.feeds import looks_like_html, read_feed
from scrapers.errors import ParseError
from scrapers.model import Damage, Entry
from scrapers.urls import is_web_url, resolve, same_site

__all__ = ["SitemapLinks", "parse_sitemap", "parse_w3c_datetime"]

_FEED_ROOTS = frozenset({"RDF", "feed", "rss"})
_LXML_POSITION = re.compile(r", line \d+, column \d+$")  # lxml repeats the position in .msg
_YEAR_OR_MONTH = re.compile(r"\A(\d{4})(?:-(\d{2}))?\Z")  # W3C Datetime's coarse forms


@dataclass(frozen=True)
class SitemapLinks:
    """What one sitemap listed, in document order: articles, child sitemaps, refused URLs,
    and where its XML broke when it was read only in part."""

    entries: list[Entry] = field(default_factory=list)
    children: list[Entry] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    damage: Damage | None = None


@dataclass(frozen=True, slots=True)
class _Xml:
    root: Any
    damage: Damage | None = None


def parse_sitemap(body: str, base_url: str) -> SitemapLinks:
    """Entries (urlset) or children (index) of a sitemap, same-site only.

    Raises ParseError(kind="malformed_sitemap") naming the URL and the problem, also when
    the XML breaks before any whole ``<url>`` or ``<sitemap>``.
    """
    xml = _parse_xml(body, base_url)
    name = _local(xml.root.tag)
    if name in _FEED_ROOTS:  # feedparser reads (and reports) a broken feed its own way
        feed = read_feed(body, base_url)
        return replace(_split_by_site(feed.entries, base_url), damage=feed.damage)
    child = {"urlset": "url", "sitemapindex": "sitemap"}.get(name)
    if child is None:
        raise _malformed(base_url, f"not a sitemap (root element <{name}>)")
    elements = _children(xml.root, child)
    if xml.damage is not None:
        elements = elements[:-1]  # the one open where the XML broke, closed by the parser
        if not elements:
            raise _malformed(base_url, xml.damage.detail)
    if name == "urlset":
        found = _split_by_site([_url_entry(el, base_url) for el in elements], base_url)
        return replace(found, damage=xml.damage)
    found = _split_by_site([_loc_entry(el, base_url) for el in elements], base_url)
    return SitemapLinks(children=found.entries, refused=found.refused, damage=xml.damage)


def parse_w3c_datetime(value: str | None) -> datetime | None:
    """A sitemap date (W3C Datetime: ``2026``, ``2026-11``, ``2026-11-23``, full ISO 8601) in UTC.

    Dates without a zone are taken as UTC; unparseable values (``last tuesday``) are None.
    """
    if not value or not value.strip():
        return None
    value = value.strip()
    coarse = _YEAR_OR_MONTH.match(value)
    try:
        if coarse:
            parsed = datetime(int(coarse[1]), int(coarse[2] or 1), 1)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _parse_xml(body: str, base_url: str) -> _Xml:
    """The root element, with what was read of it before the XML broke (and where it broke);
    ParseError for empty bodies, HTML pages, and XML that breaks before its root element.

    A pull parser stops at the first fatal error and closes the elements still open there,
    so every child but the last one of the root was read whole (see ``parse_sitemap``).
    Namespace errors are not fatal: the parser reads on, and they lose nothing.
    """
    if not body.strip():
        raise _malformed(base_url, "not a sitemap (empty body)")
    if looks_like_html(body):
        raise _malformed(base_url, "not a sitemap (got an HTML page)")
    parser = etree.XMLPullParser(
        events=("start",),
        encoding="utf-8",  # the body is already text: its XML declaration must not re-decode it
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    etree.clear_error_log()  # this thread's: the complaints below are this body's alone
    try:
        parser.feed(body.lstrip("\ufeff").encode("utf-8"))
        return _Xml(parser.close())
    except etree.XMLSyntaxError as exc:
        root = next((element for _, element in parser.read_events()), None)
        fatal = [error for error in exc.error_log if error.level == etree.ErrorLevels.FATAL]
        if root is not None and not fatal:  # namespace slips only (an undeclared news:
            return _Xml(root)  # prefix): the parser read on to the end, nothing is lost
        first = fatal[0] if fatal else None
        damage = Damage(
            base_url,
            "malformed_sitemap",
            _LXML_POSITION.sub("", first.message if first else exc.msg or str(exc)),
            first.line if first else exc.position[0],
            first.column if first else exc.position[1],
        )
        if root is None:
            raise _malformed(base_url, damage.detail) from exc
        return _Xml(root, damage)


def _malformed(base_url: str, detail: str) -> ParseError:
    return ParseError(f"{base_url}: {detail}", url=base_url, kind="malformed_sitemap")


def _children(parent: Any, name: str) -> list[Any]:
    """Direct children with this local name, whatever their namespace."""
    return [el for el in parent if isinstance(el.tag, str) and _local(el.tag) == name]


def _local(tag: str) -> str:
    """``{namespace}name`` → ``name``; also an unbound ``prefix:name``, which a pull parser
    that stopped at a namespace error leaves as the tag of what it read before."""
    return tag.rpartition("}")[2].rpartition(":")[2]


def _child_text(parent: Any, *path: str) -> str | None:
    """Text of the first element at ``path`` (local names); None when absent or entity-laden."""
    found = [parent]
    for name in path:
        found = [el for node in found for el in _children(node, name)]
    if not found:
        return None
    element = found[0]
    if any(child.tag is etree.Entity for child in element):
        return None  # unexpanded entity reference: the text is not what the author meant
    return (element.text or "").strip() or None


def _loc_entry(element: Any, base_url: str) -> Entry | None:
    """A ``<sitemap>`` child as an Entry dated by its lastmod; None without a web ``<loc>``."""
    loc = _child_text(element, "loc")
    url = resolve(loc, base_url) if loc else ""
    if not is_web_url(url):
        return None
    return Entry(url=url, published_at=parse_w3c_datetime(_child_text(element, "lastmod")))


def _url_entry(element: Any, base_url: str) -> Entry | None:
    """A ``<url>``: Google News publication date and title win over lastmod."""
    entry = _loc_entry(element, base_url)
    if entry is None:
        return None
    published = parse_w3c_datetime(_child_text(element, "news", "publication_date"))
    return Entry(
        url=entry.url,
        title=_child_text(element, "news", "title"),
        published_at=published or entry.published_at,
    )


def _split_by_site(entries: Sequence[Entry | None], base_url: str) -> SitemapLinks:
    """Same-site entries kept in order; the URLs of the others refused."""
    kept: list[Entry] = []
    refused: list[str] = []
    for entry in entries:
        if entry is None:
            continue
        if same_site(entry.url, base_url):
            kept.append(entry)
        else:
            refused.append(entry.url)
    return SitemapLinks(entries=kept, refused=refused)
