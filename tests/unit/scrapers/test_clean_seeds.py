"""The shared seeds: clean_text keeps every line labelled B and drops every line labelled N."""

from __future__ import annotations

from pathlib import Path

import pytest

from scrapers import clean_text

SEED_NAMES = [
    "000_736bf1ac1a083c83",
    "001_0396c1d73f95179e",
    "002_9fcb970a04a3fbef",
    "003_d3abe04b470ef054",
]


def _labelled(shared_dir: Path, name: str) -> list[tuple[str, str]]:
    """(label, stripped line) pairs; the .labels file has one letter per line of the .txt."""
    text = (shared_dir / "seeds" / f"{name}.txt").read_text(encoding="utf-8")
    labels = (shared_dir / "seeds" / f"{name}.labels").read_text(encoding="utf-8").split("\n")
    lines = text.split("\n")
    assert len(labels) >= len(lines), "a label for every line"
    return [(label.strip(), line.strip()) for label, line in zip(labels, lines, strict=False)]


def _output_lines(text: str) -> set[str]:
    return {line.strip() for line in text.split("\n") if line.strip()}


@pytest.mark.parametrize("name", SEED_NAMES)
def test_clean_text_keeps_every_body_line_of_seed(shared_dir: Path, name: str) -> None:
    """Every line labelled B survives cleaning, as a line of its own."""
    pairs = _labelled(shared_dir, name)
    text = (shared_dir / "seeds" / f"{name}.txt").read_text(encoding="utf-8")
    out = _output_lines(clean_text(text))
    missing = [line for label, line in pairs if label == "B" and line not in out]
    assert missing == []


@pytest.mark.parametrize("name", SEED_NAMES)
def test_clean_text_drops_every_noise_line_of_seed(shared_dir: Path, name: str) -> None:
    """No line labelled N is left after cleaning."""
    text = (shared_dir / "seeds" / f"{name}.txt").read_text(encoding="utf-8")
    out = _output_lines(clean_text(text))
    kept = [line for label, line in _labelled(shared_dir, name) if label == "N" and line in out]
    assert kept == []


@pytest.mark.parametrize("name", SEED_NAMES)
def test_clean_text_is_stable_on_its_own_output(shared_dir: Path, name: str) -> None:
    """Cleaning cleaned text again changes nothing, so the pipeline may clean twice."""
    text = (shared_dir / "seeds" / f"{name}.txt").read_text(encoding="utf-8")
    once = clean_text(text)
    assert clean_text(once) == once


def test_seed_names_cover_every_seed(shared_dir: Path) -> None:
    """The table above lists every seed in ../shared/seeds: a new seed is never skipped."""
    found = sorted(p.stem for p in (shared_dir / "seeds").glob("*.txt"))
    assert found == SEED_NAMES
