"""Wiring: Config → Redis client, Fetcher, stores, pipeline deps. The one place that knows all."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from scrapers.clean import Rules, load_rules
from scrapers.errors import ScrapeError
from scrapers.fetch import Fetcher, FetchSettings, TextDecoder, body_text
from watcher import metrics, tasks
from watcher.adaptive import Bounds, next_interval, seen_in
from watcher.config import Config, FetchConfig, Source
from watcher.errors import WorkerFailed
from watcher.model import PollReport
from watcher.pipeline import Deps, Progress, poll_source
from watcher.store import Client, connect, ping, pool_size
from watcher.store.boilerplate import RedisParagraphCounter
from watcher.store.fingerprints import NearDupIndex
from watcher.store.hostgate import HOLD_MARGIN, RedisPoliteness
from watcher.store.http_cache import HttpCache
from watcher.store.keys import Keys
from watcher.store.leases import Intervals
from watcher.store.retention import StreamPolicy, own_groups
from watcher.store.search import StoryIndex
from watcher.store.sites import SiteStore
from watcher.store.status import SourceStatus
from watcher.store.stories import Stories
from watcher.tasks import WorkerSetup, load
from watcher.webhooks.delivery import Dispatcher
from watcher.words import Indexed
from watcher.workers import Workers

log = structlog.get_logger("watcher.app")


def replica_id() -> str:
    """Names this process in Redis (consumer groups, leases): host, pid and a random tail, so a
    restarted process on a recycled pid is a new replica, not a ghost of the old one."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def shared_politeness(fetch: FetchConfig, client: Client, keys: Keys) -> RedisPoliteness:
    """``per_host``, ``delay`` and Retry-After counted over every replica on this Redis."""
    hold = fetch.timeout + HOLD_MARGIN  # a live request ends by the timeout; later = dead replica
    return RedisPoliteness(client, keys, per_host=fetch.per_host, delay=fetch.delay, hold=hold)


def rules_of(config: Config) -> Rules:
    """Packaged boilerplate rules, user files merged on top; RulesError names file:line."""
    return load_rules(*config.boilerplate_rules)


def workers_of(config: Config) -> Workers:
    """The worker pool (not started): ``workers`` processes, ``fetch.parse_timeout`` per task,
    each loading the rules files and topics once, logging at the level this process logs at
    (``cli`` set it up from the config and ``WATCHER_LOG_LEVEL``)."""
    setup = WorkerSetup(
        rule_files=tuple(config.boilerplate_rules),
        topics=tuple(config.topics),
        log_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
    )
    return Workers(
        config.worker_count,
        deadline=config.fetch.parse_timeout,
        initializer=load,
        initargs=(setup,),
    )


def stream_policy(config: Config, keys: Keys) -> StreamPolicy:
    """``stream.maxlen`` and ``stream.retention``, waiting for every configured channel
    (``webhooks`` and ``notify`` entries alike: each reads the stream through its own group)."""
    own = own_groups(keys, [channel.name for channel in config.channels])
    return StreamPolicy(config.stream.maxlen, config.stream.retention, own)


DECODE_SECONDS = 30.0  # inflating and decoding one body (5 MB at most) in a worker


def pooled_decoder(workers: Workers) -> TextDecoder:
    """Big and gzipped bodies are inflated and decoded in the worker pool: the daemon runs no
    CPU work on untrusted bytes on a thread (nor on the event loop). Decoding is bounded by
    ``max_bytes``, not by the page's structure, so it has a deadline of its own, not
    ``fetch.parse_timeout`` (which a short setting would make it fail, and the next poll
    again, where the parse it feeds is quarantined)."""

    async def decode(body: bytes, content_type: str | None, url: str, cap: int) -> str:
        seconds = max(DECODE_SECONDS, workers.deadline)
        return await workers.run_within(seconds, url, body_text, body, content_type, url, cap)

    return decode


def fetch_settings(fetch: FetchConfig) -> FetchSettings:
    """The scrapers' own settings value: scrapers never import the service's config."""
    return FetchSettings(
        user_agent=fetch.user_agent,
        timeout=fetch.timeout,
        max_bytes=fetch.max_bytes,
        per_host=fetch.per_host,
        delay=fetch.delay,
        robots=fetch.robots,
        allow_private_networks=fetch.allow_private_networks,
        headers=tuple(fetch.headers.items()),
        proxy=fetch.proxy,
    )


