"""[clean] Small text → text steps over the lines of an extracted article (pure).

Each step looks at the lines still kept and returns a ``Decision``: which lines to drop and
why, plus any metadata it found (the original source of a syndicated copy). ``run_steps``
applies the steps in order, so a later step never sees what an earlier one removed. Steps use
structural signals first (line length, position relative to the headline and the body, runs
of "outlet / 35 minutes ago / headline" cards, repeated teasers) and the rule tables of
``boilerplate.yaml`` for vocabulary.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from scrapers.clean.rules import Matcher, RuleMatch, RuleSet, combined

HEADING_MAX_WORDS = 10  # section headings in news pages are short; body sentences are longer
BODY_BEFORE_CUT = 40  # words of body needed above a "Related …" heading before we cut the rest
TAIL_SHARE = 0.5  # attribution/copyright lines in the last half of the text close the article
TITLE_SEARCH_LINES = 12  # a headline sits among the first dozen lines (after promos, bylines)
PREAMBLE_MAX_WORDS = 25  # lines above the headline are promos, bylines, captions: all short
LONG_PARAGRAPH = 20  # words; body paragraphs are at least this long, headings and captions not
GOES_ON_LINES = 6  # lines after a section heading searched for two paragraphs in a row
CAPTION_MAX_WORDS = 8  # "Mark Zuckerberg on stage." under a headline is a caption, not a lede
PROMO_MAX_LINKS = 6  # inline promo boxes list a handful of links
HEADLINE_MAX_WORDS = 20  # headlines run 5-15 words; a body sentence with no period is rare
CREDIT_MAX_WORDS = 40  # a caption with its credit; longer lines are body that names an agency
PREAMBLE_KNOWN_TITLE_MAX_WORDS = 8  # above a known title: names, dates, kickers, not a lede
CARD_NAME_MAX_WORDS = 5  # outlet-name line above a "35 minutes ago" line in a story card
TEASER_MIN_CHARS = 30  # an ellipsis teaser must be this long to be matched against the body

_TERMINAL = re.compile("[.!?\u2026:;]['\"\u2019\u201d)]*$")
_BULLET = re.compile("^([-\u2022*\u00b7\u25aa\u2013]|\\d{1,2}[.)])\\s")
_WORD = re.compile(r"\w+")
_MONTH = (
    r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?"
    r"|oct(ober)?|nov(ember)?|dec(ember)?)\.?"
)
_TIME = r"\d{1,2}[:.]\d{2}( ?[ap]\.?m\.?)?( [a-z]{2,4})?"
_TIMESTAMP = re.compile(
    r"^(updated|posted|published|last updated|modified)?:?\s*(on\s+)?("
    r"((\d+|an?|one|a few) ?(second|sec|s|minute|min|m|hour|hr|h|day|d|week|wk|w|month|mo"
    r"|year|yr|y)s?\.? ago)"
    rf"|just now|(yesterday|today)(,? (at )?{_TIME})?"
    r"|((mon|tue|wed|thu|fri|sat|sun)[a-z]*,? )?"
    rf"({_MONTH} \d{{1,2}}(st|nd|rd|th)?,? \d{{4}}|\d{{1,2}} {_MONTH},? \d{{4}}"
    r"|\d{4}-\d{2}-\d{2})"
    rf"(,? (at )?{_TIME})?"
    rf"|{_TIME},? \d{{1,2}}/\d{{1,2}}/\d{{2,4}}"
    rf"|{_TIME}"
    r"|\d{1,2}/\d{1,2}/\d{2,4}"
    r")\.?$",
    re.IGNORECASE,
)
# A dateline holds a clock time and a year, in either order. It used to be one pattern,
# ``CLOCK.*YEAR|YEAR.*CLOCK``, whose ``.*`` made every clock time scan to the end of the line:
# quadratic on "12:34-12:34-…". A clock time and a year can never overlap (a year is a run of
# exactly four digits between non-word characters, the digit runs of a clock time have one or
# two), so one comes before the other whenever both occur in a line: two bounded searches say
# the same.
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b")
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# A byline after a date: "Nov 5, 2024 by Jane Doe". Was ``\s+(by|…)\s+\w+(\s+\w+){0,3}$``,
# which from every position of a whitespace run rescanned the rest of the run (quadratic). Now a
# match may only start where a run starts (the leftmost match always did), and the possessive
# quantifiers never give back what a later part could not use anyway (\s and \w are disjoint).
_BYLINE_TAIL = re.compile(
    r"(?<!\s)\s++(?:by|von|par|por|di|door)\s++\w++(?:\s++\w++){0,3}+$", re.IGNORECASE
)
DATELINE_MAX_WORDS = 10  # "sexta-feira, 22 de outubro de 2010 às 20:13": a date, not a sentence
_RELATIVE_TIME = re.compile(r"\bago$|^(just now|yesterday|today)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Line:
    """One paragraph-sized line of text; ``index`` is its position in the input."""

    index: int
    text: str
    words: int = field(init=False, compare=False, repr=False)  # counted once: every step asks
    bare: str = field(init=False, compare=False, repr=False)  # without a list marker ("- ")
    is_bullet: bool = field(init=False, compare=False, repr=False)  # join_lines asks per pair

    def __post_init__(self) -> None:
        marker = _BULLET.match(self.text)  # one match gives both the marker and ``bare``
        object.__setattr__(self, "words", len(self.text.split()))
        object.__setattr__(self, "bare", self.text[marker.end() :] if marker else self.text)
        object.__setattr__(self, "is_bullet", marker is not None)

    @property
    def is_heading_like(self) -> bool:
        """Short and without closing punctuation: a heading, a name, a button."""
        return self.words <= HEADING_MAX_WORDS and not _TERMINAL.search(self.text)


@dataclass(frozen=True, slots=True)
class Context:
    """What the steps know besides the text: the rules for this host and the known title."""

    rules: RuleSet
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What one step decided: line index → reason for each dropped line, plus metadata."""

    drop: Mapping[int, str] = field(default_factory=dict)
    original_source: str | None = None


