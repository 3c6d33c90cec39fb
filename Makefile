# Two entry points for a fresh machine with Python 3.11: `make demo` and `make test`.
# Both create .venv when it is missing and (re)install only when pyproject.toml changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The suite runs on every core (pytest-xdist); a test file stays on one worker so its
# module fixtures (a served web, a crawled catalogue) are built once.
TEST_JOBS ?= auto

.PHONY: demo test test-fast bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/coprod demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile

# The unit tests: no crawl, no server, no browser, no coprod subprocess (tests/conftest.py).
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not e2e"

bench: $(VENV)/.installed-test
	$(BIN)/python bench/relevance.py
	$(BIN)/python bench/parsers.py

clean:
	rm -rf $(VENV) data .pytest_cache
