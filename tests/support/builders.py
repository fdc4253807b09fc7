"""Builders for the bodies tests serve: feeds, sitemaps, article and listing pages, configs."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

from watcher.dedupe import content_hash, story_id
from watcher.model import Document

WORDS = (  # noqa: SIM905 — one sentence reads better than forty quoted words
    "meta model release open source closed frontier company investment strategy researchers "
    "engineers data center training compute benchmark launch delay competitors shopping tools "
    "regulators privacy users advertisers revenue quarter analysts chips partnership license "
    "reasoning coding writing safety team leadership officer billion stake valuation startup"
).split()


def paragraphs(seed: str, count: int = 6) -> list[str]:
    """Deterministic, distinct English-looking paragraphs: each seed gives its own story."""
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    out = []
    for _ in range(count):
        sentences = []
        for _ in range(rng.randint(3, 5)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(10, 18))]
            sentences.append(" ".join(words).capitalize() + ".")
        out.append(" ".join(sentences))
    return out


@dataclass
class Story:
    """One article of a test site: its path, headline, body and date."""

    slug: str
    title: str
    published: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=1))
    body: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.body:
            self.body = paragraphs(self.slug)

    @property
    def path(self) -> str:
        return f"/news/2026/11/{self.slug}"


def article_page(
    story: Story, base: str, *, canonical: str | None = None, site_name: str | None = None
) -> str:
    """A realistic article page: nav, header, the article, a related block and a footer.

    ``site_name`` adds the outlet's og:site_name (the page names no outlet without it)."""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in story.body)
    canon = canonical or f"{base}{story.path}"
    outlet = f'<meta property="og:site_name" content="{escape(site_name)}">' if site_name else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(story.title)} | Test News</title>
<link rel="canonical" href="{canon}">
<meta property="og:title" content="{escape(story.title)}">{outlet}
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="{story.published.isoformat()}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/tech/">Tech</a>
<a href="/login">Sign in</a></nav></header>
<main><article>
<h1>{escape(story.title)}</h1>
<p class="byline">By Jane Reporter</p>
{body}
</article>
<aside><h2>Related Articles</h2>
<ul><li><a href="/news/other">Another headline here</a></li></ul></aside>
</main>
<footer><p>Copyright 2026 Test News. All rights reserved.</p></footer>
</body></html>"""


def rss(stories: list[Story], base: str, *, query: str = "") -> str:
    """RSS 2.0 listing the stories (``query`` appended to each link, e.g. utm tracking)."""
    items = "\n".join(
        f"<item><title>{escape(s.title)}</title><link>{base}{s.path}{query}</link>"
        f"<guid>{base}{s.path}</guid><pubDate>{format_datetime(s.published)}</pubDate></item>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Test News</title><link>{base}/</link><description>test</description>"
        f"{items}</channel></rss>"
    )


def atom(stories: list[Story], base: str) -> str:
    """Atom 1.0 feed of the stories."""
    entries = "\n".join(
        f'<entry><title>{escape(s.title)}</title><link href="{base}{s.path}"/>'
        f"<id>{base}{s.path}</id><updated>{s.published.isoformat()}</updated></entry>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Test News</title><id>{base}/</id><updated>2026-11-23T00:00:00Z</updated>"
        f"{entries}</feed>"
    )


def meta_story_json_feed(stories: list[Story], base: str) -> str:
    """JSON Feed 1.1 of the stories, each carrying its full body as content_html."""
    items = [
        {
            "id": f"{base}{s.path}",
            "url": f"{base}{s.path}",
            "title": s.title,
            "date_published": s.published.isoformat(),
            "authors": [{"name": "Jane Reporter"}],
            "content_html": "".join(f"<p>{escape(p)}</p>" for p in s.body),
        }
        for s in stories
    ]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Test News", "items": items}
    return json.dumps(feed)


def news_sitemap(stories: list[Story], base: str) -> str:
    """A Google News sitemap of the stories."""
    urls = "\n".join(
        f"<url><loc>{base}{s.path}</loc><news:news><news:publication>"
        "<news:name>Test News</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>{s.published.isoformat()}</news:publication_date>"
        f"<news:title>{escape(s.title)}</news:title></news:news></url>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"{urls}</urlset>"
    )


def listing_page(stories: list[Story]) -> str:
    """A section page linking the stories among nav, tag, author and pagination links."""
    links = "\n".join(
        f'<article><h2><a href="{s.path}">{escape(s.title)}</a></h2></article>' for s in stories
    )
    return f"""<!doctype html><html><head><title>Tech | Test News</title></head><body>
<header><nav><a href="/">Home</a> <a href="/tech/">Tech</a>
<a href="/about-us">About</a></nav></header>
<main><h1>Technology</h1>{links}
<p><a href="/tag/meta">Meta</a> <a href="/author/jane-reporter">Jane Reporter</a></p>
<nav class="pagination"><a href="/tech/?page=2">Next page</a></nav></main>
<footer><a href="/privacy">Privacy policy</a></footer></body></html>"""


def write_config(path: Path, **sections: Any) -> Path:
    """Write a watcher YAML config; tests pass sections as Python values."""
    path.write_text(yaml.safe_dump(sections, sort_keys=False))
    return path


def many_sources(count: int) -> list[dict[str, str]]:
    """``count`` valid feed sources of ~12 YAML values each (what the config limits assume),
    for configs the size of a big deployment (issue 14: 10,000 sources)."""
    return [
        {
            "name": f"f{i}",
            "type": "feed",
            "url": f"https://site{i % 997}.example/feeds/{i}.xml",
            "every": "10m",
            "max_age": "7d",
        }
        for i in range(count)
    ]


def document(url: str, text: str = "Meta delayed its Avocado model.", **fields: Any) -> Document:
    """A cleaned document as the pipeline would emit it, for tests of the store and notify
    steps that start after extraction; ``fields`` override any field."""
    doc = Document(
        id=story_id(url),
        url=url,
        canonical_url=url,
        source="s",
        site="news.test",
        title="T",
        author=None,
        published_at=None,
        fetched_at="2026-11-23T00:00:00+00:00",
        language="en",
        text=text,
        excerpt=text[:300],
        topics=[],
        content_hash=content_hash(text),
    )
    return replace(doc, **fields)
