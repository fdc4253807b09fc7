"""[dedupe] Pure story identity: normalized text, content hash, stable id, re-checks, origin."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from watcher.model import StoryRecord

_NON_WORD = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    """Case-, accent-form-, punctuation- and whitespace-insensitive form of a body.

    Two fetches of one article differ in quotes (curly vs straight), spacing and case of a
    headline-styled line; none of that makes a different story.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", folded).split())


def content_hash(text: str) -> str:
    """``sha256:<hex>`` of the normalized text (SPEC's ``content_hash``)."""
    return "sha256:" + hashlib.sha256(normalize(text).encode()).hexdigest()


def url_key(url: str) -> str:
    """A short fixed-size digest of a canonical URL, for Redis key names."""
    return hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()


def story_id(canonical_url: str) -> str:
    """Stable id of a story: the same canonical URL always gives the same id."""
    return hashlib.sha256(canonical_url.encode()).hexdigest()[:24]


def recheck_due(
    *,
    first_seen: float,
    last_checked: float,
    listed_at: float | None,
    now: float,
    every: float,
    window: float,
) -> bool:
    """Whether a known URL still listed by its source is worth a (conditional) re-fetch.

    1 the source dates the entry after our last check: it says the article changed.
    2 else, while the story is young (``window`` after we first saw it), once per ``every``:
      news is corrected in its first hours and days, rarely after, so each URL costs at most
      ``window / every`` re-checks, most of them a 304. ``every`` or ``window`` 0 turns it off.
    """
    if listed_at is not None and listed_at > last_checked:
        return True
    if every <= 0 or window <= 0:
        return False
    return now - first_seen <= window and now - last_checked >= every


OriginalMode = Literal["", "keep", "replace"]


@dataclass(frozen=True, slots=True)
class Copy:
    """What a copy joining a story says about itself: where it is, its outlet, whom it names."""

    url: str
    outlet: str
    names_url: str | None = None  # a cross-site canonical link
    names_outlet: str | None = None  # "This article originally appeared in ..."
    canonical: str | None = None  # its own (same-site) canonical URL


@dataclass(frozen=True, slots=True)
class Original:
    """What a story's record is to say about its original when a copy joins (``original_of``):
    ``keep`` the one the copy names (unless the record names one), ``replace`` it with this
    copy, or nothing (``""``)."""

    mode: OriginalMode = ""
    url: str = ""
    outlet: str = ""


NO_ORIGINAL = Original()


def original_of(record: StoryRecord, copy: Copy) -> Original:
    """What the story's record should say about its original once ``copy`` joins it.

    1 the copy names an original other than the story itself: keep it, unless the record
      names one already (``keep``).
    2 the copy names none and is the very original the story's first copy named, by URL or
      by outlet: the record now points at its URL (``replace``), keeping the outlet's name
      as the first copy gave it (a page's own site name is often just its host).
    3 otherwise nothing changes.
    """
    if copy.names_url or copy.names_outlet:
        if names_story(record, copy):
            return NO_ORIGINAL
        return Original("keep", copy.names_url or "", copy.names_outlet or _host(copy.names_url))
    if is_named_original(record, copy):
        return Original("replace", copy.url, record.original_source or copy.outlet)
    return NO_ORIGINAL


def names_story(record: StoryRecord, copy: Copy) -> bool:
    """Whether the copy names the story's own version as its original (by URL or outlet)."""
    home = {record.url or None, record.canonical_url or None}
    site, host = record.site, _host(record.url)
    return copy.names_url in home or bool(
        copy.names_outlet and outlet_named(copy.names_outlet, site, host)
    )


def is_named_original(record: StoryRecord, copy: Copy) -> bool:
    """Whether ``copy`` names no original itself and is the one the story's version names:
    its URL or canonical URL is the record's ``original_url``, or its outlet the record's
    ``original_source`` (an attribution line in text only names just the outlet)."""
    if copy.names_url or copy.names_outlet:
        return False
    named_url, named_outlet = record.original_url, record.original_source
    if named_url and named_url in (copy.url, copy.canonical):
        return True
    return bool(named_outlet and outlet_named(named_outlet, copy.outlet, _host(copy.url)))


UpdateReason = Literal["text_changed", "original_found", "fuller_copy"]


def can_upgrade(record: StoryRecord, copy: Copy) -> bool:
    """Steps 1-3 of ``upgrade_reason``: whether ``copy`` may replace the emitted version."""
    if not record.content_hash or record.is_original:
        return False
    return not names_story(record, copy)


def upgrade_reason(record: StoryRecord, copy: Copy, *, fuller: bool) -> UpdateReason | None:
    """Whether a copy joining a story is a better version of it than the one emitted.

    1 a story not emitted yet (its record has no ``content_hash``: a copy claimed while the
      story is still in flight) has no version to improve. 2 the original is final: once the
      emitted version is the original (``is_original``), no copy replaces it. 3 a copy
      naming the story itself as its original is a copy of it, never better. 4 the original
      the emitted copy named arrives: ``original_found``. 5 a materially fuller text of the
      story (``fuller``, see ``watcher.neardup.is_fuller_units``): ``fuller_copy``.
    """
    if not can_upgrade(record, copy):
        return None
    if is_named_original(record, copy):
        return "original_found"
    return "fuller_copy" if fuller else None


def outlet_named(named: str, site_name: str, host: str) -> bool:
    """Whether an attribution ("The Guardian") names this outlet, by site name or host.

    Squashed to letters and digits without a leading "the": "The Guardian" is
    ``theguardian.com`` and "Reuters" is ``www.reuters.com``; "The New York Times" is only
    ``nytimes.com`` through the page's site name, since a host abbreviates freely.
    """
    want = _squash(named)
    if not want:
        return False
    label = host.removeprefix("www.").split(".")[0]
    return want in {_squash(site_name), _squash(label), _squash(host.removeprefix("www."))}


def _squash(name: str) -> str:
    return "".join(ch for ch in normalize(name) if ch.isalnum()).removeprefix("the")


def _host(url: str | None) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.") if url else ""
