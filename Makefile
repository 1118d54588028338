# MediaNest: `make run` (the app on the bundled Plex emulator) and `make test` (the whole suite).
# Both build .venv from the requirements files on first use; nothing else needs installing.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format install migrate clean bench browser

# Tests that need Redis (shared circuit breaker, caching) use this database of the local Redis.
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

# The emulator with its demo accounts, and the app configured to it, on one URL.
run: migrate
	$(PY) manage.py demo

# Browser tests drive Debian's Chromium through Playwright (which must not download its own).
export CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x "$(CHROMIUM)" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at $(CHROMIUM)."; \
	    echo "Install it (Debian/Ubuntu: sudo apt-get install chromium) or run make test CHROMIUM=/path/to/chromium."; \
	    exit 1; \
	  fi; }

# SQLite and a local-memory cache unless DATABASE_URL / REDIS_URL say otherwise. Tests that
# need Redis use TEST_REDIS_URL's server; services.py starts what is down, then runs pytest on a
# Redis database and a PostgreSQL test database of this run's own (two runs at once never meet).
test: $(STAMP) browser
	$(PY) .ci/services.py -- $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/client_scan.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles artifacts
