"""[extract] Benchmark: our extraction against open-source extractors on the same pages.

Scores every engine on ../shared/extraction-dev/ by that set's own rules (its README): tokens
are ``\\w+`` matches; predicted and true bodies are compared as word 4-gram shingles with
counts; per page, precision = matched / predicted shingles and recall = matched / true
shingles; the reported precision and recall are the means over pages and F1 is computed from
those two means. Accuracy is the share of pages whose token sequence matches exactly.
Throughput (pages/s) is measured in the same run, on the same decoded pages.

Conventions where the README is silent: a text with fewer than four tokens is one shingle; an
empty prediction scores precision 0 and recall 0 (unless the truth is empty too: 1 and 1).

    python bench/extraction.py                       # every engine that is importable
    python bench/extraction.py --engines ours trafilatura --worst 10
    python bench/extraction.py --markdown            # the table for bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "extraction-dev"
SHINGLE = 4  # the benchmark's shingle size
_TOKEN = re.compile(r"\w+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)

Engine = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    url: str
    html: str
    truth: str


@dataclass(frozen=True, slots=True)
class Score:
    precision: float
    recall: float
    exact: bool

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)


@dataclass(frozen=True, slots=True)
class Result:
    engine: str
    scores: dict[str, Score]
    seconds: float

    @property
    def precision(self) -> float:
        return statistics.fmean(s.precision for s in self.scores.values())

    @property
    def recall(self) -> float:
        return statistics.fmean(s.recall for s in self.scores.values())

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    @property
    def accuracy(self) -> float:
        return statistics.fmean(float(s.exact) for s in self.scores.values())

    @property
    def pages_per_second(self) -> float:
        return len(self.scores) / self.seconds if self.seconds else float("inf")


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def shingles(words: list[str]) -> Counter[tuple[str, ...]]:
    if len(words) < SHINGLE:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


def score(predicted: str, truth: str) -> Score:
    """Shingle precision and recall of one page, and whether the token sequences are equal."""
    pred_words, true_words = tokens(predicted), tokens(truth)
    pred, true = shingles(pred_words), shingles(true_words)
    if not pred or not true:
        both_empty = not pred and not true
        return Score(float(both_empty), float(both_empty), pred_words == true_words)
    matched = sum((pred & true).values())
    return Score(
        matched / sum(pred.values()), matched / sum(true.values()), pred_words == true_words
    )


def decode(raw: bytes) -> str:
    """UTF-8 when it decodes, else the charset the page declares, else a guess."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if match := _META_CHARSET.search(raw[:4096]):
        try:
            return raw.decode(match.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    return str(best) if best is not None else raw.decode("utf-8", "replace")


def load_pages(data: Path) -> list[Page]:
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        raw = gzip.decompress((data / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append(Page(page_id, item["url"], decode(raw), item["articleBody"]))
    return pages


# --- engines ---------------------------------------------------------------------------------


def engine_ours() -> Engine:
    sys.path.insert(0, str(ROOT))
    from scrapers import extract
    from scrapers.errors import ExtractionError

    def run(html: str, url: str) -> str:
        try:
            return extract(html, url).text
        except ExtractionError:
            return ""

    return run


def engine_trafilatura() -> Engine:
    import trafilatura

    def run(html: str, url: str) -> str:
        return trafilatura.extract(html) or ""  # default settings, as published

    return run


def engine_boilerpy3() -> Engine:
    from boilerpy3 import extractors

    extractor = extractors.ArticleExtractor(raise_on_failure=False)

    def run(html: str, url: str) -> str:
        return str(extractor.get_content(html) or "")

    return run


def engine_newspaper4k() -> Engine:
    import newspaper

    def run(html: str, url: str) -> str:
        article = newspaper.Article(url, fetch_images=False)
        article.download(input_html=html)
        article.parse()
        return str(article.text or "")

    return run


def engine_readability() -> Engine:
    import lxml.html
    from readability import Document

    def run(html: str, url: str) -> str:
        summary = Document(html, url=url).summary(html_partial=True)
        if not summary.strip():
            return ""
        root = lxml.html.fromstring(summary)
        blocks = root.xpath("//p|//h1|//h2|//h3|//h4|//li|//blockquote|//pre")
        texts = [" ".join(b.text_content().split()) for b in blocks]
        return "\n\n".join(t for t in texts if t) or root.text_content()

    return run


ENGINES: dict[str, Callable[[], Engine]] = {
    "ours": engine_ours,
    "trafilatura": engine_trafilatura,
    "boilerpy3": engine_boilerpy3,
    "newspaper4k": engine_newspaper4k,
    "readability-lxml": engine_readability,
}


def run_engines(engines: dict[str, Engine], pages: list[Page]) -> list[Result]:
    """Extract every page with every engine and score it.

    Engines take turns page by page (after one untimed warm-up page each), so a busy moment
    on a shared machine slows all of them alike instead of whichever ran then.
    """
    for engine in engines.values():
        _safely(engine, pages[0])
    seconds = dict.fromkeys(engines, 0.0)
    outputs: dict[str, dict[str, str]] = {name: {} for name in engines}
    for page in pages:
        for name, engine in engines.items():
            started = time.perf_counter()
            outputs[name][page.id] = _safely(engine, page)
            seconds[name] += time.perf_counter() - started
    return [
        Result(name, {p.id: score(outputs[name][p.id], p.truth) for p in pages}, seconds[name])
        for name in engines
    ]


def _safely(engine: Engine, page: Page) -> str:
    """The engine's text for the page; a crash on one page scores that page as empty."""
    try:
        return engine(page.html, page.url)
    except Exception as exc:  # noqa: BLE001 — third-party engines raise anything
        print(f"  {page.id[:12]}: {type(exc).__name__}: {str(exc)[:80]}", file=sys.stderr)
        return ""


def load_engines(names: Iterable[str]) -> dict[str, Engine]:
    engines = {}
    for name in names:
        try:
            engines[name] = ENGINES[name]()
        except ImportError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
    return engines


def table(results: list[Result], markdown: bool) -> str:
    base = next((r for r in results if r.engine == "trafilatura"), None)
    head = ["engine", "F1", "precision", "recall", "accuracy", "pages/s", "vs trafilatura"]
    rows = []
    for r in results:
        speed = f"{r.pages_per_second / base.pages_per_second:.2f}" if base else "-"
        rows.append(
            [
                r.engine,
                f"{r.f1:.3f}",
                f"{r.precision:.3f}",
                f"{r.recall:.3f}",
                f"{r.accuracy:.3f}",
                f"{r.pages_per_second:.1f}",
                speed,
            ]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    return "\n".join(
        "  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True))
        for row in [head, *rows]
    )


def regressions(results: list[Result], pages: list[Page]) -> list[str]:
    """Pages where we score F1 < 0.5 although trafilatura scores F1 >= 0.5."""
    by_name = {r.engine: r for r in results}
    if "ours" not in by_name or "trafilatura" not in by_name:
        return []
    ours, theirs = by_name["ours"].scores, by_name["trafilatura"].scores
    return [p.id for p in pages if ours[p.id].f1 < 0.5 <= theirs[p.id].f1]


def worst(result: Result, pages: list[Page], n: int) -> str:
    urls = {p.id: p.url for p in pages}
    ranked = sorted(result.scores.items(), key=lambda item: item[1].f1)[:n]
    return "\n".join(
        f"{s.f1:.3f} p={s.precision:.3f} r={s.recall:.3f} {pid[:12]} {urls[pid]}"
        for pid, s in ranked
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages per engine")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    pages = load_pages(args.data)
    results = run_engines(load_engines(args.engines), pages)
    print(f"{len(pages)} pages from {args.data}")
    print(table(results, args.markdown))
    bad = regressions(results, pages)
    print(f"pages with F1 < 0.5 that trafilatura gets right: {len(bad)} {bad}")
    for result in results if args.worst else []:
        print(f"\nworst {args.worst} for {result.engine}:\n{worst(result, pages, args.worst)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
