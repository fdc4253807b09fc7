"""Properties of config loading: whatever the input, only ValueError/ConfigError come out.

Bounded (modest max_examples, no deadline flakiness) so they run in `make test`; the atheris
target fuzz/config.py explores the same entry point for longer.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.config import MAX_DURATION, Config, config_from_bytes, interpolate, parse_duration
from watcher.errors import ConfigError
from watcher.urlcheck import check_http_url, check_redis_url

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
huge = st.integers(min_value=-(10**400), max_value=10**400)  # past float(): OverflowError
trees = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@FAST
@given(
    scalars
    | huge
    | st.lists(scalars, max_size=2)
    | st.from_regex(r"\A\s*\d{1,30}(\.\d{1,5})?\s*(ms|s|m|h|d|w)?\s*\Z")
)
def test_parse_duration_returns_bounded_seconds_or_value_error(value: Any) -> None:
    """Any value is a finite duration in [0, 10 years] or a ValueError (never Overflow/Type)."""
    try:
        seconds = parse_duration(value)
    except ValueError:
        return
    assert math.isfinite(seconds)
    assert 0 <= seconds <= MAX_DURATION


@FAST
@given(trees, st.dictionaries(st.from_regex(r"\A[A-Z_]{1,5}\Z"), st.text(max_size=10)))
def test_interpolate_never_raises(tree: Any, env: dict[str, str]) -> None:
    """Interpolation of any tree returns a tree and problems; it never raises."""
    out, problems = interpolate(tree, env)
    assert isinstance(problems, list)
    assert type(out) is type(tree)


@FAST
@given(st.text(max_size=20).map(lambda s: "${" + s + "}") | st.text(max_size=40))
def test_interpolate_strings_with_variable_syntax(value: str) -> None:
    """Strings full of ``${`` and ``:-`` never make interpolation raise."""
    out, _problems = interpolate({"k": value}, {"A": "x"})
    assert isinstance(out["k"], str)


hosts = st.from_regex(r"\A[a-zA-Z0-9._\-\[\]:%\u00e9\u4f8b\u200d ]{0,30}\Z")
ports = st.sampled_from(["", ":", ":0", ":1", ":80", ":65535", ":65536", ":99999", ":-1", ":x"])
url_like = st.builds(
    lambda scheme, userinfo, host, port, path: f"{scheme}://{userinfo}{host}{port}{path}",
    st.sampled_from(["http", "https", "HTTP", "ftp", "redis", "unix", ""]),
    st.sampled_from(["", "user@", "u:p@", "a@b@"]),
    hosts,
    ports,
    st.sampled_from(["", "/", "/feed.xml", "/a b", "?q=1", "#f", "/\\x"]),
)


@FAST
@given(url_like | st.text(max_size=60))
def test_check_http_url_accepts_only_what_httpx_can_request(value: str) -> None:
    """Any string is either refused with ValueError or accepted as a URL httpx parses, with a
    port in 1-65535 and an ASCII host (so no fetch can fail on its syntax)."""
    try:
        url = check_http_url(value)
    except ValueError:
        return
    parsed = httpx.URL(url)
    assert parsed.scheme in ("http", "https")
    assert parsed.port is None or 1 <= parsed.port <= 65535
    assert parsed.raw_host.isascii()
    assert parsed.raw_host


@FAST
@given(url_like | st.text(max_size=60))
def test_check_redis_url_raises_only_value_error(value: str) -> None:
    """redis.url checking raises nothing but ValueError."""
    with contextlib.suppress(ValueError):
        check_redis_url(value)


def _only_config_error(data: bytes) -> None:
    with contextlib.suppress(ConfigError):
        assert isinstance(config_from_bytes(data, {"A": "1"}), Config)


@FAST
@given(st.binary(max_size=300))
def test_config_from_arbitrary_bytes_raises_only_config_error(data: bytes) -> None:
    """Random bytes (invalid UTF-8, control characters, half YAML) give ConfigError only."""
    _only_config_error(data)


yaml_tokens = st.sampled_from(
    [
        "sources:",
        "\n",
        "  ",
        "- ",
        "name: a",
        "type: feed",
        "url: ",
        "http://h:99999/",
        "https://example.com/rss",
        "every: ",
        "0",
        "1e400",
        ".nan",
        "&a ",
        "*a",
        "[",
        "]",
        "{",
        "}",
        ",",
        "? ",
        ": ",
        "!!binary ",
        "!!set ",
        "<<: *a",
        "'",
        '"',
        "\\x00",
        "${A}",
        "${B:-x}",
        "9" * 50,
        "2001-13-45",
        "webhooks:",
        "secret: whsec_AAAA",
        "retry: [0]",
        "~",
        "null",
        "true",
        "#",
        "---",
        "...",
        "%YAML 1.1\n",
        "!!python/object:os.system ",
    ]
)


@FAST
@given(st.lists(yaml_tokens, max_size=40).map("".join))
def test_config_from_yaml_like_text_raises_only_config_error(text: str) -> None:
    """YAML-shaped text from config fragments, anchors, tags and odd scalars: ConfigError only."""
    _only_config_error(text.encode())


@FAST
@given(trees)
def test_config_from_any_yaml_tree_raises_only_config_error(tree: Any) -> None:
    """Any tree PyYAML can dump, loaded as a config, gives a Config or a ConfigError."""
    try:
        data = yaml.safe_dump({"sources": [tree], "fetch": tree}).encode()
    except (yaml.YAMLError, ValueError):  # e.g. a key hypothesis made unrepresentable
        pytest.skip("not representable")
    _only_config_error(data)
