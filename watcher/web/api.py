"""``/api/*``: the read API's handlers, JSON in the shapes ``openapi.py`` documents.

Each handler takes the request's path and parameters and answers a ``Response``; the reads
run on the daemon's loop through the ``Bridge``. The JSON views are ``watcher.views``', the
same ones ``watcher status --json`` prints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from watcher import logs
from watcher.store.deliveries import DeadLetter, stream_time
from watcher.store.search import StoryPage
from watcher.views import api_source_json, brief_json, detail_json, iso
from watcher.web import params
from watcher.web.bridge import Bridge
from watcher.web.reads import EndpointsView

STORY_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-:.")


@dataclass(frozen=True, slots=True)
class Response:
    status: str
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def as_json(value: Any, status: str = "200 OK") -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body)


def error(status: str, message: str) -> Response:
    return as_json({"error": message}, status)


def sources(bridge: Bridge, query: Mapping[str, str]) -> Response:
    offset, limit = params.paging(query)
    page = bridge.call(lambda r: r.sources(offset, limit))
    items = [api_source_json(v) for v in page.views]
    return as_json({"items": items, "total": page.total, "offset": offset, "limit": limit})


def find_stories(bridge: Bridge, query: Mapping[str, str]) -> StoryPage:
    """The page of stories the parameters ask for (the API's and the dashboard's)."""
    wanted = params.story_query(query)
    if params.wants_nothing(query, wanted):
        return StoryPage((), 0, wanted.offset, wanted.limit)
    return bridge.call(lambda r: r.stories(wanted))


def stories(bridge: Bridge, query: Mapping[str, str]) -> Response:
    page = find_stories(bridge, query)
    return as_json(
        {
            "items": [brief_json(b) for b in page.stories],
            "total": page.total,
            "offset": page.offset,
            "limit": page.limit,
        }
    )


def is_story_id(story_id: str) -> bool:
    return 0 < len(story_id) <= params.MAX_NAME_CHARS and set(story_id) <= STORY_ID_CHARS


def story(bridge: Bridge, story_id: str) -> Response:
    if not is_story_id(story_id):
        return error("400 Bad Request", "id: not a story id")
    detail = bridge.call(lambda r: r.story(story_id))
    if detail is None:
        return error("404 Not Found", f"no story {story_id} (unknown, or past the retention)")
    return as_json(detail_json(detail))


def endpoints(bridge: Bridge, query: Mapping[str, str]) -> Response:
    dead = params.integer(query, "dead", 20, 0, params.MAX_DEAD)
    view = bridge.call(lambda r: r.endpoints(dead))
    return as_json(endpoints_json(view))


def endpoints_json(view: EndpointsView) -> dict[str, Any]:
    """Rows as ``watcher status --json`` has them (a receiver's reply may echo a secret:
    redacted as the CLI redacts it), and the dead letters."""
    rows = [{"name": name, **row} for name, row in view.endpoints.items()]
    return json.loads(logs.redact_text(json.dumps({"endpoints": rows}))) | {
        "dead_letters": [dead_json(d) for d in view.dead]
    }


def dead_json(letter: DeadLetter) -> dict[str, Any]:
    delivery = letter.delivery
    return {
        "id": letter.dead_id,
        "at": iso(stream_time(letter.dead_id)) if _is_stream_id(letter.dead_id) else None,
        "endpoint": letter.endpoint,
        "event": delivery.event,
        "attempts": delivery.attempts,
        "reasons": [logs.redact_text(r) for r in delivery.reasons],
        "story": delivery.data,
    }


def _is_stream_id(value: str) -> bool:
    ms, _, seq = value.partition("-")
    return ms.isdigit() and seq.isdigit()
