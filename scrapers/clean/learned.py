"""[clean] Learned site boilerplate: paragraphs that recur on many pages of one host.

A site's template (its newsletter pitch, its "about the author" box, its disclaimer) repeats on
every article; news does not. So each cleaned page reports the fingerprints of its paragraphs
to a ``ParagraphCounter`` and a paragraph seen on ``min_pages`` distinct pages of the host is
dropped. The counter is a Protocol: the service implements it in Redis (shared by replicas),
``MemoryParagraphCounter`` serves tests and the CLI.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from scrapers.clean.steps import Line

FINGERPRINT_MIN_WORDS = 4  # "Bottom line", "Why This Matters": recurring headings are not noise
PAGE_IDS_KEPT = 64  # per fingerprint; counts above the threshold need no more precision
_WORD = re.compile(r"\w+")


class ParagraphCounter(Protocol):
    """Per-host counts of distinct pages carrying each paragraph fingerprint."""

    def seen_on_pages(self, host: str, fingerprints: list[str], page_id: str) -> list[int]:
        """Record that ``page_id`` of ``host`` has these paragraphs; return pages per paragraph.

        The count includes this page, and a page counts once however often it is cleaned.
        """
        ...


def paragraph_fingerprint(paragraph: str) -> str:
    """A hash of the paragraph's words, lower-cased: robust to spacing and punctuation changes."""
    words = " ".join(_WORD.findall(paragraph.lower()))
    return hashlib.blake2b(words.encode("utf-8"), digest_size=8).hexdigest()


def page_identity(url: str | None, text: str) -> str:
    """A stable id for a page: its URL when known, else its text."""
    return hashlib.blake2b((url or text).encode("utf-8"), digest_size=8).hexdigest()


def host_key(url: str | None) -> str | None:
    """The host a page's paragraphs are counted under ("www." folded into the bare host)."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:  # "http://[": no host we could count under
        return None
    return host.removeprefix("www.") if host else None


def is_countable(line: Line) -> bool:
    """Paragraphs worth counting: not headings, which legitimately recur on a site."""
    return line.words >= FINGERPRINT_MIN_WORDS and not line.is_heading_like


def learned_drops(
    lines: Sequence[Line],
    counter: ParagraphCounter,
    host: str,
    page_id: str,
    min_pages: int,
) -> dict[int, str]:
    """Indexes of the lines seen on at least ``min_pages`` distinct pages of ``host``."""
    countable = [line for line in lines if is_countable(line)]
    if not countable:
        return {}
    fingerprints = [paragraph_fingerprint(line.text) for line in countable]
    counts = counter.seen_on_pages(host, fingerprints, page_id)
    return {
        line.index: "learned"
        for line, count in zip(countable, counts, strict=True)
        if count >= min_pages
    }


class MemoryParagraphCounter:
    """A ParagraphCounter in this process, bounded: least recently used hosts and paragraphs go.

    For tests and one-off CLI runs; the service shares counts across replicas through Redis.
    """

    def __init__(self, max_hosts: int = 1000, max_paragraphs_per_host: int = 5000) -> None:
        self._max_hosts = max_hosts
        self._max_paragraphs = max_paragraphs_per_host
        self._hosts: OrderedDict[str, OrderedDict[str, set[str]]] = OrderedDict()

    def seen_on_pages(self, host: str, fingerprints: list[str], page_id: str) -> list[int]:
        """Record ``page_id`` for every fingerprint of ``host``; return the page count of each."""
        paragraphs = self._host(host)
        counts = []
        for fingerprint in fingerprints:
            pages = paragraphs.pop(fingerprint, set())
            if len(pages) < PAGE_IDS_KEPT:
                pages.add(page_id)
            paragraphs[fingerprint] = pages
            counts.append(len(pages))
        while len(paragraphs) > self._max_paragraphs:
            paragraphs.popitem(last=False)
        return counts

    def _host(self, host: str) -> OrderedDict[str, set[str]]:
        paragraphs = self._hosts.pop(host, None)
        if paragraphs is None:
            paragraphs = OrderedDict()
        self._hosts[host] = paragraphs
        while len(self._hosts) > self._max_hosts:
            self._hosts.popitem(last=False)
        return paragraphs
