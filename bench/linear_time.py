"""[hostile input] Growth of every untrusted-text parser on its worst known input.

The same cases as ``tests/unit/scrapers/test_linear_time.py`` (which asserts each stays under
30x); this prints the figures for ``bench/RESULTS.md``: the time on ~1 MB of the worst input
over the time on ~100 KB, best of three each, measured in this process. Linear is ~10x,
quadratic ~100x; an exponential pattern never finishes, so the old code is not re-run here.

    .venv/bin/python bench/linear_time.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.growth import LINEAR, growth  # noqa: E402
from tests.unit.scrapers.test_linear_time import CASES  # noqa: E402


def main() -> int:
    print("| case | 1 MB / 100 KB |")
    print("|---|---|")
    worst = 0.0
    for name, (build, run) in CASES.items():
        ratio = growth(build, run)
        worst = max(worst, ratio)
        print(f"| {name} | {ratio:.1f}x |")
    print(f"\nworst {worst:.1f}x (target: under {LINEAR:.0f}x; linear is ~10x)")
    return 0 if worst < LINEAR else 1


if __name__ == "__main__":
    sys.exit(main())
