"""A CLI that agrees with itself (issue 17): `status` text and JSON tell the same typed facts
with one next poll per source, failed polls apart from failed articles; `once` on a terminal,
after Ctrl-C and with every source unreachable; `--version`; a busy port; `run`'s start-up
schedule and seeded metrics; `tail` naming its stream. Real CLI, real Redis, loopback sites."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.builders import article_page, rss
from tests.support.cli import (
    REPO,
    daemon,
    line_with,
    meta_stories,
    run_cli,
    serve_stories,
    start_cli,
    stream,
    wait_until,
)
from tests.support.receiver import SECRET

pytestmark = pytest.mark.slow

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"
HEAD = re.compile(
    rf"^(?P<name>\S+): (?:never polled|last poll (?P<last_poll>{ISO}|-), "
    rf"last success (?P<last_success>{ISO}|-)), next poll (?P<next_poll>{ISO}|now)$"
)
COUNTS = re.compile(
    r"^  polls (?P<polls>\d+) \(failed (?P<polls_failed>\d+)\), articles (?P<items>\d+): "
    r"new (?P<new>\d+), updated (?P<updated>\d+) \(upgraded (?P<upgraded>\d+)\), "
    r"duplicate (?P<duplicate>\d+), "
    r"filtered (?P<filtered>\d+), failed (?P<articles_failed>\d+)$"
)
EVERY = re.compile(r"^  every (?P<every>[\d.e+]+)s(?P<auto> \(auto: learned, within .*\))?$")
LEASE = re.compile(r"^  lease: (?:free \(no daemon holds it\)|held by (?P<holder>\S+) until .*)$")


def parse_status_text(text: str) -> dict[str, dict[str, Any]]:
    """The source blocks of `watcher status` text, as the JSON would type them."""
    out: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] = {}
    for line in text.splitlines():
        if m := HEAD.match(line):
            current = out.setdefault(m["name"], {})
            for key in ("last_poll", "last_success", "next_poll"):
                value = m[key]
                current[key] = None if value in (None, "-", "now") else value
        elif m := COUNTS.match(line):
            current.update({k: int(v) for k, v in m.groupdict().items()})
        elif m := EVERY.match(line):
            current["every"] = float(m["every"])
            current["every_auto"] = m["auto"] is not None
        elif m := LEASE.match(line):
            current["holder"] = m["holder"]
    return out


def test_status_text_and_json_agree_typed_with_one_next_poll(
    site: Any,
    make_config: Callable[..., Path],
    redis_client: redis.Redis,
    ns: str,
    receiver: Callable[..., Any],
) -> None:
    """After a cycle with a good and a failing source: one "next poll" per source (the lease's
    resting marker, what the daemons obey), the failing source counts a failed poll and no
    failed article, `--json` is typed, and text and JSON show the same facts. An endpoint
    that failed every attempt is UNHEALTHY and its failure time is printed once."""
    stories = meta_stories(2)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    site.add("/broken.xml", "oops", status=500)
    rx = receiver(default=500)
    config = make_config(
        [
            {"name": "good", "type": "feed", "url": f"{base}/feed.xml", "every": "auto"},
            {"name": "broken", "type": "feed", "url": f"{base}/broken.xml"},
        ],
        webhooks=[{"name": "bot", "url": rx.url, "secret": SECRET, "retry": ["100ms"]}],
    )
    once = run_cli("once", "--wait", "3", "--config", str(config))
    assert once.returncode == 0, once.stderr[-3000:]
    assert "1 of 2 sources reachable" in once.stdout, once.stdout
    articles = [json.loads(x) for x in once.stderr.splitlines() if '"event": "article"' in x]
    assert {a["outcome"] for a in articles} == {"new"}, articles
    assert not [a for a in articles if "reason" in a], articles  # no empty reason= on new
    # a daemon's poll of "good" started its resting period: that is when it is next due
    redis_client.set(f"{ns}:resting:good", "replica", px=600_000)

    text = run_cli("status", "--config", str(config))
    as_json = run_cli("status", "--json", "--config", str(config))
    assert text.returncode == as_json.returncode == 0, text.stderr + as_json.stderr
    body = json.loads(as_json.stdout)
    assert "next due" not in text.stdout
    assert "next poll due" not in text.stdout
    blocks = parse_status_text(text.stdout)
    assert set(blocks) == set(body["sources"]) == {"good", "broken"}
    for name, shown in blocks.items():
        assert text.stdout.count(f"{name}: ") == 1
        row = {**body["sources"][name], "holder": body["leases"][name]["holder"]}
        assert len(shown) == 15, shown  # times, counts, interval and holder: each compared
        assert shown == {key: row[key] for key in shown}, (shown, row)
    good, broken = body["sources"]["good"], body["sources"]["broken"]
    assert (good["polls"], good["polls_failed"], good["new"], good["articles_failed"]) == (
        1,
        0,
        2,
        0,
    )
    assert (broken["polls"], broken["polls_failed"], broken["articles_failed"]) == (1, 1, 0)
    assert (broken["last_reason"], broken["last_success"]) == ("http_500", None)
    assert broken["next_poll"] is None
    assert blocks["broken"]["next_poll"] is None
    due = datetime.fromisoformat(good["next_poll"])
    assert 590 < (due - datetime.fromisoformat(good["last_poll"])).total_seconds() < 610
    for key in ("polls", "polls_failed", "items", "new", "duplicate", "filtered"):
        assert type(good[key]) is int, key
    for key in ("normal_chars", "recent_chars"):
        assert type(good["drift"][key]) is float, key
    assert type(good["drift"]["pages"]) is int
    # `every: auto` shows its learned interval: 2 new stories without enough dates: halved
    assert (good["every"], good["every_auto"]) == (300.0, True)
    assert (broken["every"], broken["every_auto"]) == (600.0, False)
    for key in ("last_poll", "last_success"):
        datetime.fromisoformat(good[key])
    assert type(body["stream_length"]) is int

    hook = body["webhooks"]["bot"]
    assert (hook["healthy"], hook["delivered"]) == (False, 0)
    assert hook["failed"] >= 2
    assert hook["dead"] >= 1
    assert hook["last_reason"].startswith("http_500"), hook["last_reason"]
    (line,) = [x for x in text.stdout.splitlines() if x.startswith("  last success")]
    assert line.count(hook["last_failure"][:19]) == 1, line
    assert "webhook bot (standard → http://127.0.0.1:" in text.stdout
    assert "): UNHEALTHY, pending" in text.stdout


def test_status_prints_the_embedded_redis_socket(
    site: Any, tmp_path: Path, redis_client: redis.Redis, ns: str
) -> None:
    """With no redis.url, `status` names the embedded server's real unix socket."""
    from tests.support.builders import write_config

    config = write_config(
        tmp_path / "embedded.yaml",
        redis={"url": "", "namespace": ns},
        data_dir=str(tmp_path / "data"),
        sources=[{"name": "s", "type": "feed", "url": site.url("/feed.xml")}],
    )
    out = run_cli("status", "--config", str(config))
    assert out.returncode == 0, out.stderr
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("embedded Redis: ")]
    path = line.removeprefix("embedded Redis: ").split(" ")[0]
    assert path.endswith("redis.socket"), line
    body = json.loads(run_cli("status", "--json", "--config", str(config)).stdout)
    assert body["redis_socket"].endswith("redis.socket")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("command", [["tail"], ["once", "--wait", "0"]])