Step = Callable[[Sequence[Line], Context], Decision]


@dataclass(frozen=True, slots=True)
class Cleaned:
    """The outcome of cleaning: kept lines, dropped lines with reasons, metadata found."""

    kept: tuple[Line, ...]
    dropped: tuple[tuple[Line, str], ...]
    original_source: str | None = None

    @property
    def text(self) -> str:
        return join_lines(self.kept)


def split_lines(text: str) -> list[Line]:
    """Non-blank lines of ``text``, stripped; each is treated as one paragraph."""
    stripped = (raw.strip() for raw in text.replace("\r", "\n").split("\n"))
    return [Line(i, s) for i, s in enumerate(s for s in stripped if s)]


def join_lines(lines: Sequence[Line]) -> str:
    """Paragraphs joined by a blank line; consecutive list items stay in one paragraph."""
    if not lines:
        return ""
    parts = [lines[0].text]
    previous = lines[0].is_bullet
    for line in itertools.islice(lines, 1, None):
        bullet = line.is_bullet
        parts.append("\n" if bullet and previous else "\n\n")
        parts.append(line.text)
        previous = bullet
    return "".join(parts)


def run_steps(lines: Sequence[Line], ctx: Context, steps: Sequence[Step]) -> Cleaned:
    """Apply ``steps`` in order; each sees only the lines the previous ones kept.

    Every decision passes ``guarded`` first, so no step, however its rules are worded, can
    drop a long line as if it were a short one or cut away most of the article.
    """
    kept = list(lines)
    dropped: list[tuple[Line, str]] = []
    source: str | None = None
    for step in steps:
        decision = step(kept, ctx)
        source = source or decision.original_source
        drop = guarded(kept, decision.drop)
        if drop:
            dropped += [(line, drop[line.index]) for line in kept if line.index in drop]
            kept = [line for line in kept if line.index not in drop]
    return Cleaned(tuple(kept), tuple(dropped), source)


# The longest line (in words) each single-line reason is meant for. A step aimed at short
# lines (a title, a dateline, a credit) never drops a line far longer than its target: on
# table-layout pages one "line" is the whole article, and it contains the headline.
REASON_MAX_WORDS: Mapping[str, int] = {
    "title": 40,
    "preamble": 25,
    "caption": 8,
    "timestamp": 20,
    "credit": 40,
    "rule": 50,
    "section": 12,
    "promo": 20,
    "end_marker": 12,
    "attribution": 40,
    "story_cards": 12,
    "teaser": 80,
}
CUT_MAX_BODY_SHARE = 0.5  # a cut never takes more than this share of the body paragraphs


