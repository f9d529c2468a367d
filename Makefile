# codectx: `make demo` indexes this repository; `make test` installs everything and runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: demo test lint typecheck unit bench clean

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

clean:
	rm -rf $(VENV) .codectx .pytest_cache .mypy_cache .ruff_cache
