"""Config that fails at load, not at run time: URLs, duration bounds, YAML size/depth/aliases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.growth import LINEAR, growth, repeated
from watcher import safeyaml
from watcher.config import interpolate, load_config, parse_config, parse_duration
from watcher.errors import ConfigError
from watcher.urlcheck import check_http_url, check_redis_url

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="


def source(url: str = "https://example.com/rss", **over: Any) -> dict[str, Any]:
    return {"name": "a", "type": "feed", "url": url, **over}


def problems(tree: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(tree, {})
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://127.0.0.1:99999/x", "port 99999 is out of range (1-65535)"),
        ("http://example.com:0/x", "port 0 is out of range"),
        ("http://example.com:http/x", "port 'http' is not a number"),
        ("http://exa mple.com/x", "whitespace"),
        ("http://exa%20mple.com/x", "is not a valid host name"),
        ("http://-bad.example.com/", "label '-bad'"),
        ("http://a..b/", "label ''"),
        ("http://" + "a" * 64 + ".com/", "1-63"),
        ("http://xn--abc.com/", "not a valid IDNA label"),
        ("http://\u200d.com/", "not a valid internationalized name"),
        ("http://0177.0.0.2/", "it would mean 127.0.0.2, write that"),
        ("http://0x7f.1/", "it would mean 127.0.0.1"),
        ("http://256.0.0.1/", "looks like an IPv4 address"),
        ("http://[::g]/", "does not appear to be an IPv4 or IPv6 address"),
        ("http://[/", "not a valid URL"),
        ("ftp://example.com/", "must start with http:// or https://"),
        ("http:///feed", "has no host"),
        ("http://example.com/\x00", "control characters"),
    ],
    ids=[
        "port-too-big",
        "port-zero",
        "port-not-a-number",
        "space-in-host",
        "percent-in-host",
        "label-starts-with-dash",
        "empty-label",
        "label-too-long",
        "bad-a-label",
        "bad-u-label",
        "octal-ipv4",
        "hex-short-ipv4",
        "ipv4-out-of-range",
        "bad-ipv6",
        "unclosed-bracket",
        "scheme",
        "no-host",
        "nul",
    ],
)
def test_check_http_url_rejects_what_a_fetch_would_fail_on(url: str, fragment: str) -> None:
    """Each URL that would fail every poll (or that httpx refuses) is refused with the reason."""
    with pytest.raises(ValueError, match=re.escape(fragment)):
        check_http_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/rss", "https://example.com/rss"),
        ("http://127.0.0.1:8080/feed.xml", "http://127.0.0.1:8080/feed.xml"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("https://例え.jp/feed?x=1", "https://xn--r8jz45g.jp/feed?x=1"),
        ("https://Bücher.example:8443/a", "https://xn--bcher-kva.example:8443/a"),
        ("https://user:pw@例え.jp/", "https://user:pw@xn--r8jz45g.jp/"),
        ("https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/", "https://example.com/"),
        ("https://news.example.com./rss", "https://news.example.com./rss"),
        (
            "https://hooks.slack.com/services/T0/B0/abc",
            "https://hooks.slack.com/services/T0/B0/abc",
        ),
        ("http://under_score.example/x", "http://under_score.example/x"),
    ],
    ids=[
        "plain",
        "ipv4-port",
        "ipv6",
        "idna",
        "idna-port",
        "idna-userinfo",
        "fullwidth-mapped",
        "trailing-dot",
        "slack",
        "underscore",
    ],
)
def test_check_http_url_accepts_and_idna_encodes(url: str, expected: str) -> None:
    """Valid URLs pass; a unicode host comes back in its IDNA form, which httpx accepts."""
    assert check_http_url(url) == expected
    httpx.URL(expected)  # does not raise


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("redis://:pw@127.0.0.1:99999/0", "port 99999"),
        ("redis://exa_mple..com/0", "label ''"),
        ("redis://localhost/zero", "the database must be a number"),
        ("http://localhost:6379/0", "must start with redis://"),
        ("unix://", "needs a socket path"),
    ],
    ids=["port", "host", "db", "scheme", "unix-no-path"],
)
def test_check_redis_url_rejects_what_redis_py_would_fail_on(url: str, fragment: str) -> None:
    """A bad redis.url fails at check, without echoing the URL (it may hold a password)."""
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        check_redis_url(url)
    assert "pw" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["", "redis://localhost:6379/0", "rediss://:pw@r.example:6380", "unix:///tmp/r.sock"]
)
def test_check_redis_url_accepts_redis_py_forms(url: str) -> None:
    """Empty (embedded), redis://, rediss:// and unix:// as redis-py reads them."""
    assert check_redis_url(url) == url


def test_url_problems_name_their_key_path() -> None:
    """Every bad URL is a problem at its own key path: sources, webhooks and redis."""
    tree = {
        "redis": {"url": "redis://h:70000/0"},
        "sources": [source(), source("http://exa mple.com/x", name="b")],
        "webhooks": [{"name": "w", "url": "http://0177.0.0.2/", "secret": SECRET}],
    }
    out = problems(tree)
    assert any(p.startswith("redis.url: port 70000") for p in out), out
    assert any(p.startswith("sources[1].url: contains whitespace") for p in out), out
    assert any(p.startswith("webhooks[0].url: host '0177.0.0.2'") for p in out), out


def test_url_problem_never_prints_a_webhook_path_token() -> None:
    """A webhook URL's path is a secret (Slack, Discord): its problem names the host only."""
    token = "T0AAAA/B0BBBB/SeCrEtToKeN"
    hook = {"name": "w", "url": f"https://hooks.slack.com:99999/services/{token}", "secret": SECRET}
    out = problems({"sources": [source()], "webhooks": [hook]})
    assert out == ["webhooks[0].url: port 99999 is out of range (1-65535)"]


