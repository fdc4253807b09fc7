"""[extract] HTML → Article: layered extraction, then the cleaning pass (pure).

1 parse the page once (lxml), 2 read metadata from meta tags and JSON-LD (htmldate when they
carry no date) and a republication credit from the tree, 3 remove what sits above the
headline (promos, outlet cards) and the blocks the rules name (related stories, newsletters,
share bars), never a block that holds much of the body, 4 read the body with trafilatura in
precision mode (fast: without its readability/justext comparison, made only when the fast
text looks short), and in its default mode too when the precision text is short against the
page's paragraphs; the default reading wins when the precision one is a fragment of it
(``Tuning`` holds the thresholds of these choices, ``finish`` makes them),
5 ask boilerpy3 for a second opinion when trafilatura finds too little, 6 clean the text
(rules, structure, title and attribution lines, each step guarded against dropping body).
The settings were chosen on bench/extraction.py; bench/RESULTS.md has the measurements.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import lxml.etree
import lxml.html
from lxml.etree import XPath

from scrapers.clean import Cleaned, clean, default_rules
from scrapers.clean.drift import PageFigures
from scrapers.clean.learned import host_key
from scrapers.clean.rules import Rule, Rules, combined
from scrapers.clean.steps import is_same_title
from scrapers.errors import ExtractionError
from scrapers.model import Article
from scrapers.urls import is_web_url, resolve

MIN_ARTICLE_WORDS = 5  # a 9-word brief is an article; "Home" or "Accept all cookies" is not
MIN_BODY_CHARS = 250  # below this trafilatura probably missed the article: ask boilerpy3 too
SECOND_OPINION_RATIO = 2.0  # take boilerpy3's text only when it is this much longer
BODY_PARAGRAPH_CHARS = 80  # a <p> this long is body-like text (what the page seems to hold)


@dataclass(frozen=True, slots=True)
class Tuning:
    """The thresholds of the choices between trafilatura's readings of a page.

    Chosen on bench/extraction.py: on the folds of both dev sets, not on the whole of them.
    ``gate``: the default reading is made only when the cleaned precision text is shorter
    than this share of the page's body-like paragraph text (so most pages pay for one run);
    a fast precision text under it is read again in full as well.
    ``fragment_ratio``: then the default reading wins when the precision text is shorter than
    this share of it (precision mode kept a teaser or a sidebar block).
    ``full_share``: a fast precision text shorter than this share of the page's long text
    runs (in any element) is read again in full (pages that hold their body in <div>s).
    """

    gate: float = 0.8
    fragment_ratio: float = 0.8  # what 4 of 5 WCXB folds chose; every value ties on news
    full_share: float = 0.5  # what 4 of 5 WCXB folds chose (one 0.3); every value ties on news


TUNING = Tuning()
# Ties on the folds go to the first value: the smaller gate and share (fewer readings).
TUNING_GRID = tuple(
    Tuning(gate, ratio, share)
    for gate in (0.5, 0.8, 1.0)
    for ratio in (0.4, 0.5, 0.6, 0.7, 0.8)
    for share in (0.2, 0.3, 0.5)
)


@dataclass(frozen=True, slots=True)
class Extraction:
    """An Article plus what it took: extracted length, and what cleaning dropped and why."""

    article: Article
    figures: PageFigures
    dropped: tuple[tuple[str, str], ...]
    engine: str = "precision"  # which reading the body came from: precision, default, boilerpy3


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading of the page's body, as the extractor returned it and cleaned."""

    text: str
    cleaned: Cleaned


@dataclass(frozen=True, slots=True)
class Candidates:
    """What a page offers before the choice: its metadata, its size, and its readings.

    ``fast`` is trafilatura's fast precision reading (boilerpy3's, see ``first_engine``);
    ``full`` its full precision reading and ``default`` its default one, None when they were
    not needed (see ``Tuning``). With ``always_both`` every reading is there, so that
    ``finish`` can make the choices of any ``Tuning`` without reading the page again.
    """

    url: str | None
    meta: Metadata
    rules: Rules
    page_chars: int  # body-like <p> text (BODY_PARAGRAPH_CHARS)
    long_chars: int  # long text runs in any element (LONG_TEXT_RUN_CHARS)
    fast: Reading
    full: Reading | None = None
    default: Reading | None = None
    first_engine: str = "precision"  # "boilerpy3" when trafilatura found (nearly) nothing


