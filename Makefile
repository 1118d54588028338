# MediaNest: `make run` (the app on the bundled Plex emulator) and `make test` (the whole suite).
# Both build .venv from the requirements files on first use; nothing else needs installing.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format install migrate clean bench

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

# SQLite and a local-memory cache unless DATABASE_URL / REDIS_URL say otherwise.
# Tests that need Redis use TEST_REDIS_URL (default redis://127.0.0.1:6379/15).
test: $(STAMP)
	$(PY) .ci/services.py
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/client_scan.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles artifacts
