"""Config: YAML → ``${VAR}`` interpolation → typed, frozen models (validated once, passed down)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
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

from watcher import safeyaml
from watcher.errors import ConfigError, Problem
from watcher.safeyaml import MAX_BYTES
from watcher.urlcheck import check_http_url, check_redis_url
from watcher.webhooks.signing import parse_secrets

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


Seconds = Annotated[float, BeforeValidator(parse_duration)]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


HttpUrlStr = Annotated[str, AfterValidator(check_http_url)]
RetryDelay = Annotated[float, BeforeValidator(parse_duration), Field(ge=MIN_RETRY)]


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


class Source(Frozen):
    name: Name
    type: Literal["feed", "sitemap", "page"]
    url: HttpUrlStr
    every: Seconds = Field(default=600.0, ge=MIN_EVERY)
    max_age: Seconds = 7 * 86400.0
    topics: list[Name] = []


class DedupeConfig(Frozen):
    """Near-duplicate matching and re-checks of known articles for edits (issue 5)."""

    horizon: Seconds = Field(default=30 * 86400.0, gt=0)  # copies match stories this recent
    recheck_every: Seconds = 3 * 3600.0  # a still-listed story is re-fetched this often ...
    recheck_for: Seconds = 2 * 86400.0  # ... for this long after first seen (0 turns it off)
    settle: Seconds = Field(default=0.0, ge=0)  # a copy naming another outlet waits this long
    #                                            for its original before story.created (0: off)


DEFAULT_RETRY = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class Webhook(Frozen):
    name: Name
    url: HttpUrlStr
    secret: SecretStr
    topics: list[Name] = []
    events: list[Literal["story.created", "story.updated"]] = []
    format: Literal["standard", "slack", "discord"] = "standard"
    retry: tuple[RetryDelay, ...] = Field(default=DEFAULT_RETRY, max_length=MAX_RETRIES)

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: SecretStr) -> SecretStr:
        """Checked here so ``watcher check`` reports it; the message never holds the value."""
        if not value.get_secret_value():
            raise ValueError("is empty (set it, e.g. whsec_ + base64)")
        parse_secrets(value.get_secret_value())
        return value


class Config(Frozen):
    redis: RedisConfig = RedisConfig()
    data_dir: Path = Path("./data")
    http: HttpConfig = HttpConfig()
    fetch: FetchConfig = FetchConfig()
    dedupe: DedupeConfig = DedupeConfig()
    # Worker processes for CPU work on untrusted bytes; 0 means one per core.
    workers: int = Field(default=0, ge=0, le=64)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    boilerplate_rules: list[Path] = []  # user rules files, merged over the packaged defaults
    topics: list[Topic] = []
    sources: list[Source] = Field(min_length=1)
    webhooks: list[Webhook] = []

    @model_validator(mode="after")
    def _check_names(self) -> Self:
        problems = _duplicate_names("sources", self.sources) + _duplicate_names(
            "webhooks", self.webhooks
        )
        problems += _duplicate_names("topics", self.topics)
        known = {t.name for t in self.topics}
        filters = [("sources", i, s.topics) for i, s in enumerate(self.sources)]
        filters += [("webhooks", i, w.topics) for i, w in enumerate(self.webhooks)]
        for section, i, names in filters:
            for j, name in enumerate(names):
                if name not in known:
                    problems.append(f"{section}[{i}].topics[{j}]: unknown topic {name!r}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def worker_count(self) -> int:
        """``workers``, else the cores this process may use (a container's CPU set)."""
        return self.workers or len(os.sched_getaffinity(0)) or 1

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)


def _duplicate_names(section: str, items: list[Any]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, item in enumerate(items):
        if item.name in seen:
            out.append(f"{section}[{i}].name: duplicate name {item.name!r}")
        seen.add(item.name)
    return out


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


def _loc_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith(("function-", "function_", "tagged-union")):
            out += f".{part}" if out else part
    return out


def _problems_from(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        message = str(err["msg"]).removeprefix("Value error, ")
        if not err["loc"]:  # model-level checks report "path: message" lines themselves
            for line in message.splitlines():
                path, _, msg = line.partition(": ")
                problems.append(Problem(path, msg))
            continue
        problems.append(Problem(_loc_path(err["loc"]), message))
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """Union members (``bool | tuple``) report one error each; keep one line per path."""
    seen: dict[str, Problem] = {}
    for p in problems:
        key = p.path.rsplit(".", 1)[0] if p.path.endswith((".bool", ".tuple[str, ...]")) else p.path
        seen.setdefault(key, Problem(key, p.message))
    return list(seen.values())


def parse_config(tree: Any, env: Mapping[str, str]) -> Config:
    """Interpolate and validate a loaded YAML tree; ConfigError lists every problem."""
    if not isinstance(tree, dict):
        raise ConfigError([Problem("", "the config must be a YAML mapping")])
    tree, problems = interpolate(tree, env)
    try:
        config = Config.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_dedupe(problems + _problems_from(exc))) from None
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
