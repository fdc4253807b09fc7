"""Complexity checks without wall-clock limits: how much slower is 10x the input?

A linear-time function on the worst input it can get takes about 10x as long on 1 MB as on
100 KB; a quadratic one takes 100x. ``growth`` measures that ratio in one process (best of a
few runs of each size, so a busy moment on the shared machine does not decide), and tests
assert it stays under ``LINEAR``: far from 100, with room for cache effects and noise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

LINEAR = 30.0  # the ratio a test accepts for 10x the input: linear is ~10, quadratic ~100
SMALL = 100_000
LARGE = 1_000_000
ATTEMPTS = 3


def growth(
    build: Callable[[int], T],
    run: Callable[[T], object],
    *,
    small: int = SMALL,
    large: int = LARGE,
    repeat: int = 3,
) -> float:
    """Time of ``run(build(large))`` over that of ``run(build(small))``; inputs built untimed.

    ``build(n)`` makes the worst input of about ``n`` characters (or links, or bytes).
    A ratio over LINEAR is measured again, up to ``ATTEMPTS`` times, and the lowest kept:
    a neighbour's burst of CPU can slow the large runs of one attempt, but a quadratic
    function is ~100x in every attempt, so this never lets one pass.
    """
    large_input, small_input = build(large), build(small)
    ratio = float("inf")
    for _ in range(ATTEMPTS):
        ratio = min(ratio, _best(run, large_input, repeat) / _best(run, small_input, repeat))
        if ratio < LINEAR:
            break
    return ratio


def _best(run: Callable[[T], object], value: T, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run(value)
        best = min(best, time.perf_counter() - started)
    return max(best, 1e-6)  # a run too fast to time counts as a microsecond


def repeated(unit: str, prefix: str = "", suffix: str = "") -> Callable[[int], str]:
    """A builder: ``unit`` repeated to about ``n`` characters between ``prefix`` and ``suffix``."""
    return lambda n: prefix + unit * max(n // len(unit), 1) + suffix
