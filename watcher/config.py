"""Config: YAML → ``${VAR}`` interpolation → typed, frozen models (validated once, passed down)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import re2
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from scrapers.fetch import RequestOptions
from scrapers.netguard import is_blocked, not_public
from watcher import safeyaml, template
from watcher.configproblems import DURATION, dedupe, problems_from
from watcher.errors import ConfigError, Problem
from watcher.safeyaml import MAX_BYTES
from watcher.urlcheck import check_http_url, check_proxy_url, check_redis_url, proxy_host
from watcher.whsec import parse_secrets

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
# RE2: with Python's re, "${A:-" repeated (no closing brace) rescans the rest from every "${".
_VAR = re2.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
MAX_DURATION = 3650 * 86400.0  # ten years: longer is a typo, and overflows timers and TTLs
MIN_EVERY = 1.0  # a source polled faster than once a second is a loop, not a schedule
MIN_RETRY = 0.05  # a webhook retry sooner than 50 ms is a storm, not a back-off
MIN_TOKEN_CHARS = 16  # http.token: e.g. `openssl rand -hex 16` gives 32
MAX_RETRIES = 30  # attempts per event; the SPEC default has 7


def parse_duration(value: object) -> float:
    """``"500ms"``, ``"20s"``, ``"5m"``, ``"2h"``, ``"7d"`` or plain seconds → seconds (float)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 500ms, 20s, 5m, 2h or 7d")
    seconds: float
    if isinstance(value, int | float):
        seconds = value  # not float() yet: a 400-digit int overflows it
    elif isinstance(value, str) and len(value) < 64 and (match := _DURATION.match(value)):
        seconds = float(match[1]) * _UNITS[match[2] or "s"]
    else:
        shown = repr(value)[:60]
        raise ValueError(f"{shown} is not a duration (use 500ms, 20s, 5m, 2h, 7d or seconds)")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if not seconds <= MAX_DURATION:  # also NaN
        raise ValueError("a duration must be at most 3650d (ten years)")
    return float(seconds)


Seconds = Annotated[float, BeforeValidator(parse_duration), DURATION]
AUTO = "auto"


def parse_every(value: object) -> float | None:
    """``every``: a duration, or ``auto`` (None: learned between ``min_every`` and
    ``max_every``)."""
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return None
    return parse_duration(value)


Every = Annotated[
    Annotated[float, Field(ge=MIN_EVERY)] | None, BeforeValidator(parse_every), DURATION
]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


HttpUrlStr = Annotated[str, AfterValidator(check_http_url)]
ProxyUrlStr = Annotated[str, AfterValidator(check_proxy_url)]

# RFC 9110 field-name: a token. Values: visible ASCII, spaces and tabs (no CR/LF: no smuggling).
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
# Set by the fetcher itself: the bounded decoder needs its own Accept-Encoding, conditional GET
# its validators, and ``user_agent`` is the key for the agent (robots.txt is matched against it).
RESERVED_HEADERS = frozenset(
    {
        "accept-encoding",
        "connection",
        "content-length",
        "host",
        "if-modified-since",
        "if-none-match",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "transfer-encoding",
        "upgrade",
        "user-agent",
    }
)
MAX_HEADERS = 50
MAX_HEADER_VALUE = 8192


