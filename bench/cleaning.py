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

from extraction import DEFAULT_DATA, load_pages  # noqa: E402

from scrapers.clean import clean, default_rules  # noqa: E402
from scrapers.extract import (  # noqa: E402
    _extract_body,
    _parse,
    drop_before_headline,
    drop_blocks,
    read_metadata,
)


def inputs(data: Path) -> list[tuple[str, str, str | None]]:
    """(url, pre-clean text, title) per page, as extract_report hands them to clean()."""
    rules = default_rules()
    found = []
    for page in load_pages(data):
        tree = _parse(page.html)
        if tree is None:
            continue
        meta = read_metadata(tree, page.url)
        drop_before_headline(tree, meta.title)
        drop_blocks(tree, rules.global_rules.dom_drop)
        found.append((page.url, _extract_body(tree, page.html, page.url), meta.title))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--save", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args(argv)
    texts = inputs(args.data)
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
