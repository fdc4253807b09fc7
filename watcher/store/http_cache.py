"""Conditional GET validators (ETag / Last-Modified) per URL, shared by every replica."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from watcher.dedupe import url_key
from watcher.store import translated
from watcher.store.keys import Keys

VALIDATOR_TTL = 30 * 86400  # a source unpolled for a month starts over with a plain GET


class HttpCache:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._client = client
        self._keys = keys

    @translated
    async def get(self, url: str) -> tuple[str | None, str | None]:
        """(etag, last_modified) stored for ``url``, or (None, None)."""
        etag, modified = await self._client.hmget(
            self._keys.http_cache(url_key(url)), ["etag", "last_modified"]
        )
        return (str(etag) if etag else None), (str(modified) if modified else None)

    @translated
    async def put(self, url: str, etag: str | None, last_modified: str | None) -> None:
        """Store the validators of a 200 answer; a response without any clears them."""
        key = self._keys.http_cache(url_key(url))
        mapping: dict[FieldT, EncodableT] = {
            k: v for k, v in (("etag", etag), ("last_modified", last_modified)) if v
        }
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if mapping:
                pipe.hset(key, mapping=mapping)
                pipe.expire(key, VALIDATOR_TTL)
            await pipe.execute()
