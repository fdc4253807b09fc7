"""The dashboard and API's WSGI app: access first, then one handler per path.

/                      sources' health        /api/sources
/stories               latest stories, search /api/stories?topic=&source=&since=&q=
/stories/<id>          one story              /api/stories/<id>
/webhooks              endpoints, dead letters /api/endpoints
                                              /api/openapi.json
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from watcher.metrics import package_version
from watcher.web import access, api, pages, params
from watcher.web.api import Response
from watcher.web.bridge import Bridge, Unavailable
from watcher.web.openapi import document

Start = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], Start], Iterable[bytes]]

REFRESH_SECONDS = 30  # list pages reload themselves this often; a story page does not
SOURCES_PER_PAGE = 100
DEAD_SHOWN = 50  # the newest dead letters on /webhooks


def make_web_app(bridge: Bridge, token: str | None) -> WsgiApp:
    """The WSGI app for every path but the probes and /metrics (``server.py`` routes those)."""
    openapi = json.dumps(document(package_version())).encode("utf-8")

    def app(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        is_api = path.startswith("/api/")
        response = _answer(environ, path, is_api, bridge, token, openapi)
        headers = [("Content-Type", response.content_type), ("Cache-Control", "no-store")]
        headers += [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")]
        if not is_api:
            headers += [("Content-Security-Policy", pages.CSP), ("X-Frame-Options", "DENY")]
        headers += [*response.headers, ("Content-Length", str(len(response.body)))]
        start(response.status, headers)
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [response.body]

    return app


def _answer(
    environ: Mapping[str, Any],
    path: str,
    is_api: bool,
    bridge: Bridge,
    token: str | None,
    openapi: bytes,
) -> Response:
    if (denied := access.check(environ, token)) is not None:
        challenge = (("WWW-Authenticate", 'Basic realm="news-watcher", charset="UTF-8"'),)
        failed = _failed(is_api, denied.status, denied.reason)
        return _with(failed, challenge) if denied.challenge else failed
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return _with(_failed(is_api, "405 Method Not Allowed", "read-only"), (("Allow", "GET"),))
    try:
        query = params.parse(environ.get("QUERY_STRING", ""))
        if path == "/api/openapi.json":
            return Response("200 OK", openapi)
        return _route(path, query if is_api else params.filled(query), bridge)
    except params.BadParam as exc:
        return _failed(is_api, "400 Bad Request", str(exc))
    except Unavailable as exc:
        failed = _failed(is_api, "503 Service Unavailable", str(exc))
        return _with(failed, (("Retry-After", "1"),))


def _route(path: str, query: dict[str, str], bridge: Bridge) -> Response:
    if path == "/api/sources":
        return api.sources(bridge, query)
    if path == "/api/stories":
        return api.stories(bridge, query)
    if path.startswith("/api/stories/"):
        return api.story(bridge, unquote(path.removeprefix("/api/stories/")))
    if path == "/api/endpoints":
        return api.endpoints(bridge, query)
    if path in ("/", "/sources"):
        return _sources_page(bridge, query)
    if path == "/stories":
        return _stories_page(bridge, query)
    if path.startswith("/stories/"):
        return _story_page(bridge, unquote(path.removeprefix("/stories/")))
    if path == "/webhooks":
        return _webhooks_page(bridge)
    return _failed(path.startswith("/api/"), "404 Not Found", f"no page {path[:200]}")


def _html(body: bytes, status: str = "200 OK") -> Response:
    return Response(status, body, "text/html; charset=utf-8")


def _failed(is_api: bool, status: str, reason: str) -> Response:
    if is_api:
        return api.error(status, reason)
    return _html(pages.render("error.html", status=status, reason=reason, here=""), status)


def _with(response: Response, headers: tuple[tuple[str, str], ...]) -> Response:
    return Response(response.status, response.body, response.content_type, headers)


def _sources_page(bridge: Bridge, query: dict[str, str]) -> Response:
    offset, limit = params.paging(query, SOURCES_PER_PAGE)
    page = bridge.call(lambda r: r.sources(offset, limit))
    return _html(
        pages.render(
            "sources.html",
            here="sources",
            refresh=REFRESH_SECONDS,
            views=page.views,
            total=page.total,
            offset=offset,
            limit=limit,
            path="/",
            query=query,
        )
    )


def _stories_page(bridge: Bridge, query: dict[str, str]) -> Response:
    page = api.find_stories(bridge, query)
    return _html(
        pages.render(
            "stories.html",
            here="stories",
            refresh=REFRESH_SECONDS,
            stories=page.stories,
            total=page.total,
            offset=page.offset,
            limit=page.limit,
            path="/stories",
            query={k: v for k, v in query.items() if k != "offset"},
        )
    )


def _story_page(bridge: Bridge, story_id: str) -> Response:
    if not api.is_story_id(story_id):
        return _failed(False, "400 Bad Request", "not a story id")
    detail = bridge.call(lambda r: r.story(story_id))
    if detail is None:
        return _failed(False, "404 Not Found", f"no story {story_id} (unknown, or past retention)")
    return _html(pages.render("story.html", here="stories", brief=detail.brief, detail=detail))


def _webhooks_page(bridge: Bridge) -> Response:
    view = bridge.call(lambda r: r.endpoints(DEAD_SHOWN))
    shown = api.endpoints_json(view)  # redacted as the API and ``watcher status`` redact
    return _html(
        pages.render(
            "webhooks.html",
            here="webhooks",
            refresh=REFRESH_SECONDS,
            endpoints=shown["endpoints"],
            dead=shown["dead_letters"],
        )
    )
