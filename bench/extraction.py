"""[extract] Benchmark: our extraction against trafilatura on both dev sets, whole-set and k-fold.

Two dev sets, each scored by its own README:

- ``news`` (../shared/extraction-dev/, 91 pages): ``\\w+`` tokens compared as word 4-gram
  shingles with counts; per page precision = matched / predicted and recall = matched / true;
  precision and recall are means over pages and F1 comes from those two means.
- ``wcxb`` (../shared/extraction-dev-wcxb/, 793 article pages): lower-cased ``\\w+`` tokens as
  a bag of words (multiset overlap), per-page precision / recall / F1 averaged over pages; plus
  the share of ``with`` snippets found and of ``without`` snippets leaked.

Every engine runs in one process, engines taking turns page by page, so speed ratios are
same-run figures. Reported per set: F1 / P / R for each engine, the paired ΔF1 of ours against
plain trafilatura with a 95 % bootstrap interval, the count of catastrophic pages (ours < 0.5
while trafilatura >= 0.8), the pages we lose most on, and 5-fold figures: the thresholds the
product tunes (``scrapers.extract.Tuning``: gate, fragment_ratio, full_share) are chosen on 4/5
of the pages from ``TUNING_GRID`` and scored on the held 1/5; the reported k-fold F1 is over
the held-out pages only. Every page is read once with all of trafilatura's readings
(``candidates(always_both=True)``) and ``finish`` makes each grid value's choices on them.
A line per ``full_share`` value follows: the held-out F1 with the share fixed (gate and ratio
still chosen per fold), the whole-set F1 at the product's gate and ratio, and how many pages
that share sends to the full precision reading (what it costs).

Conventions where a README is silent: a text with fewer than four tokens is one shingle; an
empty prediction scores precision 0 and recall 0 (unless the truth is empty too: 1 and 1).

    python bench/extraction.py                      # both sets, ours / trafilatura / precision
    python bench/extraction.py --sets news --worst 10
    python bench/extraction.py --engines ours trafilatura boilerpy3 readability-lxml --no-kfold
    python bench/extraction.py --markdown > /tmp/t  # the tables of bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SETS = {"news": SHARED / "extraction-dev", "wcxb": SHARED / "extraction-dev-wcxb"}
SHINGLE = 4  # the news benchmark's shingle size
FOLDS = 5
BOOTSTRAP = 2000
SEED = 20261202
CATASTROPHE_OURS, CATASTROPHE_THEIRS = 0.5, 0.8
_TOKEN = re.compile(r"\w+")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)

Engine = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    url: str
    html: str
    truth: str
    with_snippets: tuple[str, ...] = ()
    without_snippets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Score:
    precision: float
    recall: float
    with_found: float | None = None
    without_leaked: float | None = None

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


# --- scoring ---------------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def shingles(words: list[str]) -> Counter[tuple[str, ...]]:
    if len(words) < SHINGLE:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


def _overlap(pred: Counter[tuple[str, ...]] | Counter[str], true: Counter) -> tuple[float, float]:  # type: ignore[type-arg]
    if not pred or not true:
        both_empty = float(not pred and not true)
        return both_empty, both_empty
    matched = sum((pred & true).values())
    return matched / sum(pred.values()), matched / sum(true.values())


def score_news(predicted: str, page: Page) -> Score:
    """Shingle precision and recall of one page (the news set's rule)."""
    return Score(*_overlap(shingles(tokens(predicted)), shingles(tokens(page.truth))))


def _norm(text: str) -> str:
    return " ".join(tokens(text.lower()))


def score_wcxb(predicted: str, page: Page) -> Score:
    """Bag-of-words precision and recall, plus snippets found / leaked (the WCXB rule)."""
    precision, recall = _overlap(
        Counter(tokens(predicted.lower())), Counter(tokens(page.truth.lower()))
    )
    normed = _norm(predicted)
    found = [_norm(s) in normed for s in page.with_snippets if _norm(s)]
    leaked = [_norm(s) in normed for s in page.without_snippets if _norm(s)]
    return Score(
        precision,
        recall,
        statistics.fmean(found) if found else None,
        statistics.fmean(leaked) if leaked else None,
    )


SCORERS: dict[str, Callable[[str, Page], Score]] = {"news": score_news, "wcxb": score_wcxb}


def mean_pr(scores: Sequence[Score]) -> tuple[float, float, float]:
    """(F1, P, R) of a set by its rule: news F1 from the mean P and R, WCXB the mean F1."""
    precision = statistics.fmean(s.precision for s in scores)
    recall = statistics.fmean(s.recall for s in scores)
    return _f1(precision, recall), precision, recall


def set_f1(kind: str, scores: Sequence[Score]) -> float:
    if kind == "wcxb":
        return statistics.fmean(s.f1 for s in scores)
    return mean_pr(scores)[0]


# --- loading ---------------------------------------------------------------------------------


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


def load_pages(kind: str, data: Path | None = None) -> list[Page]:
    data = data or SETS[kind]
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, item in sorted(truth.items()):
        raw = gzip.decompress((data / "html" / f"{page_id}.html.gz").read_bytes())
        body = item.get("articleBody") or item.get("main_content") or ""
        pages.append(
            Page(
                page_id,
                item["url"],
                decode(raw),
                body,
                tuple(item.get("with") or ()),
                tuple(item.get("without") or ()),
            )
        )
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


def engine_trafilatura_precision() -> Engine:
    import trafilatura

    def run(html: str, url: str) -> str:
        return trafilatura.extract(html, favor_precision=True) or ""

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
    "trafilatura-precision": engine_trafilatura_precision,
    "boilerpy3": engine_boilerpy3,
    "newspaper4k": engine_newspaper4k,
    "readability-lxml": engine_readability,
}
DEFAULT_ENGINES = ("ours", "trafilatura", "trafilatura-precision")


