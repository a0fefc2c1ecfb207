# Lodestar — two commands set up a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test bench lint clean

$(STAMP): setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Serve the portal on http://$(HOST):$(PORT) (make run PORT=8080) with the bundled demo catalogue harvested.
run: $(STAMP)
	LODESTAR_BASE_URL="$${LODESTAR_BASE_URL:-http://$(HOST):$(PORT)}" $(BIN)/lodestar serve --demo --host $(HOST) --port $(PORT)

## Install everything (Python packages, and Debian's PostgreSQL and Chromium for the tests), check types, run the suite.
test: $(STAMP)
	scripts/system-packages
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

## Benchmarks (medians of several runs); results go to bench/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) instance .pytest_cache
