"""[extract] HTML → Article: layered extraction, then the cleaning pass (pure).

1 parse the page once (lxml), 2 read metadata from meta tags and JSON-LD, 3 remove what sits
above the headline (promos, outlet cards) and the blocks the rules name (related stories,
newsletters, share bars) from the tree, 4 extract the body with
trafilatura tuned for precision, 5 ask boilerpy3 for a second opinion when trafilatura finds
too little, 6 clean the text (rules, structure, title and attribution lines).
The settings were chosen on bench/extraction.py; bench/RESULTS.md has the measurements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import lxml.html
import trafilatura
from trafilatura.utils import load_html

from scrapers.clean import clean, default_rules
from scrapers.clean.drift import PageFigures
from scrapers.clean.learned import host_key
from scrapers.clean.rules import Rule, Rules, combined
from scrapers.clean.steps import is_same_title
from scrapers.errors import ExtractionError
from scrapers.model import Article
from scrapers.urls import is_web_url, resolve

MIN_ARTICLE_WORDS = 10  # a news brief is at least a sentence; "Home" from a nav bar is not
MIN_BODY_CHARS = 250  # below this trafilatura probably missed the article: ask boilerpy3 too
SECOND_OPINION_RATIO = 2.0  # take boilerpy3's text only when it is this much longer


@dataclass(frozen=True, slots=True)
class Extraction:
    """An Article plus what it took: extracted length, and what cleaning dropped and why."""

    article: Article
    figures: PageFigures
    dropped: tuple[tuple[str, str], ...]


def extract(html: str, url: str | None = None, *, rules: Rules | None = None) -> Article:
    """The cleaned article body of ``html`` and its metadata.

    ``url`` (the final URL of the page) selects per-host rules and resolves the canonical URL.
    Raises ExtractionError when no article text is left after extraction and cleaning.
    """
    return extract_report(html, url, rules=rules).article


def extract_report(html: str, url: str | None = None, *, rules: Rules | None = None) -> Extraction:
    """``extract`` with its figures (for the drift alarm) and the dropped lines (for logs)."""
    rules = rules or default_rules()
    tree = _parse(html)
    if tree is None:
        raise ExtractionError(f"{url or 'page'}: not parseable as HTML", url=url)
    meta = read_metadata(tree, url)
    host = host_key(url)
    drop_before_headline(tree, meta.title)
    drop_blocks(tree, rules.for_host(host).dom_drop)
    text = _extract_body(tree, html, url)
    cleaned = clean(text, url, rules=rules, title=meta.title)
    if len(cleaned.text.split()) < MIN_ARTICLE_WORDS:
        raise ExtractionError(f"{url or 'page'}: no article text found", url=url)
    article = Article(
        text=cleaned.text,
        title=meta.title,
        author=meta.author,
        published_at=meta.published_at,
        language=_pick_language(meta.language, guess_language(cleaned.text)),
        canonical_url=meta.canonical_url,
        site=meta.site,
        original_source=cleaned.original_source,
    )
    figures = PageFigures(extracted_chars=len(text), kept_chars=len(cleaned.text))
    dropped = tuple((line.text, reason) for line, reason in cleaned.dropped)
    return Extraction(article, figures, dropped)


def _parse(html: str) -> lxml.html.HtmlElement | None:
    """The page as trafilatura parses it (comments and processing instructions removed).

    Parsing with other options changes what trafilatura finds: comment nodes inside
    paragraphs cost one dev-set page half its text.
    """
    if not html.strip():
        return None
    tree: lxml.html.HtmlElement | None = load_html(html)
    return tree


def _extract_body(tree: lxml.html.HtmlElement, html: str, url: str | None) -> str:
    """trafilatura first; boilerpy3 when trafilatura returns (nearly) nothing."""
    text = _trafilatura(tree, url)
    if len(text) >= MIN_BODY_CHARS:
        return text
    second = _boilerpy3(html)
    return second if len(second) >= SECOND_OPINION_RATIO * max(len(text), 1) else text


def _trafilatura(tree: lxml.html.HtmlElement, url: str | None) -> str:
    result = trafilatura.extract(
        tree,
        url=url,
        include_comments=False,  # comment widgets are never the story
        favor_precision=True,  # measured: +0.010 F1, +0.024 precision on the dev set
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
            if len(" ".join(sibling.text_content().split())) < ABOVE_HEADLINE_MAX_CHARS:
                sibling.drop_tree()
                removed += 1
        element = element.getparent()
    return removed


def _headline(tree: lxml.html.HtmlElement, title: str | None) -> lxml.html.HtmlElement | None:
    """The h1 that carries the title, or the page's only h1."""
    h1s = tree.xpath("//body//h1")
    if title:
        for h1 in h1s:
            if is_same_title(h1.text_content(), title):
                return h1
    return h1s[0] if len(h1s) == 1 else None