def check_headers(value: dict[str, str]) -> dict[str, str]:
    """Extra request headers: valid names, not the fetcher's own, values without line breaks.

    A message names the header, never its value: values are often tokens from ``${ENV}``.
    """
    if len(value) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    for name, text in value.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"{name[:40]!r} is not a valid header name")
        lower = name.lower()
        if lower in RESERVED_HEADERS:
            hint = " (use user_agent)" if lower == "user-agent" else ""
            raise ValueError(f"{name} is set by the fetcher and cannot be configured{hint}")
        if lower in seen:
            raise ValueError(f"{name} is given twice (header names ignore case)")
        seen.add(lower)
        if len(text) > MAX_HEADER_VALUE or any(
            (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in text
        ):
            raise ValueError(
                f"{name}: the value has a line break or control character, or is over "
                f"{MAX_HEADER_VALUE} characters"
            )
    return value


Headers = Annotated[dict[str, str], AfterValidator(check_headers)]
RetryDelay = Annotated[float, BeforeValidator(parse_duration), Field(ge=MIN_RETRY), DURATION]


class Frozen(BaseModel):
    """Typos are errors; config is a value."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RedisConfig(Frozen):
    url: Annotated[str, AfterValidator(check_redis_url)] = ""
    namespace: Name = "watcher"
    # A replica's hold on a source; a crashed replica's sources move on after this long.
    lease: Seconds = Field(default=30.0, ge=1.0)


class HttpConfig(Frozen):
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    # Bearer token of the dashboard and /api (probes stay open); None: loopback peers only.
    token: SecretStr | None = None

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        """Empty (``${WATCHER_HTTP_TOKEN:-}`` unset) means none; a short one is guessable."""
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(f"is shorter than {MIN_TOKEN_CHARS} characters (use a random one)")
        return value


class FetchConfig(Frozen):
    user_agent: str = "news-watcher/0.1 (+https://example.org/bot)"
    timeout: Seconds = Field(default=20.0, ge=0.1)
    max_bytes: PositiveInt = 5_000_000
    per_host: PositiveInt = 2
    delay: Seconds = 1.0
    robots: bool = True
    allow_private_networks: bool | tuple[str, ...] = False
    headers: Headers = {}  # sent with every request; a source's own headers replace by name
    proxy: ProxyUrlStr = ""  # http(s)://, socks5:// or socks5h:// for every request; "" none
    # Deadline for one parse (discovery, extraction, cleaning) in a worker process; past it
    # the worker is killed and replaced and the entry fails as ``parse_timeout``.
    parse_timeout: Seconds = Field(default=10.0, ge=0.1)

    @field_validator("allow_private_networks")
    @classmethod
    def _cidrs(cls, value: bool | tuple[str, ...]) -> bool | tuple[str, ...]:
        if isinstance(value, tuple):
            for cidr in value:
                ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value


class Topic(Frozen):
    name: Name
    any_of: list[str] = Field(alias="any", min_length=1)
    none_of: list[str] = Field(default=[], alias="none")


# site: an outlet's homepage; its feeds, news sitemaps or the page itself are discovered
SourceKind = Literal["feed", "sitemap", "page", "site"]

DEFAULT_EVERY = 600.0
DEFAULT_MIN_EVERY = 60.0  # ``every: auto``: a busy wire feed is polled every minute ...
DEFAULT_MAX_EVERY = 86400.0  # ... and a weekly column daily


class Source(Frozen):
    name: Name
    type: SourceKind
    url: HttpUrlStr
    every: Every = DEFAULT_EVERY  # None: ``auto``
    min_every: Seconds = Field(default=DEFAULT_MIN_EVERY, ge=MIN_EVERY)
    max_every: Seconds = Field(default=DEFAULT_MAX_EVERY, ge=MIN_EVERY)
    max_age: Seconds = 7 * 86400.0
    topics: list[Name] = []
    headers: Headers = {}  # over ``fetch.headers``, by name
    user_agent: str | None = None  # None: ``fetch.user_agent``
    proxy: ProxyUrlStr | None = None  # None: ``fetch.proxy``; "" goes direct

    @field_validator("user_agent")
    @classmethod
    def _agent(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty (leave it out to use fetch.user_agent)")
        if value is not None and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError("has a line break or control character")
        return value

    @property
    def http_options(self) -> RequestOptions:
        """What the fetcher sends this source's requests with (over ``fetch``'s own)."""
        return RequestOptions(
            user_agent=self.user_agent,
            headers=tuple(self.headers.items()),
            proxy=self.proxy,
        )

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_every > self.max_every:
            raise ValueError("min_every must not be longer than max_every")
        return self

    @property
    def adaptive(self) -> bool:
        """``every: auto``: the interval is learned from what the source publishes."""
        return self.every is None

    @property
    def interval(self) -> float:
        """The fixed ``every``; for ``auto``, where learning starts: the default interval
        within the bounds (the learned one, kept in Redis, then replaces it)."""
        if self.every is not None:
            return self.every
        return min(max(DEFAULT_EVERY, self.min_every), self.max_every)


class DedupeConfig(Frozen):
    """Near-duplicate matching and re-checks of known articles for edits (issue 5)."""

    horizon: Seconds = Field(default=30 * 86400.0, gt=0)  # copies match stories this recent
    recheck_every: Seconds = 3 * 3600.0  # a still-listed story is re-fetched this often ...
    recheck_for: Seconds = 2 * 86400.0  # ... for this long after first seen (0 turns it off)
    settle: Seconds = Field(default=0.0, ge=0)  # a copy naming another outlet waits this long
    #                                            for its original before story.created (0: off)


class StreamConfig(Frozen):
    """How long ``<namespace>:stories`` keeps entries (issue 14). Trimming never removes an
    entry that one of the configured webhooks has not acknowledged."""

    maxlen: PositiveInt = 100_000  # entries kept (1 % more pile up between trims)
    retention: Seconds = 0.0  # entries older than this go too (0: no age limit)


class IndexConfig(Frozen):
    """The story index the dashboard and ``/api/stories`` list and search
    (``watcher/store/search.py``). It costs ~12 kB of Redis a story (a sorted-set member per
    indexed word), about four times a story's record, so its ``retention`` is the main lever on
    Redis memory; at most the records' 30 days, whose stories it points at."""

    retention: Seconds = Field(default=30 * 86400.0, ge=3600.0, le=30 * 86400.0)