def test_sigterm_ends_a_command_as_ctrl_c_does_and_its_embedded_redis_with_it(
    site: Any, tmp_path: Path, ns: str, command: list[str]
) -> None:
    """SIGTERM (`timeout`, `docker stop`) ends `tail` or `once` with exit 0 or 130 as Ctrl-C
    would, closing Redis first: the embedded server the command started stops with it. Killed
    by the signal's default action instead, the command left that server running, orphaned."""
    from tests.support.builders import write_config

    slow = site.url("/slow.xml")
    site.add("/slow.xml", rss([], site.url("")), delay=10)  # keeps `once` busy until the signal
    config = write_config(
        tmp_path / "embedded.yaml",
        redis={"url": "", "namespace": ns},
        data_dir=str(tmp_path / "data"),
        fetch={"allow_private_networks": ["127.0.0.1/32"]},
        sources=[{"name": "s", "type": "feed", "url": slow}],
    )
    proc = start_cli(*command, "--config", str(config))
    settings = tmp_path / "data" / "redis.db.settings"
    try:
        if command == ["tail"]:  # its first line comes once it reads the stream
            line_with(proc.stderr, "reading stream")
        else:
            wait_until(lambda: bool(site.hits("/slow.xml")), what="the poll")
        pid = int(Path(json.loads(settings.read_text())["pidfile"]).read_text())
        time.sleep(1)  # the command is inside its work: tail's read, once's poll
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == (0 if command == ["tail"] else 130), err[-2000:]
    assert "Traceback" not in err
    try:
        wait_until(lambda: not _alive(pid), within=15, what="the embedded Redis to stop")
    finally:
        if _alive(pid):  # the failure is reported; the server is not left running after it
            os.kill(pid, signal.SIGKILL)
    if command[0] == "once":
        assert "s: interrupted" in out, out