def extract(html: str, url: str | None = None, *, rules: Rules | None = None) -> Article:
    """The cleaned article body of ``html`` and its metadata.

    ``url`` (the final URL of the page) selects per-host rules and resolves the canonical URL.
    Raises ExtractionError when no article text is left after extraction and cleaning.
    """
    return extract_report(html, url, rules=rules).article


def extract_report(
    html: str, url: str | None = None, *, rules: Rules | None = None, find_date: bool = True
) -> Extraction:
    """``extract`` with its figures (for the drift alarm) and the dropped lines (for logs).

    ``find_date=False``: the caller has the date already (a feed entry's), so a page whose
    tags carry none is not searched by htmldate (a guess from the text and the URL, ~0.6 ms
    a page); its ``published_at`` is then None."""
    return finish(candidates(html, url, rules=rules, find_date=find_date))


def candidates(
    html: str,
    url: str | None = None,
    *,
    rules: Rules | None = None,
    tuning: Tuning = TUNING,
    always_both: bool = False,
    find_date: bool = True,
) -> Candidates:
    """Parse once, read the metadata, pre-clean the tree, and read the body with trafilatura.

    The fast precision reading always; the full precision reading when the fast one is
    suspect, and the default reading when the precision text is short against the paragraph
    text of the page (both always with ``always_both``, for the benchmark's folds).
    """
    rules = rules or default_rules()
    tree = _parse(html)
    if tree is None:
        raise ExtractionError(f"{url or 'page'}: not parseable as HTML", url=url)
    meta = read_metadata(tree, url, find_date=find_date)
    host = host_key(url)
    meta = replace(meta, credit=find_credit(tree, rules.for_host(host).attribution, url))
    drop_before_headline(tree, meta.title)
    drop_blocks(tree, rules.for_host(host).dom_drop)
    found = Candidates(
        url,
        meta,
        rules,
        page_chars=_body_like_chars(tree),
        long_chars=_long_text_chars(tree),
        fast=_reading(rules, meta, url, _trafilatura(tree, url, precision=True, fast=True)),
    )
    if always_both or _fast_reading_suspect(found, tuning):
        full = _trafilatura(tree, url, precision=True)
        found = replace(found, full=_reading(rules, meta, url, full))
    if always_both or _needs_default(precision_reading(found, tuning), found, tuning):
        default = _trafilatura(tree, url, precision=False)
        found = replace(found, default=_reading(rules, meta, url, default))
    return _second_opinion(found, html, tuning)


def _second_opinion(found: Candidates, html: str, tuning: Tuning) -> Candidates:
    """boilerpy3's reading instead, when trafilatura found (nearly) nothing and it finds
    much more: a second parse, so only on the pages that need it."""
    texts = (precision_reading(found, tuning).text, found.default.text if found.default else "")
    best = max(texts, key=len)
    if len(best) >= MIN_BODY_CHARS:
        return found
    second = _boilerpy3(html)
    if len(second) < SECOND_OPINION_RATIO * max(len(best), 1):
        return found
    return replace(
        found,
        fast=_reading(found.rules, found.meta, found.url, second),
        full=None,
        default=None,
        first_engine="boilerpy3",
    )


def precision_reading(found: Candidates, tuning: Tuning = TUNING) -> Reading:
    """The precision reading ``tuning`` takes: the full one when it was made and the fast one
    is suspect by ``tuning``, else the fast one (pure, so the bench's folds can ask it of every
    ``Tuning`` on the same readings)."""
    if found.full is not None and _fast_reading_suspect(found, tuning):
        return found.full
    return found.fast


def _fast_reading_suspect(found: Candidates, tuning: Tuning) -> bool:
    """Whether trafilatura's fast precision reading may have missed the body, so that its full
    reading (which compares itself with readability and justext) is worth its cost.

    The full reading differs from the fast one on ~6 % of WCXB pages and ~1 % of news pages,
    nearly always where the fast text is short: against the page's paragraphs (the default
    reading's gate), in absolute terms (under trafilatura's own MIN_EXTRACTED_SIZE, where it
    asks justext), or against the page's long text runs in any element (pages that hold their
    body in <div>s or table cells, where the paragraph measure sees nothing).
    """
    fast = found.fast
    if len(fast.text) < MIN_BODY_CHARS or _needs_default(fast, found, tuning):
        return True
    return len(fast.text) < tuning.full_share * found.long_chars


