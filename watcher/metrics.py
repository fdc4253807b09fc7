"""Every Prometheus metric of the service, declared once, in one registry."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from watcher.model import AttemptRecord, Outcome, PollReport

REGISTRY = CollectorRegistry(auto_describe=True)
# The standard process_*, python_info and python_gc_* series, as on prometheus-client's default
# registry (which this one replaces, so tests and replicas never share series by accident).
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)


def package_version() -> str:
    """The installed distribution's version (``watcher --version``, ``watcher_build_info``)."""
    try:
        return version("news-watcher")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


BUILD_INFO = Info(
    "watcher_build",
    "The running news-watcher: its version and the Python that runs it.",
    registry=REGISTRY,
)
BUILD_INFO.info({"version": package_version(), "python": platform.python_version()})

POLLS = Counter(
    "watcher_polls",
    "Source polls by outcome (ok, not_modified, deferred, failed).",
    ["source", "outcome"],
    registry=REGISTRY,
)
POLL_FAILURES = Counter(
    "watcher_poll_failures",
    "Failed source polls by reason.",
    ["source", "reason"],
    registry=REGISTRY,
)
SOURCE_DAMAGE = Counter(
    "watcher_source_damage",
    "Polls that read a source only partly: its XML is not well-formed, by reason.",
    ["source", "reason"],
    registry=REGISTRY,
)
ARTICLES = Counter(
    "watcher_articles",
    "Articles by outcome (new, duplicate, filtered, failed) and reason.",
    ["source", "outcome", "reason"],
    registry=REGISTRY,
)
STORIES = Counter(
    "watcher_stories_emitted",
    "Stories emitted to the stream.",
    ["source", "event"],
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "watcher_duplicates",
    "Duplicates by kind (known_url, same_url, same_text, near_duplicate).",
    ["source", "kind"],
    registry=REGISTRY,
)
FILTERED = Counter(
    "watcher_filtered",
    "Documents dropped by the source's topic filter.",
    ["source"],
    registry=REGISTRY,
)
FETCH_SECONDS = Histogram(
    "watcher_fetch_seconds",
    "Time to fetch one URL, redirects and retries included.",
    ["kind"],
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60),
)
FETCHED_BYTES = Counter(
    "watcher_fetched_bytes",
    "Bytes of bodies fetched, Content-Encoding undone (before charset decoding).",
    ["source"],
    registry=REGISTRY,
)
EXTRACT_SECONDS = Histogram(
    "watcher_extract_seconds",
    "Time to extract and clean one article.",
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
STREAM_LENGTH = Gauge(
    "watcher_stream_length",
    "Entries in <namespace>:stories.",
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "watcher_consumer_lag",
    "Stream entries not yet delivered to a consumer group.",
    ["group"],
    registry=REGISTRY,
)
CONSUMER_PENDING = Gauge(
    "watcher_consumer_pending",
    "Entries read by a consumer group but not yet acknowledged.",
    ["group"],
    registry=REGISTRY,
)
STREAM_GROUP_LAGGING = Gauge(
    "watcher_stream_group_lagging_past_cap",
    "1 when a consumer group that is not one of this watcher's webhooks had entries it had not"
    " read or acknowledged trimmed from the stream (stream.maxlen, stream.retention).",
    ["group"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "watcher_webhook_deliveries",
    "Successful webhook deliveries.",
    ["endpoint"],
    registry=REGISTRY,
)
WEBHOOK_FAILURES = Counter(
    "watcher_webhook_failures",
    "Failed webhook attempts by reason.",
    ["endpoint", "reason"],
    registry=REGISTRY,
)
WEBHOOK_PENDING = Gauge(
    "watcher_webhook_pending",
    "Webhook events waiting for a retry.",
    ["endpoint"],
    registry=REGISTRY,
)
WEBHOOK_HEALTHY = Gauge(
    "watcher_webhook_healthy",
    "1 when the endpoint's recent deliveries succeed.",
    ["endpoint"],
    registry=REGISTRY,
)
DRIFT = Gauge(
    "watcher_extraction_drift",
    "1 when a source's extracted text suddenly shrank or was mostly removed (layout change?).",
    ["source", "alarm"],
    registry=REGISTRY,
)
SOURCE_LAST_SUCCESS = Gauge(
    "watcher_source_last_success_timestamp_seconds",
    "Unix time of the source's last successful poll (alert on time() minus this).",
    ["source"],
    registry=REGISTRY,
)
UP = Gauge("watcher_ready", "1 when Redis is reachable and the scheduler runs.", registry=REGISTRY)


def record_poll(report: PollReport) -> None:
    """Count one poll (its articles were counted as they finished)."""
    if report.error:
        POLLS.labels(report.source, "failed").inc()
        POLL_FAILURES.labels(report.source, report.reason or "error").inc()
    elif report.deferred:
        POLLS.labels(report.source, "deferred").inc()
    else:
        POLLS.labels(report.source, "not_modified" if report.not_modified else "ok").inc()
        for damage in report.damage:
            SOURCE_DAMAGE.labels(report.source, damage.reason).inc()
        SOURCE_LAST_SUCCESS.labels(report.source).set_to_current_time()


def seed_last_success(last: Mapping[str, datetime | None]) -> None:
    """At start-up, each source's last success as Redis remembers it: a restart must not make
    a quiet source look fresh, nor a fresh one disappear from the alert's series."""
    for source, moment in last.items():
        if moment is not None:
            SOURCE_LAST_SUCCESS.labels(source).set(moment.timestamp())


def seed_drift(alarms: Mapping[str, str | None]) -> None:
    """At start-up, each source's drift alarm as Redis remembers it (polls that extract
    nothing, such as a 304, do not touch it)."""
    for source, alarm in alarms.items():
        record_drift(source, alarm)


def record_drift(source: str, alarm: str | None) -> None:
    """Raise the source's drift alarm gauge (and lower the other kind)."""
    for kind in ("text_shrank", "mostly_removed"):
        DRIFT.labels(source, kind).set(1 if alarm == kind else 0)


def record_article(source: str, outcome: Outcome) -> None:
    """Count one article's outcome under the right metric."""
    ARTICLES.labels(source, outcome.kind, outcome.reason).inc()
    if outcome.kind in ("new", "updated"):
        STORIES.labels(source, f"story.{'created' if outcome.kind == 'new' else 'updated'}").inc()
    elif outcome.kind == "duplicate":
        DUPLICATES.labels(source, outcome.reason or "same_url").inc()
    elif outcome.kind == "filtered":
        FILTERED.labels(source).inc()


def record_attempt(attempt: AttemptRecord) -> None:
    """Count one webhook attempt: a success, or a failure under its reason."""
    if attempt.outcome == "delivered":
        WEBHOOK_DELIVERIES.labels(attempt.endpoint).inc()
    elif attempt.outcome in ("retry", "dead", "disabled"):
        WEBHOOK_FAILURES.labels(attempt.endpoint, attempt.reason).inc()


def record_endpoints(status: dict[str, dict[str, object]]) -> None:
    """Set the per-endpoint gauges from ``Dispatcher.status()``."""
    for name, row in status.items():
        WEBHOOK_PENDING.labels(name).set(float(str(row.get("pending") or 0)))
        WEBHOOK_HEALTHY.labels(name).set(1 if row.get("healthy") else 0)


def article_outcomes(source: str) -> dict[str, int]:
    """How many of ``source``'s articles this process finished, by outcome: what an
    interrupted ``watcher once`` reports for a poll that never returned its report."""
    out: dict[str, int] = {}
    for family in ARTICLES.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels["source"] == source:
                kind = sample.labels["outcome"]
                out[kind] = out.get(kind, 0) + int(sample.value)
    return out
