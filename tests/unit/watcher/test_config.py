"""Config: durations, interpolation, validation problems with key paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config import interpolate, load_config, parse_config, parse_duration
from watcher.errors import ConfigError

MINIMAL = {"sources": [{"name": "a", "type": "feed", "url": "https://example.com/rss"}]}
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("20s", 20.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("7d", 604800.0),
        (3, 3.0),
        ("1.5s", 1.5),
        ("10", 10.0),
    ],
    ids=["ms", "s", "m", "h", "d", "int", "fraction", "plain-string"],
)
def test_parse_duration_accepts_units(text: object, seconds: float) -> None:
    """Every SPEC duration form turns into seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["5 minutes", "abc", "-3s", True, None, "5x"])
def test_parse_duration_rejects_nonsense(bad: object) -> None:
    """Anything that is not a duration is an error, not a silent zero."""
    with pytest.raises(ValueError):  # noqa: PT011 — the message is checked through ConfigError tests
        parse_duration(bad)


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("${A:-dflt}", {}, "dflt"),
        ("${A:-}", {}, ""),
        ("pre-${A}-post", {"A": "x"}, "pre-x-post"),
        ("${A:-dflt}", {"A": "set"}, "set"),
        ("no vars", {}, "no vars"),
        ("${A:-dflt}", {"A": ""}, "dflt"),
        ("${A}", {"A": ""}, ""),
    ],
    ids=[
        "set",
        "default",
        "empty-default",
        "embedded",
        "set-beats-default",
        "plain",
        "empty-takes-default",
        "empty-without-default",
    ],
)
def test_interpolate_replaces_variables(value: str, env: dict[str, str], expected: str) -> None:
    """${VAR} and ${VAR:-default} are replaced from the given environment only."""
    out, problems = interpolate({"k": value}, env)
    assert out == {"k": expected}
    assert problems == []


def test_interpolate_missing_variable_names_its_key_path() -> None:
    """A variable that is unset and has no default is a problem at the key that uses it."""
    _, problems = interpolate({"webhooks": [{"secret": "${WEBHOOK_SECRET}"}]}, {})
    assert [str(p) for p in problems] == [
        "webhooks[0].secret: environment variable WEBHOOK_SECRET is not set"
    ]


def test_parse_config_defaults_follow_spec() -> None:
    """A config with only sources gets SPEC's defaults."""
    config = parse_config(MINIMAL, {})
    assert config.redis.namespace == "watcher"
    assert config.fetch.timeout == 20.0
    assert config.fetch.max_bytes == 5_000_000
    assert config.fetch.allow_private_networks is False
    assert config.sources[0].every == 600.0
    assert config.sources[0].max_age == 7 * 86400


def test_parse_config_reports_every_problem_with_its_path() -> None:
    """All problems are listed at once, each naming the key path."""
    tree = {
        "fetch": {"timeout": "soon", "allow_private_networks": ["127.0.0.1/32", "nope"]},
        "sources": [
            {"name": "a", "type": "feed", "url": "https://x.test/rss", "topics": ["ghost"]},
            {"name": "b", "type": "rss", "url": "ftp://x.test/"},
        ],
        "typo": 1,
    }
    with pytest.raises(ConfigError) as info:
        parse_config(tree, {})
    paths = {p.path for p in info.value.problems}
    assert {"fetch.timeout", "fetch.allow_private_networks", "sources[1].type"} <= paths
    assert {"sources[1].url", "typo"} <= paths


def test_parse_config_unknown_topic_is_named() -> None:
    """A source filtering on a topic that does not exist is reported at that list item."""
    tree = {"sources": [{"name": "a", "type": "feed", "url": "https://x.test/", "topics": ["t"]}]}
    with pytest.raises(ConfigError) as info:
        parse_config(tree, {})
    assert [str(p) for p in info.value.problems] == ["sources[0].topics[0]: unknown topic 't'"]


