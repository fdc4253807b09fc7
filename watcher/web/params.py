"""Query parameters of the API and the dashboard → typed values. Pure; a bad one is a
``BadParam`` naming it and saying what it should be (400), never a traceback."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qs

from watcher.errors import WatcherError
from watcher.store.search import StoryQuery
from watcher.words import query_words

MAX_LIMIT = 200  # rows per page: a page of 200 sources renders in milliseconds (bench/)
MAX_OFFSET = 1_000_000  # past this, filter instead of paging
MAX_Q_CHARS = 400
MAX_NAME_CHARS = 200
MAX_DEAD = 200
MAX_QUERY_CHARS = 4096  # the whole query string; waitress bounds the request line anyway


class BadParam(WatcherError):
    """A query parameter that is not valid; the message names it (answered with 400)."""


def parse(query_string: str) -> dict[str, str]:
    """The query string's parameters (the last value of a repeated one)."""
    if len(query_string) > MAX_QUERY_CHARS:
        raise BadParam(f"the query string is over {MAX_QUERY_CHARS} characters")
    try:
        values = parse_qs(query_string, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise BadParam(f"the query string cannot be read: {exc}") from None
    return {k: v[-1] for k, v in values.items()}


def filled(params: Mapping[str, str]) -> dict[str, str]:
    """Without the empty ones: a dashboard form sends every field, blank or not."""
    return {k: v for k, v in params.items() if v.strip()}


def integer(params: Mapping[str, str], name: str, default: int, least: int, most: int) -> int:
    if name not in params:
        return default
    raw = params[name]
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 12:
        raise BadParam(f"{name}: {raw[:40]!r} is not a whole number")
    value = int(raw)
    if not least <= value <= most:
        raise BadParam(f"{name}: {value} is not between {least} and {most}")
    return value


def text(params: Mapping[str, str], name: str, most: int = MAX_NAME_CHARS) -> str | None:
    raw = params.get(name, "")
    if len(raw) > most:
        raise BadParam(f"{name}: longer than {most} characters")
    return raw or None


def moment(params: Mapping[str, str], name: str) -> datetime | None:
    """ISO 8601; without a zone it is UTC."""
    if name not in params:
        return None
    raw = params[name]
    if len(raw) > 64:
        raise BadParam(f"{name}: longer than 64 characters")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadParam(f"{name}: {raw!r} is not an ISO 8601 time (2026-12-01T09:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def paging(params: Mapping[str, str], limit: int = 50) -> tuple[int, int]:
    """(offset, limit)."""
    return (
        integer(params, "offset", 0, 0, MAX_OFFSET),
        integer(params, "limit", limit, 1, MAX_LIMIT),
    )


def story_query(params: Mapping[str, str]) -> StoryQuery:
    """``topic``, ``source``, ``since``, ``q``, ``offset``, ``limit`` → StoryQuery."""
    offset, limit = paging(params)
    q = text(params, "q", MAX_Q_CHARS)
    return StoryQuery(
        words=query_words(q) if q else (),
        topic=text(params, "topic"),
        source=text(params, "source"),
        since=moment(params, "since"),
        offset=offset,
        limit=limit,
    )


def wants_nothing(params: Mapping[str, str], query: StoryQuery) -> bool:
    """A ``q`` made only of words the index does not keep ("the") matches no story."""
    return bool(params.get("q", "").strip()) and not query.words
