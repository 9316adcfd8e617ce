# Every target installs what it needs; `make demo` and `make test` are the two README commands.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-unit test-e2e lint fmt typecheck demo cluster-up cluster-down clean chart-crd

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

test: install
	$(BIN)/pytest tests

test-unit: install
	$(BIN)/pytest tests/unit -m 'not e2e'

test-e2e: install
	$(BIN)/pytest tests/e2e -m e2e

lint: install
	$(BIN)/ruff check operator tests
	$(BIN)/ruff format --check operator tests
	$(BIN)/hadolint Dockerfile
	"$$(hack/helm)" lint --strict charts/transfer-operator

fmt: install
	$(BIN)/ruff format operator tests
	$(BIN)/ruff check --fix operator tests

typecheck: install
	$(BIN)/mypy

demo: install
	hack/demo

cluster-up:
	hack/cluster up

cluster-down:
	hack/cluster down

# The chart ships a byte-identical copy of the CRD (tests/unit/test_chart_crd.py checks it).
chart-crd:
	cp crds/transferrequests.transfer.dev.yaml charts/transfer-operator/crds/

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
