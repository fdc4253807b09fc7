"""[dedupe] Edits are updates: which version of a known story is its best, and when to look.

Pure, one module for every "is this a better version?" decision (issue 13, issue 5):
- ``recheck_due``: when a known URL is worth a conditional re-fetch for an edit.
- sentence prints (``unit_prints``, 8 bytes a sentence, what a story's record keeps) and
  ``is_material_units``: an edit worth ``story.updated`` (``text_changed``), or cosmetic.
- ``is_fuller_units``: a copy materially fuller than the version emitted (``fuller_copy``).
- ``original_of``, ``can_upgrade``, ``upgrade_reason``: the story's original found
  (``original_found``), and what its record says of the original as copies join.
The pipeline calls these with what the store read; ``store/stories.py`` applies the result
atomically (``update_story``, ``upgrade_story``, ``attach_copy``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from watcher.dedupe import TextWords, normalize, text_words
from watcher.model import StoryRecord

SHORT_UNIT_WORDS = 8  # a changed line shorter than this is a timestamp, counter or byline
MATERIAL_SHARE = 0.2  # ... unless short lines changed this share of all words


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
      story (``fuller``, see ``is_fuller_units`` below): ``fuller_copy``.
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


@dataclass(frozen=True, slots=True)
class Unit:
    """A sentence's compact print: enough to tell an edit from a cosmetic change, 8 bytes.

    ``words`` is capped at 255; only ``< SHORT_UNIT_WORDS`` matters exactly.
    """

    text: int  # 32-bit hash of the sentence's words
    masked: int  # 24-bit hash of the words with numbers blanked
    words: int


def _hash(joined: str, size: int) -> int:
    digest = hashlib.blake2b(joined.encode(), digest_size=size).digest()
    return int.from_bytes(digest, "big")


def unit_prints(text: str) -> frozenset[Unit]:
    """The distinct sentence prints of a text: what a story stores to judge a later re-fetch."""
    return unit_prints_of(text_words(text))


def unit_prints_of(words: TextWords) -> frozenset[Unit]:
    """``unit_prints`` of the text ``words`` came from: its sentences and lines as normalized
    word tuples, the units an edit changes."""
    units = set()
    for unit in words.sentences():
        joined = " ".join(unit)
        units.add(Unit(_hash(joined, 4), _hash(_masked(unit, joined), 3), min(len(unit), 255)))
    return frozenset(units)


def pack_units(units: frozenset[Unit]) -> bytes:
    """8 bytes per sentence (~40 sentences: ~320 bytes), in a stable order."""
    ordered = sorted(units, key=lambda u: (u.text, u.masked, u.words))
    return b"".join(
        u.text.to_bytes(4, "big") + u.masked.to_bytes(3, "big") + bytes([u.words]) for u in ordered
    )


def unpack_units(raw: bytes) -> frozenset[Unit]:
    """The inverse of ``pack_units``; trailing bytes of a cut record are ignored."""
    return frozenset(
        Unit(
            int.from_bytes(raw[i : i + 4], "big"),
            int.from_bytes(raw[i + 4 : i + 7], "big"),
            raw[i + 7],
        )
        for i in range(0, len(raw) - 7, 8)
    )


def is_material_change(old_text: str, new_text: str) -> bool:
    """Whether a re-fetched text is an update worth ``story.updated`` or a cosmetic change."""
    return is_material_units(unit_prints(old_text), unit_prints(new_text))


def is_material_units(old: frozenset[Unit], new: frozenset[Unit]) -> bool:
    """``is_material_change`` on stored sentence prints, so a story need not keep its text.

    Compares the sets of sentences, so reordering paragraphs or a related block is not a
    change. A changed sentence of ``SHORT_UNIT_WORDS`` words or more is material (a
    corrected figure in a sentence counts). Short lines whose only change is a number (a
    timestamp, a view counter) are cosmetic; other changed short lines are material once
    they add up to ``MATERIAL_SHARE`` of the words.
    """
    changed = old ^ new
    if any(unit.words >= SHORT_UNIT_WORDS for unit in changed):
        return True
    masked_old, masked_new = {u.masked for u in old}, {u.masked for u in new}
    real = [u for u in changed if not (u.masked in masked_old and u.masked in masked_new)]
    total = sum(u.words for u in old | new) or 1
    return sum(u.words for u in real) / total >= MATERIAL_SHARE


FULLER_RATIO = 1.5  # a fuller copy has half as many words again as the version emitted: at
#                    1.25 one paragraph of another story glued under a 4-paragraph copy passed
FULLER_KEEPS = 0.8  # ... and keeps this share of its words: a longer text that drops a fifth
#                    of the emitted one is a different cut (glued stories), not a fuller one


def is_fuller_units(old: frozenset[Unit], new: frozenset[Unit]) -> bool:
    """Whether ``new`` is materially fuller than ``old``, on stored sentence prints.

    Fuller: ``FULLER_RATIO`` times the words, and ``FULLER_KEEPS`` of the old words in
    sentences the new text has too. A truncated copy (4 of 6 paragraphs) and its original
    pass (1.5x, all kept), as does any cut to two thirds or less; an aggregator's half of a
    story with two other stories glued after fails against the original (a third of its
    words are not in it). Reordered or re-headlined copies of the same length never pass.
    """
    old_words = sum(u.words for u in old)
    if not old_words:
        return False
    new_words = sum(u.words for u in new)
    kept = sum(u.words for u in old & new)
    return new_words >= FULLER_RATIO * old_words and kept >= FULLER_KEEPS * old_words


def _masked(unit: tuple[str, ...], joined: str) -> str:
    """A short line with its numbers blanked: "Updated 10 32 am" and "Updated 11 05 am" agree.

    ``joined`` is ``unit`` joined by spaces. Most sentences hold no digit at all, and an
    ASCII one without 0-9 has no word that ``isdigit``: then the words need no look."""
    if joined.isascii() and _ASCII_DIGIT.search(joined) is None:
        return joined
    return " ".join("#" if word.isdigit() else word for word in unit)


_ASCII_DIGIT = re.compile(r"[0-9]")  # one C scan, where ``any`` over the ten digits made ten