def test_version_is_the_installed_package_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"watcher {version('news-watcher')}"


def test_busy_port_is_one_line_naming_the_address_and_exit_1(
    make_config: Callable[..., Path], site: Any
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = make_config(
            [{"name": "s", "type": "feed", "url": site.url("/feed.xml")}],
            http={"host": "127.0.0.1", "port": port},
        )
        out = run_cli("run", "--config", str(config), timeout=60)
    assert out.returncode == 1, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    (line,) = [x for x in out.stderr.splitlines() if x.startswith("watcher: ")]
    assert f"cannot listen on 127.0.0.1:{port}: the port is in use" in line
    assert "http.port" in line
    assert "WATCHER_HTTP_PORT" in line


def test_default_config_takes_the_http_address_from_the_environment() -> None:
    from watcher.config import load_config

    default = REPO / "config" / "watcher.yaml"
    plain = load_config(default, {})
    assert (plain.http.host, plain.http.port) == ("0.0.0.0", 8080)
    moved = load_config(default, {"WATCHER_HTTP_PORT": "9191", "WATCHER_HTTP_HOST": "127.0.0.1"})
    assert (moved.http.host, moved.http.port) == ("127.0.0.1", 9191)


def _visible_lines(raw: str) -> list[str]:
    """What a terminal shows: colours dropped, each line what follows its last carriage
    return (the progress line always redraws as "\\r\\033[K..."), cleared lines dropped."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", raw.replace("\r\n", "\n"))
    lines = [line.split("\r")[-1].replace("\x1b[K", "") for line in plain.split("\n")]
    return [line for line in lines if line.strip()]


def _run_on_a_pty(args: list[str], within: float = 90) -> tuple[int, str, str]:
    """The CLI with its stderr on a pseudo-terminal (so it believes a person watches)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "COLUMNS": "200"},
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1, deadline - time.monotonic()))
        assert proc.stdout is not None
        return code, proc.stdout.read().decode(), b"".join(chunks).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        if proc.stdout:
            proc.stdout.close()


