# Two commands for a fresh machine: `make lab` and `make test`. Each bootstraps .venv
# from requirements-lock.txt (exact pins, torch==2.13.0) the first time, and again
# whenever the lock file or pyproject.toml changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.course-installed
# Every notebook the tests run executes with the network blocked (tests/netblock).
NO_NETWORK := COURSE_BLOCK_NETWORK=1 PYTHONPATH=$(CURDIR)/tests/netblock MPLBACKEND=Agg
PYTEST_WORKERS ?= 2
# JupyterLab refuses to run as root (containers, CI boxes) unless told it may.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
# Some machines' pip configuration names local package folders that do not exist; pip warns
# about each one on every install. Hide only those lines (bash process substitution).
QUIET_PIP := 2> >(grep -v "^WARNING: Location '" >&2)

.PHONY: lab test fuzz build benchmarks clean

$(STAMP): requirements-lock.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-lock.txt $(QUIET_PIP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . $(QUIET_PIP)
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(ALLOW_ROOT) chapters/00_welcome.ipynb

test: $(STAMP)
	$(BIN)/course build --check
	$(NO_NETWORK) $(BIN)/course grade solutions --expect full --no-record
	$(NO_NETWORK) $(BIN)/course grade exercises --expect zero --no-record
	COURSE_STRICT=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

# The property tests only, with fresh random examples and 10x as many per test as `make test`
# (profiles in tests/conftest.py). Every falsifying example is a bug: fix it at its root.
# Each run draws a seed and prints it; `make fuzz FUZZ_SEED=<seed>` draws the same examples again.
FUZZ_SEED ?=
fuzz: $(STAMP)
	@seed=$(FUZZ_SEED); seed=$${seed:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "make fuzz FUZZ_SEED=$$seed"; \
	$(NO_NETWORK) $(BIN)/python -m pytest tests --hypothesis-profile=fuzz --hypothesis-seed=$$seed \
		-n $(PYTEST_WORKERS) --durations=10 -q

build: $(STAMP)
	$(BIN)/course build

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/widget_latency.py

clean:
	rm -rf $(VENV) .course .pytest_cache
