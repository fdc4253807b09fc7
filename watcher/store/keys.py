"""Every Redis key name, in one place. All keys start with ``<namespace>:``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    namespace: str

    @property
    def stories(self) -> str:
        """The output stream (SPEC)."""
        return f"{self.namespace}:stories"

    @property
    def stories_trimmed(self) -> str:
        """STRING: the stream id before which ``stories`` entries were trimmed (retention)."""
        return f"{self.stories}:trimmed"

    @property
    def dead(self) -> str:
        """Webhook dead letters (SPEC)."""
        return f"{self.namespace}:webhooks:dead"

    def url(self, url_digest: str) -> str:
        """STRING story id (or ``filtered:<hash>``) for a canonical URL seen before."""
        return f"{self.namespace}:url:{url_digest}"

    def text(self, content_hash: str) -> str:
        """STRING story id for a normalized-text hash seen before."""
        return f"{self.namespace}:text:{content_hash.removeprefix('sha256:')}"

    @property
    def pending(self) -> str:
        """ZSET story id → Unix time its held copy is due (``dedupe.settle``)."""
        return f"{self.namespace}:pending"

    def story(self, story_id: str) -> str:
        """HASH: the story's record (url, canonical_url, title, content_hash, also_at JSON...)."""
        return f"{self.namespace}:story:{story_id}"

    def http_cache(self, url_digest: str) -> str:
        """HASH etag / last_modified of a fetched URL, for conditional GET."""
        return f"{self.namespace}:http:{url_digest}"

    def source(self, name: str) -> str:
        """HASH of a source's status: last poll, last success, last error, counters."""
        return f"{self.namespace}:source:{name}"

    def site(self, name: str) -> str:
        """STRING JSON of a ``type: site`` source's discovery (``watcher.site.SiteFound``)."""
        return f"{self.namespace}:site:{name}"

    @property
    def sources(self) -> str:
        """SET of source names that have a status hash (for ``watcher status``)."""
        return f"{self.namespace}:sources"

    # --- leases / hosts ---
    def lease(self, source: str) -> str:
        """STRING id of the replica polling ``source`` (PX: the lease); absent when free."""
        return f"{self.namespace}:lease:{source}"

    def resting(self, source: str) -> str:
        """STRING present while ``source`` is not due (PX: its interval, set as a poll starts)."""
        return f"{self.namespace}:resting:{source}"

    @property
    def due(self) -> str:
        """ZSET source → Redis-clock ms it is next due: the queue every replica claims from."""
        return f"{self.namespace}:due"

    @property
    def intervals(self) -> str:
        """HASH source → ms between its polls now (its ``every``, or learned for ``auto``)."""
        return f"{self.namespace}:intervals"

    @property
    def replicas(self) -> str:
        """ZSET replica id → Redis-clock ms its heartbeat expires (live ``watcher run``s)."""
        return f"{self.namespace}:replicas"

    def host_slots(self, host: str) -> str:
        """ZSET request token → Redis-clock ms it expires: requests in flight to ``host``."""
        return f"{self.namespace}:host:{host}:slots"

    def host_next(self, host: str) -> str:
        """STRING Redis-clock ms before which no request to ``host`` starts (delay, Retry-After)."""
        return f"{self.namespace}:host:{host}:next"

    def host_held(self, host: str) -> str:
        """STRING Redis-clock ms until which ``host`` is rate limited (PX: the hold)."""
        return f"{self.namespace}:host:{host}:held"

    @property
    def held_hosts(self) -> str:
        """ZSET host → Redis-clock ms its hold ends, for ``watcher status`` (pruned as read)."""
        return f"{self.namespace}:held"

    # --- learned boilerplate ---
    def boilerplate(self, host: str, generation: int) -> str:
        """HASH paragraph fingerprint → distinct pages of ``host`` seen with it, per generation."""
        return f"{self.namespace}:bp:{host}:{generation}"

    def boilerplate_pages(self, host: str, generation: int) -> str:
        """SET of page ids already counted for ``host`` in this generation."""
        return f"{self.namespace}:bp:{host}:{generation}:pages"

    # --- webhooks ---
    def webhook_group(self, endpoint: str) -> str:
        """Consumer-group name (not a key) of one endpoint on the ``stories`` stream."""
        return f"webhook:{endpoint}"

    def webhook_retries(self, endpoint: str) -> str:
        """ZSET: stream id → Unix time its next attempt is due (or its claim lease ends)."""
        return f"{self.namespace}:webhooks:retries:{endpoint}"

    def webhook_events(self, endpoint: str) -> str:
        """HASH: stream id → JSON {event, data, attempts, reasons} of a scheduled retry."""
        return f"{self.namespace}:webhooks:events:{endpoint}"

    def webhook_endpoint(self, endpoint: str) -> str:
        """HASH of an endpoint's state: counters, last success/failure, failing_since, disabled."""
        return f"{self.namespace}:webhooks:endpoint:{endpoint}"

    def digest_periods(self, endpoint: str) -> str:
        """ZSET: end of a digest period (Unix ms, as text) → that end in Unix seconds."""
        return f"{self.namespace}:webhooks:digests:{endpoint}"

    def digest_stories(self, endpoint: str, period_end_ms: int) -> str:
        """HASH: stream id → JSON data of a story collected for the digest ending then."""
        return f"{self.namespace}:webhooks:digest:{endpoint}:{period_end_ms}"

    # --- the story index (``/api/stories``, the dashboard): store/search.py ---
    @property
    def index_cursor(self) -> str:
        """STRING: the last ``stories`` stream id the index has read."""
        return f"{self.namespace}:ix:cursor"

    @property
    def index_stories(self) -> str:
        """ZSET story id → its latest event's time (ms·1000 + sequence): newest first."""
        return f"{self.namespace}:ix:stories"

    def index_topic(self, topic: str) -> str:
        """ZSET like ``index_stories``, of the stories matching ``topic``."""
        return f"{self.namespace}:ix:topic:{topic}"

    def index_source(self, source: str) -> str:
        """ZSET like ``index_stories``, of the stories found by ``source``."""
        return f"{self.namespace}:ix:source:{source}"

    def index_word(self, word: str) -> str:
        """ZSET like ``index_stories``, of the stories whose title or text has ``word``."""
        return f"{self.namespace}:ix:word:{word}"

    def index_doc(self, story_id: str) -> str:
        """HASH: the story's latest version in brief (title, site, topics...) for listings."""
        return f"{self.namespace}:ix:doc:{story_id}"

    def index_versions(self, story_id: str) -> str:
        """ZSET stream id → its time (as ``index_stories``): every event the story was in."""
        return f"{self.namespace}:ix:versions:{story_id}"

    def index_scratch(self, token: str) -> str:
        """ZSET made and deleted within one query: the intersection of its filters."""
        return f"{self.namespace}:ix:tmp:{token}"

    # --- near-duplicate index ---
    @property
    def neardup(self) -> str:
        """Prefix of the near-duplicate index; its Lua scripts build the per-epoch keys below.

        ``<prefix><epoch>:a:<bucket>`` STRING of 6-byte anchor records (tag, story ref),
        ``<prefix><epoch>:m:<chunk>`` STRING of fixed-size story records,
        ``<prefix><epoch>:n`` the epoch's story counter, ``<prefix>gen`` the add counter.
        All expire with their epoch.
        """
        return f"{self.namespace}:nd:"