@dataclass
class App:
    config: Config
    client: Client
    keys: Keys
    stories: Stories
    status: SourceStatus
    deps: Deps
    replica: str
    intervals: Intervals
    dispatcher: Dispatcher | None = None
    index: StoryIndex = field(init=False)
    _indexing: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.index = StoryIndex(self.client, self.keys, ttl=round(self.config.index.retention))

    @property
    def workers(self) -> Workers:
        """The pool that parses: ``run`` and ``once`` start it; ``aclose`` stops it."""
        return self.deps.workers

    @classmethod
    async def open(cls, config: Config, *, progress: Progress | None = None) -> App:
        """Connect to Redis (failing fast with StoreUnavailable) and build every collaborator."""
        client = connect(
            config.redis.url, config.data_dir, connections=pool_size(config.concurrency)
        )
        try:
            await ping(client, config.redis.url)
        except BaseException:
            await client.aclose()
            raise
        keys = Keys(config.redis.namespace)
        replica = replica_id()
        try:
            dispatcher = _dispatcher(config, client, keys, replica)
        except BaseException:
            await client.aclose()
            raise
        stories = Stories(client, keys, stream=stream_policy(config, keys))
        workers = workers_of(config)
        deps = Deps(
            fetcher=Fetcher(
                fetch_settings(config.fetch),
                politeness=shared_politeness(config.fetch, client, keys),
                decode_text=pooled_decoder(workers),
            ),
            stories=stories,
            http_cache=HttpCache(client, keys),
            workers=workers,
            counter=RedisParagraphCounter(client, keys, clock=time.time),
            sites=SiteStore(client, keys),
            neardup=NearDupIndex(client, keys, horizon=config.dedupe.horizon),
            dedupe=config.dedupe,
            progress=progress,
        )
        status = SourceStatus(client, keys)
        intervals = Intervals(client, keys)
        return cls(config, client, keys, stories, status, deps, replica, intervals, dispatcher)

    async def poll(self, source: Source, gate: asyncio.Semaphore | None = None) -> PollReport:
        """Poll one source and record its status (waiting for ``gate`` first, when given)."""
        if gate is not None:
            async with gate:
                return await self.poll(source)
        report = await poll_source(source, self.deps)
        metrics.record_poll(report)
        drift = None  # a poll that extracted nothing (a 304, say) leaves the figures as stored
        if report.figures:
            drift = await self.status.drift(source.name)
            for figures in report.figures:
                drift = drift.updated(figures)
            metrics.record_drift(source.name, drift.alarm())
        now = datetime.now(UTC)
        await self.status.save(report, now, drift)
        if source.adaptive:
            await self._learn(source, report)
        await self.index_new()
        return report

    async def _learn(self, source: Source, report: PollReport) -> None:
        """``every: auto``: the source's next interval from what this poll saw, in Redis."""
        current = await self.intervals.get(source.name) or source.interval
        bounds = Bounds(source.min_every, source.max_every)
        learned = next_interval(current, seen_in(report), bounds)
        if learned != current:
            await self.intervals.put(source.name, learned)

    def poll_gate(self) -> asyncio.Semaphore:
        """At most ``concurrency`` polls of this process at once (``once``'s cycle)."""
        return asyncio.Semaphore(self.config.concurrency)

    async def poll_all(self, names: Sequence[str] = ()) -> list[PollReport]:
        """One cycle over the chosen sources (all when none named), ``concurrency`` at once."""
        sources = [s for s in self.config.sources if not names or s.name in names]
        gate = self.poll_gate()
        return list(await asyncio.gather(*(self.poll(s, gate) for s in sources)))

    async def index_new(self) -> int:
        """Index what the stream gained (this poll's stories, and any other replica's) for the
        API and the dashboard; one catch-up at a time in this process. A failure to tokenize
        is logged and retried after the next poll: the poll itself went fine."""
        async with self._indexing:
            try:
                return await self.index.catch_up(self._tokenize)
            except (ScrapeError, WorkerFailed) as exc:
                log.warning("index_behind", reason=getattr(exc, "slug", "internal"), error=str(exc))
                return 0

    async def _tokenize(self, batch: list[tuple[str, str, str]]) -> list[Indexed | None]:
        return await self.workers.run("the stories stream", tasks.index_entries, batch)

    async def aclose(self) -> None:
        await self.workers.close()  # first: a busy worker is killed, never waited for
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
        await self.deps.fetcher.aclose()
        await self.client.aclose()


def _dispatcher(config: Config, client: Client, keys: Keys, replica: str) -> Dispatcher | None:
    """Webhook delivery, when endpoints are configured; a bad secret is a ConfigError here."""
    if not config.channels:
        return None
    return Dispatcher(
        client,
        keys,
        config.channels,
        consumer=replica,
        allow_private_networks=config.fetch.allow_private_networks,
        on_attempt=metrics.record_attempt,
    )
