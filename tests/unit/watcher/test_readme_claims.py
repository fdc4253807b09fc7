"""What README.md says about the code: its metric table names every watcher_* metric with
exactly the labels it has; its webhook example's timestamp is written as the code writes it."""

from __future__ import annotations

import json
import re
from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram, Info

from tests.support.cli import REPO
from watcher import metrics
from watcher.store.deliveries import stream_time
from watcher.webhooks.payloads import render

ROW = re.compile(r"^\| (?P<names>`watcher_[^|]+) \|\s*(?P<labels>[^|]*?)\s*\|")


def documented() -> dict[str, set[str]]:
    """Metric name (as exposed) → the labels README gives it."""
    out = {}
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        if m := ROW.match(line):
            labels = {x.strip() for x in m["labels"].split(",") if x.strip()}
            for name in re.findall(r"`(watcher_\w+)`", m["names"]):
                out[name] = labels
    return out


def declared() -> dict[str, set[str]]:
    out = {}
    for value in vars(metrics).values():
        if isinstance(value, Counter | Gauge | Histogram | Info):
            suffix = {Counter: "_total", Info: "_info"}.get(type(value), "")
            out[value._name + suffix] = set(value._labelnames)
    return out


def test_every_metric_is_in_the_readme_with_its_labels() -> None:
    declared_metrics = declared()
    documented_metrics = documented()
    assert "watcher_filtered_total" in declared_metrics
    for name, labels in declared_metrics.items():
        if name == "watcher_build_info":  # an Info's labels are its keys
            labels = {k for f in metrics.BUILD_INFO.collect() for x in f.samples for k in x.labels}
        assert documented_metrics.get(name) == labels, name
    assert set(documented_metrics) == set(declared_metrics)


def test_the_webhook_example_timestamp_is_the_format_sent() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (shown,) = re.findall(r'\{"type": "story.created", "timestamp": "([^"]+)"', readme)
    moment = datetime.fromisoformat(shown)
    entry_id = f"{round(moment.timestamp() * 1000)}-0"  # the stream entry it would come from
    sent = json.loads(render("standard", "story.created", {}, stream_time(entry_id)))
    assert sent["timestamp"] == shown