def test_source_url_is_stored_idna_encoded() -> None:
    """The validated config holds the host in the form that goes on the wire."""
    config = parse_config({"sources": [source("https://例え.jp/rss")]}, {})
    assert config.sources[0].url == "https://xn--r8jz45g.jp/rss"


@pytest.mark.parametrize(
    ("tree", "fragment"),
    [
        ({"sources": [source(every=0)]}, "sources[0].every: must be at least 1s"),
        ({"sources": [source(every="500ms")]}, "sources[0].every"),
        ({"sources": [source()], "fetch": {"timeout": 0}}, "fetch.timeout"),
        (
            {
                "sources": [source()],
                "webhooks": [
                    {"name": "w", "url": "https://h.test/", "secret": SECRET, "retry": ["5s", 0]}
                ],
            },
            "webhooks[0].retry[1]",
        ),
        (
            {
                "sources": [source()],
                "webhooks": [
                    {"name": "w", "url": "https://h.test/", "secret": SECRET, "retry": ["1s"] * 31}
                ],
            },
            "webhooks[0].retry",
        ),
        ({"sources": [source(every="99999999d")]}, "at most 3650d"),
        ({"sources": [source(max_age=10**400)]}, "sources[0].max_age: a duration must be at most"),
        ({"sources": [source(every=float("nan"))]}, "sources[0].every"),
        ({"sources": [source(every=float("inf"))]}, "sources[0].every"),
    ],
    ids=[
        "every-zero",
        "every-sub-second",
        "timeout-zero",
        "retry-zero",
        "retry-too-many",
        "every-huge",
        "huge-int",
        "nan",
        "inf",
    ],
)
def test_durations_that_would_loop_or_overflow_are_refused(
    tree: dict[str, Any], fragment: str
) -> None:
    """every: 0 polled 12 times in 12 s; a zero retry is a storm; huge values overflow timers."""
    assert any(fragment in p for p in problems(tree)), problems(tree)


def test_every_of_one_second_is_the_floor() -> None:
    """1 s is accepted: the floor, not an off-by-one."""
    assert parse_config({"sources": [source(every="1s")]}, {}).sources[0].every == 1.0


@pytest.mark.parametrize("bad", ["9" * 500, "1" * 70 + "s", 10**400, float("nan")])
def test_parse_duration_refuses_overflow_with_value_error(bad: object) -> None:
    """Absurd durations are a ValueError (which pydantic reports), never OverflowError."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    + ["sources: *i", ""]
)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (BOMB.encode(), "line 6, column 4: invalid YAML (expands to over 400000 values"),
        (b"sources: &a [*a]\n", "line 1, column 14: invalid YAML (an alias refers to a node"),
        (
            b"sources: " + b"[" * 2000 + b"]" * 2000,
            "line 1, column 73: invalid YAML (nested deeper",
        ),
        (b"sources:\n" + b"".join(b" " * i + b"k:\n" for i in range(1, 200)), "nested deeper"),
        (b"sources:\n  - name: a\xff\n", "line 2: not UTF-8 (byte 0xff at offset 20)"),
        (b"sources:\n  - name: \x07\n", "line 2: invalid YAML (character #x0007 is not allowed)"),
        (b"x: " + b"9" * 5000, "invalid YAML value"),
        (b"x: 2001-13-45", "invalid YAML value (month must be in 1..12)"),
        (b"#" * (safeyaml.MAX_BYTES + 1), "larger than 10000000 bytes"),
        (b"sources: [\n", "line 2, column 1: invalid YAML"),
    ],
    ids=[
        "billion-laughs",
        "recursive-alias",
        "deep-flow",
        "deep-block",
        "invalid-utf8",
        "control-char",
        "huge-int",
        "bad-date",
        "too-big",
        "unclosed",
    ],
)
def test_load_config_refuses_hostile_yaml_with_file_and_line(
    tmp_path: Path, data: bytes, fragment: str
) -> None:
    """Each hostile document is one ConfigError naming the file and, when known, the line."""
    path = tmp_path / "w.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert info.value.file == str(path)
    assert [fragment in str(p) for p in info.value.problems] == [True], info.value.problems


def test_aliases_within_the_bound_still_work(tmp_path: Path) -> None:
    """Ordinary anchors and merge keys (shared source settings) are still YAML."""
    path = tmp_path / "w.yaml"
    path.write_text(
        "base: &base {type: feed, every: 5m}\n"
        "sources:\n"
        "  - {<<: *base, name: a, url: 'https://a.example/rss'}\n"
        "  - {<<: *base, name: b, url: 'https://b.example/rss'}\n"
    )
    with pytest.raises(ConfigError) as info:  # `base` itself is an unknown key, nothing else
        load_config(path, {})
    assert [str(p) for p in info.value.problems] == ["base: unknown key"]


def test_load_config_directory_and_missing_file_are_problems(tmp_path: Path) -> None:
    """Unreadable paths are ConfigErrors naming the file, not OSError tracebacks."""
    for path, why in [(tmp_path, "Is a directory"), (tmp_path / "nope.yaml", "No such file")]:
        with pytest.raises(ConfigError) as info:
            load_config(path, {})
        assert why in str(info.value.problems[0])


def test_interpolation_is_linear_on_unclosed_variables() -> None:
    """``${A:-`` repeated with no closing brace: each match attempt must not rescan the rest."""
    ratio = growth(
        repeated("${A:-"), lambda text: interpolate({"k": text}, {}), small=10_000, large=100_000
    )
    assert ratio < LINEAR, f"10x the input took {ratio:.0f}x the time"
