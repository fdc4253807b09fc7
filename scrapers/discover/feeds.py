"""RSS 0.9x/1.0/2.0 and Atom feeds → entries, in feed order. Pure: parses a string, no I/O.

feedparser does the format work (it knows every RSS dialect, Atom, dates in a dozen formats,
relative links and HTML sanitizing). This module decides what an entry is worth to us:

1 refuse bodies that are not feeds (empty, an HTML page, XML nothing usable came out of)
2 a feed that is not well-formed but still yields entries is read, and where it broke is
  returned beside them (``Feed.damage``), never dropped silently
3 one Entry per item with a web link: link (FeedBurner's original link when present) resolved
  against the feed URL; date from published, else updated, in UTC; title and author as text
4 the full article body when the feed carries one (``content:encoded``, Atom ``<content>``)

Feeds legitimately link to other hosts (FeedBurner, CDNs, wire partners), so nothing is refused
for being cross-site here.
"""

from __future__ import annotations

import html
import io
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax import SAXParseException

import feedparser
from feedparser.exceptions import ThingsNobodyCaresAboutButMe
from lxml import etree

from scrapers.errors import ParseError
from scrapers.model import Damage, Entry, Refresh
from scrapers.refresh import feed_refresh
from scrapers.urls import is_web_url, resolve

__all__ = [
    "MIN_CONTENT_CHARS",
    "Feed",
    "looks_like_feed",
    "looks_like_html",
    "parse_feed",
    "plain_text",
    "read_feed",
]

# A feed body counts as the full article from this many characters of text. Teasers and
# "Continue reading..." summaries run one to three sentences (under ~400 characters); 500
# characters is about 80-100 words, the shortest text worth treating as the article instead of
# fetching the page (the pipeline may still fetch when extraction finds too little).
MIN_CONTENT_CHARS = 500

