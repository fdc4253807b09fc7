"""The read API of a real `watcher run`, fed by a loopback site: sources, stories, search,
one story's copies and versions, endpoints; the token; the status CLI agreeing with it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli, wait_until
from tests.support.receiver import SECRET
from tests.support.web import COPY, FIRST, LATER, SECOND, get, served_daemon, wait_for_stories

pytestmark = pytest.mark.slow

TOKEN = "tok-" + "7f3a9c1e5b2d4f60" * 2


def test_api_lists_sources_stories_and_one_story(
    site: Any, tmp_path: Path, redis_url: str, ns: str
) -> None:
    """Two stories and a copy of the first come out as two stories, the copy under also_at;
    each filter (q, topic, source, since) narrows them; a new poll adds the next one."""
    with served_daemon(site, tmp_path, redis_url, ns) as served:
        wait_for_stories(served, 2)
        port = served.port
        sources = get(port, "/api/sources").json()
        assert sources["total"] == 1
        (local,) = sources["items"]
        assert (local["name"], local["type"], local["every"]) == ("local-news", "feed", 2.0)
        assert local["polls"] >= 1
        assert local["new"] == 2
        assert local["duplicate"] >= 1
        assert local["last_success"] is not None
        assert local["failing"] is False

        listed = get(port, "/api/stories").json()
        order = [s["title"] for s in listed["items"]]  # newest first: one poll, either order
        assert sorted(order) == sorted([SECOND.title, FIRST.title])
        first = next(s for s in listed["items"] if s["title"] == FIRST.title)
        both = {f"{served.base}{FIRST.path}", f"{served.base}{COPY.path}"}  # either came first
        assert len(first["also_at"]) == 1
        assert {first["url"], *first["also_at"]} == both
        assert first["topics"] == ["meta-ai"]
        assert first["source"] == "local-news"

        def titles(query: str) -> list[str]:
            answer = get(port, f"/api/stories?{query}")
            assert answer.status == 200, answer.body
            return [s["title"] for s in answer.json()["items"]]

        assert titles("q=superintelligence") == [SECOND.title]
        assert titles("q=LLAMA%20developer") == [FIRST.title]
        assert titles("q=llama%20superintelligence") == []
        assert titles("q=the") == []  # a stopword alone finds nothing rather than everything
        assert titles("topic=meta-ai&source=local-news&limit=1") == order[:1]
        assert titles("topic=no-such-topic") == []
        assert titles("since=2999-01-01T00:00:00Z") == []
        assert titles("limit=1&offset=1") == order[1:]

        story = get(port, f"/api/stories/{first['id']}").json()
        assert story["also_at"] == first["also_at"]
        assert FIRST.body[0] in story["text"]
        assert [v["event"] for v in story["history"]] == ["story.created"]
        assert get(port, "/api/stories/0123456789abcdef01234567").status == 404

        served.publish(LATER)
        wait_for_stories(served, 3)
        assert titles("q=licence") == [LATER.title]


def test_api_rejects_bad_parameters_naming_them(
    site: Any, tmp_path: Path, redis_url: str, ns: str
) -> None:
    """A bad parameter is a 400 whose error names it; an unknown path a JSON 404; a write 405."""
    with served_daemon(site, tmp_path, redis_url, ns) as served:
        wait_until(lambda: get(served.port, "/api/sources").status == 200, what="the API")
        for query, named in [
            ("limit=0", "limit"),
            ("limit=abc", "limit"),
            ("offset=-1", "offset"),
            ("since=yesterday", "since"),
            ("q=" + "x" * 500, "q"),
        ]:
            answer = get(served.port, f"/api/stories?{query}")
            assert answer.status == 400, query
            assert answer.json()["error"].startswith(named), answer.json()
        assert get(served.port, "/api/stories/bad%20id").status == 400
        missing = get(served.port, "/api/nothing")
        assert (missing.status, "error" in missing.json()) == (404, True)
        assert get(served.port, "/api/openapi.json").json()["openapi"].startswith("3.1")


def test_api_and_status_json_say_the_same_of_a_source(
    site: Any, tmp_path: Path, redis_url: str, ns: str, receiver: Any
) -> None:
    """`watcher status --json` and /api/sources give one source the same facts (one view);
    /api/endpoints gives the endpoint the status JSON's row."""
    hook = receiver()
    with served_daemon(
        site,
        tmp_path,
        redis_url,
        ns,
        every="1h",  # polled once: the counts stand still while both are read
        webhooks=[{"name": "newsroom", "url": hook.url, "secret": SECRET}],
    ) as served:
        wait_for_stories(served, 2)
        wait_until(lambda: len(hook.requests) >= 2, what="two deliveries")
        wait_until(
            lambda: get(served.port, "/api/endpoints").json()["endpoints"][0]["delivered"] == 2,
            what="both deliveries counted",
        )  # the API answers already: two stories were listed through it
        # The daemon renews its lease every few seconds, moving expires_at: read the API before
        # and after `status` and compare with a pair the lease did not move between (a slow
        # `status` on a loaded machine can straddle a renewal).
        for _attempt in range(5):
            (before,) = get(served.port, "/api/sources").json()["items"]
            result = run_cli("status", "--json", "--config", str(served.config))
            assert result.returncode == 0, result.stderr
            status = json.loads(result.stdout)
            (api,) = get(served.port, "/api/sources").json()["items"]
            if before["lease"] == api["lease"]:
                break
        for name, value in status["sources"]["local-news"].items():
            assert api[name] == value, name
        assert api["lease"] == status["leases"]["local-news"]
        endpoints = get(served.port, "/api/endpoints").json()
        (row,) = endpoints["endpoints"]
        assert row == {"name": "newsroom", **status["webhooks"]["newsroom"]}
        assert endpoints["dead_letters"] == []


