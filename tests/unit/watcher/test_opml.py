"""OPML import and export: feeds read from hostile files with bounds, names derived and unique,
sources appended to the config's text with its comments kept."""

from __future__ import annotations

import resource
import time

import pytest

from watcher.config import Source, config_from_bytes
from watcher.config_edit import insert_sources, sources_indent
from watcher.errors import ConfigError, OpmlError
from watcher.opml import (
    MAX_OUTLINES,
    NewSource,
    OpmlFeed,
    export_opml,
    plan_import,
    read_opml,
    source_name,
    sources_yaml,
)


def _opml(outlines: str, head: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{head}<opml version="2.0"><head><title>Mine'
        f"</title></head><body>{outlines}</body></opml>"
    ).encode()


def _source(name: str, url: str) -> Source:
    return Source.model_validate({"name": name, "type": "feed", "url": url})


def test_read_opml_feeds_in_folders_in_order() -> None:
    """Feeds nested in folders come out in document order with their text; folders and
    htmlUrl-only outlines are not feeds."""
    data = _opml(
        '<outline text="Tech"><outline text="The Verge" type="rss" '
        'xmlUrl="https://www.theverge.com/rss/index.xml"/>'
        '<outline title="Ars &amp; Co" xmlUrl=" https://arstechnica.com/feed/ "/></outline>'
        '<outline text="A site" htmlUrl="https://example.com/"/>'
    )
    assert read_opml(data, "f.opml") == [
        OpmlFeed("https://www.theverge.com/rss/index.xml", "The Verge"),
        OpmlFeed("https://arstechnica.com/feed/", "Ars & Co"),
    ]


BAD = [
    ("not-opml", b"<rss version='2.0'><channel></channel></rss>", "not an OPML file"),
    ("html", b"<!doctype html><html><body><p>hi</p></body></html>", "not an OPML file"),
    ("empty", b"", "not an OPML file"),
    ("no-feeds", _opml('<outline text="Folder"/>'), "lists no feeds"),
    ("binary", bytes(range(256)) * 10, "not an OPML file"),
]


