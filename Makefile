# Quick start: `make run` (NanoScale on embedded defaults) and `make test` (the whole suite).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
RUN_STAMP := $(VENV)/.runtime-stamp
PYTEST_ARGS ?=
# Test files run in parallel worker processes (whole files per worker: module fixtures stay
# shared); PYTEST_WORKERS=0 runs everything in this one process.
PYTEST_WORKERS ?= auto

.PHONY: run test lint typecheck unit system-deps github-sim bench migration clean

# Running needs only the runtime dependencies; the dev extras (test, lint, browser) come with
# `make test`, `make lint` and the other development targets.
$(RUN_STAMP): pyproject.toml requirements.lock
	./tools/ensure_system_deps.sh run
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

run: $(RUN_STAMP)
	$(VENV)/bin/nanoscale serve

system-deps:
	./tools/ensure_system_deps.sh test

lint: $(STAMP)
	$(PY) -m ruff check src tests bench tools
	$(PY) -m ruff format --check src tests bench tools

typecheck: $(STAMP)
	$(PY) -m mypy

test: $(STAMP) system-deps lint typecheck
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

github-sim: $(STAMP)
	$(PY) -m tests.fakes.github --port $${PORT:-9100}

bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

migration: $(STAMP)
	$(PY) tools/regen_initial_migration.py

clean:
	rm -rf $(VENV) .cache test-output
