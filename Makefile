# Zeeguu gamification service. `make run` serves a demo site; `make test` runs the suite on
# SQLite and on MariaDB. Everything is installed into .venv by these targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# MariaDB used by `make test` (pytest creates and drops test_zeeguu in it).
MARIADB_URL ?= mysql://root@127.0.0.1:3306/zeeguu
PYTEST_ARGS ?=

.PHONY: run test test-sqlite test-mariadb lint install system-deps browser-deps mariadb-up demo bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(MAKE) --no-print-directory system-deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

# mysqlclient compiles against MariaDB's client library; install it when it is missing.
system-deps:
	@if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then \
		echo "Installing libmariadb-dev and pkg-config (needed to build mysqlclient)..."; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq libmariadb-dev pkg-config >/dev/null; \
	fi

# The browser tests (tests/browser) drive Debian's Chromium through Playwright (Playwright's own
# browser download is not used); install it when it is missing.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
browser-deps:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "Installing chromium (needed by the browser tests of the admin)..."; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py loaddata default_badges
	DEBUG=1 $(PY) manage.py seed_demo --base-url http://$(HOST):$(PORT)
	@# The worker (webhook deliveries, the streak-at-risk scan) runs beside the server, so the
	@# embedded set-up needs no other service. It stops with the server: on Ctrl-C (both get
	@# SIGINT), when runserver exits, or when make is killed.
	@DEBUG=1 $(PY) manage.py run_worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

# Both databases run even when the first fails; the target fails if either did. The two passes
# run side by side (one core each; logs in test-logs/, printed when both end); TEST_SERIAL=1
# runs them one after the other with live output.
TEST_SERIAL ?=
test: install browser-deps
	@sqlite=0; mariadb=0; \
	if [ -n "$(TEST_SERIAL)" ]; then \
		$(MAKE) --no-print-directory test-sqlite || sqlite=$$?; \
		$(MAKE) --no-print-directory test-mariadb || mariadb=$$?; \
	else \
		mkdir -p test-logs; \
		echo "Running the SQLite and MariaDB passes side by side (logs: test-logs/sqlite.log, test-logs/mariadb.log)..."; \
		$(MAKE) --no-print-directory test-sqlite >test-logs/sqlite.log 2>&1 & s=$$!; \
		$(MAKE) --no-print-directory test-mariadb >test-logs/mariadb.log 2>&1 & m=$$!; \
		wait $$s || sqlite=$$?; wait $$m || mariadb=$$?; \
		cat test-logs/sqlite.log test-logs/mariadb.log; \
	fi; \
	echo "Summary: SQLite $$([ $$sqlite = 0 ] && echo passed || echo FAILED), MariaDB $$([ $$mariadb = 0 ] && echo passed-or-skipped || echo FAILED)"; \
	[ $$sqlite = 0 ] && [ $$mariadb = 0 ]

test-sqlite: install browser-deps
	@echo "=== Test suite on SQLite ==="
	@start=$$(date +%s); \
	env -u DATABASE_URL $(VENV)/bin/pytest $(PYTEST_ARGS); status=$$?; \
	echo "SQLite run took $$(( $$(date +%s) - start ))s"; exit $$status

test-mariadb: install
	@echo "=== Test suite on MariaDB ==="
	@if ! bash .ci/mariadb-up; then \
		echo "SKIPPED: no MariaDB could be reached or started on 127.0.0.1:3306; the MariaDB run (and its concurrency tests) did not happen."; \
		exit 0; \
	fi; \
	start=$$(date +%s); \
	DATABASE_URL=$(MARIADB_URL) $(VENV)/bin/pytest $(PYTEST_ARGS); status=$$?; \
	echo "MariaDB run took $$(( $$(date +%s) - start ))s"; exit $$status

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

mariadb-up:
	@bash .ci/mariadb-up

demo: install
	DEBUG=1 $(PY) manage.py seed_demo

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .ruff_cache test-results test-logs