def guarded(lines: Sequence[Line], drop: Mapping[int, str]) -> dict[int, str]:
    """``drop`` less what no boilerplate step may remove.

    A line longer than its reason's ``REASON_MAX_WORDS`` stays (lines a cut takes along, the
    "after:" reasons, are judged as a whole instead). A decision that would take away more
    than ``CUT_MAX_BODY_SHARE`` of the body (words in paragraph-length lines) is refused: only
    its short, single-line drops are kept, so a heading goes and the article after it stays.
    """
    if not drop:
        return {}
    words = {line.index: line.words for line in lines}
    allowed = {
        index: reason
        for index, reason in drop.items()
        if reason.startswith("after:")
        or words.get(index, 0) <= REASON_MAX_WORDS.get(reason, words.get(index, 0))
    }
    body = sum(line.words for line in lines if line.words >= LONG_PARAGRAPH)
    taken = sum(
        line.words for line in lines if line.index in allowed and line.words >= LONG_PARAGRAPH
    )
    if body and taken > CUT_MAX_BODY_SHARE * body:
        allowed = {
            line.index: allowed[line.index]
            for line in lines
            if line.index in allowed
            and not allowed[line.index].startswith("after:")
            and line.words < LONG_PARAGRAPH
        }
    return allowed


def _cut(lines: Sequence[Line], start: int, reason: str) -> dict[int, str]:
    """Drop ``lines[start:]``; the first line carries ``reason``, the rest say what cut them."""
    return {
        line.index: reason if k == start else f"after:{reason}"
        for k, line in enumerate(lines)
        if k >= start
    }


def _words_before(lines: Sequence[Line], position: int) -> int:
    return sum(line.words for line in lines[:position])


def _first_match(matcher: Matcher | None, text: str) -> RuleMatch | None:
    """The match of the first rule that matches ``text`` (for its groups)."""
    return matcher.first(text) if matcher is not None else None


def _matches(matcher: Matcher | None, text: str) -> bool:
    """Whether any of the matcher's rules matches ``text``: one linear RE2 scan.

    Steps look their ``combined`` matcher up once, not per line: the cache key is the tuple
    of rules, and hashing it for every line cost more than the scan of a short line.
    """
    return matcher is not None and matcher.matches(text)


def attribution(lines: Sequence[Line], ctx: Context) -> Decision:
    """An "originally appeared in X" line: X becomes metadata; in the tail it ends the body."""
    total = _words_before(lines, len(lines))
    matcher = combined(ctx.rules.attribution)
    for k, line in enumerate(lines):
        match = _first_match(matcher, line.bare)
        if match is None:
            continue
        source = match.group("source").strip()
        if _words_before(lines, k) >= total * TAIL_SHARE and not _article_goes_on(lines, k):
            return Decision(_cut(lines, k, "attribution"), source)
        return Decision({line.index: "attribution"}, source)
    return Decision()


def end_markers(lines: Sequence[Line], ctx: Context) -> Decision:
    """A copyright line in the last half closes the article; earlier it is only dropped."""
    total = _words_before(lines, len(lines))
    matcher = combined(ctx.rules.end_markers)
    for k, line in enumerate(lines):
        if line.words <= HEADING_MAX_WORDS and _matches(matcher, line.bare):
            if _words_before(lines, k) >= total * TAIL_SHARE and not _article_goes_on(lines, k):
                return Decision(_cut(lines, k, "end_marker"))
            return Decision({line.index: "end_marker"})
    return Decision()


def section_cuts(lines: Sequence[Line], ctx: Context) -> Decision:
    """A "Related Articles"-style heading below the body starts other stories: cut the rest.

    Above the body (a heading among byline lines) only the heading itself goes.
    """
    matcher = combined(ctx.rules.cut_after)
    for k, line in enumerate(lines):
        if not line.is_heading_like or not _matches(matcher, line.bare):
            continue
        if _words_before(lines, k) >= BODY_BEFORE_CUT and not _article_goes_on(lines, k):
            return Decision(_cut(lines, k, "section"))
        return Decision({line.index: "section"})
    return Decision()


