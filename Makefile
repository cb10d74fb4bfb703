# The README's commands: `make run` and `make test`. Both set up what they need
# through `make install`, which is idempotent (stamps make reruns no-ops).
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
PYTHON ?= python3

.PHONY: install system run demo test lint bench clean

install: system $(VENV)/.installed node_modules/.installed

system:
	@PYTHON=$(PYTHON) bash scripts/install-system.sh

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

# Benchmarks print tables; results live in bench/README.md. proxy.py and load.py also need
# Debian's nginx and wrk (and proxy.py a mediaflow-proxy venv): see bench/README.md.
BENCH_LOCK := flock /tmp/slipstream-bench.lock
IPTV_CHECKER := bench/.tools/node_modules/.bin/iptv-checker
$(IPTV_CHECKER):
	npm install --prefix bench/.tools --no-audit --no-fund --loglevel=error iptv-checker@0.30.3

bench: install $(IPTV_CHECKER)
	$(BENCH_LOCK) $(BIN)/python bench/health.py
	$(BENCH_LOCK) $(BIN)/python bench/verify.py
	$(BENCH_LOCK) $(BIN)/python bench/verify_service.py
	$(BENCH_LOCK) $(BIN)/python bench/fuzz.py
	$(BENCH_LOCK) $(BIN)/python bench/proxy.py
	$(BENCH_LOCK) $(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) node_modules .cache .pytest_cache .mypy_cache .ruff_cache
