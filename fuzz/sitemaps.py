"""Fuzz target: sitemaps (urlset, index, feeds as sitemaps). Anything but ScrapeError is a finding.

python fuzz/sitemaps.py [CORPUS_DIR ...] [libFuzzer flags, e.g. -max_total_time=30]
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
        discover("sitemap", body, "https://example.com/sitemap.xml", now=NOW)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
