"""Fuzz target: article extraction (metadata, DOM pre-clean, trafilatura, cleaning).

Anything raised but a ScrapeError (ExtractionError for pages without text) is a finding.

    python fuzz/extract.py [CORPUS_DIR ...] [libFuzzer flags, e.g. -max_total_time=30]
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from scrapers.errors import ScrapeError
    from scrapers.extract import extract_report


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(ScrapeError):
        extract_report(data.decode("utf-8", "replace"), "https://www.example.com/2026/11/30/a")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
