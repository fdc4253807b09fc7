"""The ``watcher`` command: argparse → commands; exit codes 0 / 1 / 2; all printing lives here."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapers import clean_text, extract
from scrapers.charset import decode
from scrapers.clean import RulesError
from scrapers.errors import ScrapeError
from scrapers.fetch import Fetcher
from scrapers.politeness import host_key
from watcher import logs
from watcher.app import App, fetch_settings, rules_of
from watcher.config import Config, FetchConfig, load_config
from watcher.errors import ConfigError, StoreUnavailable
from watcher.model import PollReport
from watcher.store.hostgate import held_hosts
from watcher.store.leases import LeaseView, holders
from watcher.webhooks.delivery import DrainReport
from watcher.webhooks.sender import origin

EXIT_OK, EXIT_FAIL, EXIT_CONFIG = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="watcher", description="Watch news coverage.")
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
    for p in sub.choices.values():  # `watcher once --config x` as well as `watcher --config x once`
        p.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


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
        rules_of(config)  # a broken rules file is a config problem, found before any work
    except ConfigError as exc:
        return _config_failed(exc)
    except RulesError as exc:
        print(f"{path}: boilerplate_rules: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check":
        print(f"{path}: ok ({len(config.sources)} sources, {len(config.topics)} topics)")
        return EXIT_OK
    logs.setup(os.environ.get("WATCHER_LOG_LEVEL", config.log_level))
    logs.register_secrets(secrets_of(config))
    try:
        return asyncio.run(_COMMANDS[args.command](config, args))
    except StoreUnavailable as exc:
        print(f"watcher: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return EXIT_OK


def secrets_of(config: Config) -> list[tuple[str, str]]:
    """What the logs must never show: each webhook secret, and each webhook URL beyond its
    origin (Slack and Discord put the token in the path)."""
    out = []
    for hook in config.webhooks:
        out += [(part, "***") for part in hook.secret.get_secret_value().split()]
        if hook.url.rstrip("/") != origin(hook.url):
            out.append((hook.url, f"{origin(hook.url)}/***"))
            out += logs.url_secrets(hook.url)
    return out


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

    app = await App.open(config)
    try:
        await Runner(app).run()
    finally:
        await app.aclose()
    return EXIT_OK


async def _once(config: Config, args: argparse.Namespace) -> int:
    unknown = [n for n in args.source if n not in {s.name for s in config.sources}]
    if unknown:
        print(f"watcher: unknown source(s): {', '.join(unknown)}", file=sys.stderr)
        return EXIT_CONFIG
    app = await App.open(config, progress=_progress if sys.stderr.isatty() else None)
    try:
        await app.workers.start()
        if app.dispatcher is not None:
            await app.dispatcher.ensure_groups()  # a new endpoint sees this cycle's stories
        reports = await app.poll_all(args.source)
        if sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr)
        for report in reports:
            print(format_report(report))
        if app.dispatcher is not None:
            print(format_drain(await app.dispatcher.drain(args.wait)))
    finally:
        await app.aclose()
    return EXIT_OK


def format_drain(report: DrainReport) -> str:
    """The webhook line of ``watcher once``: what was delivered, and what waits for later."""
    line = (
        f"webhooks: delivered {report.delivered}, failed attempts {report.failed}, "
        f"dead {report.dead}, retrying later {report.waiting}"
    )
    if report.disabled:
        line += f"; disabled (410 Gone): {', '.join(report.disabled)}"
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
        print(f"replay: {queued} events queued")
        print(format_drain(await app.dispatcher.drain(args.wait)))
    finally:
        await app.aclose()
    return EXIT_OK


def _progress(source: str, done: int, total: int) -> None:
    print(f"\r\033[K{source}: {done}/{total} articles", end="", file=sys.stderr, flush=True)


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
    lines += [f"  failed {f.url}: {f.reason}" for f in report.failures]
    return "\n".join(lines)


async def _tail(config: Config, args: argparse.Namespace) -> int:
    app = await App.open(config)
    try:
        async for _id, event, doc in app.stories.tail(from_start=args.from_start):
            data = json.loads(doc.to_json())
            print(json.dumps({"event": event, **data}, ensure_ascii=False), flush=True)
    finally:
        await app.aclose()
    return EXIT_OK


async def _status(config: Config, args: argparse.Namespace) -> int:
    app = await App.open(config)
    try:
        status = await app.status.all()
        length = await app.client.xlen(app.keys.stories)
        indexed = await app.deps.neardup.count() if app.deps.neardup is not None else 0
        hooks = await app.dispatcher.status() if app.dispatcher is not None else {}
        leases = {
            v.source: v
            for v in await holders(app.client, app.keys, [s.name for s in config.sources])
        }
        held = await held_hosts(app.client, app.keys)
    finally:
        await app.aclose()
    if args.json:
        body = {
            "stream_length": length,
            "near_duplicate_index": indexed,
            "sources": status,
            "leases": {name: _lease_json(view) for name, view in leases.items()},
            "rate_limited": {host: until.isoformat() for host, until in held.items()},
            "webhooks": hooks,
        }
        print(logs.redact_text(json.dumps(body, indent=2)))  # a receiver's reply may echo a token
        return EXIT_OK
    print(f"stream {app.keys.stories}: {length} stories; near-duplicate index: {indexed} stories")
    for host, until in held.items():
        print(f"{format_hold(host, until)}: requests to it are deferred")
    for source in config.sources:
        print(format_status(source.name, status.get(source.name, {})))
        print(format_lease(leases[source.name]))
        if (host := host_key(source.url)) in held:
            print(f"  polls deferred: {format_hold(host, held[host])}")
    for name, row in hooks.items():
        print(logs.redact_text(format_endpoint(name, row)))  # the last reason quotes the receiver
    return EXIT_OK


def format_hold(host: str, until: datetime) -> str:
    """How a held host reads everywhere: "rate limited by HOST until T" (T in UTC)."""
    return f"rate limited by {host} until {until.astimezone(UTC).isoformat(timespec='seconds')}"


def format_lease(view: LeaseView) -> str:
    """Which ``watcher run`` replica polls the source, and when it is due next."""
    due = view.due_at.isoformat(timespec="seconds") if view.due_at else "now"
    if view.holder is None:
        return f"  lease: free (no daemon holds it), next poll due {due}"
    until = view.expires_at.isoformat(timespec="seconds") if view.expires_at else "-"
    return f"  lease: held by {view.holder} until {until}, next poll due {due}"


def _lease_json(view: LeaseView) -> dict[str, str | None]:
    return {
        "holder": view.holder,
        "expires_at": view.expires_at.isoformat() if view.expires_at else None,
        "due_at": view.due_at.isoformat() if view.due_at else None,
    }


def format_endpoint(name: str, row: dict[str, Any]) -> str:
    """One endpoint: health first, then counts; only the target's origin, never a secret."""
    state = "DISABLED" if row["disabled"] else "healthy" if row["healthy"] else "UNHEALTHY"
    if row["pending"] is None:  # its state in Redis cannot be read
        head = f"webhook {name} ({row['format']} → {row['target']}): {state}"
        return f"{head}\n  failed: {row['problem']}"
    lines = [
        f"webhook {name} ({row['format']} → {row['target']}): {state}, pending {row['pending']}"
        f" (retrying {row['retrying']}), delivered {row['delivered']}, failed {row['failed']},"
        f" dead {row['dead']}",
        f"  last success {row['last_success'] or '-'}, last failure {row['last_failure'] or '-'}"
        + (f": {row['last_reason']}" if row.get("last_reason") else ""),
    ]
    if row["disabled"]:
        lines.append(f"  disabled: {row['disabled_reason']}")
    if row.get("problem"):
        lines.append(f"  failed: {row['problem']}")
    return "\n".join(lines)