DEFAULT_RETRY = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


MIN_DIGEST = 1.0  # a digest period shorter than a second is one message per story, slower


class MessageTemplate(Frozen):
    """The text of a message for channels that send text (Apprise): ``$field`` placeholders
    (``watcher.template``). ``item`` is one story's line in a digest."""

    title: str = "$headline: $title"
    body: str = "$outlet · $published_at\n$link\n\n$excerpt"
    digest_title: str = "$count stories ($period_start to $period_end)"
    item: str = "- $title ($outlet) $link"

    @field_validator("title", "body", "item")
    @classmethod
    def _story_fields(cls, value: str) -> str:
        if found := template.problems(value, template.STORY_FIELDS):
            raise ValueError(found[0])
        return value

    @field_validator("digest_title")
    @classmethod
    def _digest_fields(cls, value: str) -> str:
        if found := template.problems(value, template.DIGEST_FIELDS):
            raise ValueError(found[0])
        return value


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{0,31}://")


def _check_channel_url(value: str) -> str:
    """An HTTP(S) URL is checked as every fetched URL is; another scheme (an Apprise URL:
    ``mailto://``, ``json://``, ``ntfy://``) is the channel's to check (``channels.check``)."""
    if value.lower().startswith(("http://", "https://")):
        return check_http_url(value)
    if not _SCHEME.match(value):
        raise ValueError("is not a URL (scheme://...)")
    return value


class Webhook(Frozen):
    """One notification channel entry; ``format`` names its kind (``watcher.webhooks.channels``
    registers them: standard, slack, discord, apprise)."""

    name: Name
    url: Annotated[str, AfterValidator(_check_channel_url)]
    secret: SecretStr | None = None
    topics: list[Name] = []
    events: list[Literal["story.created", "story.updated"]] = []
    format: Name = "standard"
    retry: tuple[RetryDelay, ...] = Field(default=DEFAULT_RETRY, max_length=MAX_RETRIES)
    digest: Seconds | None = Field(default=None, ge=MIN_DIGEST)  # one message per period
    template: MessageTemplate = MessageTemplate()

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        """Checked here so ``watcher check`` reports it; the message never holds the value."""
        if value is None:
            return value
        if not value.get_secret_value():
            raise ValueError("is empty (set it, e.g. whsec_ + base64)")
        parse_secrets(value.get_secret_value())
        return value


class Notify(Webhook):
    """A ``notify:`` entry: a channel whose ``url`` is an Apprise URL (mailto://, ntfy://...)."""

    format: Name = "apprise"


class Config(Frozen):
    redis: RedisConfig = RedisConfig()
    data_dir: Path = Path("./data")
    http: HttpConfig = HttpConfig()
    fetch: FetchConfig = FetchConfig()
    dedupe: DedupeConfig = DedupeConfig()
    stream: StreamConfig = StreamConfig()
    index: IndexConfig = IndexConfig()
    # Worker processes for CPU work on untrusted bytes; 0 means one per core.
    workers: int = Field(default=0, ge=0, le=64)
    # Polls in flight at once per process (``run`` and ``once``); the Redis pool is sized for it.
    concurrency: int = Field(default=64, ge=1, le=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    boilerplate_rules: list[Path] = []  # user rules files, merged over the packaged defaults
    topics: list[Topic] = []
    sources: list[Source] = Field(min_length=1)
    webhooks: list[Webhook] = []
    notify: list[Notify] = []

    @model_validator(mode="after")
    def _check_names(self) -> Self:
        if problems := _entry_problems(_Names.of_config(self)):
            raise ValueError("\n".join(problems))
        return self

    def channel_entries(self) -> list[tuple[str, Webhook]]:
        """Every channel with its key path: ``webhooks[i]`` entries, then ``notify[i]``."""
        entries = [(f"webhooks[{i}]", hook) for i, hook in enumerate(self.webhooks)]
        return entries + [(f"notify[{i}]", hook) for i, hook in enumerate(self.notify)]

    @property
    def channels(self) -> list[Webhook]:
        """Every channel the Dispatcher delivers to, whichever section it was written in."""
        return [*self.webhooks, *self.notify]

    @property
    def worker_count(self) -> int:
        """``workers``, else the cores this process may use (a container's CPU set)."""
        return self.workers or len(os.sched_getaffinity(0)) or 1

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)