def test_once_on_a_terminal_draws_progress_that_log_lines_never_run_into(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    stories = meta_stories(4)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    site.add("/broken.xml", "oops", status=500)  # a warning line while the other polls
    config = make_config(
        [
            {"name": "good", "type": "feed", "url": f"{base}/feed.xml"},
            {"name": "broken", "type": "feed", "url": f"{base}/broken.xml"},
        ]
    )
    code, out, terminal = _run_on_a_pty(["once", "--config", str(config)])
    assert code == 0, terminal[-3000:]
    assert re.search(r"good: \d/4 articles", terminal), terminal  # the progress line was drawn
    shown = _visible_lines(terminal)
    assert [x for x in shown if " poll " in x or "] poll" in x], shown  # the poll lines stay
    assert not [x for x in shown if "] article " in x], shown  # articles: debug on a terminal
    assert not [x for x in shown if re.search(r"articles.*\d{4}-\d\d-\d\dT", x)], shown
    assert not [x for x in shown if re.search(r"\d+/4 articles", x)], shown  # cleared at the end
    assert "good: polled 4, new 4" in out
    assert "1 of 2 sources reachable" in out
    assert len(stream(redis_client, ns)) == 4


def test_once_ctrl_c_prints_the_partial_summary_and_exits_130(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """SIGINT after two of four stories are out: the summary of what was done, exit 130;
    the next cycle emits the other two (nothing was marked seen that was not emitted)."""
    stories = meta_stories(4)
    base = serve_stories(site, stories)
    for s in stories[2:]:
        site.add(s.path, article_page(s, base), delay=30)
    site.add("/feed.xml", rss(stories, base))
    config = make_config([{"name": "local", "type": "feed", "url": f"{base}/feed.xml"}])
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "once", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: len(stream(redis_client, ns)) >= 2, within=45, what="two stories")
        wait_until(lambda: len(site.hits(stories[3].path)) >= 1, what="the slow articles")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err[-3000:]
    assert "local: interrupted after 2 of 4 articles: new 2, duplicate 0" in out, out
    assert "1 of 1 sources reachable (1 interrupted)" in out, out
    assert "Traceback" not in err
    for s in stories[2:]:
        site.add(s.path, article_page(s, base))
    again = run_cli("once", "--config", str(config))
    assert "local: polled 4, new 2, duplicate 2" in again.stdout, again.stdout
    assert len(stream(redis_client, ns)) == 4


def test_once_with_every_source_unreachable_says_so(make_config: Callable[..., Path]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        config = make_config(
            [
                {"name": "a", "type": "feed", "url": f"http://127.0.0.1:{port}/a.xml"},
                {"name": "b", "type": "feed", "url": f"http://127.0.0.1:{port}/b.xml"},
            ]
        )
        out = run_cli("once", "--config", str(config))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "0 of 2 sources reachable" in out.stdout, out.stdout


def test_run_logs_when_each_source_is_next_due_and_seeds_last_success(
    site: Any, make_config: Callable[..., Path], redis_client: redis.Redis, ns: str
) -> None:
    """At start `run` logs each source's next poll: "now" on a fresh start; after a restart
    the time its interval ends. The restarted daemon's /metrics has the source's last success
    from Redis (it polled nothing yet), build info and the process and Python collectors."""
    from tests.integration.test_daemon_http import get, samples

    stories = meta_stories(1)
    base = serve_stories(site, stories)
    site.add("/feed.xml", rss(stories, base))
    config = make_config(
        [{"name": "local", "type": "feed", "url": f"{base}/feed.xml", "every": "1h"}]
    )

    def next_polls(stderr: str) -> list[dict[str, Any]]:
        lines = [json.loads(x) for x in stderr.splitlines() if x.startswith("{")]
        return [x for x in lines if x["event"] == "next_poll"]

    with daemon(config) as first:
        wait_until(lambda: next_polls(first.stderr), what="the next_poll line")
        assert next_polls(first.stderr)[0]["source"] == "local"
        assert next_polls(first.stderr)[0]["due"] == "now"
        wait_until(lambda: stream(redis_client, ns), what="the first poll")
        wait_until(lambda: redis_client.hget(f"{ns}:source:local", "last_success"))
        assert first.stop() == 0
    with daemon(config) as second:
        wait_until(lambda: next_polls(second.stderr), what="the next_poll line")
        (line,) = next_polls(second.stderr)
        due = datetime.fromisoformat(line["due"])
        last = datetime.fromisoformat(str(redis_client.hget(f"{ns}:source:local", "last_success")))
        assert 3500 < (due - last).total_seconds() < 3700, line
        listening = [json.loads(x) for x in second.stderr.splitlines() if "http_listening" in x]
        families = samples(get(listening[0]["port"], "/metrics")[1])
        (seeded,) = families["watcher_source_last_success_timestamp_seconds"]
        assert seeded.labels == {"source": "local"}
        assert abs(seeded.value - last.timestamp()) < 1
        (build,) = families["watcher_build_info"]
        assert build.labels == {
            "version": version("news-watcher"),
            "python": sys.version.split()[0],
        }
        names = {s.name for f in families.values() for s in f}
        assert {"process_resident_memory_bytes", "python_info"} <= names
        assert "python_gc_objects_collected_total" in names
        assert second.stop() == 0
    assert len(stream(redis_client, ns)) == 1


def test_tail_names_the_stream_on_stderr_and_keeps_stdout_for_json(
    make_config: Callable[..., Path], ns: str, site: Any
) -> None:
    config = make_config([{"name": "s", "type": "feed", "url": site.url("/feed.xml")}])
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "tail", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        said = ""
        for _ in range(20):  # log lines may come first
            ready, _, _ = select.select([proc.stderr], [], [], 30)
            assert ready, "tail said nothing on stderr"
            said = proc.stderr.readline()
            if "reading stream" in said:
                break
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"reading stream {ns}:stories on " in said, said  # then the Redis URL
    assert "for new entries" in said
    assert out == ""
