# codectx: `make demo` indexes this repository; `make test` installs everything and runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch for the `model` extra, pinned. From PyPI, Linux gets the multi-GB CUDA build: the CPU wheels of
# TORCH_INDEX are taken instead whenever that index answers within TORCH_INDEX_TIMEOUT seconds (offline,
# the check costs at most that, and the plain pin is installed from the configured index).
TORCH ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_INDEX_TIMEOUT ?= 3

.PHONY: demo test lint typecheck unit bench clean page-example system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.all: pyproject.toml | $(BIN)/python
	@if timeout $$(( $(TORCH_INDEX_TIMEOUT) + 2 )) $(BIN)/python -c 'import sys, urllib.request; \
	    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/", timeout=float(sys.argv[2])).close()' \
	    '$(TORCH_INDEX)' '$(TORCH_INDEX_TIMEOUT)' >/dev/null 2>&1; then \
	  echo "$(BIN)/pip install -q --extra-index-url $(TORCH_INDEX) $(TORCH)"; \
	  $(BIN)/pip install -q --extra-index-url $(TORCH_INDEX) $(TORCH); \
	else \
	  echo "$(TORCH_INDEX) is out of reach: $(BIN)/pip install -q $(TORCH)"; \
	  $(BIN)/pip install -q $(TORCH); \
	fi
	$(BIN)/pip install -q -e '.[model,dev]'
	touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/codectx index .
	$(BIN)/codectx stats .

lint: $(VENV)/.all
	$(BIN)/ruff check .

typecheck: $(VENV)/.all
	$(BIN)/mypy

unit: $(VENV)/.all
	$(BIN)/pytest

# The Debian packages first: without them the suite cannot pass, so say so before installing anything else.
system-packages:
	@scripts/system-packages

test: system-packages lint typecheck unit

bench: $(VENV)/.all
	$(BIN)/python bench/index_speed.py
	$(BIN)/python bench/raster_speed.py
	$(BIN)/python bench/highlight_speed.py
	$(BIN)/python bench/mcp_latency.py

# docs/page-example.png: the first claude-profile page of the standard library's json package.
EXAMPLE := /tmp/codectx-page-example
page-example: $(VENV)/.core
	rm -rf $(EXAMPLE) && mkdir -p $(EXAMPLE)/repo
	cp -r "$$($(BIN)/python -c 'import json, os; print(os.path.dirname(json.__file__))')" $(EXAMPLE)/repo/json
	rm -rf $(EXAMPLE)/repo/json/__pycache__
	$(BIN)/codectx index $(EXAMPLE)/repo --target claude
	$(BIN)/codectx pages $(EXAMPLE)/repo --target claude --module json --out $(EXAMPLE)/pages
	cp $(EXAMPLE)/pages/page-001.png docs/page-example.png

clean:
	rm -rf $(VENV) .codectx .pytest_cache .mypy_cache .ruff_cache
