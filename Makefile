# codectx: `make demo` indexes this repository; `make test` installs everything and runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: demo test lint typecheck unit bench clean page-example

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.all: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
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

test: lint typecheck unit

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
