# The README's two commands: `make run` and `make test`. Both build .venv from scratch when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/watcher.yaml

.PHONY: run test lint bench fuzz install install-test clean

# Two stamps: `make run` installs what the daemon needs, and no more (the test extras bring a
# browser driver, schemathesis and hypothesis a newcomer who only runs it does not need).
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

install-test: $(BIN)/.installed-test

run: install
	$(BIN)/watcher run --config $(CONFIG)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The suite in parallel, one worker per core (pytest-xdist): most of its time is spent waiting
# on CLI subprocesses and loopback servers. worksteal splits the tests evenly, then an idle
# worker takes tests still queued on a busy one (with --dist load one worker was left with ~50
# queued integration tests while the other had finished). It hands out tests by index; the
# node-id modes (loadscope, loadfile, loadgroup) ran one of the four schemathesis tests of
# test_api_schema.py, which share one node id, and dropped three silently. A plain
# `.venv/bin/pytest tests/...` stays serial; TEST_WORKERS=0 makes `make test` serial too.
TEST_WORKERS ?= auto

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

bench: install-test
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/extraction.py

# One atheris target per pure parser (fuzz/*.py), each for FUZZ_SECONDS; not part of test/CI.
# Each keeps its corpus in .fuzz/<name>/ (seeded from tests/data) and crashes as .fuzz/<name>-*.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= $(wildcard fuzz/*.py)

fuzz: install-test
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz]'
	@status=0; for target in $(FUZZ_TARGETS); do \
	  name=$$(basename $$target .py); mkdir -p .fuzz/$$name; \
	  echo "== fuzz $$name for $(FUZZ_SECONDS) s"; \
	  $(BIN)/python $$target .fuzz/$$name tests/data -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 -timeout=20 -rss_limit_mb=4096 -artifact_prefix=.fuzz/$$name- \
	    -print_final_stats=1 || status=1; \
	done; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .fuzz