def _article_goes_on(lines: Sequence[Line], k: int) -> bool:
    """Two body paragraphs in a row soon after ``lines[k]``: what follows is the article.

    Lists of other stories are headlines (short, no full stop), perhaps each with a teaser,
    so paragraphs never come two in a row there; two full paragraphs in a row are the article
    going on after an in-body heading such as "Related reading: …", even when a short line or
    two (a subheading, a glossary tooltip glued into the text) come first.
    """
    following = [_is_paragraph(line) for line in lines[k + 1 : k + 1 + GOES_ON_LINES]]
    return any(a and b for a, b in itertools.pairwise(following))


def _is_paragraph(line: Line) -> bool:
    return line.words >= LONG_PARAGRAPH and bool(_TERMINAL.search(line.text))


def promo_blocks(lines: Sequence[Line], ctx: Context) -> Decision:
    """An inline "Don't miss" / "Read more" heading and the headline links right under it."""
    drop: dict[int, str] = {}
    matcher = combined(ctx.rules.promo_heading)
    for k, line in enumerate(lines):
        if not line.is_heading_like or not _matches(matcher, line.bare):
            continue
        drop[line.index] = "promo"
        for following in lines[k + 1 : k + 1 + PROMO_MAX_LINKS]:
            if not _is_headline_link(following):
                break
            drop[following.index] = "promo"
    return Decision(drop)


def _is_headline_link(line: Line) -> bool:
    """A headline of another story: short, no closing period (a question mark is fine)."""
    return line.words <= HEADLINE_MAX_WORDS and not re.search(
        r"[.:;]['\"\u2019\u201d)]*$", line.text
    )


def story_cards(lines: Sequence[Line], ctx: Context) -> Decision:
    """Runs of "Outlet / 35 minutes ago / headline" cards below the body are other stories."""
    stamps = [k for k, line in enumerate(lines) if _is_relative_time(line)]
    for n, k in enumerate(stamps):
        if _words_before(lines, k) < BODY_BEFORE_CUT:
            continue
        named = k > 0 and lines[k - 1].words <= CARD_NAME_MAX_WORDS
        named = named and lines[k - 1].is_heading_like
        if named or n + 1 < len(stamps):
            return Decision(_cut(lines, k - 1 if named else k, "story_cards"))
    return Decision()


def _is_relative_time(line: Line) -> bool:
    return bool(_TIMESTAMP.match(line.bare)) and bool(_RELATIVE_TIME.search(line.bare))


def patterns(lines: Sequence[Line], ctx: Context) -> Decision:
    """Lines matching a drop or image-credit rule.

    Lines longer than ``guarded`` lets a "rule" drop take are not scanned: the drop would be
    refused anyway, and they are the longest lines, the costliest to scan.
    """
    drop: dict[int, str] = {}
    drops, credits = combined(ctx.rules.drop), combined(ctx.rules.credits)
    for line in lines:
        if line.words > REASON_MAX_WORDS["rule"]:
            continue
        if _matches(drops, line.bare):
            drop[line.index] = "rule"
        elif line.words <= CREDIT_MAX_WORDS and _matches(credits, line.bare):
            drop[line.index] = "credit"
    return Decision(drop)


def timestamps(lines: Sequence[Line], ctx: Context) -> Decision:
    """A line that is only a date or time ("35 minutes ago", "Nov 5, 2024 3:45 PM ET"),
    perhaps with a byline after it; or a short line holding both a clock time and a year.
    Lines longer than ``guarded`` lets a "timestamp" drop take are not even tested."""
    longest = REASON_MAX_WORDS["timestamp"]
    return Decision(
        {line.index: "timestamp" for line in lines if line.words <= longest and is_timestamp(line)}
    )


def is_timestamp(line: Line) -> bool:
    """True for date/time lines in any of the usual spellings, in any language with digits."""
    text = _BYLINE_TAIL.sub("", line.bare)
    if _TIMESTAMP.match(text):
        return True
    return line.words <= DATELINE_MAX_WORDS and is_dateline(text)


def is_dateline(text: str) -> bool:
    """Whether a line of ``text`` holds both a clock time and a year ("22 de outubro de 2010
    às 20:13"). Lines, as the old pattern's ``.*`` did not cross a newline."""
    return ":" in text and any(
        _CLOCK.search(line) is not None and _YEAR.search(line) is not None
        for line in text.split("\n")
    )