def test_parse_config_duplicate_source_names_are_an_error() -> None:
    """Two sources of one name would share status and leases, so it is refused."""
    src = {"name": "a", "type": "feed", "url": "https://x.test/"}
    with pytest.raises(ConfigError, match=r"sources\[1\]\.name: duplicate name 'a'"):
        parse_config({"sources": [src, src]}, {})


SRC = {"name": "a", "type": "feed", "url": "https://x.test/rss"}
HOOK = {"name": "w", "url": "https://h.test/"}


@pytest.mark.parametrize(
    ("tree", "line"),
    [
        (
            {"sources": [{**SRC, "evrey": "10s"}]},
            "sources[0].evrey: unknown key (did you mean 'every'?)",
        ),
        (
            {"sources": [SRC], "fetch": {"allow_privat_networks": True}},
            "fetch.allow_privat_networks: unknown key (did you mean 'allow_private_networks'?)",
        ),
        (
            {"sources": [SRC], "topics": [{"name": "t", "any": ["x"], "nonee": ["y"]}]},
            "topics[0].nonee: unknown key (did you mean 'none'?)",
        ),
        ({"sources": [SRC], "colour": 1}, "colour: unknown key"),
        ({"sources": [{**SRC, "every": "0s"}]}, "sources[0].every: must be at least 1s"),
        ({"sources": [SRC], "fetch": {"timeout": 0}}, "fetch.timeout: must be at least 100ms"),
        (
            {"sources": [SRC], "webhooks": [{**HOOK, "retry": ["5s", "10ms"]}]},
            "webhooks[0].retry[1]: must be at least 50ms",
        ),
        ({"sources": [SRC], "index": {"retention": "60d"}}, "index.retention: must be at most 30d"),
        ({"sources": [SRC], "dedupe": {"horizon": 0}}, "dedupe.horizon: must be more than 0s"),
        ({"sources": [SRC], "http": {"port": 70000}}, "http.port: must be at most 65535"),
        ({"sources": [SRC], "fetch": {"max_bytes": 0}}, "fetch.max_bytes: must be more than 0"),
    ],
    ids=[
        "typo-in-source",
        "typo-in-fetch",
        "typo-of-alias",
        "unknown-nothing-close",
        "every-zero",
        "timeout-zero",
        "retry-too-soon",
        "retention-too-long",
        "horizon-zero",
        "port-not-a-duration",
        "size-not-a-duration",
    ],
)
def test_parse_config_words_problems_for_the_yaml_reader(
    tree: dict[str, object], line: str
) -> None:
    """An unknown key names the key it is probably a typo of, and a bound reads in the
    field's own units (durations as 1s or 50ms), not in pydantic's words."""
    with pytest.raises(ConfigError) as info:
        parse_config(tree, {})
    assert [str(p) for p in info.value.problems] == [line]


def test_parse_config_reports_entry_problems_beside_field_problems() -> None:
    """A typo'd key, a duplicate name, an unknown topic and a refused proxy are all reported
    in one run: the checks between entries run on what parsed, not after the rest is fixed."""
    tree = {
        "topics": [{"name": "meta-ai", "any": ["Meta"]}],
        "fetch": {"proxy": "http://10.0.0.1:3128"},
        "sources": [
            {**SRC, "name": "daily-tech", "evrey": "10s", "topics": ["meta-aii"]},
            {**SRC, "name": "daily-tech", "url": "https://y.test/rss"},
        ],
    }
    with pytest.raises(ConfigError) as info:
        parse_config(tree, {})
    assert [str(p) for p in info.value.problems] == [
        "sources[0].evrey: unknown key (did you mean 'every'?)",
        "sources[1].name: duplicate name 'daily-tech'",
        "fetch.proxy: the proxy's address 10.0.0.1 is not a public address"
        " (set fetch.allow_private_networks to allow it, e.g. [10.0.0.1/32])",
        "sources[0].topics[0]: unknown topic 'meta-aii'",
    ]