def test_token_is_enforced_and_probes_stay_open(
    site: Any, tmp_path: Path, redis_url: str, ns: str
) -> None:
    """With http.token set (from the environment), the API and dashboard answer 401 without
    it or with a wrong one, 200 with it (Bearer, or Basic as a browser sends it); the
    probes and /metrics ask for nothing."""
    with served_daemon(site, tmp_path, redis_url, ns, token=TOKEN) as served:
        port = served.port
        wait_until(lambda: get(port, "/readyz").status == 200, what="ready")
        assert get(port, "/healthz").status == 200
        assert get(port, "/metrics").status == 200
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        for path in ("/api/sources", "/api/stories", "/", "/stories", "/api/openapi.json"):
            none = get(port, path)
            assert none.status == 401, path
            assert none.headers.get("WWW-Authenticate", "").startswith("Basic")
            assert get(port, path, {"Authorization": f"Bearer {TOKEN}x"}).status == 401
            assert get(port, path, {"Authorization": "Bearer "}).status == 401
            assert get(port, path, bearer).status == 200, path
        basic = base64.b64encode(f"me:{TOKEN}".encode()).decode()
        assert get(port, "/", {"Authorization": f"Basic {basic}"}).status == 200
        assert TOKEN not in served.run.stderr


def test_endpoints_show_dead_letters_in_api_and_dashboard(
    site: Any, tmp_path: Path, redis_url: str, ns: str, receiver: Any
) -> None:
    """An endpoint that fails every attempt is unhealthy, and its given-up events are listed
    with their reasons, in /api/endpoints and on /webhooks alike."""
    failing = receiver(default=500)
    hook = {"name": "broken", "url": failing.url, "secret": SECRET, "retry": ["50ms"]}
    with served_daemon(site, tmp_path, redis_url, ns, webhooks=[hook]) as served:

        def dead_letters() -> int:
            answer = get(served.port, "/api/endpoints")
            return len(answer.json()["dead_letters"]) if answer.status == 200 else 0

        wait_until(lambda: dead_letters() >= 2, within=60, what="two dead letters")
        shown = get(served.port, "/api/endpoints").json()
        (row,) = shown["endpoints"]
        assert (row["name"], row["healthy"]) == ("broken", False)
        letter = shown["dead_letters"][0]
        assert letter["endpoint"] == "broken"
        assert letter["attempts"] == 2
        assert any("500" in reason for reason in letter["reasons"])
        assert letter["story"]["title"] in (FIRST.title, SECOND.title)
        page = get(served.port, "/webhooks")
        assert page.status == 200
        html = page.body.decode()
        assert 'data-endpoint="broken"' in html
        assert "unhealthy" in html
        assert html.count(f'href="/stories/{letter["story"]["id"]}"') >= 1
