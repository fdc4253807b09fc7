"""Exact identity: normalization, content hash, story id."""

from __future__ import annotations

from watcher.dedupe import content_hash, normalize, story_id
from watcher.model import excerpt_of


def test_normalize_ignores_case_quotes_and_spacing() -> None:
    """Cosmetic differences between two fetches of one article do not change the hash."""
    a = "Meta’s “Avocado” model\n\nwas delayed."  # noqa: RUF001 — curly quotes on purpose
    b = 'meta\'s  "avocado" MODEL was delayed'
    assert normalize(a) == normalize(b)
    assert content_hash(a) == content_hash(b)


def test_content_hash_differs_for_different_text() -> None:
    """A changed word is a different text."""
    assert content_hash("Meta delayed Avocado") != content_hash("Meta released Avocado")
    assert content_hash("x").startswith("sha256:")


def test_story_id_is_stable_per_canonical_url() -> None:
    """The same canonical URL always gives the same id; another URL another id."""
    assert story_id("https://a.test/x") == story_id("https://a.test/x")
    assert story_id("https://a.test/x") != story_id("https://a.test/y")


def test_excerpt_cuts_at_a_word_boundary() -> None:
    """Excerpts are about 300 chars, end on a whole word, and say they were cut."""
    text = "word " * 200
    out = excerpt_of(text)
    assert len(out) <= 301
    assert out.endswith("word…")
    assert excerpt_of("short text") == "short text"
