# symbolic-sw — `make` sets up .venv and regenerates generated/; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: all setup generated check-generated test test-slow bench lint format clean

all: generated
	$(PY) -m symbolic_sw show samokhin_c4v H

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,plot,sweep]'
	touch $(STAMP)

setup: $(STAMP)

# every spec in derivations/ -> generated/<name>/ (cached: seconds when nothing changed)
generated: $(STAMP)
	$(PY) -m symbolic_sw generate

# CI: the committed generated/ must be what the code produces
check-generated: generated
	git diff --exit-code --stat generated/ || \
	  (echo "generated/ is stale: run 'make generated' and commit it" >&2; exit 1)

# every core, one test module per worker (pytest-xdist; plain `pytest` stays serial)
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow -n auto --dist loadfile

# benchmarks against pymablock (optional extra `bench`); writes benchmarks/RESULTS.md
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,plot,sweep,bench]'
	$(PY) benchmarks/run.py --write

LINTED := symbolic_sw tests benchmarks docs derivations

# ruff check (numpy docstrings, import order, RUF/RET/ARG) and the formatter, as CI runs them
lint: $(STAMP)
	$(PY) -m pip install --quiet -e '.[lint]'
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)

format: $(STAMP)
	$(PY) -m pip install --quiet -e '.[lint]'
	$(PY) -m ruff check --fix $(LINTED)
	$(PY) -m ruff format $(LINTED)

clean:
	rm -rf $(VENV) build *.egg-info .cache