@dataclass(frozen=True, slots=True)
class _Names:
    """What the checks between entries read: names that must be unique (sources, channels,
    topics: each a list of ``(key path, name)``), the topic names known, each topic filter
    (``(key path, names)``) and the proxies with the private networks allowed.

    Built from a validated Config, or from the YAML tree when some fields failed, so that
    ``watcher check`` reports a duplicate name or an unknown topic in the same run as a
    typo'd key, not after it is fixed.
    """

    unique: list[list[tuple[str, object]]]
    known: set[object]
    filters: list[tuple[str, Sequence[object]]]
    proxies: list[tuple[str, str]]
    allow: bool | tuple[str, ...] | None  # None: fetch itself is invalid, proxies unchecked

    @classmethod
    def of_config(cls, config: Config) -> _Names:
        channels = config.channel_entries()
        proxies = [("fetch.proxy", config.fetch.proxy)]
        proxies += [(f"sources[{i}].proxy", s.proxy or "") for i, s in enumerate(config.sources)]
        filters: list[tuple[str, Sequence[object]]] = [
            (f"sources[{i}]", s.topics) for i, s in enumerate(config.sources)
        ]
        filters += [(path, hook.topics) for path, hook in channels]
        return cls(
            unique=[
                [(f"sources[{i}]", s.name) for i, s in enumerate(config.sources)],
                [(path, hook.name) for path, hook in channels],
                [(f"topics[{i}]", t.name) for i, t in enumerate(config.topics)],
            ],
            known={t.name for t in config.topics},
            filters=filters,
            proxies=proxies,
            allow=config.fetch.allow_private_networks,
        )

    @classmethod
    def of_tree(cls, tree: dict[str, Any]) -> _Names:
        """The same from the raw tree: only entries that are mappings, names that are
        strings and proxies that parse count (the rest already has a field problem)."""
        sources, topics = _entries(tree, "sources"), _entries(tree, "topics")
        channels = _entries(tree, "webhooks") + _entries(tree, "notify")
        filtered = [(p, e["topics"]) for p, e in sources + channels if _is_list(e.get("topics"))]
        fetch = _fetch_config(tree.get("fetch"))
        proxies = [(f"{p}.proxy", e["proxy"]) for p, e in sources if _is_proxy(e.get("proxy"))]
        return cls(
            unique=[_named(sources), _named(channels), _named(topics)],
            known={e.get("name") for _, e in topics},
            filters=filtered if _is_list(tree.get("topics", [])) else [],
            proxies=[("fetch.proxy", fetch.proxy), *proxies] if fetch else [],
            allow=fetch.allow_private_networks if fetch else None,
        )


def _entries(tree: dict[str, Any], section: str) -> list[tuple[str, dict[str, Any]]]:
    items = tree.get(section)
    if not isinstance(items, list):
        return []
    return [(f"{section}[{i}]", e) for i, e in enumerate(items) if isinstance(e, dict)]


def _named(entries: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, object]]:
    return [(path, e["name"]) for path, e in entries if isinstance(e.get("name"), str)]


def _is_list(value: object) -> bool:
    return isinstance(value, list)


