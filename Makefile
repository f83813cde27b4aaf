# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv from the pinned
# requirements when it is missing or older than them, then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONPATH := $(CURDIR):$(CURDIR)/functions

.PHONY: dev demo test lint synth clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

dev: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m local.simulate local/scenarios/demo.json

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

synth: $(STAMP)
	rm -rf cdk.out
	CDK_OUTDIR=cdk.out $(BIN)/python app.py
	@ls cdk.out/*.template.json

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