def test_parse_config_invalid_topic_is_still_a_known_topic() -> None:
    """A topic with a bad field is reported once; sources naming it are not also told the
    topic is unknown."""
    tree = {
        "topics": [{"name": "meta-ai"}],
        "sources": [{**SRC, "topics": ["meta-ai"]}, {**SRC, "name": "b", "evrey": 1}],
    }
    with pytest.raises(ConfigError) as info:
        parse_config(tree, {})
    assert [str(p) for p in info.value.problems] == [
        "topics[0].any: required key missing",
        "sources[1].evrey: unknown key (did you mean 'every'?)",
    ]


def test_parse_config_missing_keys_say_required_and_the_choices() -> None:
    """A missing key reads as such, not as pydantic's "Field required"; a key with a fixed
    set of values (a source's type) lists them."""
    tree = {"sources": [{"name": "a", "url": "https://a.example/feed"}, {"type": "feed"}]}
    with pytest.raises(ConfigError) as info:
        parse_config(tree, {})
    assert [str(p) for p in info.value.problems] == [
        "sources[0].type: required key missing (one of: feed, sitemap, page, site)",
        "sources[1].name: required key missing",
        "sources[1].url: required key missing",
    ]


def test_load_config_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    """Broken YAML is reported with the file and the line."""
    path = tmp_path / "w.yaml"
    path.write_text("sources:\n  - name: a\n    url: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert info.value.file == str(path)
    assert "line" in str(info.value.problems[0])


def test_load_config_default_file_is_valid() -> None:
    """The shipped config/watcher.yaml validates with an empty environment."""
    config = load_config(REPO / "config" / "watcher.yaml", {})
    assert {s.type for s in config.sources} >= {"feed", "sitemap"}
    assert [t.name for t in config.topics] == ["meta-ai"]
    assert config.redis.url == ""


def test_webhook_secret_is_hidden_in_repr() -> None:
    """The webhook secret never shows in a repr, so it cannot leak into logs."""
    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
    tree = dict(MINIMAL, webhooks=[{"name": "w", "url": "https://h.test/", "secret": secret}])
    config = parse_config(tree, {})
    assert secret not in repr(config)
    assert config.webhooks[0].secret.get_secret_value() == secret


def test_malformed_webhook_secret_is_named_not_printed() -> None:
    """`watcher check` names the key of a secret that is not whsec_ + base64, never its value."""
    bad = "whsec_***not-base64***"
    tree = dict(MINIMAL, webhooks=[{"name": "w", "url": "https://h.test/", "secret": bad}])
    with pytest.raises(ConfigError) as info:
        parse_config(tree, {})
    assert [p.path for p in info.value.problems] == ["webhooks[0].secret"]
    assert bad not in str(info.value)


def test_dedupe_settle_is_off_by_default_and_a_duration() -> None:
    assert parse_config(MINIMAL, {}).dedupe.settle == 0.0
    assert parse_config({**MINIMAL, "dedupe": {"settle": "5m"}}, {}).dedupe.settle == 300.0
    with pytest.raises(ConfigError) as info:
        parse_config({**MINIMAL, "dedupe": {"settle": "soon"}}, {})
    assert {p.path for p in info.value.problems} == {"dedupe.settle"}


def test_stream_retention_keys_default_and_name_their_problems() -> None:
    """stream.maxlen (100,000) and stream.retention (a duration, 0: no age limit); a bad value
    names its key."""
    config = parse_config(MINIMAL, {})
    assert (config.stream.maxlen, config.stream.retention) == (100_000, 0.0)
    tree = {**MINIMAL, "stream": {"maxlen": 500, "retention": "2d"}}
    assert parse_config(tree, {}).stream.model_dump() == {"maxlen": 500, "retention": 172800.0}
    bad = {**MINIMAL, "stream": {"maxlen": 0, "retention": "a week", "max_len": 1}}
    with pytest.raises(ConfigError) as info:
        parse_config(bad, {})
    paths = {p.path for p in info.value.problems}
    assert paths == {"stream.maxlen", "stream.retention", "stream.max_len"}
