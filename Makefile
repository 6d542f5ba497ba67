# Two commands: `make up` (the whole stack on real services) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install up test lint typecheck pytest bench schema clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

up: install
	$(PY) -m devstack up

lint: install
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(PY) -m mypy gateway shared subgraphs devstack bench

pytest: install
	$(PY) -m pytest

test: install lint typecheck pytest

bench: install
	$(PY) -m bench

schema: install
	$(PY) -m devstack.schema_export

clean:
	rm -rf $(VENV) .data .mypy_cache .pytest_cache .ruff_cache
