"""Fuzz target: URL helpers. None may raise, and canonicalize must be idempotent.

python fuzz/urls.py [CORPUS_DIR ...] [libFuzzer flags, e.g. -max_total_time=30]
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from scrapers.clean.learned import host_key
    from scrapers.urls import (
        canonicalize,
        host_of,
        is_web_url,
        resolve,
        same_site,
        strip_tracking,
    )


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    url = provider.ConsumeUnicodeNoSurrogates(provider.ConsumeIntInRange(0, 200))
    base = provider.ConsumeUnicodeNoSurrogates(200)
    once = canonicalize(url)
    if canonicalize(once) != once:
        raise AssertionError(f"canonicalize is not idempotent: {url!r} -> {once!r}")
    host_of(url)
    is_web_url(url)
    same_site(url, base)
    strip_tracking(url)
    host_key(url)
    canonicalize(resolve(url, base))


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