_BLOCK_TAGS = ("div", "section", "aside", "ul", "ol", "nav", "footer", "form", "figure")
_NAME_ATTRIBUTES = ("class", "id", "role", "aria-label")


def drop_blocks(tree: lxml.html.HtmlElement, patterns: tuple[Rule, ...]) -> int:
    """Remove blocks whose class, id, role or aria-label matches a ``dom_drop`` rule.

    Never removes an element that holds half the page's paragraphs: a site that calls its
    article wrapper "post-content comments-enabled" must not lose its article.
    """
    matcher = combined(patterns)
    if matcher is None:
        return 0
    total = max(len(tree.xpath("//p")), 1)
    removed = 0
    for element in list(tree.iter(*_BLOCK_TAGS)):
        attributes = element.attrib
        if not attributes or element.getparent() is None:
            continue
        names = " ".join(attributes.get(a, "") for a in _NAME_ATTRIBUTES)
        if not matcher.matches(names.strip()):
            continue
        if len(element.xpath(".//p")) * 2 > total:  # the article wrapper, not a widget
            continue
        element.drop_tree()
        removed += 1
    return removed


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


def read_metadata(tree: lxml.html.HtmlElement, url: str | None) -> Metadata:
    """Title, author, date, language, canonical URL and site name of a parsed page."""
    metas = _meta_tags(tree)
    ld = list(_json_ld(tree))
    return Metadata(
        title=_title(tree, metas, ld),
        author=_author(tree, metas, ld),
        published_at=_published(tree, metas, ld),
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
    tree: lxml.html.HtmlElement, metas: dict[str, str], ld: list[dict[str, Any]]
) -> datetime | None:
    """The first parseable publication date: meta tags, JSON-LD, then <time datetime>."""
    candidates = [_ld_article(ld).get("datePublished")]
    candidates += [metas.get(key) for key in _DATE_KEYS]
    candidates += tree.xpath("//time/@datetime")[:3]
    for candidate in candidates:
        if isinstance(candidate, str) and (parsed := parse_date(candidate)):
            return parsed
    return None


def parse_date(value: str) -> datetime | None:
    """ISO 8601 dates and datetimes as pages write them ("2019-11-19T08:00:00.000Z")."""
    value = value.strip()
    match = re.match(
        r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", value
    )
    if not match:
        return None
    text = match.group(0).replace("Z", "+00:00")
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
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


# Most frequent function words per language (from public frequency lists); CJK has no spaces.
_STOPWORD_TEXT = {
    "en": "the and of to in is that for it was on with as are be this by have",
    "de": "der die und das ist nicht mit den von zu ein eine sich auch auf für",
    "fr": "le la les et des est une pour dans que qui pas sur du au avec",
    "es": "el la los las y que de en es por una para con del se no",
    "pt": "o a os as e que de em um uma para com não do da é",
    "it": "il la che di e un una per non con del della sono gli le",
    "nl": "de het een en van is dat op te niet met voor zijn ook",
    "id": "yang dan di ini itu dengan untuk dari tidak ada dalam akan",
    "ru": "и в не на что по это как из для он она но",
}
_STOPWORDS = {lang: frozenset(words.split(" ")) for lang, words in _STOPWORD_TEXT.items()}
_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
LANGUAGE_MIN_HITS = 5  # function words needed before we name a language
LANGUAGE_SAMPLE_WORDS = 400  # the first words of the body are enough and keep this cheap


def _pick_language(declared: str | None, guessed: str | None) -> str | None:
    """The declared language, unless the body is clearly another language we know.

    Templates declare wrong languages (5 of 77 declaring dev-set pages: a German blog on an
    "en" template); a guess only overrides a declaration it is able to judge.
    """
    if declared is None or (guessed is not None and declared in _STOPWORDS):
        return guessed or declared
    return declared


def guess_language(text: str) -> str | None:
    """The language whose function words are most frequent in the body, when undeclared.

    Returns None for short texts, scripts without spaces and ties: a wrong language is
    worse than none for the topic matcher downstream.
    """
    sample = text[: LANGUAGE_SAMPLE_WORDS * 8]
    if len(_CJK.findall(sample)) * 3 > len(sample):  # Chinese/Japanese: no word list here
        return None
    words = re.findall(r"\w+", sample.lower())[:LANGUAGE_SAMPLE_WORDS]
    hits = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < LANGUAGE_MIN_HITS or top < 2 * second:
        return None
    return best


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
