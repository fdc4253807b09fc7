"""Config: pydantic's validation errors → Problems a user reads (key path, plain wording).

pydantic words its errors for programmers ("Extra inputs are not permitted", "Input should be
greater than or equal to 1"); ``watcher check`` is read by someone editing YAML. Each error keeps
its key path (SPEC) and gets a message in the config's own terms: an unknown key names the key
it is probably a typo of, a missing one the values it takes, and a bound on a duration is
written as a duration (``1s``, ``50ms``).
"""

from __future__ import annotations

import difflib
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from watcher.errors import Problem

__all__ = ["DURATION", "dedupe", "problems_from"]


class _Duration:
    """Marks an ``Annotated`` type as a duration in seconds, so its bounds read as ``1s``."""

    def __repr__(self) -> str:
        return "DURATION"


DURATION = _Duration()

# pydantic's bound errors: the context key holding the bound, and how we say it
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least"),
    "greater_than": ("gt", "must be more than"),
    "less_than_equal": ("le", "must be at most"),
    "less_than": ("lt", "must be less than"),
}
# a unit is used when the bound is a whole number of it (86400 s → 1d, 90 s → 90s)
_UNITS = (("w", 604800.0), ("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0))


def problems_from(exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One Problem per error, at its key path; model-level checks (empty ``loc``) report
    ``path: message`` lines themselves."""
    problems = []
    for err in exc.errors():
        if not err["loc"]:
            for line in _plain(err).splitlines():
                path, _, msg = line.partition(": ")
                problems.append(Problem(path, msg))
            continue
        problems.append(Problem(_loc_path(err["loc"]), _message(err, root)))
    return problems


def dedupe(problems: list[Problem]) -> list[Problem]:
    """Union members (``bool | tuple``) report one error each; keep one line per path."""
    seen: dict[str, Problem] = {}
    for p in problems:
        key = p.path.rsplit(".", 1)[0] if p.path.endswith((".bool", ".tuple[str, ...]")) else p.path
        seen.setdefault(key, Problem(key, p.message))
    return list(seen.values())


def _loc_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith(("function-", "function_", "tagged-union")):
            out += f".{part}" if out else part
    return out


def _plain(err: Any) -> str:
    return str(err["msg"]).removeprefix("Value error, ")


def _message(err: Any, root: type[BaseModel]) -> str:
    """What the user reads after the key path."""
    kind = err["type"]
    if kind == "extra_forbidden":
        model, _ = _walk(root, err["loc"][:-1])
        return _unknown_key(str(err["loc"][-1]), model)
    if kind == "missing":
        return _missing(root, err["loc"])
    if kind in _BOUNDS and err.get("ctx"):
        key, words = _BOUNDS[kind]
        _, info = _walk(root, err["loc"])
        bound = err["ctx"][key]
        shown = _duration(float(bound)) if _is_duration(info) else str(bound)
        return f"{words} {shown}"
    return _plain(err)


def _missing(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """``required key missing``, with the values it takes when they are a fixed few
    (``type``: feed, sitemap, page, site): pydantic says ``Field required``."""
    _, info = _walk(root, loc)
    choices = _choices(info.annotation) if info is not None else ()
    listed = f" (one of: {', '.join(choices)})" if choices else ""
    return f"required key missing{listed}"


def _choices(annotation: object) -> tuple[str, ...]:
    """The values of a ``Literal`` of strings, also inside ``Annotated`` or ``X | None``."""
    if get_origin(annotation) is Literal:
        return tuple(str(arg) for arg in get_args(annotation))
    for arg in get_args(annotation):
        if found := _choices(arg):
            return found
    return ()


def _unknown_key(key: str, model: type[BaseModel] | None) -> str:
    """``unknown key (did you mean 'every'?)`` when one key of the model is close."""
    if model is None:
        return "unknown key"
    keys = [info.alias or name for name, info in model.model_fields.items()]
    close = difflib.get_close_matches(key, keys, n=1)
    return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"


def _walk(
    root: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model reached by ``loc`` (list indexes skipped) and the last field on the way."""
    model: type[BaseModel] | None = root
    info: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        info = _field(model, part) if model is not None else None
        if info is None:
            return None, None
        model = _model_in(info.annotation)
    return model, info


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    """A field by its name or by its alias (``any`` is ``Topic.any_of``)."""
    fields = model.model_fields
    return fields.get(key) or next((f for f in fields.values() if f.alias == key), None)


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model a field holds: itself, or inside ``list[...]``, ``X | None``, ``Annotated``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _model_in(arg)) is not None:
            return found
    return None


def _is_duration(info: FieldInfo | None) -> bool:
    """Whether the field (or what it lists) is marked DURATION."""
    if info is None:
        return False
    return DURATION in info.metadata or _marked(info.annotation)


def _marked(annotation: object) -> bool:
    return any(arg is DURATION or _marked(arg) for arg in get_args(annotation))


def _duration(seconds: float) -> str:
    """A bound in seconds as the config writes durations: ``1s``, ``100ms``, ``30d``."""
    if 0 < seconds < 1:
        return f"{seconds * 1000:g}ms"
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
