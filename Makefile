# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv from the hash-pinned lock
# (requirements-dev.lock) when it is missing or older than it, then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONPATH := $(CURDIR):$(CURDIR)/functions

NODE_STAMP := node_modules/.installed

.PHONY: dev demo test soak bench lint lock synth deploy diagram clean mutate

# Installs exactly the hash-pinned lock (make lock), then the project itself for its command
# $(BIN)/macsec-rotation: editable, without dependencies and without build isolation (pip refuses an editable
# install under --require-hashes; the build backend, setuptools, is in the lock), and checks that the command
# starts. Reinstalls whenever the lock or pyproject.toml changes.
$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	env -u PYTHONPATH $(BIN)/macsec-rotation --help >/dev/null
	touch $(STAMP)

# After changing requirements.txt or requirements-dev.txt: regenerate the hash-pinned locks with pip-tools
# (pinned in requirements-lock-tools.txt, in a venv of its own inside .venv). Existing pins are kept unless a
# change needs others; to move every pin to the newest allowed, delete the locks first. Resolved against the
# package index alone, whatever find-links this machine's pip configuration adds. `make test` fails while a pin
# and the locks disagree.
LOCK_VENV := $(VENV)/lock-tools
PIP_COMPILE := env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host
lock:
	test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-lock-tools.txt
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt
	$(PIP_COMPILE) --constraint requirements.lock --output-file requirements-dev.lock requirements-dev.txt

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $(NODE_STAMP)

dev: $(STAMP) $(NODE_STAMP)

demo: $(STAMP)
	$(BIN)/python -m local.simulate local/scenarios/demo.json

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -n 2 --dist worksteal

# Many random fleets, events and faults (tests/properties), new ones each time, shrunk on failure.
SOAK_EXAMPLES ?= 2000
soak: $(STAMP) $(NODE_STAMP)
	PROPERTY_SOAK=1 PROPERTY_EXAMPLES=$(SOAK_EXAMPLES) $(BIN)/python -m pytest -n 2 tests/properties \
		--hypothesis-show-statistics -q

# A small fixed set of hand-made mutations of the real code (mutation/mutate.py), each tested in a temporary copy
# of the tree against the tests meant to kill it; the working tree is never touched. Fails when one survives.
mutate: $(STAMP)
	$(BIN)/python -m mutation.mutate

# Cost, speed and cold start against the naive reference design (bench/results.json and a table).
bench: $(STAMP)
	$(BIN)/python -m bench.run

diagram: $(STAMP)
	$(BIN)/python -m local.diagram --write

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The real CDK CLI (pinned in package-lock.json); settings as -c key=value, e.g.
#   make synth CONTEXT="-c managedTargets=dxcon-abcd1234"
synth: $(STAMP) $(NODE_STAMP)
	node_modules/.bin/cdk synth --quiet $(CONTEXT)
	@ls cdk.out/*.template.json

# Deploys to the account and Region of your AWS credentials (bootstrap once: make deploy TARGET=bootstrap).
deploy: $(STAMP) $(NODE_STAMP)
	node_modules/.bin/cdk $(or $(TARGET),deploy) $(CONTEXT)

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