LONG_TEXT_RUN_CHARS = 80  # the same floor as BODY_PARAGRAPH_CHARS, for text in any element
# The length test inside the XPath (before stripping, so it only lets through a superset)
# keeps the short runs out of Python: 4x faster on WCXB pages.
_TEXT_RUNS = XPath(
    f"//body//text()[string-length(.) >= {LONG_TEXT_RUN_CHARS}]"
    "[not(parent::script or parent::style or parent::noscript)]"
)


def _long_text_chars(tree: lxml.html.HtmlElement) -> int:
    """Characters in the page's long text runs, whatever element holds them."""
    lengths = (len(run.strip()) for run in _TEXT_RUNS(tree))
    return sum(n for n in lengths if n >= LONG_TEXT_RUN_CHARS)


def _needs_default(precise: Reading, found: Candidates, tuning: Tuning) -> bool:
    return len(precise.cleaned.text) < tuning.gate * found.page_chars


def finish(found: Candidates, *, tuning: Tuning = TUNING) -> Extraction:
    """Choose between the readings by ``tuning`` and build the Article of the chosen one."""
    chosen = precision_reading(found, tuning)
    engine = found.first_engine
    default = found.default
    if (
        default is not None
        and _needs_default(chosen, found, tuning)
        and len(chosen.cleaned.text) < tuning.fragment_ratio * len(default.cleaned.text)
    ):
        engine, chosen = "default", default
    text, cleaned = chosen.text, chosen.cleaned
    if len(cleaned.text.split()) < MIN_ARTICLE_WORDS:
        raise ExtractionError(f"{found.url or 'page'}: no article text found", url=found.url)
    meta = found.meta
    source = cleaned.original_source or meta.credit.source
    article = Article(
        text=cleaned.text,
        title=meta.title,
        author=meta.author,
        published_at=meta.published_at,
        language=_pick_language(meta.language, guess_language(cleaned.text)),
        canonical_url=meta.canonical_url,
        site=meta.site,
        original_source=source,
        original_url=meta.credit.url if source == meta.credit.source else None,
    )
    figures = PageFigures(extracted_chars=len(text), kept_chars=len(cleaned.text))
    dropped = tuple((line.text, reason) for line, reason in cleaned.dropped)
    return Extraction(article, figures, dropped, engine)


def _reading(rules: Rules, meta: Metadata, url: str | None, text: str) -> Reading:
    return Reading(text, clean(text, url, rules=rules, title=meta.title))


def _body_like_chars(tree: lxml.html.HtmlElement) -> int:
    """Characters in the page's paragraphs long enough to be body text (a cheap size guess)."""
    lengths = (len(" ".join(p.text_content().split())) for p in tree.iter("p"))
    return sum(n for n in lengths if n >= BODY_PARAGRAPH_CHARS)


def _parse(html: str) -> lxml.html.HtmlElement | None:
    """The page as trafilatura's ``load_html`` parses it (comments and processing instructions
    removed), with lxml's C-level element class lookup instead of lxml.html's Python one.

    Parsing with other options changes what trafilatura finds: comment nodes inside
    paragraphs cost one dev-set page half its text. The lookup only picks the Python class of
    each element proxy (every element an HtmlElement, none a FormElement or InputElement,
    which nothing here uses), but lxml.html's calls back into Python for every element the
    code touches: ~4,500 calls per page, in trafilatura's passes over the copies of this tree
    too. The steps below are ``load_html``'s for a str, in its order.
    """
    if not html.strip():
        return None
    from trafilatura.utils import is_dubious_html, repair_faulty_html  # see _trafilatura

    beginning = html[:50].lower()
    html = repair_faulty_html(html, beginning)
    tree: lxml.html.HtmlElement | None = None
    as_bytes = False
    try:
        tree = lxml.html.fromstring(html, parser=_parser())
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree, as_bytes = _parse_bytes(html), True
    except lxml.etree.LxmlError as err:  # "Document is empty": the bytes may still parse
        _PARSER_LOG.error("lxml parsing failed: %s", err)
    if (tree is None or len(tree) < 1) and not as_bytes:
        tree = _parse_bytes(html)
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None  # not HTML at all (load_html's rejection test)
    return tree


