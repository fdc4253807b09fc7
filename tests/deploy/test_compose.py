"""docker-compose.yml, read as compose would with .env copied from .env.example (no engine here)."""

from __future__ import annotations

import re

import pytest

from tests.deploy import files
from watcher.cli import build_parser
from watcher.config import load_config, parse_duration

SCALE_EXAMPLE = 3  # the README's `docker compose up --scale watcher=3`


def test_compose_defines_redis_and_watcher_services() -> None:
    """Both services exist, and redis's named volume is declared at the top level."""
    compose = files.compose()
    assert {"redis", "watcher"} <= set(compose["services"])
    assert "redis-data" in (compose.get("volumes") or {})


def test_compose_redis_image_is_a_pinned_redis_7() -> None:
    """A full 7.x.y tag: never `latest`, never a moving major or minor tag."""
    image = files.service("redis")["image"]
    assert re.fullmatch(r"redis:7\.\d+\.\d+(-[a-z0-9.]+)?", image), image


def test_compose_redis_persists_with_aof_every_second() -> None:
    """redis-server runs with --appendonly yes and --appendfsync everysec."""
    command = files.service("redis")["command"]
    words = command.split() if isinstance(command, str) else command
    assert words[0] == "redis-server"
    pairs = dict(zip(words[1::2], words[2::2], strict=False))
    assert pairs["--appendonly"] == "yes"
    assert pairs["--appendfsync"] == "everysec"


def test_compose_redis_data_lives_on_the_named_volume() -> None:
    """/data (where the redis image writes its AOF) is the declared named volume."""
    mounts = [str(v).split(":")[:2] for v in files.service("redis")["volumes"]]
    assert ["redis-data", "/data"] in mounts


def test_compose_redis_healthcheck_pings() -> None:
    """Redis is healthy only when redis-cli ping gets PONG."""
    check = files.service("redis")["healthcheck"]
    test = " ".join(check["test"]) if isinstance(check["test"], list) else check["test"]
    assert "redis-cli ping" in test
    assert "PONG" in test


def test_compose_watcher_waits_for_healthy_redis_and_restarts() -> None:
    """The watcher starts only after redis is healthy, restarts unless stopped, reads .env."""
    watcher = files.service("watcher")
    assert watcher["depends_on"]["redis"]["condition"] == "service_healthy"
    assert watcher["restart"] == "unless-stopped"
    assert watcher["env_file"] in (".env", [".env"])
    assert watcher["build"] in (".", {"context": "."})


def test_compose_watcher_uses_the_compose_redis() -> None:
    """REDIS_URL defaults to the redis service on the compose network, and the config uses it."""
    url = files.environment(files.service("watcher"))["REDIS_URL"]
    assert url == "redis://redis:6379/0"
    args = build_parser().parse_args(files.service("watcher")["command"])
    config = load_config(files.mounted_repo_path(args.config), files.container_env())
    assert config.redis.url == url


def test_compose_watcher_command_parses_with_the_cli() -> None:
    """The command is `run` with a --config the image's CMD also uses, under a mounted dir."""
    command = files.service("watcher")["command"]
    args = build_parser().parse_args(command)
    assert args.command == "run"
    assert command == files.runtime().last("CMD").exec_form
    assert files.mounted_repo_path(args.config).is_file()


def test_compose_watcher_mounts_config_read_only() -> None:
    """./config is mounted over the image's /app/config, read-only."""
    assert "./config:/app/config:ro" in files.service("watcher")["volumes"]


@pytest.mark.parametrize("with_env_example", [True, False], ids=["env-example", "no-env"])
def test_compose_watcher_publishes_metrics_for_every_replica(with_env_example: bool) -> None:
    """Container port = http.port; loopback host ports, one per replica of the scale example."""
    watcher = files.service("watcher", with_env_example)
    assert "container_name" not in watcher, "a fixed container name makes --scale fail"
    args = build_parser().parse_args(watcher["command"])
    port = load_config(files.mounted_repo_path(args.config), files.container_env()).http.port
    (mapping,) = watcher["ports"]
    assert mapping["target"] == port
    assert mapping["host_ip"] == "127.0.0.1"
    first, _, last = str(mapping["published"]).partition("-")
    assert int(last or first) - int(first) + 1 >= SCALE_EXAMPLE


def test_compose_watcher_keeps_the_image_healthcheck() -> None:
    """The watcher's health is the image's HEALTHCHECK on /healthz, not disabled by compose."""
    check = files.service("watcher").get("healthcheck", {})
    assert not check.get("disable")
    assert check.get("test", ["CMD"]) != ["NONE"]
    _options, command = files.healthcheck()
    assert "/healthz" in command[-1]


def test_compose_watcher_stops_gracefully() -> None:
    """Compose waits longer than the daemon's 10 s shutdown before it sends SIGKILL."""
    grace = parse_duration(files.service("watcher")["stop_grace_period"])
    assert grace > 10
