"""Memory of the daemon at scale (issue 14: 10,000 sources in at most 300 MB, workers included).

Two things made it ~360 MB: the daemon's own process imported trafilatura and what it brings
(numpy, py3langid, courlan, htmldate, justext: ~20 MB) though it never extracts, and every
worker loaded py3langid's model and htmldate on its first page, ~100 MB private each. Now
the forkserver loads them once (``watcher/warm.py``) and the workers share its pages.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import procs
from tests.support.builders import Story, article_page
from tests.support.cli import REPO
from watcher import tasks
from watcher.workers import Workers

pytestmark = pytest.mark.anyio

EXTRACTION_ONLY = ("trafilatura", "numpy", "py3langid", "htmldate", "justext", "courlan")
WORKER_PRIVATE_MB = 60  # private memory of one worker after real pages: was ~107, now ~30


def test_the_daemon_process_imports_no_extraction_library() -> None:
    """Everything `watcher run` imports in its own process, none of what only workers use."""
    code = (
        "import json, sys; import watcher.cli, watcher.scheduler, watcher.app, watcher.pipeline;"
        f" print(json.dumps([m for m in {list(EXTRACTION_ONLY)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []


async def test_workers_share_the_language_model_with_their_forkserver() -> None:
    """Two workers that extracted real pages (language guessed, dates looked for) each hold
    far less private memory than the model they use: its pages are the forkserver's."""
    workers = Workers(2, deadline=30.0, initializer=tasks.load, initargs=(tasks.WorkerSetup(),))
    await workers.start()
    try:
        for i in range(8):
            story = Story(f"memory-{i}", f"Meta ships model {i}")
            html = article_page(story, "http://news.test")
            await workers.run(
                "http://news.test/a", tasks.extract_article, html, "http://news.test/a", learn=True
            )
        private = {pid: procs.memory([pid]).private / 1e6 for pid in workers.pids}
    finally:
        await workers.close()
    assert len(private) == 2
    assert all(mb < WORKER_PRIVATE_MB for mb in private.values()), private
