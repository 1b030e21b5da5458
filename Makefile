# The two README commands: `make run` and `make test`. Both bootstrap a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test test-fast lint typecheck pytest chaos bench browser sysdeps venv clean test-floor docs

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dashboard,dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

# redis-server is needed by `run` and `test`; chromium only by the browser tests.
sysdeps:
	@.ci/sysdeps redis-server chromium

run: venv
	@.ci/sysdeps redis-server
	$(PY) manage.py serve

test: venv sysdeps lint typecheck pytest

# The inner loop: lint, types and the tests not marked slow, chaos, browser or cluster (the
# Redis Cluster runs of the library tests; `make test` has them), SQLite only.
test-fast: venv lint typecheck
	@.ci/sysdeps redis-server
	$(PY) -m pytest -q -m 'not slow and not chaos and not chaos_full and not browser and not browser_full and not cluster'

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy queues dashboard alerts

pytest: venv
	$(PY) -m pytest
	@if $(PY) -c 'import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(("127.0.0.1",5432)))' \
	  && $(PY) -c 'import psycopg; psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()' 2>/dev/null; then \
	  echo "== PostgreSQL answers on 127.0.0.1:5432: Django tests again on PostgreSQL =="; \
	  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/streamwarden_test $(PY) -m pytest tests/dashboard tests/alerts tests/queues/contrib -m 'not browser and not chaos'; \
	else echo "== no PostgreSQL on 127.0.0.1:5432: PostgreSQL pass skipped =="; fi

chaos: venv sysdeps
	$(PY) -m pytest -m 'chaos or chaos_full' tests

browser: venv sysdeps
	$(PY) -m pytest -m 'browser or browser_full' tests

bench: venv sysdeps
	$(PY) -m pip install --quiet -e '.[dashboard,dev,bench]'
	$(PY) -m tests.bench
	$(PY) -m tests.bench.monitor
	$(PY) -m tests.bench.monitor_storm --db both --cycles 60 --timeout 200
	$(PY) -m tests.bench.monitor_changes --cycles 60 --timeout 300
	$(PY) -m tests.bench.monitor_events
	$(PY) -m tests.bench.overview
	$(PY) -m tests.bench.alerts_page
	$(PY) -m tests.bench.alert_latency
	$(PY) -m tests.bench.db_growth --hours 2
	$(PY) -m tests.bench.once
	$(PY) -m tests.bench.trend
	$(PY) -m tests.bench.trend --observe
	$(PY) -m tests.bench.events

# The lowest version of every dependency pyproject.toml allows (each `>=`, see .ci/floor-pins)
# in a venv of its own, running the library tests: the floors must be versions they pass on.
FLOOR_VENV := .venv-floor
test-floor: sysdeps
	@test -x $(FLOOR_VENV)/bin/python || $(PYTHON) -m venv $(FLOOR_VENV)
	$(PYTHON) .ci/floor-pins > $(FLOOR_VENV)/floor-pins.txt
	$(FLOOR_VENV)/bin/python -m pip install --quiet -r $(FLOOR_VENV)/floor-pins.txt
	@$(FLOOR_VENV)/bin/python -c 'import django, redis; print("== floor: redis-py", redis.__version__, "Django", django.__version__)'
	$(FLOOR_VENV)/bin/python -m pytest tests/queues

# The reference pages (docs/, mkdocs.yml) as a site in site/; tests/test_docs.py builds them with
# --strict in `make test`, and tests/test_readme.py runs their Python examples.
docs: venv
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf site $(VENV) $(FLOOR_VENV) .data .pytest_cache .mypy_cache .ruff_cache
