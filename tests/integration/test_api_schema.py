"""The read API against its own OpenAPI document: schemathesis generates requests from it (a
bounded number per operation) and checks each answer of a real `watcher run` against it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings

from tests.support.site import Site
from tests.support.web import Served, served_daemon, wait_for_stories
from watcher.metrics import package_version
from watcher.web.openapi import document

pytestmark = pytest.mark.slow

schema = schemathesis.openapi.from_dict(document(package_version()))
EXAMPLES = 30  # per operation: enough to meet every parameter's edges, few enough for CI


@pytest.fixture(scope="module")
def served(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One daemon for the whole module (its own namespace, removed after)."""
    ns = f"test-{uuid4().hex[:8]}"
    try:
        with (
            Site() as site,
            served_daemon(site, tmp_path_factory.mktemp("api"), redis_url, ns) as s,
        ):
            wait_for_stories(s, 2)
            yield s
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{ns}:*", count=500))
        if keys:
            client.unlink(*keys)
        client.close()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_as_its_openapi_document_says(case: Any, served: Served) -> None:
    """Every generated request gets an answer the document allows: its status, content type
    and body schema; never a 5xx."""
    case.call_and_validate(base_url=f"http://127.0.0.1:{served.port}")


def test_openapi_document_names_every_api_path(served: Served) -> None:
    """The document describes the four read endpoints the README lists."""
    assert set(document("x")["paths"]) == {
        "/api/sources",
        "/api/stories",
        "/api/stories/{id}",
        "/api/endpoints",
    }