def format_status(name: str, row: dict[str, str]) -> str:
    if not row:
        return f"{name}: never polled"
    get = row.get
    lines = [
        f"{name}: last poll {get('last_poll', '-')}, last success {get('last_success', '-')}, "
        f"next due {get('next_due', '-')}",
        f"  polls {row.get('polls', 0)}, items {row.get('items', 0)}, new {row.get('new', 0)}, "
        f"duplicate {row.get('duplicate', 0)}, filtered {row.get('filtered', 0)}, "
        f"failed {row.get('failed', 0)}, updated {row.get('updated', 0)} "
        f"(upgraded {row.get('upgraded', 0)})",
    ]
    if row.get("drift_alarm"):
        lines.append(f"  DRIFT: {row['drift_alarm']}: extraction changed sharply; check the rules")
    if row.get("last_error"):
        when, reason = get("last_error_at", "-"), get("last_reason")
        lines.append(f"  last error {when}: {reason}: {row['last_error']}")
    return "\n".join(lines)


def _extract(args: argparse.Namespace, path: Path) -> int:
    """``watcher extract``: works without Redis and, when the config file is absent, without it."""
    target = Path(args.target)
    try:
        if args.text:
            print(clean_text(target.read_text(encoding="utf-8"), url=args.url))
            return EXIT_OK
        if target.is_file():
            html = decode(target.read_bytes(), "")
            article = extract(html, url=args.url)
        else:
            fetch = load_config(path, os.environ).fetch if path.is_file() else FetchConfig()
            html, url = asyncio.run(_fetch_one(args.target, fetch))
            article = extract(html, url=url)
    except (ScrapeError, OSError) as exc:
        print(f"watcher: {args.target}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(json.dumps(_article_json(article), ensure_ascii=False, indent=2))
    return EXIT_OK


async def _fetch_one(url: str, fetch: FetchConfig) -> tuple[str, str]:
    async with Fetcher(fetch_settings(fetch)) as fetcher:
        page = await fetcher.get(url)
    return page.text, page.url


def _article_json(article: Any) -> dict[str, Any]:
    out = {k: getattr(article, k) for k in article.__dataclass_fields__}
    if out.get("published_at"):
        out["published_at"] = out["published_at"].isoformat()
    return out


_COMMANDS = {
    "run": _run,
    "once": _once,
    "tail": _tail,
    "status": _status,
    "webhooks": _webhooks,
}


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
