"""The daemon's start-up lines: which Redis (never its password) and where the dashboard is."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.server import dashboard_url
from watcher.store import redis_of


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:hunter2@127.0.0.1:6380/1", "redis://:***@127.0.0.1:6380/1"),
        ("rediss://app:hunter2@redis.internal:6390/0", "rediss://app:***@redis.internal:6390/0"),
    ],
    ids=["no-password", "password-only", "user-and-password"],
)
def test_redis_of_a_url_masks_its_password(url: str, shown: str, tmp_path: Path) -> None:
    """A REDIS_URL is named as it is, with any password replaced by ***."""
    assert redis_of(url, tmp_path) == {"redis": shown}


def test_redis_of_the_embedded_one_names_it_and_its_data_dir(tmp_path: Path) -> None:
    """Without REDIS_URL the line says embedded, its data dir, and its socket once started
    (``-`` before: this process has not started or joined it)."""
    assert redis_of("", tmp_path / "data") == {
        "redis": "embedded",
        "redis_socket": "-",
        "data_dir": str((tmp_path / "data").resolve()),
    }


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080/"),
        ("0.0.0.0", "http://127.0.0.1:8080/"),
        ("::", "http://127.0.0.1:8080/"),
        ("::1", "http://[::1]:8080/"),
        ("watcher.lan", "http://watcher.lan:8080/"),
    ],
    ids=["loopback", "all-ipv4", "all-ipv6", "ipv6-loopback", "name"],
)
def test_dashboard_url_is_one_to_browse_to(host: str, url: str) -> None:
    """The bound host, or loopback for a wildcard bind; an IPv6 literal in brackets."""
    assert dashboard_url(host, 8080) == url
