# The README's commands: `make run` and `make test`. Both set up what they need
# through `make install`, which is idempotent (stamps make reruns no-ops).
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
PYTHON ?= python3

.PHONY: install system run demo test lint bench clean

install: system $(VENV)/.installed node_modules/.installed

system:
	@bash scripts/install-system.sh

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: install
	$(BIN)/slipstream serve

demo: install
	$(BIN)/slipstream demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/health.py
	$(BIN)/python bench/verify.py

clean:
	rm -rf $(VENV) node_modules .cache .pytest_cache .mypy_cache .ruff_cache
