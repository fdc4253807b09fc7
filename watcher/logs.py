"""structlog set-up: readable on a terminal, JSON lines otherwise; secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = ("secret", "authorization", "signature", "password", "token")
_USERINFO = re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+@")


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank secret-named fields and URL passwords wherever they appear in an event."""
    for key, value in list(event.items()):
        if any(s in key.lower() for s in _SECRET_KEYS):
            event[key] = "***"
        elif isinstance(value, str) and "@" in value:
            event[key] = _USERINFO.sub("***@", value)
    return event


def setup(level: str = "info", *, json: bool | None = None) -> None:
    """Configure structlog and route stdlib loggers (httpx, trafilatura, apscheduler) through it."""
    as_json = not sys.stderr.isatty() if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, renderer])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "trafilatura", "apscheduler", "htmldate", "courlan"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
