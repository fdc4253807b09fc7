"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright's
Python API), on a real `watcher run` fed by a loopback site: it lists the daemon's sources,
shows a story with its copies, and shows what a later poll found.

Playwright's own browser downloads are never used (``executable_path``). Chromium is kept on
loopback: every hostname fails to resolve, and a request to anything but 127.0.0.1 is
aborted and fails the test. Set WATCHER_SCREENSHOTS=DIR to keep the pages' screenshots there
(the README's is made so).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.web import COPY, FIRST, LATER, SECOND, Served, served_daemon, wait_for_stories

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("WATCHER_CHROMIUM", "/usr/bin/chromium"))
LOOPBACK_ONLY = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-proxy-server"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module; absent outside CI it skips, in CI it fails."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    root = os.geteuid() == 0  # Chromium's sandbox refuses to run as root
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*LOOPBACK_ONLY, *(["--no-sandbox"] if root else [])],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page whose requests may go to 127.0.0.1 only (others are aborted, recorded)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    strays: list[str] = []

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            strays.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    opened = context.new_page()
    yield opened
    context.close()
    assert strays == [], f"the dashboard asked for something off loopback: {strays}"


def reload_until(page: Any, url: str, ready: Callable[[], bool], what: str) -> None:
    """Load ``url`` until ``ready()`` (the daemon polls on its own schedule): a hang guard."""
    for _ in range(120):
        page.goto(url)
        if ready():
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"timed out waiting for {what}")


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    if keep := os.environ.get("WATCHER_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / name)


def test_dashboard_lists_sources_shows_copies_and_follows_polls(
    page: Any, site: Any, tmp_path: Path, redis_url: str, ns: str
) -> None:
    """Sources page: the daemon's source, healthy, with its interval; stories page: the two
    stories; a story's page: its clean text and its copy; after the feed gains a story, the
    next poll's story is listed and the source's poll count has grown."""
    with served_daemon(site, tmp_path, redis_url, ns) as served:
        wait_for_stories(served, 2)
        home = f"http://127.0.0.1:{served.port}"
        row = page.locator('tr[data-source="local-news"]')
        reload_until(page, home + "/", lambda: row.count() == 1, "the source's row")
        assert "ok" in row.locator("td").nth(1).inner_text()
        assert "every 2s" in row.inner_text()
        polls_before = _polls(row.inner_text())
        screenshot(page, tmp_path, "dashboard-sources.png")

        page.goto(home + "/stories")
        titles = page.locator("#stories tbody tr td:first-child a")
        assert sorted(titles.all_inner_texts()) == sorted([SECOND.title, FIRST.title])
        screenshot(page, tmp_path, "dashboard-stories.png")

        page.get_by_role("link", name=FIRST.title).click()
        page.wait_for_url(f"{home}/stories/*")
        copies = page.locator("#copies li").all_inner_texts()
        both = {f"{served.base}{FIRST.path}", f"{served.base}{COPY.path}"}
        shown = {page.locator("#story-url").inner_text(), *copies}
        assert len(copies) == 1
        assert shown == both
        assert FIRST.body[0] in page.locator("#text").inner_text()
        assert page.locator("#versions tbody tr").count() == 1
        screenshot(page, tmp_path, "dashboard-story.png")

        _publish_and_follow(page, served, home, polls_before)


def test_sources_page_fits_a_laptop_screen_with_a_long_error(
    page: Any, site: Any, tmp_path: Path, redis_url: str, ns: str
) -> None:
    """A source failing on a long URL (its error quotes it whole) wraps inside its cell: the
    sources table fits a 1300 px window instead of pushing the counts column off screen."""
    long_path = "/feeds/" + "verylongsectionname" * 14 + ".xml"  # 404 on the site
    broken = {"name": "broken", "type": "feed", "url": site.url(long_path), "every": "2s"}
    page.set_viewport_size({"width": 1300, "height": 900})
    with served_daemon(site, tmp_path, redis_url, ns, more_sources=[broken]) as served:
        wait_for_stories(served, 2)
        row = page.locator('tr[data-source="broken"]')
        home = f"http://127.0.0.1:{served.port}/"
        reload_until(page, home, lambda: "failing" in row.inner_text(), "the broken row")
        assert long_path in row.inner_text()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        screenshot(page, tmp_path, "dashboard-long-error.png")
    assert overflow <= 0, f"the sources page is {overflow} px wider than the window"


def _publish_and_follow(page: Any, served: Served, home: str, polls_before: int) -> None:
    served.publish(LATER)
    first_title = page.locator("#stories tbody tr:first-child td:first-child a")
    reload_until(
        page,
        home + "/stories",
        lambda: first_title.count() == 1 and first_title.inner_text() == LATER.title,
        "the next poll's story on /stories",
    )
    page.goto(home + "/stories?q=licence")
    assert page.locator("#stories tbody tr td:first-child a").all_inner_texts() == [LATER.title]
    page.goto(home + "/")
    assert _polls(page.locator('tr[data-source="local-news"]').inner_text()) > polls_before


def _polls(row_text: str) -> int:
    """The "polls N (failed M)" count of a source's row."""
    return int(row_text.split("polls ", 1)[1].split(" ", 1)[0])