@pytest.mark.parametrize(("data", "detail"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_read_opml_refuses_what_is_not_a_subscription_list(data: bytes, detail: str) -> None:
    """A file that is not OPML, or lists no feeds, is an OpmlError naming the file."""
    with pytest.raises(OpmlError, match=f"^f.opml: {detail}"):
        read_opml(data, "f.opml")


def test_read_opml_of_100k_outlines_is_refused_before_parsing() -> None:
    """100 000 outlines (8 MB) are counted, not parsed: a clear OpmlError in well under the
    1.3 s listparser takes to read them all."""
    outline = '<outline type="rss" text="Feed {0}" xmlUrl="https://example.com/f/{0}.xml"/>'
    data = _opml("".join(outline.format(i) for i in range(100_000)))
    started = time.perf_counter()
    with pytest.raises(OpmlError) as caught:
        read_opml(data, "big.opml")
    assert time.perf_counter() - started < 1.0  # a hang guard, far from the parse's cost
    assert str(caught.value) == (
        f"big.opml: 100000 outlines, more than the {MAX_OUTLINES} imported at once; "
        "split the file and import the parts"
    )


def test_read_opml_over_max_bytes_is_refused() -> None:
    """A file over MAX_OPML_BYTES is not read at all."""
    with pytest.raises(OpmlError, match="larger than 10000000 bytes"):
        read_opml(b" " * 10_000_001, "huge.opml")


LAUGHS = (
    '<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
    + "".join(
        f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + '<!ENTITY x SYSTEM "file:///etc/passwd">]>'
)


def test_read_opml_billion_laughs_and_external_entities_do_not_expand() -> None:
    """Nested entities (10^9 'a's if expanded) and a SYSTEM entity stay unexpanded text:
    memory does not grow and /etc/passwd is not read."""
    data = _opml('<outline text="Bomb &i; &x;" xmlUrl="https://example.com/&i;/feed"/>', LAUGHS)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    [feed] = read_opml(data, "laughs.opml")
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 32  # MiB
    assert "aaaa" not in feed.title
    assert "root:" not in feed.title
    assert len(feed.title) < 40
    assert len(feed.url) < 40


NAMES = [
    ("The Verge", "https://x.com/f", "the-verge"),
    ("  Ars Tëchnica — Main!  ", "https://x.com/f", "ars-technica-main"),
    ("Le Monde.fr - Actualités", "https://x.com/f", "le-monde-fr-actualites"),
    ("", "https://Feeds.Example.ORG:8443/rss", "feeds-example-org"),
    ("東京新聞", "https://www.tokyo-np.co.jp/rss", "www-tokyo-np-co-jp"),
    ("---", "not a url", "feed"),
    ("x" * 300, "https://x.com/f", "x" * 48),
]


@pytest.mark.parametrize(("title", "url", "name"), NAMES, ids=[n[2][:20] for n in NAMES])
def test_source_name_table(title: str, url: str, name: str) -> None:
    """Names are slugs of the title (accents folded), else of the host, always config-valid."""
    assert source_name(title, url, set()) == name
    _source(name, "https://x.com/f")  # the config's Name pattern accepts it


def test_source_name_avoids_taken_names() -> None:
    """A taken name gets -2, -3...; a 48-character one is cut to make room."""
    assert source_name("The Verge", "", {"the-verge", "the-verge-2"}) == "the-verge-3"
    long = "y" * 48
    assert source_name(long, "", {long}) == "y" * 46 + "-2"


def test_plan_import_dedupes_against_config_and_itself() -> None:
    """Existing URLs (canonically: tracking tags, fragments, host case) and repeats in the file are
    skipped with why; names never collide; bad URLs and ${VAR} URLs are skipped."""
    existing = [_source("the-verge", "https://www.theverge.com/rss/index.xml")]
    feeds = [
        OpmlFeed("https://WWW.TheVerge.com/rss/index.xml?utm_source=reader", "The Verge"),
        OpmlFeed("https://blog.example.org/feed", "The Verge"),
        OpmlFeed("https://blog.example.org/feed#top", "Again"),
        OpmlFeed("ftp://example.org/feed", "FTP"),
        OpmlFeed("https://example.org/${HOME}/feed", "Env"),
        OpmlFeed("https://other.example.org/feed", "Other"),
    ]
    plan = plan_import(feeds, existing, ["meta-ai"])
    assert plan.sources == [
        NewSource("the-verge-2", "https://blog.example.org/feed", "The Verge", ("meta-ai",)),
        NewSource("other", "https://other.example.org/feed", "Other", ("meta-ai",)),
    ]
    assert [(s.url[:30], s.reason) for s in plan.skipped] == [
        ("https://WWW.TheVerge.com/rss/i", "already the source the-verge"),
        ("https://blog.example.org/feed#", "already the source the-verge-2"),
        ("ftp://example.org/feed", "not an http(s) URL"),
        ("https://example.org/${HOME}/fe",
         "contains ${, which the config reads as an environment variable"),
    ]  # fmt: skip


CONFIG = """\
# my watcher
redis: {namespace: mine}   # keep me
topics:
  - name: meta-ai
    any: [Meta]
sources:
  # the first one
  - name: old
    type: feed
    url: https://old.example.com/feed   # a comment on the last line
    topics:
      - meta-ai
  # commented-out source, after the list
  # - name: gone
webhooks: []   # nothing yet
"""


def test_insert_sources_keeps_comments_and_loads() -> None:
    """New items go right after the last item's last line, at its indentation; every comment
    and the keys after sources stay where they were, and the result is a valid config."""
    new = [NewSource("a-b", "https://a.example/feed?x=1&y=2", topics=("meta-ai",))]
    edited = insert_sources(CONFIG, sources_yaml(new), comment="from x.opml")
    expected_tail = """\
    url: https://old.example.com/feed   # a comment on the last line
    topics:
      - meta-ai
  # from x.opml
  - name: a-b
    type: feed
    url: https://a.example/feed?x=1&y=2
    topics: [meta-ai]
  # commented-out source, after the list
  # - name: gone
webhooks: []   # nothing yet
"""
    assert edited.startswith(CONFIG.split("    url: https://old")[0])
    assert edited.endswith(expected_tail)
    config = config_from_bytes(edited.encode(), {})
    assert [s.name for s in config.sources] == ["old", "a-b"]
    assert config.sources[1].topics == ["meta-ai"]


@pytest.mark.parametrize(
    ("text", "indent"),
    [
        ("sources:\n- name: a\n  type: feed\n  url: https://a.x/f\n", 0),
        ("x: 1\nsources:\n  - name: a\n    type: feed\n    url: https://a.x/f\n", 2),
    ],
    ids=["flush", "indented"],
)
def test_insert_sources_at_the_lists_indentation(text: str, indent: int) -> None:
    """The list's own indentation is kept, flush or indented, and a file without a final
    newline gains one."""
    assert sources_indent(text) == indent
    edited = insert_sources(text.rstrip("\n"), sources_yaml([NewSource("n", "https://n.x/f")]))
    assert edited.endswith(f"\n{' ' * indent}- name: n\n{' ' * indent}  type: feed\n"
                           f"{' ' * indent}  url: https://n.x/f\n")  # fmt: skip


def test_insert_sources_refuses_a_flow_list() -> None:
    """``sources: [{...}]`` cannot be appended to as text: a ConfigError that says to paste."""
    text = "sources: [{name: a, type: feed, url: 'https://a.x/f'}]\n"
    with pytest.raises(ConfigError, match="paste the --print output"):
        insert_sources(text, sources_yaml([NewSource("n", "https://n.x/f")]))


def test_export_then_import_finds_every_feed_already_there() -> None:
    """Exported OPML lists the feed sources (not sitemaps); importing it back adds nothing."""
    sources = [
        _source("the-verge", "https://www.theverge.com/rss/index.xml"),
        _source("odd", 'https://x.example/feed?a=1&b="q"'),
        Source.model_validate({"name": "map", "type": "sitemap", "url": "https://m.x/s.xml"}),
    ]
    text = export_opml(sources)
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>\n<opml version=\"2.0\">")
    feeds = read_opml(text.encode(), "export.opml")
    assert [f.url for f in feeds] == [sources[0].url, sources[1].url]
    plan = plan_import(feeds, sources)
    assert plan.sources == []
    assert len(plan.skipped) == 2
