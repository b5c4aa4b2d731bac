# `make run` starts the service locally; `make test` runs every check CI runs.
SHELL := /bin/bash
# pyenv reads .python-version; this makes python3.13 resolvable for sam build too.
PYTHON ?= python3.13
VENV := .venv
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
PY := $(VENV)/bin/python
PORT ?= 3000
export SAM_CLI_TELEMETRY := 0

.PHONY: run test lint validate build pytest invoke clean

$(VENV)/.installed: requirements-dev.txt layers/magiclink/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(SAM_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-sam.txt
	touch $@

run: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m local.server

test: lint validate build pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

validate: $(SAM_VENV)/.installed
	$(SAM) validate --lint

build: $(SAM_VENV)/.installed
	$(SAM) build --cached --parallel

pytest: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# The Docker-free `sam local invoke`: make invoke FUNCTION=InviteFunction EVENT=events/invite.json
invoke: $(VENV)/.installed
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<logical id> EVENT=events/<file>.json"; exit 2; }
	PORT=$(PORT) $(PY) -m local.invoke $(FUNCTION) $(EVENT)

clean:
	rm -rf .aws-sam $(VENV) $(SAM_VENV)
