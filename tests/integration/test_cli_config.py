"""`watcher check` on hostile and mistaken configs: exit 2, one line per problem, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.builders import many_sources, write_config
from tests.support.cli import run_cli
from tests.unit.watcher.test_config_limits import BOMB

pytestmark = pytest.mark.slow

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            BOMB.encode(),
            "line 6, column 4: invalid YAML"
            " (expands to over 400000 values (aliases count in full))",
        ),
        (
            b"sources: " + b"[" * 2000 + b"]" * 2000,
            "line 1, column 73: invalid YAML (nested deeper than 64 levels)",
        ),
        (b"sources:\n  - name: caf\xe9\n", "line 2: not UTF-8 (byte 0xe9 at offset 22)"),
        (
            b"sources: &a [*a]\n",
            "line 1, column 14: invalid YAML (an alias refers to a node that contains it)",
        ),
        (b"#" * 10_000_001, "larger than 10000000 bytes; not a config file"),
    ],
    ids=["alias-bomb", "nested-2000", "invalid-utf8", "recursive-alias", "over-10mb"],
)
def test_check_refuses_hostile_yaml_in_one_line(tmp_path: Path, data: bytes, message: str) -> None:
    """A YAML bomb, 2,000 levels of nesting or undecodable bytes: exit 2 and one line naming
    the file and the line, where the alias bomb used to take 104 s and 2.2 GB."""
    path = tmp_path / "watcher.yaml"
    path.write_bytes(data)
    result = run_cli("check", "--config", str(path), timeout=30)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.splitlines() == [f"{path}: {message}"]
    assert "Traceback" not in result.stderr


def test_check_names_each_bad_url_and_every_at_its_key_path(tmp_path: Path) -> None:
    """Port out of range, a space in a host, an octal IPv4 and `every: 0` all fail at check."""
    config = write_config(
        tmp_path / "watcher.yaml",
        redis={"url": "redis://127.0.0.1:99999/0"},
        sources=[
            {"name": "a", "type": "feed", "url": "http://127.0.0.1:99999/x"},
            {"name": "b", "type": "feed", "url": "http://exa mple.com/x"},
            {"name": "c", "type": "feed", "url": "https://example.com/rss", "every": 0},
        ],
        webhooks=[{"name": "w", "url": "http://0177.0.0.2/", "secret": SECRET}],
    )
    result = run_cli("check", "--config", str(config))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    expected = [
        "redis.url: port 99999 is out of range (1-65535)",
        "sources[0].url: port 99999 is out of range (1-65535)",
        "sources[1].url: contains whitespace or control characters (percent-encode them)",
        "sources[2].every: must be at least 1s",
        "webhooks[0].url: host '0177.0.0.2' looks like an IPv4 address but is not four decimal"
        " numbers 0-255 without leading zeros; it would mean 127.0.0.2, write that",
    ]
    assert sorted(lines) == sorted(f"{config}: {line}" for line in expected)


def test_check_reports_typo_duplicate_and_unknown_topic_in_one_run(tmp_path: Path) -> None:
    """A typo'd key, a duplicate source name and an unknown topic: all three in one run of
    `watcher check` (exit 2), the typo with the key it probably means."""
    config = write_config(
        tmp_path / "watcher.yaml",
        topics=[{"name": "meta-ai", "any": ["Meta AI"]}],
        sources=[
            {
                "name": "daily-tech",
                "type": "feed",
                "url": "https://a.example/feed.xml",
                "evrey": "10s",
                "topics": ["meta-aii"],
            },
            {"name": "daily-tech", "type": "feed", "url": "https://b.example/rss.xml"},
        ],
    )
    result = run_cli("check", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"{config}: sources[0].evrey: unknown key (did you mean 'every'?)",
        f"{config}: sources[1].name: duplicate name 'daily-tech'",
        f"{config}: sources[0].topics[0]: unknown topic 'meta-aii'",
    ]


@pytest.mark.parametrize("kind", ["directory", "missing"])
def test_check_on_a_directory_or_missing_file_exits_2(tmp_path: Path, kind: str) -> None:
    """A path that is not a readable file is a config problem, not a traceback."""
    path = tmp_path if kind == "directory" else tmp_path / "nope.yaml"
    why = "Is a directory" if kind == "directory" else "No such file or directory"
    result = run_cli("check", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{path}: cannot read config: {why}"]


def test_check_passes_a_config_of_10000_sources(tmp_path: Path) -> None:
    """Issue 14's deployment size (~1 MB, ~110,000 YAML values) is a valid config: it used to
    be refused at 50,000 values, and the pure-Python loader took ~10 s on it."""
    config = write_config(
        tmp_path / "watcher.yaml",
        redis={"url": "redis://127.0.0.1:6379/0"},
        sources=many_sources(10_000),
    )
    result = run_cli("check", "--config", str(config), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
