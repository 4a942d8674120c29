# The two commands of the README: `make demo` and `make test`. Both create .venv
# and install everything they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-test
JOBS ?= 2

BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test test-fast test-slow lit bench bench-models lint clean venv

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	$(PIP) install -q --no-deps torchvision==0.28.0  # its wheel pins a torch of its own
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) tests
	$(VENV)/bin/lit -sv tests/filecheck

test-slow: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) -m slow tests

lit: $(STAMP)
	$(VENV)/bin/lit -sv tests/filecheck

$(BENCH_STAMP): $(STAMP)
	$(PIP) install -q -e '.[bench]'
	touch $@

bench: $(BENCH_STAMP)
	$(PY) -m bench

bench-models: $(BENCH_STAMP)
	$(PY) -m bench --suite models

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
