"""JSON Feed 1.0/1.1 (https://jsonfeed.org) → entries, in feed order. Pure: parses a string.

A ``type: feed`` body is a JSON Feed when it is a JSON object (its first character, after a
BOM and whitespace, is ``{``; no RSS or Atom body starts so) carrying a jsonfeed.org
``version``. What an item is worth to us mirrors ``feeds.py``:

1 refuse bodies that are not JSON Feeds: JSON that does not parse, nests deeper than Python's
  recursion limit (``[[[[...`` raises RecursionError in ``json``), or lacks the version
2 one Entry per item with a web link: ``url`` or ``external_url`` resolved against the feed
  URL, else an ``id`` that is an absolute web URL; ``date_published``, else ``date_modified``
  (RFC 3339), in UTC; the title as text; the names of ``authors`` (1.1) or ``author`` (1.0),
  the item's own, else the feed's
3 the full article body when the item carries one: ``content_html``, else ``content_text`` as
  HTML paragraphs, kept only from MIN_CONTENT_CHARS characters of text (a teaser is not one)

Strangers wrote the JSON: every field may have any type, and a wrong type reads as absent.
"""

from __future__ import annotations

import html
import json
from typing import Any

from scrapers.discover.feeds import MIN_CONTENT_CHARS, plain_text
from scrapers.discover.sitemaps import parse_w3c_datetime
from scrapers.errors import ParseError
from scrapers.model import Entry
from scrapers.urls import is_web_url, resolve

__all__ = ["is_json_feed_body", "parse_json_feed"]

VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
MAX_DATE_CHARS = 64  # an RFC 3339 date is 20-35 characters; longer is not one


def is_json_feed_body(body: str) -> bool:
    """Whether a feed body is JSON (to be read as a JSON Feed) rather than XML."""
    return body.lstrip("\ufeff \t\r\n").startswith("{")


def parse_json_feed(body: str, base_url: str) -> list[Entry]:
    """The entries of a JSON Feed, in feed order. Raises ParseError(kind="malformed_feed")."""
    feed = _load(body, base_url)
    items = feed.get("items")
    if not isinstance(items, list):
        raise _malformed(base_url, "JSON Feed without an items list")
    feed_author = _authors(feed)
    return [entry for item in items if (entry := _entry(item, base_url, feed_author))]


def _load(body: str, base_url: str) -> dict[str, Any]:
    """The feed object, after refusing JSON that does not parse or is not a JSON Feed."""
    try:
        feed = json.loads(body.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise _malformed(base_url, f"malformed JSON at line {exc.lineno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise _malformed(base_url, "malformed JSON: nested too deeply") from exc
    except ValueError as exc:  # an integer of more than 4300 digits (int_max_str_digits)
        raise _malformed(base_url, f"malformed JSON: {exc}") from exc
    version = feed.get("version") if isinstance(feed, dict) else None
    if not (isinstance(version, str) and version.startswith(VERSION_PREFIXES)):
        raise _malformed(base_url, "JSON without a jsonfeed.org version")
    return feed


def _malformed(base_url: str, detail: str) -> ParseError:
    return ParseError(f"{base_url}: not a feed ({detail})", url=base_url, kind="malformed_feed")


def _entry(item: object, base_url: str, feed_author: str | None) -> Entry | None:
    """One item as an Entry; None when it is not an object or has no web link to fetch."""
    if not isinstance(item, dict):
        return None
    url = _link(item, base_url)
    if url is None:
        return None
    date = _string(item.get("date_published")) or _string(item.get("date_modified"))
    return Entry(
        url=url,
        title=plain_text(_string(item.get("title"))),
        published_at=parse_w3c_datetime(date) if date and len(date) <= MAX_DATE_CHARS else None,
        author=_authors(item) or feed_author,
        content=_full_content(item),
    )


def _link(item: dict[str, Any], base_url: str) -> str | None:
    """The permalink: ``url``, else ``external_url`` (both may be relative), else an ``id``
    that is itself an absolute web URL (ids are opaque: "42" is not a path)."""
    for key in ("url", "external_url"):
        value = _string(item.get(key))
        if value and is_web_url(url := resolve(value.strip(), base_url)):
            return url
    guid = (_string(item.get("id")) or "").strip()
    return guid if is_web_url(guid) else None


def _authors(holder: dict[str, Any]) -> str | None:
    """The authors' names, comma-separated: 1.1 ``authors`` (a list), else 1.0 ``author``."""
    listed = holder.get("authors")
    people = listed if isinstance(listed, list) else [holder.get("author")]
    names = [
        name
        for person in people
        if isinstance(person, dict) and (name := plain_text(_string(person.get("name"))))
    ]
    return ", ".join(names) or None


def _full_content(item: dict[str, Any]) -> str | None:
    """The item's HTML body when it is the article and not a teaser (as RSS content)."""
    body = _string(item.get("content_html"))
    if body is None and (text := _string(item.get("content_text"))):
        body = _paragraphs(text)
    if body is None or len(plain_text(body) or "") < MIN_CONTENT_CHARS:
        return None
    return body


def _paragraphs(text: str) -> str:
    """Plain text as HTML: blank lines separate paragraphs, which extraction then keeps."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(f"<p>{html.escape(' '.join(current))}</p>")
            current = []
    return "\n".join(paragraphs)


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
