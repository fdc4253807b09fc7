"""The worker tasks: extraction in two steps around the Redis count gives what one-step
cleaning with a counter gave."""

from __future__ import annotations

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


def test_tasks_two_step_learned_pass_equals_cleaning_with_a_counter() -> None:
    """Count the returned fingerprints, re-clean only when one reached min_pages: the texts
    are those of clean_text(counter=...), page by page, template dropped from page 3 on."""
    before, after = MemoryParagraphCounter(), MemoryParagraphCounter()
    kept = []
    for html, url in _pages(5):
        expected = clean_text(extract(html, url).text, url, counter=before)
        parsed = tasks.extract_article(html, url, learn=True)
        learning = parsed.learning
        assert learning is not None
        counts = after.seen_on_pages(learning.host, list(learning.fingerprints), learning.page_id)
        if learning.drops_any(counts):
            parsed = tasks.drop_learned(parsed, url, counts)
        assert parsed.article.text == expected
        kept.append(TEMPLATE in parsed.article.text)
    assert kept == [True, True, False, False, False]


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