def load_engines(names: Iterable[str]) -> dict[str, Engine]:
    engines = {}
    for name in names:
        try:
            engines[name] = ENGINES[name]()
        except ImportError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
    return engines


def _safely(engine: Engine, page: Page) -> str:
    """The engine's text for the page; a crash on one page scores that page as empty."""
    try:
        return engine(page.html, page.url)
    except Exception as exc:  # noqa: BLE001 — third-party engines raise anything
        print(f"  {page.id[:12]}: {type(exc).__name__}: {str(exc)[:80]}", file=sys.stderr)
        return ""


@dataclass(frozen=True, slots=True)
class Run:
    """Every engine's text for every page and the seconds each engine took in total."""

    outputs: dict[str, dict[str, str]]
    seconds: dict[str, float]


def run_engines(engines: dict[str, Engine], pages: list[Page]) -> Run:
    """Engines take turns page by page (after one untimed warm-up page each), so a busy moment
    on a shared machine slows all of them alike instead of whichever ran then."""
    for engine in engines.values():
        _safely(engine, pages[0])
    seconds = dict.fromkeys(engines, 0.0)
    outputs: dict[str, dict[str, str]] = {name: {} for name in engines}
    for page in pages:
        for name, engine in engines.items():
            started = time.perf_counter()
            outputs[name][page.id] = _safely(engine, page)
            seconds[name] += time.perf_counter() - started
    return Run(outputs, seconds)


# --- k-fold ----------------------------------------------------------------------------------


def folds(pages: Sequence[Page], k: int = FOLDS) -> list[list[str]]:
    """Page ids in ``k`` folds, shuffled with a fixed seed (the same folds every run)."""
    ids = [p.id for p in pages]
    random.Random(SEED).shuffle(ids)
    return [ids[i::k] for i in range(k)]


@dataclass(frozen=True, slots=True)
class Tuned:
    """Ours under every grid value, from one set of readings per page."""

    texts: dict[Any, dict[str, str]]  # Tuning -> page id -> text
    full_readings: dict[Any, int]  # Tuning -> pages whose precision text is the full reading
    second_opinions: int  # pages where boilerpy3's reading replaced trafilatura's
    without_full: dict[str, str]  # page id -> text at the product's Tuning, no full reading


