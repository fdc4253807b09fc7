"""[clean] Strip boilerplate from extracted article text: rules, structure, learned templates.

``clean_text`` is the public entry point (text in, text out). ``clean`` returns the whole
``Cleaned`` value (kept lines, dropped lines with the reason, the original source of a
syndicated copy) for callers that log or test decisions.
"""

from __future__ import annotations

from functools import cache

from scrapers.clean.learned import (
    MemoryParagraphCounter,
    ParagraphCounter,
    host_key,
    learned_drops,
    page_identity,
    paragraph_fingerprint,
)
from scrapers.clean.rules import Rules, RulesError, RuleSet, load_rules
from scrapers.clean.steps import DEFAULT_STEPS, Cleaned, Context, run_steps, split_lines

__all__ = [
    "Cleaned",
    "MemoryParagraphCounter",
    "ParagraphCounter",
    "RuleSet",
    "Rules",
    "RulesError",
    "clean",
    "clean_text",
    "default_rules",
    "drop_learned_lines",
    "load_rules",
    "paragraph_fingerprint",
]


@cache
def default_rules() -> Rules:
    """The packaged rules, parsed once per process (they are an immutable value)."""
    return load_rules()


def clean_text(
    text: str,
    url: str | None = None,
    *,
    rules: Rules | None = None,
    counter: ParagraphCounter | None = None,
) -> str:
    """Already-extracted article text with boilerplate removed, paragraphs split by blank lines.

    ``url`` selects per-host rules and, with ``counter``, the host whose learned template
    paragraphs are dropped. Never raises on odd text: at worst it returns an empty string.
    """
    return clean(text, url, rules=rules, counter=counter).text


def clean(
    text: str,
    url: str | None = None,
    *,
    rules: Rules | None = None,
    counter: ParagraphCounter | None = None,
    title: str | None = None,
) -> Cleaned:
    """Clean ``text`` and say what went and why.

    1 split into lines, 2 drop learned site template paragraphs (when a counter is given),
    3 run the structural and rule-based steps. ``title``, when known, is found and removed.
    """
    rules = rules or default_rules()
    host = host_key(url)
    lines = split_lines(text)
    learned: dict[int, str] = {}
    if counter is not None and host is not None:
        page_id = page_identity(url, text)
        learned = learned_drops(lines, counter, host, page_id, rules.min_pages)
    ctx = Context(rules.for_host(host), title)
    kept = [line for line in lines if line.index not in learned]
    result = run_steps(kept, ctx, DEFAULT_STEPS)
    dropped = tuple((line, learned[line.index]) for line in lines if line.index in learned)
    return Cleaned(result.kept, dropped + result.dropped, result.original_source)


def drop_learned_lines(
    text: str,
    url: str | None,
    counter: ParagraphCounter,
    *,
    rules: Rules | None = None,
) -> Cleaned:
    """``text``, already cleaned, without the paragraphs ``counter`` has seen on the host's
    ``min_pages`` distinct pages: the learned step of ``clean`` alone.

    The service cleans a page once without counts (in a worker, which cannot reach Redis),
    then drops what Redis learned. Running the other steps again on their own output would not
    be a no-op: on 45 of the 884 dev pages a second pass cut more (preamble-like lines the
    title had anchored), scoring lower on both sets, and the stream's text would then differ
    from what ``extract`` returns for the same page.
    """
    rules = rules or default_rules()
    host = host_key(url)
    lines = split_lines(text)
    if host is None:
        return Cleaned(tuple(lines), ())
    learned = learned_drops(lines, counter, host, page_identity(url, text), rules.min_pages)
    kept = tuple(line for line in lines if line.index not in learned)
    dropped = tuple((line, learned[line.index]) for line in lines if line.index in learned)
    return Cleaned(kept, dropped)
