"""One `watcher once` cycle over a local corpus: the dev set's 91 real pages behind 4 sources.

Serves ../shared/extraction-dev/ pages on 127.0.0.1 under an RSS feed, an Atom feed, a Google
News sitemap and a listing page that overlap (the same article in two sources, tracking-
parameter variants), runs the real CLI as a subprocess and reports sources, pages, stories,
duplicates and seconds. Usage:

    .venv/bin/python bench/once.py            # REDIS_URL if set, else the embedded Redis
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.builders import Story, atom, listing_page, news_sitemap, rss, write_config  # noqa: E402
from tests.support.site import Site  # noqa: E402

DEV = ROOT.parent / "shared" / "extraction-dev"


def corpus() -> list[tuple[Story, str]]:
    truth = json.loads((DEV / "ground-truth.json").read_text())
    out = []
    for page_id in sorted(truth):
        html = gzip.decompress((DEV / "html" / f"{page_id}.html.gz").read_bytes()).decode(
            "utf-8", "replace"
        )
        out.append((Story(page_id[:16], f"Story {page_id[:8]}", body=["-"]), html))
    return out


def main() -> int:
    pages = corpus()
    stories = [s for s, _ in pages]
    with Site() as site, tempfile.TemporaryDirectory() as tmp:
        base = site.url("").rstrip("/")
        for story, html in pages:
            site.add(story.path, html, headers={"content-type": "text/html; charset=utf-8"})
        site.add("/rss.xml", rss(stories[0:40], base))
        site.add("/atom.xml", atom(stories[30:70], base))
        site.add("/news-sitemap.xml", news_sitemap(stories[60:], base))
        site.add("/tech/", listing_page(stories[80:] + stories[:5]))
        redis_url = os.environ.get("REDIS_URL", "")
        ns = f"bench-{uuid4().hex[:8]}"
        config = write_config(
            Path(tmp) / "watcher.yaml",
            redis={"url": redis_url, "namespace": ns},
            data_dir=str(Path(tmp) / "data"),
            fetch={"allow_private_networks": ["127.0.0.1/32"], "delay": "0s", "per_host": 4},
            sources=[
                {"name": "rss", "type": "feed", "url": f"{base}/rss.xml"},
                {"name": "atom", "type": "feed", "url": f"{base}/atom.xml"},
                {"name": "sitemap", "type": "sitemap", "url": f"{base}/news-sitemap.xml"},
                {"name": "listing", "type": "page", "url": f"{base}/tech/"},
            ],
        )
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "watcher", "once", "--config", str(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        print(result.stdout)
        if result.returncode:
            print(result.stderr[-3000:], file=sys.stderr)
            return result.returncode
        totals = {k: 0 for k in ("polled", "new", "duplicate", "filtered", "failed")}
        for key in totals:
            totals[key] = sum(int(n) for n in re.findall(rf"{key} (\d+)", result.stdout))
        article_hits = sum(1 for r in site.requests if r.path.startswith("/news/"))
        if redis_url:
            client = redis.Redis.from_url(redis_url)
            length = client.xlen(f"{ns}:stories")
            for key in client.scan_iter(match=f"{ns}:*", count=500):
                client.unlink(key)
        else:
            length = totals["new"]
        print(
            f"sources 4, entries {totals['polled']}, pages fetched {article_hits}, "
            f"stories {length}, duplicates {totals['duplicate']}, failed {totals['failed']}, "
            f"seconds {seconds:.1f} (process start to exit)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