_HTML_TAG = re.compile(r"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
_FEED_ROOT = re.compile(r"<(?:rss|feed|rdf:rdf)[\s>/]", re.IGNORECASE)  # RSS 2.0, Atom, RSS 1.0
# What may come before an XML document's root element, each skipped at its first closer:
# the declaration and processing instructions (xml-stylesheet), comments, a doctype.
_PROLOG = (("<?", "?>"), ("<!--", "-->"), ("<!", ">"))
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s*")
_SPACE = re.compile(r"\s+")
# The body is already text (scrapers.charset decoded it), so we hand feedparser UTF-8 bytes and
# say so; an HTTP charset overrides the XML declaration (RFC 3023), so a feed declaring
# ISO-8859-1 is not decoded a second time.
_RESPONSE_HEADERS = {"content-type": "application/xml; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class Feed:
    """What one feed body gave: its entries in feed order, its refresh hints (``<ttl>``,
    ``sy:updatePeriod``/``sy:updateFrequency``), and ``damage`` when the XML was not
    well-formed but entries could still be read (None: the feed is well-formed)."""

    entries: list[Entry]
    refresh: Refresh = field(default_factory=Refresh)
    damage: Damage | None = None


@dataclass(frozen=True, slots=True)
class _Parsed:
    """feedparser's result and, when the XML had to be read leniently, where it broke."""

    result: Any
    damage: Damage | None = None


def parse_feed(body: str, base_url: str) -> list[Entry]:
    """The entries of a feed, in feed order. Raises ParseError(kind="malformed_feed")."""
    return read_feed(body, base_url).entries


def read_feed(body: str, base_url: str) -> Feed:
    """The entries of a feed, in feed order, its refresh hints and its damage.

    A feed that is not well-formed but still yields entries is read (losing nothing that was
    readable), and ``Feed.damage`` says where the parser first choked, so the caller can tell
    the user that items after it may be missing. Raises ParseError(kind="malformed_feed")
    when nothing usable comes out.
    """
    parsed = _parse(body, base_url)
    result = parsed.result
    entries = [entry for item in result.get("entries", []) if (entry := _entry(item, base_url))]
    if result.get("bozo") and not entries:
        raise _malformed(base_url, result.get("bozo_exception"))
    channel = result.get("feed") or {}
    refresh = feed_refresh(
        _text(channel.get("ttl")),
        _text(channel.get("sy_updateperiod")),
        _text(channel.get("sy_updatefrequency")),
    )
    return Feed(entries, refresh, parsed.damage)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def looks_like_html(body: str) -> bool:
    """Whether a body is an HTML page (an error page or a site's front page served instead):
    ``<!doctype html`` or ``<html`` after whitespace and comments.

    The comments are skipped with ``str.find``, each at its first ``-->``, so every character
    is looked at once. The pattern this replaces (``(?:<!--.*?-->\\s*)*`` before the tag) could
    end each comment at any later ``-->`` and backtracked 2^N times over N empty comments.
    """
    text = body.lstrip("\ufeff")
    position = _after_space(text, 0)
    while text.startswith("<!--", position):
        end = text.find("-->", position + 4)
        if end < 0:
            return False
        position = _after_space(text, end + 3)
    return _HTML_TAG.match(text, position) is not None


def looks_like_feed(body: str) -> bool:
    """Whether a body is an RSS, RSS 1.0 (RDF) or Atom document, by its root element: a page
    source given a feed's URL can then say so. Each character is looked at once, as above."""
    text = body.lstrip("\ufeff")
    position = _after_space(text, 0)
    while skip := next((pair for pair in _PROLOG if text.startswith(pair[0], position)), None):
        opener, closer = skip
        end = text.find(closer, position + len(opener))
        if end < 0:
            return False
        position = _after_space(text, end + len(closer))
    return _FEED_ROOT.match(text, position) is not None


def _after_space(text: str, position: int) -> int:
    """The index after the whitespace run at ``position`` (no copy of the text is made)."""
    run = _SPACES.match(text, position)
    return run.end() if run else position


def _parse(body: str, base_url: str) -> _Parsed:
    """feedparser's result, after refusing bodies that cannot be feeds.

    A stream (never a str) goes in: feedparser fetches strings that look like URLs and opens
    strings that name files, which would be I/O in a pure module.
    """
    if not body.lstrip("\ufeff").strip():
        raise ParseError(
            f"{base_url}: not a feed (empty body)", url=base_url, kind="malformed_feed"
        )
    if looks_like_html(body):
        raise ParseError(
            f"{base_url}: not a feed (got an HTML page)", url=base_url, kind="malformed_feed"
        )
    data = body.lstrip("\ufeff").encode("utf-8")
    try:
        result = _feedparser(data, base_url)
    except Exception as exc:  # noqa: BLE001 - its lenient parser breaks on markup it can't place
        parsed = _parse_repaired(data, base_url, exc)
    else:
        parsed = _Parsed(result, _bozo_damage(result, base_url))
    if not parsed.result.get("version") and not parsed.result.get("entries"):
        raise _malformed(base_url, parsed.result.get("bozo_exception"))
    return parsed


def _feedparser(data: bytes, base_url: str) -> Any:
    headers = {**_RESPONSE_HEADERS, "content-location": base_url}
    return feedparser.parse(io.BytesIO(data), response_headers=headers)


def _bozo_damage(result: Any, base_url: str) -> Damage | None:
    """Where the XML broke, when feedparser had to fall back to its lenient parser.

    Its other "bozo" complaints (a declared charset the HTTP header overrides, an XML feed
    served as text/html) lose nothing and are not damage.
    """
    error = result.get("bozo_exception") if result.get("bozo") else None
    if error is None or isinstance(error, ThingsNobodyCaresAboutButMe):
        return None
    return _damage(base_url, error)


def _parse_repaired(data: bytes, base_url: str, error: Exception) -> _Parsed:
    """feedparser's result on the feed as lxml's recovering parser repairs it.

    feedparser falls back to a lenient parser on XML that is not well-formed, and that parser
    raises on some broken markup instead of reporting it (TypeError on a stray ``</width>``,
    KeyError 'links' on a ``<link>`` that outlives its ``<source>``), losing every entry. lxml
    drops or closes what does not fit, and the repaired feed parses, with lxml's first
    complaint as its damage; when even that fails, the feed is malformed, named with
    feedparser's original complaint.
    """
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
        if root is not None:
            result = _feedparser(etree.tostring(root, encoding="utf-8"), base_url)
            return _Parsed(result, _repair_damage(parser, base_url, error))
    except Exception:  # noqa: BLE001 - as above, on the repaired feed: then it is malformed
        pass
    raise _malformed(base_url, f"{type(error).__name__}: {error}") from error


def _repair_damage(parser: etree.XMLParser, base_url: str, error: Exception) -> Damage:
    """lxml's first complaint with its position (feedparser's own error has none)."""
    for entry in parser.error_log:
        return Damage(base_url, "malformed_feed", entry.message, entry.line, entry.column)
    return Damage(base_url, "malformed_feed", f"{type(error).__name__}: {error}")


def _damage(base_url: str, error: object) -> Damage:
    """feedparser's complaint as a Damage, with the SAX parser's line and column when known."""
    if isinstance(error, SAXParseException):
        line, column = error.getLineNumber(), error.getColumnNumber()
        return Damage(base_url, "malformed_feed", _message(error), line, column)
    return Damage(base_url, "malformed_feed", _message(error))


def _malformed(base_url: str, error: object) -> ParseError:
    """A ParseError naming the URL and feedparser's complaint, with its position when known."""
    if error is None:
        detail = "no RSS or Atom root element"
    elif isinstance(error, SAXParseException):
        detail = _damage(base_url, error).detail
    else:
        detail = _message(error)
    return ParseError(f"{base_url}: not a feed ({detail})", url=base_url, kind="malformed_feed")


def _message(error: object) -> str:
    """The exception's own message (SAXParseException's str() repeats the '<unknown>' source)."""
    get_message = getattr(error, "getMessage", None)
    return str(get_message() if callable(get_message) else error)


def _entry(item: Any, base_url: str) -> Entry | None:
    """One feed item as an Entry; None when it has no web link to fetch."""
    link = item.get("feedburner_origlink") or item.get("link")
    if not link:
        return None
    url = resolve(link, base_url)
    if not is_web_url(url):
        return None
    return Entry(
        url=url,
        title=plain_text(item.get("title")),
        published_at=_date(item.get("published_parsed") or item.get("updated_parsed")),
        author=_author(item),
        content=_full_content(item),
    )


def _date(parsed: time.struct_time | None) -> datetime | None:
    """feedparser normalizes every date it understands to a UTC struct_time."""
    if parsed is None:
        return None
    return datetime(*parsed[:6], tzinfo=UTC)


def _author(item: Any) -> str | None:
    """The author's name: RSS ``<author>`` is "email (Name)", and we want only the name."""
    detail = item.get("author_detail") or {}
    return plain_text(detail.get("name") or item.get("author"))


def _full_content(item: Any) -> str | None:
    """The longest HTML/text body the item carries, when it is the article and not a teaser."""
    bodies = [c.get("value") or "" for c in item.get("content") or []]
    best = max(bodies, key=len, default="")
    if len(plain_text(best) or "") < MIN_CONTENT_CHARS:
        return None
    return best


def plain_text(value: str | None) -> str | None:
    """Plain text of a possibly-HTML string: tags dropped, entities decoded, spaces collapsed."""
    if not value:
        return None
    text = _SPACE.sub(" ", html.unescape(_strip_tags(value))).strip()
    return text or None


def _strip_tags(value: str) -> str:
    """``value`` without ``<...>`` tags, in linear time.

    Only the part up to the last ``>`` is searched: there every ``<`` has a ``>`` after it, so
    each match ends at the first one and the search goes on from there. An unclosed ``<`` after
    the last ``>`` would make the search scan to the end from each one (quadratic on a title of
    70 000 ``&lt;``); no tag can start there anyway.
    """
    end = value.rfind(">") + 1
    return _TAG.sub("", value[:end]) + value[end:]
