"""atheris target: config file bytes → a Config or a ConfigError, never anything else.

    python fuzz/config.py [atheris/libFuzzer args, e.g. -max_total_time=60 -rss_limit_mb=2048]

The same bytes also feed the pieces that see raw values (durations, URLs), each of which may
raise only ValueError. Any other exception, a hang or a memory blow-up is a finding.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from watcher.config import config_from_bytes, parse_duration
    from watcher.errors import ConfigError
    from watcher.urlcheck import check_http_url, check_redis_url

ENV = {"A": "1", "REDIS_URL": ""}


def TestOneInput(data: bytes) -> None:
    with contextlib.suppress(ConfigError):
        config_from_bytes(data, ENV)
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(300)
    for check in (check_http_url, check_redis_url, parse_duration):
        with contextlib.suppress(ValueError):
            check(text)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