def headline(lines: Sequence[Line], ctx: Context) -> Decision:
    """The headline and what sits above it: promos, outlet and author names, a caption.

    With a known title (extraction) the title line goes: it is metadata, not body. Without one
    (plain text) the headline is the first title-shaped line followed by a paragraph, and it
    stays. Lines above it go only when all of them are short; a very short sentence right
    under it is a photo caption.
    """
    position = _title_position(lines, ctx.title)
    if position is None:
        return Decision()
    drop: dict[int, str] = {}
    if all(_is_preamble(line, ctx.title) for line in lines[:position]):
        drop = {line.index: "preamble" for line in lines[:position]}
    if ctx.title is not None:
        drop[lines[position].index] = "title"
    caption = position + 1
    if caption + 1 < len(lines) and _is_caption(lines[caption], lines[caption + 1]):
        drop[lines[caption].index] = "caption"
    return Decision(drop)


def _title_position(lines: Sequence[Line], title: str | None) -> int | None:
    head = lines[:TITLE_SEARCH_LINES]
    if title is not None:
        return next((k for k, line in enumerate(head) if is_same_title(line.text, title)), None)
    position = next((k for k, line in enumerate(head) if _is_title_shaped(lines, k)), None)
    if position is None or not all(_is_preamble(line, None) for line in lines[:position]):
        return None
    return position


def _is_preamble(line: Line, title: str | None) -> bool:
    """Above a known title only short lines go: a lede printed before the headline stays."""
    if title is None:
        return line.words <= PREAMBLE_MAX_WORDS
    return line.words <= PREAMBLE_KNOWN_TITLE_MAX_WORDS or line.is_heading_like


def _is_title_shaped(lines: Sequence[Line], k: int) -> bool:
    """5-25 words, no closing period, and a body paragraph within the next three lines."""
    line = lines[k]
    if not 5 <= line.words <= PREAMBLE_MAX_WORDS or re.search(r"[.!:;…]$", line.text):
        return False
    return any(nxt.words >= LONG_PARAGRAPH for nxt in lines[k + 1 : k + 4])


def _is_caption(line: Line, following: Line) -> bool:
    return (
        line.words <= CAPTION_MAX_WORDS
        and line.text.endswith(".")
        and following.words >= LONG_PARAGRAPH
    )


TITLE_OVERLAP = 0.6  # share of words two spellings of one headline have in common
TITLE_MAX_LENGTH_RATIO = 2.0  # "Title | Site Name" is the title; a paragraph that opens with it not


def is_same_title(text: str, title: str) -> bool:
    """The line is the headline: equal words, or one contains the other ("Title | Site"),
    or most words in common (og:title and the h1 often differ by a word or two)."""
    a, b = _norm(text), _norm(title)
    if not a or not b or len(a) > TITLE_MAX_LENGTH_RATIO * len(b) + 20:
        return False  # a line far longer than the title holds it; it is not it
    if a == b or (min(len(a), len(b)) >= 20 and (a in b or b in a)):
        return True
    words_a, words_b = set(a.split()), set(b.split())
    return len(words_a & words_b) / len(words_a | words_b) >= TITLE_OVERLAP


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def teasers(lines: Sequence[Line], ctx: Context) -> Decision:
    """A teaser ending in an ellipsis that opens a later paragraph (a listing's summary).

    Plain repeated paragraphs stay: recipes and tables repeat lines legitimately, and
    removing repeats cost 0.002 F1 on the dev set.
    """
    if not any(_may_be_teaser(line) for line in lines):
        return Decision()  # the usual case: no line to compare, so no line to normalize
    normed = [_norm(line.text) for line in lines]
    return Decision(
        {
            line.index: "teaser"
            for k, line in enumerate(lines)
            if _is_teaser_of_other(line, k, normed)
        }
    )


def _may_be_teaser(line: Line) -> bool:
    return line.text.endswith(("…", "...")) and len(line.text) >= TEASER_MIN_CHARS


def _is_teaser_of_other(line: Line, k: int, normed: Sequence[str]) -> bool:
    if not _may_be_teaser(line):
        return False
    prefix = normed[k]
    return any(
        j != k and other.startswith(prefix) and other != prefix for j, other in enumerate(normed)
    )


DEFAULT_STEPS: tuple[Step, ...] = (
    attribution,
    end_markers,
    section_cuts,
    promo_blocks,
    story_cards,
    patterns,
    timestamps,
    headline,
    teasers,
)