def tuned_outputs(pages: list[Page]) -> Tuned:
    """Ours with each value of the tuned thresholds: page id -> text, per grid value.

    The expensive part (parsing, the three trafilatura readings, cleaning them) is done once
    per page; only the choice and the Article are repeated per value. Whether boilerpy3 is
    asked is decided at the product's Tuning for every value (``second_opinions`` counts the
    pages where it was).
    """
    sys.path.insert(0, str(ROOT))
    from scrapers.errors import ExtractionError
    from scrapers.extract import TUNING, TUNING_GRID, candidates, finish, precision_reading

    texts: dict[Any, dict[str, str]] = {value: {} for value in TUNING_GRID}
    full = dict.fromkeys(TUNING_GRID, 0)
    second = 0
    without_full: dict[str, str] = {}
    for page in pages:
        try:
            prepared = candidates(page.html, page.url, always_both=True)
        except ExtractionError:
            prepared = None
        second += prepared is not None and prepared.first_engine == "boilerpy3"
        without_full[page.id] = ""
        if prepared is not None:  # what the second-costliest reading buys (issue 14)
            with contextlib.suppress(ExtractionError):
                fast_only = finish(replace(prepared, full=None), tuning=TUNING)
                without_full[page.id] = fast_only.article.text
        for value in TUNING_GRID:
            text = ""
            if prepared is not None:
                if precision_reading(prepared, value) is prepared.full:  # never when None
                    full[value] += 1
                try:
                    text = finish(prepared, tuning=value).article.text
                except ExtractionError:
                    text = ""
            texts[value][page.id] = text
    return Tuned(texts, full, second, without_full)


def score_grid(kind: str, pages: list[Page], tuned: Tuned) -> dict[Any, dict[str, Score]]:
    """Every grid value's score on every page (each distinct text of a page scored once)."""
    scorer = SCORERS[kind]
    by_id = {p.id: p for p in pages}
    memo: dict[tuple[str, str], Score] = {}
    scored: dict[Any, dict[str, Score]] = {}
    for value, out in tuned.texts.items():
        scored[value] = {}
        for pid, text in out.items():
            if (pid, text) not in memo:
                memo[pid, text] = scorer(text, by_id[pid])
            scored[value][pid] = memo[pid, text]
    return scored


@dataclass(frozen=True, slots=True)
class FoldResult:
    chosen: list[Any]
    held_out: dict[str, Score]  # every page scored by the value chosen without it
    notes: tuple[str, ...] = ()  # further lines for the report (the full_share sweep)


def kfold(
    kind: str, pages: list[Page], scored: dict[Any, dict[str, Score]], values: Sequence[Any] = ()
) -> FoldResult:
    """Each fold's value chosen on the other folds from ``values`` (all of ``scored`` when
    empty; ties go to the first, the grid's cheapest) and scored on the fold."""
    values = list(values) or list(scored)
    ids = [p.id for p in pages]
    chosen: list[Any] = []
    held: dict[str, Score] = {}
    for fold in folds(pages):
        held_ids = set(fold)
        train = [pid for pid in ids if pid not in held_ids]
        best = max(values, key=lambda v: set_f1(kind, [scored[v][pid] for pid in train]))
        chosen.append(best)
        held.update({pid: scored[best][pid] for pid in fold})
    return FoldResult(chosen, held)


