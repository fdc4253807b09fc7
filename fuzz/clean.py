"""Fuzz target: cleaning extracted text. It must never raise, and keeps whole input lines only.

python fuzz/clean.py [CORPUS_DIR ...] [libFuzzer flags, e.g. -max_total_time=30]
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from scrapers.clean import MemoryParagraphCounter, clean
    from scrapers.clean.steps import split_lines

COUNTER = MemoryParagraphCounter(max_hosts=10, max_paragraphs_per_host=1000)


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    url = provider.ConsumeUnicodeNoSurrogates(provider.ConsumeIntInRange(0, 40))
    title = provider.ConsumeUnicodeNoSurrogates(provider.ConsumeIntInRange(0, 80)) or None
    text = provider.ConsumeUnicodeNoSurrogates(len(data))
    result = clean(text, url or None, counter=COUNTER, title=title)
    lines = {line.index: line.text for line in split_lines(text)}
    seen = sorted([line.index for line in result.kept] + [line.index for line, _ in result.dropped])
    if seen != sorted(lines) or any(lines[line.index] != line.text for line in result.kept):
        raise AssertionError("clean lost, invented or changed a line")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
