"""The pool's quarantine of bodies that ran past the parse deadline (pure: the clock is ours)."""

from __future__ import annotations

import pytest

from scrapers.errors import ParseTimeout
from watcher.workers import Quarantine

URL = "https://example.org/a"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_timed_out_body_is_skipped_then_tried_again_after_the_hold() -> None:
    clock = Clock()
    quarantine = Quarantine(first=60, longest=600, clock=clock)
    key = Quarantine.key(URL, "<html>slow</html>")
    quarantine.check(key, URL)  # never timed out: parse it
    quarantine.timed_out(key)
    with pytest.raises(ParseTimeout, match="not parsed again") as caught:
        quarantine.check(key, URL)
    assert caught.value.slug == "parse_timeout"
    assert caught.value.url == URL
    clock.now += 61
    quarantine.check(key, URL)  # the hold is over: try once more


def test_each_timeout_doubles_the_hold_up_to_the_longest() -> None:
    clock = Clock()
    quarantine = Quarantine(first=60, longest=200, clock=clock)
    key = Quarantine.key(URL, "body")
    holds = []
    for _ in range(4):
        quarantine.timed_out(key)
        started = clock.now
        while True:
            try:
                quarantine.check(key, URL)
                break
            except ParseTimeout:
                clock.now += 1
        holds.append(clock.now - started)
    assert holds == [60, 120, 200, 200]


def test_a_changed_body_or_a_success_is_parsed_at_once() -> None:
    quarantine = Quarantine(first=60, longest=600, clock=Clock())
    slow = Quarantine.key(URL, "slow body")
    quarantine.timed_out(slow)
    quarantine.check(Quarantine.key(URL, "edited body"), URL)
    quarantine.check(Quarantine.key("https://example.org/b", "slow body"), URL)
    quarantine.parsed(slow)
    quarantine.check(slow, URL)


def test_memory_is_bounded_oldest_first() -> None:
    quarantine = Quarantine(first=60, longest=600, size=3, clock=Clock())
    keys = [Quarantine.key(URL, str(i)) for i in range(4)]
    for key in keys:
        quarantine.timed_out(key)
    quarantine.check(keys[0], URL)  # forgotten: parsed again
    for key in keys[1:]:
        with pytest.raises(ParseTimeout):
            quarantine.check(key, URL)