def tune(kind: str, pages: list[Page], tuned: Tuned) -> FoldResult:
    """The k-fold over the whole grid, plus the full_share sweep (see the module docstring)."""
    from scrapers.extract import TUNING

    scored = score_grid(kind, pages, tuned)
    ids = [p.id for p in pages]
    shares = sorted({v.full_share for v in scored})
    notes = []
    for share in shares:
        fixed = kfold(kind, pages, scored, [v for v in scored if v.full_share == share])
        product = replace(TUNING, full_share=share)
        whole = set_f1(kind, [scored[product][pid] for pid in ids])
        held = set_f1(kind, [fixed.held_out[pid] for pid in ids])
        changed = sum(
            tuned.texts[product][pid] != tuned.texts[replace(TUNING, full_share=shares[0])][pid]
            for pid in ids
        )
        notes.append(
            f"full_share {share}: held-out F1 {held:.4f} (gate, ratio chosen per fold);"
            f" whole set at gate {TUNING.gate}, ratio {TUNING.fragment_ratio}: F1 {whole:.4f},"
            f" {tuned.full_readings[product]} of {len(ids)} pages read in full,"
            f" {changed} texts differ from full_share {shares[0]}'s"
        )
    notes.append(
        f"full_share values tied for the best training F1, per fold: {_ties(kind, pages, scored)}"
    )
    notes.append(f"boilerpy3 second opinions: {tuned.second_opinions} pages")
    fast_only = [SCORERS[kind](tuned.without_full[p.id], p) for p in pages]
    differ = sum(tuned.without_full[pid] != tuned.texts[TUNING][pid] for pid in ids)
    product_f1 = set_f1(kind, [scored[TUNING][pid] for pid in ids])
    notes.append(
        f"without the full precision reading (at the product's Tuning): F1"
        f" {set_f1(kind, fast_only):.4f} against {product_f1:.4f}, {differ} texts differ"
    )
    result = kfold(kind, pages, scored)
    return FoldResult(result.chosen, result.held_out, tuple(notes))


def _ties(kind: str, pages: list[Page], scored: dict[Any, dict[str, Score]]) -> list[list[float]]:
    """Per fold, the full_share values whose best (gate, ratio) reaches the best training F1:
    a fold that "chose" the first of several tied values expressed no preference."""
    ids = [p.id for p in pages]
    ties = []
    for fold in folds(pages):
        held_ids = set(fold)
        train = [pid for pid in ids if pid not in held_ids]
        best: dict[float, float] = {}
        for value, by_page in scored.items():
            f1 = set_f1(kind, [by_page[pid] for pid in train])
            best[value.full_share] = max(best.get(value.full_share, 0.0), f1)
        top = max(best.values())
        ties.append([share for share, f1 in sorted(best.items()) if f1 >= top - 1e-12])
    return ties


# --- report ----------------------------------------------------------------------------------


def bootstrap_delta(
    kind: str, ours: Sequence[Score], theirs: Sequence[Score]
) -> tuple[float, float, float]:
    """ΔF1 (ours - theirs) on the set and its 95 % paired bootstrap interval over pages."""
    rng = random.Random(SEED)
    n = len(ours)
    deltas = []
    for _ in range(BOOTSTRAP):
        sample = [rng.randrange(n) for _ in range(n)]
        deltas.append(
            set_f1(kind, [ours[i] for i in sample]) - set_f1(kind, [theirs[i] for i in sample])
        )
    deltas.sort()
    delta = set_f1(kind, ours) - set_f1(kind, theirs)
    return delta, deltas[int(0.025 * BOOTSTRAP)], deltas[int(0.975 * BOOTSTRAP) - 1]


def _row(cells: Sequence[str], markdown: bool, widths: Sequence[int] | None = None) -> str:
    if markdown:
        return "| " + " | ".join(cells) + " |"
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths or [0] * len(cells), strict=True))


def render(rows: list[list[str]], markdown: bool) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [_row(rows[0], markdown, widths)]
    if markdown:
        lines.append("|" + "---|" * len(rows[0]))
    lines += [_row(r, markdown, widths) for r in rows[1:]]
    return "\n".join(lines)


