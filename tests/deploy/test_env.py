""".env.example documents every variable the shipped config, compose file and CLI read."""

from __future__ import annotations

import re

import pytest

from tests.deploy import files
from watcher.config import load_config

CLI_VARIABLES = {"WATCHER_CONFIG", "WATCHER_LOG_LEVEL"}  # README: the CLI's own environment


READ = files.config_variables()


@pytest.mark.parametrize(("source", "names"), sorted(READ.items()), ids=sorted(READ))
def test_env_example_lists_every_variable_a_file_reads(source: str, names: set[str]) -> None:
    """Each ${VAR} in config/*.yaml and docker-compose.yml is in .env.example."""
    missing = names - files.env_example().listed
    assert not missing, f"{source} reads {sorted(missing)}, absent from .env.example"


def test_env_example_lists_every_variable_the_code_reads() -> None:
    """Variables read by watcher/ itself (os.environ) are in .env.example too."""
    read = files.code_variables()
    assert read >= CLI_VARIABLES, "the scan should find the CLI's documented variables"
    assert not read - files.env_example().listed


def test_env_example_documents_each_variable() -> None:
    """Every variable has a comment right above it saying what it is for."""
    assert not files.env_example().undocumented


def test_env_example_values_load_the_image_config() -> None:
    """The container's environment (image ENV, .env.example, compose) loads the shipped config."""
    config = load_config(files.REPO / "config" / "watcher.yaml", files.container_env())
    assert config.redis.namespace == files.env_example().values["WATCHER_NAMESPACE"]
    assert config.log_level == files.env_example().values["WATCHER_LOG_LEVEL"]


def test_env_example_ships_no_secret_values() -> None:
    """Secret-looking variables are placeholders (commented or empty), never real values."""
    values = files.env_example().values
    secrets = {k: v for k, v in values.items() if re.search(r"SECRET|PASSWORD|TOKEN", k)}
    assert all(not v for v in secrets.values()), sorted(secrets)
    assert not re.search(r"whsec_[A-Za-z0-9+/]{8,}", files.ENV_EXAMPLE.read_text(encoding="utf-8"))