def _parse_bytes(html: str) -> lxml.html.HtmlElement | None:
    try:
        tree: lxml.html.HtmlElement = lxml.html.fromstring(
            html.encode("utf8", "surrogatepass"), parser=_parser()
        )
    except (ValueError, lxml.etree.LxmlError) as err:
        _PARSER_LOG.error("lxml parser bytestring %s", err)
        return None
    return tree


# trafilatura's logger: what a bad page logs is what ``load_html`` logged for it.
_PARSER_LOG = logging.getLogger("trafilatura.utils")


@functools.cache
def _parser() -> lxml.html.HTMLParser:
    """trafilatura's parser settings (``trafilatura.utils.HTML_PARSER``), C-level lookup."""
    parser = lxml.html.HTMLParser(
        collect_ids=False,
        default_doctype=False,
        encoding="utf-8",
        remove_comments=True,
        remove_pis=True,
    )
    parser.set_element_class_lookup(
        lxml.etree.ElementDefaultClassLookup(
            element=lxml.html.HtmlElement,
            comment=lxml.html.HtmlComment,
            pi=lxml.html.HtmlProcessingInstruction,
            entity=lxml.html.HtmlEntity,
        )
    )
    return parser


def _trafilatura(
    tree: lxml.html.HtmlElement, url: str | None, *, precision: bool = True, fast: bool = False
) -> str:
    """trafilatura's reading of ``tree`` (trafilatura works on its own copy of the tree).

    ``fast`` skips trafilatura's comparison with its readability port and justext: ~40 % of
    a precision reading's time, and the same text on ~94 % of pages (see candidates).

    Imported here, not at the top: trafilatura brings numpy, py3langid, courlan, htmldate and
    justext (~45 MB), and the daemon's own process never extracts (its workers do, and the
    forkserver imports them once for all of them: ``watcher/warm.py``)."""
    import trafilatura

    result = trafilatura.extract(
        tree,
        url=url,
        fast=fast,
        include_comments=False,  # comment widgets are never the story
        favor_precision=precision,
        include_tables=True,  # measured: dropping tables loses body text (-0.007 F1)
        with_metadata=False,  # read_metadata is several times cheaper than trafilatura's
    )
    return result or ""


def _boilerpy3(html: str) -> str:
    from boilerpy3 import extractors

    content = extractors.ArticleExtractor(raise_on_failure=False).get_content(html)
    return str(content or "")


# --- DOM pre-clean ---------------------------------------------------------------------------

ABOVE_HEADLINE_MAX_CHARS = 300  # blocks above the h1 shorter than this are kickers and promos


def drop_before_headline(tree: lxml.html.HtmlElement, title: str | None) -> int:
    """Remove the short blocks that precede the headline, at every level up to <body>.

    Aggregators put their promo ("Unlock every story…") and an outlet card above the h1;
    the article never starts above its own headline. Blocks holding real text stay: on the
    dev set this removed 947 elements and changed no page's score.
    """
    headline = _headline(tree, title)
    removed = 0
    element = headline
    while element is not None and element.tag != "body":
        for sibling in list(element.itersiblings(preceding=True)):
            if _is_above_headline_furniture(sibling):
                sibling.drop_tree()
                removed += 1
        element = element.getparent()
    return removed


def _is_above_headline_furniture(block: lxml.html.HtmlElement) -> bool:
    """Short, and without a body-length paragraph: a description or lede above the h1 stays."""
    if len(" ".join(block.text_content().split())) >= ABOVE_HEADLINE_MAX_CHARS:
        return False
    return _body_like_chars(block) == 0  # iter("p") includes the block itself


def _headline(tree: lxml.html.HtmlElement, title: str | None) -> lxml.html.HtmlElement | None:
    """The h1 that carries the title, or the page's only h1."""
    h1s = tree.xpath("//body//h1")
    if title:
        for h1 in h1s:
            if is_same_title(h1.text_content(), title):
                return h1
    return h1s[0] if len(h1s) == 1 else None


