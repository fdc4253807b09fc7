"""The worker tasks: extraction in two steps around the Redis count gives ``extract``'s text,
less the paragraphs the host's pages taught."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from scrapers.clean import MemoryParagraphCounter, clean_text, paragraph_fingerprint
from scrapers.errors import ExtractionError
from scrapers.extract import extract
from tests.support.builders import Story, article_page
from watcher import tasks
from watcher.config import Topic
from watcher.dedupe import content_hash
from watcher.model import excerpt_of
from watcher.neardup import shingles_of
from watcher.updates import pack_units, unit_prints

TEMPLATE = (
    "The Daily Example is funded by readers like you, and every contribution, however big or"
    " small, keeps our journalism open to everyone."
)
BASE = "https://www.example.com"


@pytest.fixture(autouse=True)
def loaded() -> None:
    """The tasks read the rules and topics a worker loads once; here, this process."""
    tasks.load(tasks.WorkerSetup())


def _pages(n: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        story = Story(f"story-{i}", f"Story {i}")
        story.body = [*story.body, TEMPLATE]
        out.append((article_page(story, BASE), f"{BASE}{story.path}"))
    return out


def test_tasks_two_step_learned_pass_drops_only_the_learned_paragraphs() -> None:
    """Count the returned fingerprints, drop only when one reached min_pages: each text is
    ``extract``'s, less the template paragraph from page 3 on (min_pages 3), nothing else."""
    counter = MemoryParagraphCounter()
    kept = []
    for html, url in _pages(5):
        extracted = extract(html, url).text
        parsed = tasks.extract_article(html, url, learn=True)
        learning = parsed.learning
        assert learning is not None
        counts = counter.seen_on_pages(learning.host, list(learning.fingerprints), learning.page_id)
        if learning.drops_any(counts):
            parsed = tasks.drop_learned(parsed, url, counts)
            assert parsed.article.text == extracted.replace(f"\n\n{TEMPLATE}", "")
        else:
            assert parsed.article.text == extracted
        kept.append(TEMPLATE in parsed.article.text)
    assert kept == [True, True, False, False, False]


# A dev-set page whose cleaned text, cleaned a second time, loses a line more: the pipeline
# cleaned twice once, so its stream text was not what ``extract`` returned (and scored lower).
TWICE_DIFFERS = "a860fb5eda1ac75df3bc95ba096ade649fdbb1bb566adb9fee3cb13e59f37604"


def test_tasks_stream_text_is_extracts_text_when_nothing_is_learned(shared_dir: Path) -> None:
    raw = gzip.decompress(
        (shared_dir / "extraction-dev" / "html" / f"{TWICE_DIFFERS}.html.gz").read_bytes()
    )
    url = json.loads((shared_dir / "extraction-dev" / "ground-truth.json").read_text())[
        TWICE_DIFFERS
    ]["url"]
    html = raw.decode("utf-8")
    extracted = extract(html, url).text
    assert clean_text(extracted, url) != extracted  # cleaning is not idempotent on this page
    parsed = tasks.extract_article(html, url, learn=True)
    assert parsed.article.text == extracted
    assert parsed.learning is not None
    assert parsed.learning.text == extracted


def test_tasks_facts_describe_the_final_text() -> None:
    """Hash, excerpt, shingles and sentence prints are of the text after the learned pass."""
    html, url = _pages(1)[0]
    parsed = tasks.extract_article(html, url, learn=True)
    assert parsed.learning is not None
    fingerprints = parsed.learning.fingerprints
    with pytest.raises(ExtractionError, match="only the site's template text"):
        tasks.drop_learned(parsed, url, [3] * len(fingerprints))  # every paragraph learned
    counts = [3 if f == paragraph_fingerprint(TEMPLATE) else 1 for f in fingerprints]
    again = tasks.drop_learned(parsed, url, counts)
    text, facts = again.article.text, again.facts
    assert TEMPLATE in parsed.article.text
    assert TEMPLATE not in text
    assert facts.content_hash == content_hash(text)
    assert facts.excerpt == excerpt_of(text)
    assert facts.shingles.query == shingles_of(text).query
    assert facts.units == pack_units(unit_prints(text))


def test_tasks_without_learning_nothing_is_asked() -> None:
    """With no counter configured, extraction returns no learning to count."""
    html, url = _pages(1)[0]
    assert tasks.extract_article(html, url, learn=False).learning is None


def test_tasks_topics_use_the_source_title_when_the_page_has_none() -> None:
    """Topics are matched on the page's title, else the one the source gave."""
    tasks.load(tasks.WorkerSetup(topics=(Topic(name="llama", any_of=["Llama"]),)))
    html = article_page(Story("untitled", ""), BASE).replace("<title> | Test News</title>", "")
    parsed = tasks.extract_article(html, f"{BASE}/x", title="Llama 5 ships", learn=False)
    assert parsed.article.title in (None, "")
    assert parsed.facts.topics == ("llama",)
