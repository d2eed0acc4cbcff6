# symbolic-sw — `make` sets up .venv and runs the default derivation; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: all setup derive test test-slow lint clean

all: derive

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

derive: $(STAMP)
	$(PY) -m symbolic_sw

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

lint: $(STAMP)
	$(PY) -m pip install --quiet ruff && $(PY) -m ruff check symbolic_sw tests

clean:
	rm -rf $(VENV) build *.egg-info
