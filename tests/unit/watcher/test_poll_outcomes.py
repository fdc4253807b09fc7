"""A deferred poll (its host rate limited us) is its own outcome: not ok, not a failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from watcher import metrics
from watcher.cli import format_hold, format_report
from watcher.model import Deferral, PollReport

UNTIL = datetime(2026, 12, 1, 22, 0, 5, 250_000, tzinfo=UTC)


def _value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_deferred_poll_is_counted_as_deferred_not_as_a_failure() -> None:
    """/metrics: watcher_polls_total{outcome="deferred"}; no poll failure is recorded."""
    source = "deferred-metrics-test"
    report = PollReport(source=source, deferred=Deferral("news.test", UNTIL))
    metrics.record_poll(report)
    assert _value("watcher_polls_total", source=source, outcome="deferred") == 1
    assert _value("watcher_polls_total", source=source, outcome="failed") == 0
    assert _value("watcher_polls_total", source=source, outcome="ok") == 0
    assert not [
        s
        for m in metrics.POLL_FAILURES.collect()
        for s in m.samples
        if s.labels.get("source") == source
    ]


def test_deferred_poll_summary_names_host_and_utc_time() -> None:
    """`watcher once`: the summary line says which host holds the source off, until when."""
    line = format_report(PollReport(source="tech", deferred=Deferral("news.test", UNTIL)))
    assert line == (
        "tech: polled 0, new 0, duplicate 0, filtered 0, failed 0 (0.0s)"
        " [deferred: rate limited by news.test until 2026-12-01T22:00:05+00:00]"
    )


def test_hold_time_is_shown_in_utc_whatever_its_zone() -> None:
    later = UNTIL.astimezone(timezone(timedelta(hours=2)))
    assert format_hold("news.test", later) == (
        "rate limited by news.test until 2026-12-01T22:00:05+00:00"
    )