def _is_proxy(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        check_proxy_url(value)
    except ValueError:
        return False
    return True


def _fetch_config(fetch: object) -> FetchConfig | None:
    """``fetch`` when it validates: proxies are checked against its private networks."""
    try:
        return FetchConfig.model_validate(fetch or {})
    except ValidationError:
        return None


def _entry_problems(names: _Names) -> list[str]:
    """``path: message`` lines: duplicate names, refused proxies, unknown topics."""
    problems = [line for group in names.unique for line in _duplicates(group)]
    if names.allow is not None:
        problems += _refused_proxies(names.proxies, names.allow)
    for where, topics in names.filters:
        for j, name in enumerate(topics):
            if isinstance(name, str) and name not in names.known:
                problems.append(f"{where}.topics[{j}]: unknown topic {name!r}")
    return problems


def _duplicates(entries: list[tuple[str, object]]) -> list[str]:
    """Names are unique within a group (channels across ``webhooks`` and ``notify``: they
    name Redis keys)."""
    seen: set[object] = set()
    out = []
    for path, name in entries:
        if name in seen:
            out.append(f"{path}.name: duplicate name {name!r}")
        seen.add(name)
    return out


def _problem(line: str) -> Problem:
    path, _, message = line.partition(": ")
    return Problem(path, message)


def _refused_proxies(proxies: list[tuple[str, str]], allow: bool | tuple[str, ...]) -> list[str]:
    """A proxy at an address the SSRF guard refuses is a config error when the URL says the
    address (a name is resolved, and refused, when a fetch connects to it)."""
    out = []
    for path, url in proxies:
        host = proxy_host(url) if url else ""
        if host and _is_ip(host) and is_blocked(host, allow):
            out.append(f"{path}: the proxy's address {host} is {not_public(host)}")
    return out


def refused_sources(config: Config) -> list[str]:
    """Sources whose URL is a literal address the SSRF guard refuses: each will fail every
    poll (``private_address``). A warning for ``watcher check``, not a config error: a source
    failure never stops the daemon or the other sources (SPEC, "Bad input"). A host name is not
    looked up (check does no DNS, and a name may resolve elsewhere at fetch time)."""
    allow = config.fetch.allow_private_networks
    out = []
    for i, source in enumerate(config.sources):
        host = proxy_host(source.url)
        if _is_ip(host) and is_blocked(host, allow):
            out.append(f"sources[{i}].url: {host} is {not_public(host)}")
    return out


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def interpolate(tree: Any, env: Mapping[str, str], path: str = "") -> tuple[Any, list[Problem]]:
    """Replace ``${VAR}`` and ``${VAR:-default}`` (the default also when VAR is empty, as in the
    shell and docker compose); an unset VAR without a default is a problem at its key path."""
    problems: list[Problem] = []
    if isinstance(tree, dict):
        out_d = {}
        for key, value in tree.items():
            out_d[key], sub = interpolate(value, env, f"{path}.{key}" if path else str(key))
            problems += sub
        return out_d, problems
    if isinstance(tree, list):
        out_l = []
        for i, value in enumerate(tree):
            item, sub = interpolate(value, env, f"{path}[{i}]")
            out_l.append(item)
            problems += sub
        return out_l, problems
    if not isinstance(tree, str):
        return tree, problems

    def sub_var(match: Any) -> str:  # an re2 match: groups as in re
        name, default = match[1], match[2]
        if default is not None and not env.get(name):  # as in the shell: unset or empty
            return default
        if name in env:
            return env[name]
        problems.append(Problem(path, f"environment variable {name} is not set"))
        return ""

    return _VAR.sub(sub_var, tree), problems


def parse_config(tree: Any, env: Mapping[str, str]) -> Config:
    """Interpolate and validate a loaded YAML tree; ConfigError lists every problem."""
    if not isinstance(tree, dict):
        raise ConfigError([Problem("", "the config must be a YAML mapping")])
    tree, problems = interpolate(tree, env)
    try:
        config = Config.model_validate(tree)
    except ValidationError as exc:
        problems += problems_from(exc, Config)
        if all(err["loc"] for err in exc.errors()):  # fields failed: _check_names did not run
            problems += [_problem(line) for line in _entry_problems(_Names.of_tree(tree))]
        raise ConfigError(dedupe(problems)) from None
    if problems:
        raise ConfigError(problems)
    return config


def load_config(path: str | Path, env: Mapping[str, str]) -> Config:
    """Read, interpolate and validate ``path``; ConfigError names the file and each key path.

    The file is read bounded and parsed by ``safeyaml`` (size, depth and alias expansion
    limits), so no file, however hostile, gets past here as anything but a ConfigError.
    """
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        problem = Problem("", f"cannot read config: {exc.strerror or exc}")
        raise ConfigError([problem], file=str(path)) from None
    try:
        return config_from_bytes(data, env)
    except ConfigError as exc:
        raise ConfigError(exc.problems, file=str(path)) from None


def config_from_bytes(data: bytes, env: Mapping[str, str]) -> Config:
    """Config file bytes → Config; anything wrong with them, however hostile, is a ConfigError."""
    try:
        tree = safeyaml.load(data)
    except safeyaml.YamlProblem as exc:
        raise ConfigError([Problem("", str(exc))]) from None
    return parse_config(tree, env)