_BLOCK_TAGS = ("div", "section", "aside", "ul", "ol", "nav", "footer", "form", "figure")


DOM_DROP_MAX_SHARE = 0.25  # a block holding this share of the page's body text is no widget


def drop_blocks(tree: lxml.html.HtmlElement, patterns: tuple[Rule, ...]) -> int:
    """Remove blocks whose class, id, role or aria-label matches a ``dom_drop`` rule.

    Every drop is checked against what the block holds (``holds_body``): a site that calls
    its article wrapper "readmore-wrapper" or "post-content comments-enabled" keeps it.
    """
    matcher = combined(patterns)
    if matcher is None:
        return 0
    page = _PageSize(len(tree.xpath("//p")), _body_like_chars(tree))
    removed = 0
    named: dict[str, bool] = {}  # pages repeat their class names ("col-md-6"): match each once
    for element in list(tree.iter(*_BLOCK_TAGS)):
        attributes = element.attrib
        if not attributes or element.getparent() is None:
            continue
        names = _names(attributes)
        if (hit := named.get(names)) is None:
            hit = named[names] = matcher.matches(names)
        if not hit or holds_body(element, page):
            continue
        element.drop_tree()
        removed += 1
    return removed


def _names(attributes: Any) -> str:
    """The block's class, id, role and aria-label, as one string (what ``dom_drop`` rules read)."""
    get = attributes.get
    return f"{get('class', '')} {get('id', '')} {get('role', '')} {get('aria-label', '')}".strip()


@dataclass(frozen=True, slots=True)
class _PageSize:
    paragraphs: int
    body_chars: int


def holds_body(element: lxml.html.HtmlElement, page: _PageSize) -> bool:
    """Whether ``element`` holds much of the page's body: half its paragraphs, or a quarter
    of its body-like paragraph text. Such an element is never dropped as furniture."""
    if len(element.xpath(".//p")) * 2 > max(page.paragraphs, 1):
        return True
    return page.body_chars > 0 and (
        _body_like_chars(element) >= DOM_DROP_MAX_SHARE * page.body_chars
    )


# --- republication credits -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credit:
    """The original a republished story names ("Originally published by X"), and its link."""

    source: str | None = None
    url: str | None = None


CREDIT_MAX_CHARS = 300  # a credit is a line; a paragraph that mentions publishing is body
_CREDIT_HINTS = ("publish", "appeared", "reprint", "repost", "permission", "first ran")
_CREDIT_TAGS = ("p", "em", "i", "small", "span", "div", "footer", "figcaption", "aside", "section")


def find_credit(tree: lxml.html.HtmlElement, rules: tuple[Rule, ...], url: str | None) -> Credit:
    """The republication credit of the page, read from the tree before extraction.

    Extractors often leave the credit out (it sits after the body, in italics or a footer),
    so the text steps alone would miss it. Only blocks whose own first text holds a credit
    word are read in full, so the scan costs little; the link inside, if any, is the
    original's URL.
    """
    matcher = combined(rules)
    if matcher is None:
        return Credit()
    for element in tree.iter(*_CREDIT_TAGS):
        if not (head := element.text):
            continue
        head = head.lower()
        if not any(hint in head for hint in _CREDIT_HINTS):
            continue
        text = " ".join(element.text_content().split())
        if len(text) > CREDIT_MAX_CHARS or (match := matcher.first(text)) is None:
            continue
        source = match.group("source").strip()
        return Credit(source, _credit_link(element, url))
    return Credit()


def _credit_link(element: lxml.html.HtmlElement, url: str | None) -> str | None:
    for href in element.xpath(".//a/@href"):
        resolved = resolve(str(href), url or "")
        if is_web_url(resolved):
            return resolved
    return None


# --- metadata --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Metadata:
    """What the page says about itself, read from meta tags, JSON-LD and the document."""

    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    site: str | None = None
    credit: Credit = field(default_factory=lambda: Credit())


