"""The OpenAPI 3.1 document of the read API (``/api/openapi.json``): data, kept beside the code
it describes; tests check every answer against it (schemathesis) so the two cannot drift."""

from __future__ import annotations

from typing import Any

from watcher.web.params import MAX_DEAD, MAX_LIMIT, MAX_OFFSET, MAX_Q_CHARS

_NULL_STR = {"type": ["string", "null"]}
STORY_ID_PATTERN = "^[A-Za-z0-9_.:-]{1,200}$"  # what ``api.is_story_id`` accepts
_COUNT = {"type": "integer", "minimum": 0}

_DRIFT = {
    "type": "object",
    "required": ["pages", "normal_chars", "recent_chars", "alarm"],
    "properties": {
        "pages": _COUNT,
        "normal_chars": {"type": "number"},
        "recent_chars": {"type": "number"},
        "alarm": _NULL_STR,
    },
}

_COUNTERS: tuple[str, ...] = (
    *("polls", "polls_failed", "items", "new", "updated", "upgraded", "duplicate"),
    *("filtered", "articles_failed"),
)
_TIMES: tuple[str, ...] = (
    *("last_poll", "last_success", "last_deferred", "last_error_at", "next_poll"),
    *("deferred_until", "last_warning_at"),
)

SOURCE = {
    "type": "object",
    "required": [
        *("name", *_COUNTERS, *_TIMES, "last_reason", "last_error", "last_warning"),
        *("drift", "lease"),
    ],
    "properties": {
        "name": {"type": "string"},
        "type": {"enum": ["feed", "sitemap", "page", None]},
        "host": _NULL_STR,
        "every": {"type": ["number", "null"], "description": "seconds between polls"},
        "failing": {"type": "boolean", "description": "the last poll failed"},
        **{c: _COUNT for c in _COUNTERS},
        **{t: {**_NULL_STR, "format": "date-time"} for t in _TIMES},
        "last_reason": _NULL_STR,
        "last_error": _NULL_STR,
        "last_warning": {**_NULL_STR, "description": "the source was read only partly"},
        "drift": _DRIFT,
        "lease": {
            "type": "object",
            "required": ["holder", "expires_at"],
            "properties": {"holder": _NULL_STR, "expires_at": _NULL_STR},
        },
    },
}

_STRINGS = {"type": "array", "items": {"type": "string"}}
STORY = {
    "type": "object",
    "required": ["id", "title", "url", "site", "source", "topics", "also_at", "event"],
    "properties": {
        "id": {"type": "string"},
        "title": _NULL_STR,
        "url": {"type": "string"},
        "site": {"type": "string"},
        "source": {"type": "string"},
        "topics": _STRINGS,
        "published_at": _NULL_STR,
        "fetched_at": _NULL_STR,
        "excerpt": {"type": "string"},
        "also_at": {**_STRINGS, "description": "URLs of the copies seen so far"},
        "event": {"type": "string", "description": "the latest: story.created or story.updated"},
        "created_at": _NULL_STR,
        "updated_at": _NULL_STR,
        "versions": {"type": "integer", "minimum": 0},
        "update_reason": _NULL_STR,
        "original_source": _NULL_STR,
    },
}

VERSION = {
    "type": "object",
    "required": ["stream_id", "event", "at", "text", "in_stream"],
    "properties": {
        "stream_id": {"type": "string"},
        "event": _NULL_STR,
        "at": _NULL_STR,
        "title": _NULL_STR,
        "url": _NULL_STR,
        "content_hash": _NULL_STR,
        "update_reason": _NULL_STR,
        "text": {**_NULL_STR, "description": "null once the stream was trimmed past it"},
        "in_stream": {"type": "boolean"},
    },
}

STORY_DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/Story"},
        {
            "type": "object",
            "required": ["text", "history"],
            "properties": {
                "text": _NULL_STR,
                "original_url": _NULL_STR,
                "history": {"type": "array", "items": {"$ref": "#/components/schemas/Version"}},
            },
        },
    ]
}