def report(
    kind: str, pages: list[Page], run: Run, fold: FoldResult | None, worst: int, markdown: bool
) -> str:
    scorer = SCORERS[kind]
    ids = [p.id for p in pages]
    by_id = {p.id: p for p in pages}
    scores = {
        name: [scorer(out[pid], by_id[pid]) for pid in ids] for name, out in run.outputs.items()
    }
    base_speed = run.seconds.get("trafilatura")
    head = [
        "engine",
        "F1",
        "P",
        "R",
        "ΔF1 vs trafilatura [95 % CI]",
        "catastrophic",
        "speed vs trafilatura",
    ]
    if kind == "wcxb":
        head[-1:-1] = ["with found", "without leaked"]
    rows = [head]
    for name, s in scores.items():
        f1, p, r = mean_pr(s)
        f1 = set_f1(kind, s)
        delta = "-"
        cats = "-"
        if "trafilatura" in scores and name != "trafilatura":
            d, lo, hi = bootstrap_delta(kind, s, scores["trafilatura"])
            delta = f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
            cats = str(_catastrophes(s, scores["trafilatura"]))
        speed = f"{base_speed / run.seconds[name]:.2f}" if base_speed else "-"
        row = [name, f"{f1:.3f}", f"{p:.3f}", f"{r:.3f}", delta, cats]
        if kind == "wcxb":
            row += [_snippets(s, "with_found"), _snippets(s, "without_leaked")]
        rows.append([*row, speed])
    out = [f"{kind}: {len(pages)} pages\n", render(rows, markdown)]
    if fold is not None and "trafilatura" in scores:
        held = [fold.held_out[pid] for pid in ids]
        f1, p, r = mean_pr(held)
        f1 = set_f1(kind, held)
        d, lo, hi = bootstrap_delta(kind, held, scores["trafilatura"])
        per_fold = []
        for fold_ids in folds(pages):
            ours_f = set_f1(kind, [fold.held_out[pid] for pid in fold_ids])
            theirs_f = set_f1(kind, [scores["trafilatura"][ids.index(pid)] for pid in fold_ids])
            per_fold.append(f"{ours_f:.3f}/{theirs_f:.3f}")
        chosen = [(t.gate, t.fragment_ratio, t.full_share) for t in fold.chosen]
        out.append(
            f"\n{FOLDS}-fold (Tuning chosen on 4/5, scored on the held 1/5): chosen (gate,"
            f" fragment_ratio, full_share) {chosen}; held-out F1 {f1:.3f} P {p:.3f} R {r:.3f};"
            " ΔF1 vs trafilatura"
            f" {d:+.3f} [{lo:+.3f}, {hi:+.3f}]; catastrophic"
            f" {_catastrophes(held, scores['trafilatura'])}; per fold ours/trafilatura F1:"
            f" {', '.join(per_fold)}"
        )
        out.append("\n".join(f"- {note}" for note in fold.notes))
    if worst and "ours" in scores and "trafilatura" in scores:
        losses = sorted(
            range(len(ids)), key=lambda i: scores["ours"][i].f1 - scores["trafilatura"][i].f1
        )[:worst]
        lines = [f"\nworst {worst} pages for ours against trafilatura (ours F1 / trafilatura F1):"]
        for i in losses:
            o, t = scores["ours"][i], scores["trafilatura"][i]
            lines.append(
                f"- {ids[i]} {o.f1:.3f} / {t.f1:.3f} (ours P {o.precision:.2f} R {o.recall:.2f})"
                f" {by_id[ids[i]].url[:90]}"
            )
        out.append("\n".join(lines))
    return "\n".join(out)


def _catastrophes(ours: Sequence[Score], theirs: Sequence[Score]) -> int:
    return sum(
        o.f1 < CATASTROPHE_OURS and t.f1 >= CATASTROPHE_THEIRS
        for o, t in zip(ours, theirs, strict=True)
    )


def _snippets(scores: Sequence[Score], field: str) -> str:
    values = [getattr(s, field) for s in scores if getattr(s, field) is not None]
    return f"{statistics.fmean(values):.3f}" if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument(
        "--engines", nargs="+", default=list(DEFAULT_ENGINES), choices=list(ENGINES)
    )
    parser.add_argument("--worst", type=int, default=8, help="list the N pages we lose most on")
    parser.add_argument("--no-kfold", action="store_true", help="skip the k-fold figures")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    engines = load_engines(args.engines)
    for kind in args.sets:
        pages = load_pages(kind)
        run = run_engines(engines, pages)
        fold = (
            None
            if args.no_kfold or "ours" not in engines
            else tune(kind, pages, tuned_outputs(pages))
        )
        print(report(kind, pages, run, fold, args.worst, args.markdown))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
