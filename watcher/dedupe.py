"""[dedupe] Pure story identity: normalized text, content hash, stable id, URL key."""

from __future__ import annotations

import hashlib
import re
import unicodedata

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
