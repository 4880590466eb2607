# Quick start: `make run` (builds .venv and runs wattcap) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: install run test test-deps lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The control plane on SQLite (./data/wattcap.db) with a small simulated depot connected to it.
run: install
	$(BIN)/wattcap demo

# Debian's Chromium for the browser specs (tests/ui, Playwright drives /usr/bin/chromium): installed with the
# package manager, never downloaded by Playwright. Without it (no root, no apt) the browser specs are skipped.
test-deps:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium) \
	  || echo "chromium could not be installed: the browser specs in tests/ui will be skipped"

test: install test-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q
	@if [ -d $(SHARED)/conformance ]; then \
	  $(BIN)/wattcap composite $(SHARED)/conformance/everest.jsonl --check && \
	  $(BIN)/wattcap composite $(SHARED)/conformance/microocpp.jsonl --check; \
	else echo "conformance vectors: skipped ($(SHARED)/conformance not found)"; fi

bench: install
	$(BIN)/python benchmarks/composite.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
