"""What /readyz answers: ready only while Redis answers, the scheduler runs, the daemon is not
stopping and some parsing worker is alive."""

from __future__ import annotations

import json

from watcher.server import Health


def test_ready_needs_every_part() -> None:
    health = Health(redis_ok=True, scheduler_running=True)
    assert health.ready  # the pool not checked yet: nothing says it is broken
    health.workers = 2
    assert health.ready
    health.workers = 0
    assert not health.ready
    assert json.loads(health.as_json())["workers"] == 0
    health.workers = 1
    health.shutting_down = True
    assert not health.ready