def read_metadata(
    tree: lxml.html.HtmlElement, url: str | None, *, find_date: bool = True
) -> Metadata:
    """Title, author, date, language, canonical URL and site name of a parsed page (the date
    from the tags only, without ``find_date``)."""
    metas = _meta_tags(tree)
    ld = list(_json_ld(tree))
    return Metadata(
        title=_title(tree, metas, ld),
        author=_author(tree, metas, ld),
        published_at=_published(tree, metas, ld, url, find_date=find_date),
        language=_language(tree, metas),
        canonical_url=_canonical(tree, metas, url),
        site=_site(metas, ld, url),
    )


def _meta_tags(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """Every <meta> name/property/itemprop/http-equiv (lower-cased) → its content; first wins."""
    metas: dict[str, str] = {}
    for meta in tree.iter("meta"):
        content = (meta.get("content") or "").strip()
        if not content:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = (meta.get(attr) or "").strip().lower()
            if key:
                metas.setdefault(key, content)
    return metas


def _json_ld(tree: lxml.html.HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object of the page, flattened out of lists and @graph."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        yield from _ld_objects(data)


def _ld_objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _ld_objects(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _ld_objects(data["@graph"])


_ARTICLE_TYPES = re.compile(r"Article|Posting|Report|BlogPosting|NewsArticle", re.IGNORECASE)


# " | Site", " - Site" (or an en or em dash): a separator between spaces. A match starts only
# where a whitespace run starts (as the leftmost match always did): no run is rescanned.
_TITLE_SUFFIX = re.compile("(?<!\\s)\\s+[|\u2013\u2014-]\\s+")


def _ld_article(ld: list[dict[str, Any]]) -> dict[str, Any]:
    for item in ld:
        kind = item.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and _ARTICLE_TYPES.search(k) for k in kinds):
            return item
    return {}


def _clean_str(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def _title(
    tree: lxml.html.HtmlElement, metas: dict[str, str], ld: list[dict[str, Any]]
) -> str | None:
    """og:title or JSON-LD headline (no " | Site" suffix), else the h1, else <title>."""
    for candidate in (
        metas.get("og:title"),
        _ld_article(ld).get("headline"),
        metas.get("twitter:title"),
    ):
        if title := _clean_str(candidate):
            return title
    h1 = tree.find(".//h1")
    if h1 is not None and (title := _clean_str(h1.text_content())):
        return title
    title_el = tree.find(".//title")
    if title_el is not None and (title := _clean_str(title_el.text_content())):
        return _TITLE_SUFFIX.split(title)[0]
    return None


def _author(
    tree: lxml.html.HtmlElement, metas: dict[str, str], ld: list[dict[str, Any]]
) -> str | None:
    """JSON-LD author names, else <meta name=author>, else a rel=author link."""
    names = _ld_names(_ld_article(ld).get("author"))
    if names:
        return ", ".join(dict.fromkeys(names))
    for key in (
        "author",
        "article:author",
        "dc.creator",
        "byl",
        "parsely-author",
        "sailthru.author",
    ):
        value = _clean_str(metas.get(key))
        if value and not value.startswith("http"):
            return re.sub(r"^by\s+", "", value, flags=re.IGNORECASE)
    link = tree.find('.//a[@rel="author"]')
    if link is not None:
        return _clean_str(link.text_content())
    return None


def _ld_names(value: Any) -> list[str]:
    if isinstance(value, list):
        return [name for item in value for name in _ld_names(item)]
    if isinstance(value, dict):
        value = value.get("name")
    name = _clean_str(value)
    return [name] if name and not name.startswith("http") else []


_DATE_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "publishdate",
    "pubdate",
    "date",
    "dc.date",
    "dc.date.issued",
    "sailthru.date",
    "parsely-pub-date",
)


def _published(
    tree: lxml.html.HtmlElement,
    metas: dict[str, str],
    ld: list[dict[str, Any]],
    url: str | None = None,
    *,
    find_date: bool = True,
) -> datetime | None:
    """The first parseable publication date: meta tags, JSON-LD, <time datetime>, then htmldate.

    htmldate (trafilatura's date finder) reads what the tags do not carry: dates in the URL,
    in the page's text ("November 23, 2026") and in its markup; it runs only when the tags
    have no date, as it costs a copy of the tree.
    """
    candidates = [_ld_article(ld).get("datePublished")]
    candidates += [metas.get(key) for key in _DATE_KEYS]
    candidates += tree.xpath("//time/@datetime")[:3]
    for candidate in candidates:
        if isinstance(candidate, str) and (parsed := parse_date(candidate)):
            return parsed
    return _htmldate(tree, url) if find_date else None


def _htmldate(tree: lxml.html.HtmlElement, url: str | None) -> datetime | None:
    from htmldate import find_date

    try:
        found = find_date(tree, extensive_search=False, original_date=True, url=url)
    except (ValueError, TypeError):  # htmldate's parsers on odd markup
        return None
    return parse_date(found) if found else None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_WRITTEN_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%d %B %Y", "%d %b %Y", "%b. %d, %Y")
DATE_MAX_CHARS = 64  # a date as pages write it; longer values are not dates


def parse_date(value: str) -> datetime | None:
    """A date as pages write it in meta tags: ISO 8601 ("2019-11-19T08:00:00.000Z"),
    RFC 1123 ("Mon, 23 Nov 2026 10:00:00 GMT") or written out ("November 23, 2026")."""
    value = " ".join(value.split())
    if not value or len(value) > DATE_MAX_CHARS:
        return None
    if match := _ISO_DATE.match(value):
        text = match.group(0).replace("Z", "+00:00")
        text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    return _rfc_date(value) or _written_date(value)


def _rfc_date(value: str) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _written_date(value: str) -> datetime | None:
    for form in _WRITTEN_DATE_FORMATS:
        try:
            return datetime.strptime(value, form)
        except ValueError:
            continue
    return None


def _language(tree: lxml.html.HtmlElement, metas: dict[str, str]) -> str | None:
    """The primary language subtag ("en") from <html lang>, content-language or og:locale."""
    for value in (
        tree.get("lang"),
        tree.get("xml:lang"),
        metas.get("content-language"),
        metas.get("og:locale"),
        metas.get("language"),
    ):
        if value and (match := re.match(r"\s*([a-zA-Z]{2,3})\b", value)):
            return match.group(1).lower()
    return None


LANGUAGE_MIN_WORDS = 8  # below this py3langid's guess is noise ("Hello there" → Sesotho)
LANGUAGE_MIN_PROBABILITY = 0.95  # normalised; a page it is unsure of keeps its declaration
LANGUAGE_SAMPLE_CHARS = 1200  # the opening of the body is enough: py3langid costs ~1 ms per KB


@functools.cache
def _identifier() -> Any:
    """py3langid's model (97 languages), loaded once per worker process (~0.7 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _pick_language(declared: str | None, guessed: str | None) -> str | None:
    """The language the body is written in when the guess is confident, else the declared one.

    Templates declare wrong languages (a Polish story on a ``lang="en"`` template, a German
    blog on an English theme); a confident reading of the text itself is the better witness.
    """
    return guessed or declared


def guess_language(text: str) -> str | None:
    """The body's language by py3langid (an ISO 639-1 code), or None when unsure.

    Returns None for short texts and low-confidence guesses: a wrong language is worse than
    none for the topic matcher downstream.
    """
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if len(sample.split()) < LANGUAGE_MIN_WORDS and len(sample) < LANGUAGE_MIN_WORDS * 6:
        return None
    language, probability = _identifier().classify(sample)
    return str(language) if probability >= LANGUAGE_MIN_PROBABILITY else None


def _canonical(tree: lxml.html.HtmlElement, metas: dict[str, str], url: str | None) -> str | None:
    """<link rel=canonical>, else og:url, resolved against the page URL."""
    links = tree.xpath('//link[translate(@rel, "CANONICAL", "canonical")="canonical"]/@href')
    for candidate in [*links, metas.get("og:url")]:
        if isinstance(candidate, str) and candidate.strip():
            resolved = resolve(candidate, url or "")
            if is_web_url(resolved):  # also false for what urllib cannot parse: "http://["
                return resolved
    return url


def _site(metas: dict[str, str], ld: list[dict[str, Any]], url: str | None) -> str | None:
    """og:site_name, else the JSON-LD publisher, else the host without "www."."""
    publisher = _ld_article(ld).get("publisher")
    names = _ld_names(publisher) if publisher else []
    for candidate in (
        metas.get("og:site_name"),
        names[0] if names else None,
        metas.get("application-name"),
    ):
        if site := _clean_str(candidate):
            return site
    return host_key(url)
