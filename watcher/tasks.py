"""[extract] What the worker processes run: extraction and cleaning, with the text's prints.

Each task takes and returns plain values (str, bytes, frozen dataclasses), so a call crosses
the process boundary as a small pickle: never a Redis client, never a compiled rule set. A
worker loads its rules and topics once, in ``load`` (the pool's initializer). Discovery needs
no wrapper: the pipeline runs ``scrapers.discover.discover`` itself on the pool, and so the
homepage scan of ``type: site`` (``scrapers.discover.homepage.feed_links``).

The learned-boilerplate pass needs Redis counts, which a worker cannot ask for. So
``extract_article`` returns the cleaned text with the fingerprints of its paragraphs
(``Learning``); the pipeline counts them in one round trip; only when a paragraph reached
``min_pages`` does ``drop_learned`` take those paragraphs out (``drop_learned_lines``: the
learned step alone, not the whole cleaning again). So the stream's text is what ``extract``
returns for the page, less what the host's other pages taught.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import scrapers.discover.homepage  # noqa: F401 — the forkserver preloads discovery (site scan too)
from scrapers.clean import Rules, drop_learned_lines, load_rules
from scrapers.clean.drift import PageFigures
from scrapers.errors import ExtractionError, ScrapeError
from scrapers.extract import Extraction, extract_report
from scrapers.model import Article
from watcher import logs
from watcher.config import Topic
from watcher.dedupe import content_hash_of, text_words
from watcher.model import excerpt_of
from watcher.neardup import Shingles, shingles_of_words
from watcher.topics import CompiledTopic, compile_topics, match_topics
from watcher.updates import is_fuller_units, pack_units, unit_prints_of, unpack_units
from watcher.words import Indexed, indexed_entry


@dataclass(frozen=True, slots=True)
class WorkerSetup:
    """What a worker loads once: the user's rules files (paths: rules do not pickle), the
    configured topics, and the log level (trafilatura logs odd pages at WARNING and ERROR:
    those lines must be the daemon's JSON lines too, not raw text on its stderr)."""

    rule_files: tuple[Path, ...] = ()
    topics: tuple[Topic, ...] = ()
    log_level: str | None = None  # None: leave this process's logging as it is (tests)


@dataclass(frozen=True, slots=True)
class TextFacts:
    """What dedupe, topics and re-checks need of a final text, computed beside it."""

    content_hash: str
    excerpt: str
    topics: tuple[str, ...]
    shingles: Shingles
    units: bytes  # ``pack_units(unit_prints(text))``: 8 bytes per sentence


@dataclass(frozen=True, slots=True)
class Learning:
    """What the learned pass asks of Redis for one page: how many distinct pages of ``host``
    carry each of these paragraphs, this page counted once. ``text`` is what they came from."""

    host: str
    page_id: str
    fingerprints: tuple[str, ...]
    min_pages: int
    text: str

    def drops_any(self, counts: Sequence[int]) -> bool:
        """Whether these counts drop a paragraph, so the text must be cleaned again."""
        return any(count >= self.min_pages for count in counts)


@dataclass(frozen=True, slots=True)
class Parsed:
    """One extracted page: the article, its facts, its drift figures, and (when learning)
    what the learned pass must count."""

    article: Article
    facts: TextFacts
    figures: PageFigures
    learning: Learning | None = None


@dataclass(frozen=True, slots=True)
class _Loaded:
    rules: Rules
    topics: tuple[CompiledTopic, ...]


_loaded: _Loaded | None = None


_WARM_UP = (  # a small article: its first extraction in a new worker costs ~40 ms more
    "<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
    + "<p>This paragraph only warms the parsers of a new worker up, once, at its start.</p>" * 4
    + "</article></body></html>"
)


def load(setup: WorkerSetup) -> None:
    """The pool's initializer: parse the rules, compile the topics, then extract one small
    page, so that a fresh worker's first real page is not charged its one-time costs
    (copy-on-write faults after the fork, first-use caches) against the deadline."""
    global _loaded
    if setup.log_level is not None:
        logs.setup(setup.log_level)
    _loaded = _Loaded(load_rules(*setup.rule_files), tuple(compile_topics(setup.topics)))
    with contextlib.suppress(ScrapeError):
        extract_article(_WARM_UP, "http://warm-up.invalid/", learn=True)


def _state() -> _Loaded:
    if _loaded is None:
        raise RuntimeError("watcher.tasks.load() has not run in this process")
    return _loaded


def extract_article(
    html: str, url: str, *, title: str | None = None, learn: bool, find_date: bool = True
) -> Parsed:
    """Extract and clean ``html``; with ``learn``, also what the learned pass must count.

    ``title`` is the source's headline, for topics when the page has none; ``find_date``
    False when the source gave the date (``extract_report``). Raises ExtractionError when no
    article text is found.
    """
    rules = _state().rules
    extraction = extract_report(html, url, rules=rules, find_date=find_date)
    article, learning = extraction.article, None
    if learn:
        asked = _Asked()
        drop_learned_lines(article.text, url, asked, rules=rules)  # drops nothing: counts are 0
        learning = asked.learning(rules.min_pages, article.text)
    figures = PageFigures(extraction.figures.extracted_chars, len(article.text))
    return Parsed(article, facts_of(article, title), figures, learning)


@dataclass(frozen=True, slots=True)
class Previewed:
    """What ``watcher preview`` shows of one article: the extraction (the article and the
    lines cleaning dropped, with why) and the topics it matched, as a poll would match them."""

    extraction: Extraction
    topics: tuple[str, ...]


def extraction_of(
    html: str, url: str, *, title: str | None = None, find_date: bool = True
) -> Previewed:
    """``extract_report`` with the rules this worker loaded, and the article's topics
    (``title``: the source's headline, for a page without one, as ``extract_article``)."""
    extraction = extract_report(html, url, rules=_state().rules, find_date=find_date)
    return Previewed(extraction, topics_of(extraction.article, title))


def drop_learned(
    parsed: Parsed, url: str, counts: Sequence[int], *, title: str | None = None
) -> Parsed:
    """``parsed`` cleaned again with the host's paragraph ``counts`` from Redis."""
    learning = parsed.learning
    if learning is None:
        return parsed
    counter = _Counted(learning, tuple(counts))
    text = drop_learned_lines(learning.text, url, counter, rules=_state().rules).text
    article = _cleaned(parsed.article, text, url)
    figures = PageFigures(parsed.figures.extracted_chars, len(article.text))
    return Parsed(article, facts_of(article, title), figures, learning)


def facts_of(article: Article, title: str | None = None) -> TextFacts:
    """The final text's hash, excerpt, topics, near-duplicate shingles and sentence prints
    (the three prints from one normalization of the text: ``text_words``)."""
    text = article.text
    words = text_words(text)
    return TextFacts(
        content_hash=content_hash_of(words),
        excerpt=excerpt_of(text),
        topics=topics_of(article, title),
        shingles=shingles_of_words(words),
        units=pack_units(unit_prints_of(words)),
    )


def topics_of(article: Article, title: str | None = None) -> tuple[str, ...]:
    """The configured topics ``article`` matches; ``title`` stands in for a missing headline."""
    return tuple(match_topics(article.title or title, article.text, _state().topics))


def _cleaned(article: Article, text: str, url: str) -> Article:
    if not text.strip():
        raise ExtractionError(f"{url}: only the site's template text was left", url=url)
    return replace(article, text=text)


class _Asked:
    """A ParagraphCounter that counts nothing: it keeps what the learned pass asked."""

    def __init__(self) -> None:
        self.asked: tuple[str, tuple[str, ...], str] | None = None

    def seen_on_pages(self, host: str, fingerprints: list[str], page_id: str) -> list[int]:
        self.asked = (host, tuple(fingerprints), page_id)
        return [0] * len(fingerprints)

    def learning(self, min_pages: int, text: str) -> Learning | None:
        """None when the pass asked nothing (no host, or no paragraph worth counting)."""
        if self.asked is None:
            return None
        host, fingerprints, page_id = self.asked
        return Learning(host, page_id, fingerprints, min_pages, text)


class _Counted:
    """A ParagraphCounter answering with the counts Redis gave for exactly these paragraphs."""

    def __init__(self, learning: Learning, counts: tuple[int, ...]) -> None:
        self._learning = learning
        self._counts = counts

    def seen_on_pages(self, host: str, fingerprints: list[str], page_id: str) -> list[int]:
        known = self._learning
        if (host, tuple(fingerprints), page_id) != (known.host, known.fingerprints, known.page_id):
            raise RuntimeError(f"cleaning {host} asked for other paragraphs than were counted")
        return list(self._counts)


def is_fuller(old_units: str, new_units: bytes) -> bool:
    """``is_fuller_units`` of a record's stored prints (base64) and a new text's: in a worker,
    since a hostile page may carry tens of thousands of sentences."""
    return is_fuller_units(unpack_units(base64.b64decode(old_units)), unpack_units(new_units))


def index_entries(entries: Sequence[tuple[str, str, str]]) -> list[Indexed | None]:
    """``indexed_entry`` of each (stream id, event, data JSON): in a worker, since a story's
    text is a stranger's and may be megabytes."""
    return [indexed_entry(*entry) for entry in entries]
