"""Fuzz target: decoding bodies (BOM, declared charsets, detection). It must never raise.

python fuzz/charset.py [CORPUS_DIR ...] [libFuzzer flags, e.g. -max_total_time=30]
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from scrapers.charset import decode


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    content_type = provider.ConsumeUnicodeNoSurrogates(provider.ConsumeIntInRange(0, 80))
    body = provider.ConsumeBytes(len(data))
    decode(body, content_type or None)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
