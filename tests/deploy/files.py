"""Readers for the deployment files (Dockerfile, .dockerignore, compose, .env.example).

No Docker engine on the test machine, so the tests read these files the way Docker and
compose would, as far as this repository uses their syntax: line continuations, exec-form
JSON, ``${VAR:-default}`` interpolation, and .dockerignore's last-match-wins rules.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from watcher.config import interpolate

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")  # ${VAR}, ${VAR:-x}, ${VAR-x}, ${VAR:?x}
_ASSIGN = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")
_CODE_ENV = re.compile(r"""os\.(?:environ\.get\(|environ\[|getenv\()\s*["']([A-Z][A-Z0-9_]*)["']""")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper-case: FROM, RUN, COPY, ...
    args: str  # everything after the keyword, continuations joined

    @property
    def exec_form(self) -> list[str] | None:
        """``["a", "b"]`` arguments as a list; None for the shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        parsed = json.loads(text)
        assert isinstance(parsed, list), self.args
        return [str(part) for part in parsed]


@dataclass
class Stage:
    base: str  # the FROM image, global ARG defaults substituted
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.base} has no {keyword}"
        return found[-1]


def instructions(text: str) -> list[Instruction]:
    """Dockerfile text → instructions; comments dropped, backslash continuations joined."""
    out: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def stages(text: str) -> list[Stage]:
    """Split at each FROM; ``FROM ${ARG}`` gets the ARG's default from before the first FROM."""
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m[1], m[0]), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            found.append(Stage(base, name))
        elif not found and ins.keyword == "ARG":
            key, _, default = ins.args.partition("=")
            global_args[key.strip()] = default.strip()
        elif found:
            found[-1].instructions.append(ins)
    return found


@cache
def dockerfile() -> tuple[Stage, ...]:
    return tuple(stages(DOCKERFILE.read_text(encoding="utf-8")))


def runtime() -> Stage:
    """The final stage: the image that runs."""
    return dockerfile()[-1]


def env_pairs(args: str) -> dict[str, str]:
    """``ENV A=1 B="two words"`` → {"A": "1", "B": "two words"} (the ``ENV A 1`` form too)."""
    words = shlex.split(args)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def image_env() -> dict[str, str]:
    """Every ENV of the runtime stage, as the container starts with it."""
    env: dict[str, str] = {}
    for ins in runtime().all("ENV"):
        env.update(env_pairs(ins.args))
    return env


def healthcheck() -> tuple[dict[str, str], list[str]]:
    """The runtime HEALTHCHECK's ``--options`` and its exec-form command."""
    options_text, sep, command = runtime().last("HEALTHCHECK").args.partition("CMD ")
    assert sep, "HEALTHCHECK has no CMD"
    options = dict(w.removeprefix("--").split("=", 1) for w in options_text.split())
    parsed = Instruction("CMD", command).exec_form
    assert parsed is not None, "HEALTHCHECK CMD should be exec form (no shell in slim needed)"
    return options, parsed


# --- .dockerignore ---
def ignore_rules() -> list[tuple[bool, str]]:
    """(is_exception, pattern) per line, in order."""
    rules = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            rules.append((negate, line.removeprefix("!").strip("/")))
    return rules


def is_ignored(path: str, rules: list[tuple[bool, str]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for negate, pattern in rules:
        globs = [pattern, pattern.removeprefix("**/")] if pattern.startswith("**/") else [pattern]
        if any(fnmatchcase(c, g) for c in candidates for g in globs):
            ignored = not negate
    return ignored


# --- .env.example ---
@dataclass(frozen=True)
class EnvExample:
    values: dict[str, str]  # active NAME=value lines: what compose passes to the container
    listed: set[str]  # active and commented-out (# NAME=...) names
    undocumented: set[str]  # listed names with no comment line right above them


@cache
def env_example() -> EnvExample:
    values: dict[str, str] = {}
    listed: set[str] = set()
    undocumented: set[str] = set()
    previous = ""
    for raw in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        match = _ASSIGN.match(line)
        if match:
            listed.add(match[1])
            if not line.startswith("#"):
                values[match[1]] = match[2]
            if not (previous.startswith("#") and not _ASSIGN.match(previous)):
                undocumented.add(match[1])
        previous = line
    return EnvExample(values, listed, undocumented)


# --- compose ---
def raw_compose() -> dict[str, Any]:
    tree = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(tree, dict)
    return tree


@cache
def compose(with_env_example: bool = True) -> dict[str, Any]:
    """docker-compose.yml as compose sees it with .env copied from .env.example (or no .env).

    Compose's ``${VAR:-x}`` falls back on unset *or empty*; the config loader's only on unset,
    so empty values are dropped before reusing its interpolation.
    """
    values = env_example().values if with_env_example else {}
    tree, problems = interpolate(raw_compose(), {k: v for k, v in values.items() if v})
    assert not problems, problems
    return dict(tree)


def service(name: str, with_env_example: bool = True) -> dict[str, Any]:
    services = compose(with_env_example)["services"]
    assert name in services, f"docker-compose.yml has no {name!r} service"
    return dict(services[name])


def environment(svc: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment:``, list or mapping form."""
    env = svc.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def container_env() -> dict[str, str]:
    """The watcher container's environment: image ENV, then env_file, then environment."""
    return {**image_env(), **env_example().values, **environment(service("watcher"))}


def mounted_repo_path(container_path: str) -> Path:
    """The repository file behind a container path, through the watcher's bind mounts."""
    for volume in service("watcher").get("volumes", []):
        source, _, rest = str(volume).partition(":")
        target = rest.split(":")[0]
        if source.startswith(".") and container_path.startswith(target.rstrip("/") + "/"):
            return REPO / source / container_path[len(target.rstrip("/")) + 1 :]
    raise AssertionError(f"{container_path} is not under any bind mount of the watcher")


# --- variables read ---
def variables_in(tree: Any) -> set[str]:
    """``${VAR}`` references in a loaded YAML tree's values (comments mention them too)."""
    if isinstance(tree, dict):
        return set().union(*(variables_in(v) for v in tree.values()))
    if isinstance(tree, list):
        return set().union(*(variables_in(v) for v in tree))
    return set(_REF.findall(tree)) if isinstance(tree, str) else set()


def config_variables() -> dict[str, set[str]]:
    """Every ``${VAR}`` the shipped configs and the compose file read, by file name."""
    paths = [*sorted((REPO / "config").glob("*.y*ml")), COMPOSE]
    return {p.name: variables_in(yaml.safe_load(p.read_text(encoding="utf-8"))) for p in paths}


def code_variables() -> set[str]:
    """Environment variables the service's own code reads (``os.environ.get("X")``)."""
    found: set[str] = set()
    for path in (REPO / "watcher").rglob("*.py"):
        found |= set(_CODE_ENV.findall(path.read_text(encoding="utf-8")))
    return found
