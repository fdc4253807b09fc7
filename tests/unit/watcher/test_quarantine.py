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
    body = "<html>slow</html>"
    quarantine.check(URL, body)  # never timed out: parse it
    quarantine.timed_out(URL, body)
    with pytest.raises(ParseTimeout, match="not parsed again") as caught:
        quarantine.check(URL, body)
    assert caught.value.slug == "parse_timeout"
    assert caught.value.url == URL
    clock.now += 61
    quarantine.check(URL, body)  # the hold is over: try once more


def test_each_timeout_doubles_the_hold_up_to_the_longest() -> None:
    clock = Clock()
    quarantine = Quarantine(first=60, longest=200, clock=clock)
    holds = []
    for _ in range(4):
        quarantine.timed_out(URL, "body")
        started = clock.now
        while True:
            try:
                quarantine.check(URL, "body")
                break
            except ParseTimeout:
                clock.now += 1
        holds.append(clock.now - started)
    assert holds == [60, 120, 200, 200]


def test_a_changed_body_or_a_success_is_parsed_at_once() -> None:
    quarantine = Quarantine(first=60, longest=600, clock=Clock())
    quarantine.timed_out(URL, "slow body")
    quarantine.check(URL, "edited body")
    quarantine.check("https://example.org/b", "slow body")
    quarantine.parsed(URL, "edited body")  # another body of the URL parsed: still held
    with pytest.raises(ParseTimeout):
        quarantine.check(URL, "slow body")
    quarantine.parsed(URL, "slow body")
    quarantine.check(URL, "slow body")


def test_memory_is_bounded_oldest_first() -> None:
    quarantine = Quarantine(first=60, longest=600, size=3, clock=Clock())
    bodies = [str(i) for i in range(4)]
    for body in bodies:
        quarantine.timed_out(URL, body)
    quarantine.check(URL, bodies[0])  # forgotten: parsed again
    for body in bodies[1:]:
        with pytest.raises(ParseTimeout):
            quarantine.check(URL, body)
    for body in bodies[1:]:
        quarantine.parsed(URL, body)
    assert not quarantine._urls  # every count back to nothing: the URL map stays bounded
