"""[clean] Benchmark: the cleaning pass alone, on the dev set's extracted texts.

Extraction (trafilatura) dominates ``scrapers.extract``; this isolates ``scrapers.clean.clean``
so a change to its patterns shows up. Each dev-set page is extracted once (untimed), exactly as
``extract_report`` does up to the cleaning step; then every text is cleaned ``--rounds`` times
and the best round is reported (the least disturbed by the 2 shared cores). ``--save`` writes
the cleaned outputs as JSON and ``--compare`` checks them against a saved run, so a rewrite of
a pattern can be shown to change no output.

    python bench/cleaning.py --rounds 20 --save /tmp/before.json
    python bench/cleaning.py --rounds 20 --compare /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from extraction import SETS, load_pages  # noqa: E402

from scrapers.clean import clean, default_rules  # noqa: E402
from scrapers.errors import ExtractionError  # noqa: E402
from scrapers.extract import candidates, precision_reading  # noqa: E402


def inputs(kind: str) -> list[tuple[str, str, str | None]]:
    """(url, pre-clean text, title) per page: the precision reading ``extract_report`` cleans."""
    found = []
    for page in load_pages(kind):
        try:
            read = candidates(page.html, page.url)
        except ExtractionError:
            continue
        found.append((page.url, precision_reading(read).text, read.meta.title))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default="news", choices=list(SETS), help="the dev set")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--save", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args(argv)
    texts = inputs(args.set)
    rules = default_rules()
    outputs = [clean(text, url, rules=rules, title=title).text for url, text, title in texts]
    best = float("inf")
    for _ in range(args.rounds):
        started = time.perf_counter()
        for url, text, title in texts:
            clean(text, url, rules=rules, title=title)
        best = min(best, time.perf_counter() - started)
    chars = sum(len(text) for _, text, _ in texts)
    print(f"{len(texts)} texts, {chars} chars: best of {args.rounds} rounds {best * 1000:.1f} ms")
    if args.save:
        args.save.write_text(json.dumps(outputs), encoding="utf-8")
    if args.compare:
        before = json.loads(args.compare.read_text(encoding="utf-8"))
        changed = sum(a != b for a, b in zip(before, outputs, strict=True))
        print(f"outputs changed against {args.compare}: {changed} of {len(outputs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
