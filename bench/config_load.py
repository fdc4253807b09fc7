"""`load_config` of generated configs: the libyaml path against the pure-Python composer.

Every CLI command (`status`, `check`, `once`, `run`) loads the config first, so a daemon
watching 10,000 sources (issue 14) pays this on each. The baseline is the loader before the
change (PyYAML's pure-Python composer counting values as it composes, what
``safeyaml._load_composing`` still does without libyaml), run in the same process on the same
file, taking turns; the figure is the ratio. Sources have ~12 YAML values each (name, type,
url, every, max_age), as the limits assume. Usage:

    .venv/bin/python bench/config_load.py --markdown            # 1,000 and 10,000 sources
    .venv/bin/python bench/config_load.py --sizes 30000 --repeat 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from tests.support.builders import many_sources, write_config  # noqa: E402
from watcher import safeyaml  # noqa: E402
from watcher.config import load_config  # noqa: E402


def config_of(tmp: Path, sources: int) -> Path:
    """A valid config of ``sources`` feeds, ~12 YAML values each."""
    redis = {"url": "redis://127.0.0.1:6379/0"}
    return write_config(tmp / f"w{sources}.yaml", redis=redis, sources=many_sources(sources))


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def timed(path: Path, fast: bool, repeat: int) -> tuple[float, float]:
    """(seconds for safeyaml.load alone, seconds for the whole load_config), best of ``repeat``."""
    previous, safeyaml._FAST = safeyaml._FAST, fast
    try:
        data = path.read_bytes()
        yaml_s = best(lambda: safeyaml.load(data), repeat)
        config_s = best(lambda: load_config(path, {}), repeat)
    finally:
        safeyaml._FAST = previous
    return yaml_s, config_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many, each loader")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if not safeyaml._FAST:
        print("PyYAML has no libyaml here: nothing to compare", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for sources in args.sizes:
            path = config_of(Path(tmp), sources)
            values = safeyaml.measure(
                safeyaml.yaml.parse(path.read_text(), Loader=safeyaml.yaml.CSafeLoader)
            )
            slow = timed(path, fast=False, repeat=args.repeat)
            fast = timed(path, fast=True, repeat=args.repeat)
            rows.append((sources, path.stat().st_size, values, slow, fast))
    if args.markdown:
        print("| sources | bytes | values | YAML: pure / libyaml | ratio |", end="")
        print(" load_config: pure / libyaml | ratio |")
        print("|---|---|---|---|---|---|---|")
    for sources, size, values, (slow_y, slow_c), (fast_y, fast_c) in rows:
        if args.markdown:
            print(
                f"| {sources:,} | {size:,} | {values:,} | {slow_y:.2f} s / {fast_y:.3f} s | "
                f"{slow_y / fast_y:.1f}x | {slow_c:.2f} s / {fast_c:.3f} s | "
                f"{slow_c / fast_c:.1f}x |"
            )
        else:
            print(
                f"{sources} sources ({size} bytes, {values} values): yaml {slow_y:.3f}s -> "
                f"{fast_y:.3f}s ({slow_y / fast_y:.1f}x), load_config {slow_c:.3f}s -> "
                f"{fast_c:.3f}s ({slow_c / fast_c:.1f}x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
