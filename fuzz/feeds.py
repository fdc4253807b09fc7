"""Fuzz target: RSS/Atom feeds. Anything raised but a ScrapeError is a finding.

python fuzz/feeds.py [CORPUS_DIR ...] [libFuzzer flags, e.g. -max_total_time=30]
"""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports():
    from scrapers.discover import discover
    from scrapers.errors import ScrapeError

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_one_input(data: bytes) -> None:
    body = data.decode("utf-8", "replace")
    with contextlib.suppress(ScrapeError):
        discover("feed", body, "https://example.com/feed", now=NOW)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
