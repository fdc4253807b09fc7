"""The Dockerfile, read statically (no Docker engine here), and its HEALTHCHECK run for real."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import PurePosixPath

import pytest

from tests.deploy import files
from watcher.cli import build_parser
from watcher.config import Config, load_config
from watcher.server import Health, HttpServer

# Compilers and the packages that pull them in; none may be installed in the runtime stage.
BUILD_TOOLS = {"build-essential", "gcc", "g++", "cc", "clang", "make", "cmake", "pkg-config"}


def image_config() -> Config:
    """The config `watcher run` loads inside the container, in the container's environment."""
    path = build_parser().parse_args(files.runtime().last("CMD").exec_form).config
    return load_config(files.mounted_repo_path(path), files.container_env())


def test_dockerfile_builds_in_a_separate_stage_from_a_slim_python_311() -> None:
    """A builder stage and a fresh slim Python 3.11 runtime stage, not one derived from it."""
    stages = files.dockerfile()
    assert len(stages) >= 2
    final = stages[-1]
    assert final.base not in {s.name for s in stages[:-1]}, "runtime must start from a clean base"
    assert re.fullmatch(r"python:3\.11[\w.-]*-slim[\w.-]*", final.base), final.base


def test_dockerfile_runtime_stage_installs_no_build_tools() -> None:
    """The runtime stage installs nothing that compiles and copies only the builder's venv."""
    for ins in files.runtime().all("RUN"):
        words = set(ins.args.split())
        assert not words & BUILD_TOOLS, ins.args
        assert not [w for w in words if w.endswith("-dev")], f"headers are for building: {ins.args}"
        assert "pip install" not in ins.args, "dependencies belong in the builder's venv"
    copied = [i.args.split()[1:] for i in files.runtime().all("COPY") if "--from=" in i.args]
    assert copied == [["/opt/venv", "/opt/venv"]]


def test_dockerfile_installs_dependencies_before_copying_sources() -> None:
    """pyproject.toml is copied and installed before the sources, so code edits reuse the cache."""
    steps = [f"{i.keyword} {i.args}" for i in files.dockerfile()[0].instructions]

    def first(pattern: str) -> int:
        return next(n for n, step in enumerate(steps) if re.search(pattern, step))

    assert first(r"^COPY pyproject\.toml") < first(r"^RUN .*pip install -r")
    assert first(r"^RUN .*pip install -r") < first(r"^COPY watcher")
    assert first(r"^COPY watcher") < first(r"^RUN .*pip install --no-deps \.")


def test_dockerfile_runs_as_a_fixed_non_root_uid() -> None:
    """USER is a fixed numeric uid that is not root, and that uid is the one created."""
    user = files.runtime().last("USER").args.split(":")[0]
    assert user.isdigit(), f"USER {user}: a numeric uid lets runtimes verify it is not root"
    assert int(user) != 0
    created = " ".join(i.args for i in files.runtime().all("RUN"))
    assert f"--uid {user}" in created


def test_dockerfile_entrypoint_and_cmd_are_real_cli_arguments() -> None:
    """ENTRYPOINT is the console script and CMD parses with the CLI's own parser as `run`."""
    pyproject = tomllib.loads((files.REPO / "pyproject.toml").read_text(encoding="utf-8"))
    entrypoint = files.runtime().last("ENTRYPOINT").exec_form
    assert entrypoint is not None
    assert entrypoint == ["watcher"]
    assert "watcher" in pyproject["project"]["scripts"]
    cmd = files.runtime().last("CMD").exec_form
    assert cmd is not None
    args = build_parser().parse_args(cmd)
    assert args.command == "run"
    assert args.config == files.image_env()["WATCHER_CONFIG"]
    assert files.mounted_repo_path(args.config).is_file()


def test_dockerfile_exposes_the_port_the_config_listens_on_all_interfaces() -> None:
    """EXPOSE is the config's http.port and the daemon binds 0.0.0.0, reachable from outside."""
    config = image_config()
    assert config.http.host == "0.0.0.0"
    assert [i.args for i in files.runtime().all("EXPOSE")] == [str(config.http.port)]


def test_dockerfile_sets_unbuffered_output_and_a_data_volume() -> None:
    """Logs are unbuffered, and data_dir (the embedded Redis's AOF) is a declared volume."""
    env = files.image_env()
    assert env["PYTHONUNBUFFERED"] == "1"
    workdir = PurePosixPath(files.runtime().last("WORKDIR").args)
    data_dir = workdir / str(image_config().data_dir)
    volumes = [v for i in files.runtime().all("VOLUME") for v in i.exec_form or i.args.split()]
    assert str(data_dir).replace("/./", "/") in volumes


def test_dockerfile_takes_no_secrets_at_build_time() -> None:
    """No ENV or ARG carries a secret: those come from the environment when the container runs."""
    names = set(files.image_env())
    for stage in files.dockerfile():
        names |= {i.args.split("=")[0] for i in stage.all("ARG")}
    assert not [n for n in names if re.search(r"SECRET|PASSWORD|TOKEN|KEY", n)]


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build() -> None:
    """.env, .git, .venv and data/ stay out of the build context; everything COPY needs is in."""
    rules = files.ignore_rules()
    for path in (".env", ".env.local", ".git/config", ".venv/bin/python", "data/appendonly.aof"):
        assert files.is_ignored(path, rules), path
    assert not files.is_ignored(".env.example", rules)
    for stage in files.dockerfile():
        for ins in stage.all("COPY"):
            if "--from=" in ins.args:
                continue
            for source in [w for w in ins.args.split() if not w.startswith("--")][:-1]:
                assert (files.REPO / source).exists(), source
                assert not files.is_ignored(source.rstrip("/"), rules), source


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """The daemon's real endpoints on a free loopback port."""
    server = HttpServer("127.0.0.1", 0, Health())
    server.start()
    yield server
    server.stop()


def probe(port: int) -> subprocess.CompletedProcess[str]:
    """Run the HEALTHCHECK's exact command, only re-pointed from the image's port to ``port``."""
    _options, command = files.healthcheck()
    assert command[0] == "python"
    expose = files.runtime().last("EXPOSE").args
    snippet = command[-1]
    assert f"127.0.0.1:{expose}/healthz" in snippet
    snippet = snippet.replace(f"127.0.0.1:{expose}/", f"127.0.0.1:{port}/")
    return subprocess.run(
        [sys.executable, *command[1:-1], snippet],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_healthcheck_passes_against_the_live_endpoint(http_server: HttpServer) -> None:
    """The probe exits 0 when /healthz answers 200."""
    result = probe(http_server.port)
    assert result.returncode == 0, result.stderr


def test_healthcheck_fails_when_nothing_listens(http_server: HttpServer) -> None:
    """The probe exits non-zero once the endpoint is gone: Docker marks the container unhealthy."""
    port = http_server.port
    http_server.stop()
    result = probe(port)
    assert result.returncode != 0


def test_healthcheck_times_out_before_docker_does() -> None:
    """The probe's own timeout is shorter than HEALTHCHECK --timeout, so it fails cleanly."""
    options, command = files.healthcheck()
    probe_timeout = float(re.findall(r"timeout=(\d+(?:\.\d+)?)", command[-1])[0])
    assert probe_timeout < float(options["timeout"].removesuffix("s"))
