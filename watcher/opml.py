"""OPML subscription lists ↔ feed sources (``watcher sources import`` / ``export``).

    read_opml(data, file)                 1 bound the file (bytes, then outlines, counted before
                                            any parsing), 2 listparser, 3 its feeds, in order
    plan_import(feeds, sources, topics)   each feed a new source, or skipped and why
    sources_yaml(new)                     the YAML list items to append or paste
    export_opml(sources)                  the feed sources as an OPML 2.0 document

An OPML file comes from a stranger as often as from the user's own reader: listparser reads it
with lxml's recovering HTML parser, which expands no entities (a "billion laughs" stays the
text ``&lol9;``) and reads no external ones. Pure apart from listparser: bytes in, values out.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

import listparser
import yaml
from pydantic import ValidationError

from scrapers.urls import canonicalize, host_of, is_web_url
from watcher.config import Source
from watcher.errors import OpmlError

__all__ = [
    "MAX_OPML_BYTES",
    "MAX_OUTLINES",
    "ImportPlan",
    "NewSource",
    "OpmlFeed",
    "Skipped",
    "export_opml",
    "plan_import",
    "read_opml",
    "source_name",
    "sources_yaml",
]

# A reader's export of 1 000 feeds is ~150 KB; 10 MB is ~100 000 outlines, none of them needed.
MAX_OPML_BYTES = 10_000_000
# A config takes ~30 000 sources (safeyaml.MAX_NODES is 400 000 values, ~12 a source), but
# one import of more than this many outlines is a mistake or an attack: split the file.
MAX_OUTLINES = 3000
MAX_NAME_CHARS = 48  # a name is a label in logs, metrics and `status`; titles run longer
_NOT_NAME = re.compile(r"[^a-z0-9]+")  # one pass, no backtracking: linear in the title


@dataclass(frozen=True)
class OpmlFeed:
    """One feed outline: its ``xmlUrl`` and its ``text`` (else ``title``)."""

    url: str
    title: str = ""


@dataclass(frozen=True)
class NewSource:
    """A feed to add to the config as ``type: feed``."""

    name: str
    url: str
    title: str = ""
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A feed left out, and why (already a source, not http(s), refused by the config)."""

    url: str
    reason: str


@dataclass(frozen=True)
class ImportPlan:
    sources: list[NewSource] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def read_opml(data: bytes, file: str) -> list[OpmlFeed]:
    """The feeds an OPML file lists, in order; OpmlError naming the file and what is wrong."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"{file}: larger than {MAX_OPML_BYTES} bytes; not a subscription list")
    outlines = data.lower().count(b"<outline")  # counted before parsing: the bound is cheap
    if outlines > MAX_OUTLINES:
        raise OpmlError(
            f"{file}: {outlines} outlines, more than the {MAX_OUTLINES} imported at once; "
            "split the file and import the parts"
        )
    try:
        parsed = listparser.parse(data)
    except Exception as exc:  # listparser's lxml target may break on markup it cannot place
        raise OpmlError(f"{file}: not an OPML file ({type(exc).__name__}: {exc})") from exc
    if not str(parsed.get("version", "")).startswith("opml"):
        raise OpmlError(f"{file}: not an OPML file (no <opml> root element)")
    feeds = [_feed(found) for found in parsed.get("feeds", [])]
    if not feeds:
        raise OpmlError(f"{file}: lists no feeds (no <outline> with an xmlUrl)")
    return feeds


def _feed(found: dict[str, object]) -> OpmlFeed:
    return OpmlFeed(url=str(found.get("url") or "").strip(), title=str(found.get("title") or ""))


def plan_import(
    feeds: Sequence[OpmlFeed], existing: Sequence[Source], topics: Sequence[str] = ()
) -> ImportPlan:
    """Each feed as a new source with a name of its own, unless its URL is one already.

    URLs are compared canonically (tracking parameters, case and ``www.`` aside). A feed the
    config would refuse is skipped here, so the config still loads after the import.
    """
    taken = {source.name for source in existing}
    known = {canonicalize(source.url): source.name for source in existing}
    plan = ImportPlan()
    for feed in feeds:
        problem = _refusal(feed.url, known)
        if problem is None:
            name = source_name(feed.title, feed.url, taken)
            new = NewSource(name, feed.url, feed.title, tuple(topics))
            problem = _invalid(new)
        if problem is not None:
            plan.skipped.append(Skipped(feed.url, problem))
            continue
        taken.add(new.name)
        known[canonicalize(new.url)] = new.name
        plan.sources.append(new)
    return plan


def _refusal(url: str, known: dict[str, str]) -> str | None:
    if not is_web_url(url):
        return "not an http(s) URL"
    if "${" in url:  # the config would read it as an environment variable: never expand one
        return "contains ${, which the config reads as an environment variable"
    if (name := known.get(canonicalize(url))) is not None:
        return f"already the source {name}"
    return None


def _invalid(new: NewSource) -> str | None:
    """What the config would say about this source, when it would refuse it."""
    try:
        Source.model_validate({"name": new.name, "type": "feed", "url": new.url})
    except ValidationError as exc:
        return "refused by the config: " + "; ".join(e["msg"] for e in exc.errors())
    return None


def source_name(title: str, url: str, taken: set[str]) -> str:
    """A config name (``^[a-z0-9][a-z0-9_.-]*$``) from the title, else the URL's host, that
    no name in ``taken`` has: ``the-verge``, then ``the-verge-2``."""
    base = _slug(title[: MAX_NAME_CHARS * 4]) or _slug(host_of(url) or "") or "feed"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base[: MAX_NAME_CHARS - len(str(n)) - 1]}-{n}"
    return name


def _slug(text: str) -> str:
    """Lower-case ASCII letters and digits joined by ``-``: accents folded, the rest dropped."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_NAME.sub("-", ascii_text.lower()).strip("-")[:MAX_NAME_CHARS].rstrip("-")


class _Dumper(yaml.SafeDumper):
    """Block mappings for the items, flow lists for their topics (``topics: [meta-ai]``), as
    the packaged config writes them."""


_Dumper.add_representer(
    tuple, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, True)
)


def sources_yaml(sources: Sequence[NewSource], indent: int = 0) -> str:
    """The sources as YAML list items (``- name: ...``), each line indented by ``indent``."""
    if not sources:
        return ""
    items = [
        {"name": s.name, "type": "feed", "url": s.url, **({"topics": s.topics} if s.topics else {})}
        for s in sources
    ]
    text = yaml.dump(
        items,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )
    return "".join(" " * indent + line for line in text.splitlines(keepends=True))


def export_opml(sources: Sequence[Source], title: str = "news-watcher sources") -> str:
    """The ``type: feed`` sources as OPML 2.0, one ``<outline type="rss">`` each, in order."""
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = title
    body = ET.SubElement(root, "body")
    for source in sources:
        if source.type == "feed":
            attributes = {"type": "rss", "text": source.name, "title": source.name}
            ET.SubElement(body, "outline", {**attributes, "xmlUrl": source.url})
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
