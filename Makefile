# `make run`: install, migrate, load the demo data and serve the inbox (embedded default).
# `make test`: install, check the import contracts and the types, run the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The browser tests (tests/e2e) drive Debian's chromium by its path (browsers cannot be downloaded).
CHROMIUM_PATH ?= /usr/bin/chromium

.PHONY: install run test audit migrate seed simulator chromium

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

# The demo's sandbox channels talk to the providers' local simulators, which run beside the
# inbox (their logs in .sandbox/) and post their webhooks to the address actually served.
run seed: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)

run: seed
	@echo ""
	@echo "  Inbox:     http://$(HOST):$(PORT)/  (logins: see seed_demo above or the README)"
	@echo "  Admin:     http://$(HOST):$(PORT)/admin/"
	@echo "  API docs:  http://$(HOST):$(PORT)/api/docs/"
	@echo "  Sandbox:   the providers' simulators run beside it (logs in .sandbox/)"
	@echo ""
	@mkdir -p .sandbox
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT INT TERM; \
	for kind in $$($(BIN)/python manage.py simulator_kinds 2>/dev/null); do \
		$(BIN)/python manage.py simulator $$kind --sandbox-channels > .sandbox/$$kind.log 2>&1 & \
	done; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Installs Debian's chromium when it is missing and we are root; otherwise says how.
chromium:
	@if [ ! -x "$(CHROMIUM_PATH)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "== installing Debian's chromium for the browser tests (tests/e2e)"; \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
		else \
			echo "!! The browser tests (tests/e2e) need Chromium at $(CHROMIUM_PATH) and will fail without it:"; \
			echo "!! install Debian's package (sudo apt-get install chromium) or set CHROMIUM_PATH."; \
		fi; \
	fi

test: install chromium
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $${TEST_WORKERS:-2} $(PYTEST_ARGS)

# Known vulnerabilities in the pinned requirements (PyPI's advisory data); fails on any.
audit: install
	$(BIN)/pip-audit --progress-spinner off -r requirements.txt -r requirements-dev.txt