ENDPOINT = {
    "type": "object",
    "required": ["name", "healthy", "disabled", "target", "format"],
    "properties": {
        "name": {"type": "string"},
        "target": {"type": "string", "description": "the receiver's origin only"},
        "format": {"type": "string"},
        "healthy": {"type": "boolean"},
        "disabled": {"type": "boolean"},
        "disabled_reason": _NULL_STR,
        **{
            c: {"type": ["integer", "null"], "minimum": 0}
            for c in ("pending", "retrying", "delivered", "failed", "dead")
        },
        "last_success": _NULL_STR,
        "last_failure": _NULL_STR,
        "last_reason": _NULL_STR,
        "failing_since": _NULL_STR,
        "problem": _NULL_STR,
        "digest": {
            "type": ["object", "null"],
            "description": "null without `digest`: stories collected, not sent yet",
            "required": ["every", "collecting", "next_at"],
            "properties": {
                "every": {"type": "number", "description": "seconds"},
                "collecting": {"type": "integer", "minimum": 0},
                "next_at": _NULL_STR,
            },
        },
    },
}

DEAD_LETTER = {
    "type": "object",
    "required": ["id", "at", "endpoint", "event", "attempts", "reasons", "story"],
    "properties": {
        "id": {"type": "string"},
        "at": _NULL_STR,
        "endpoint": {"type": "string"},
        "event": {"type": "string"},
        "attempts": _COUNT,
        "reasons": _STRINGS,
        "story": {"type": "object", "description": "the webhook's data object"},
    },
}

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "total", "offset", "limit"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "total": _COUNT,
            "offset": _COUNT,
            "limit": _COUNT,
        },
    }


def _int_param(name: str, most: int, least: int, default: int, what: str) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": least, "maximum": most, "default": default}
    return {"name": name, "in": "query", "required": False, "description": what, "schema": schema}


def _str_param(name: str, what: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": what,
        "schema": {"type": "string", **schema},
    }


PAGING = [
    _int_param("offset", MAX_OFFSET, 0, 0, "items to skip"),
    _int_param("limit", MAX_LIMIT, 1, 50, "items per page"),
]


def _answers(schema: str, *codes: str) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    why = {
        "400": "a parameter is not valid (the error names it)",
        "401": "http.token is set and the request does not carry it",
        "403": "no http.token is set and the client is not on loopback",
        "404": "no such story (or it is past the retention)",
        "503": "Redis is unreachable or slow, or too many requests at once",
    }
    ok = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
    return {
        "200": {"description": "OK", **ok},
        **{code: {"description": why[code], **error} for code in ("401", "403", "503", *codes)},
    }


def document(version: str) -> dict[str, Any]:
    """The whole document; ``version`` is the package's."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "news-watcher read API",
            "version": version,
            "description": "Read-only. With http.token set, send Authorization: Bearer <token>; "
            "without it, only loopback clients are answered.",
        },
        "components": {
            "schemas": {
                "Source": SOURCE,
                "Story": STORY,
                "Version": VERSION,
                "StoryDetail": STORY_DETAIL,
                "Endpoint": ENDPOINT,
                "DeadLetter": DEAD_LETTER,
                "Error": ERROR,
                "SourcePage": _page("Source"),
                "StoryPage": _page("Story"),
                "Endpoints": {
                    "type": "object",
                    "required": ["endpoints", "dead_letters"],
                    "properties": {
                        "endpoints": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Endpoint"},
                        },
                        "dead_letters": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/DeadLetter"},
                        },
                    },
                },
            },
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"token": []}],
        "paths": {
            "/api/sources": {
                "get": {
                    "summary": "every source's health, config order",
                    "operationId": "listSources",
                    "parameters": PAGING,
                    "responses": _answers("SourcePage", "400"),
                }
            },
            "/api/stories": {
                "get": {
                    "summary": "stories, newest event first; every filter given must match",
                    "operationId": "listStories",
                    "parameters": [
                        _str_param("topic", "a configured topic's name", maxLength=200),
                        _str_param("source", "a source's name", maxLength=200),
                        _str_param("since", "ISO 8601; events at or after it", format="date-time"),
                        _str_param("q", "words, all in the title or text", maxLength=MAX_Q_CHARS),
                        *PAGING,
                    ],
                    "responses": _answers("StoryPage", "400"),
                }
            },
            "/api/stories/{id}": {
                "get": {
                    "summary": "one story: clean text, copies and versions",
                    "operationId": "getStory",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": STORY_ID_PATTERN},
                        }
                    ],
                    "responses": _answers("StoryDetail", "400", "404"),
                }
            },
            "/api/endpoints": {
                "get": {
                    "summary": "each webhook endpoint's health and the latest dead letters",
                    "operationId": "listEndpoints",
                    "parameters": [_int_param("dead", MAX_DEAD, 0, 20, "dead letters to show")],
                    "responses": _answers("Endpoints", "400"),
                }
            },
        },
    }
