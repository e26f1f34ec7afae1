# The one entry point. `make demo` and `make test` are the README quick start.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# How often `make demo` runs the beat schedule's jobs: short, so SLA flags change while you watch.
DEMO_PERIODIC_SECONDS ?= 30

.PHONY: demo test test-sqlite lint format check serve worker beat bench prod clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

## demo: install, migrate, load the demo world, create a login per role, serve on :$(PORT) (default 8000;
## SQLite, Celery eager) with the periodic jobs (SLA sweep, rescoring, sweepers) running beside the server
demo: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty --port $(PORT)
	@echo "Qualify demo: http://127.0.0.1:$(PORT)/ (periodic jobs every $(DEMO_PERIODIC_SECONDS)s beside it; Ctrl-C stops both)"
	@$(PY) manage.py run_periodic --interval $(DEMO_PERIODIC_SECONDS) & periodic=$$!; \
	trap 'kill $$periodic 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

## test: the suite, on PostgreSQL + Redis when reachable (QUALIFY_REQUIRE_SERVICES=1 makes them mandatory)
test: venv
	$(PY) scripts/run_tests.py $(ARGS)

## test-sqlite: the suite on the embedded default (SQLite, Celery eager; Redis when reachable): CI's second pass,
## which tests the portable twins of the PostgreSQL statements; tests marked postgres are skipped
test-sqlite: venv
	$(PY) scripts/run_tests.py --sqlite $(ARGS)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

serve: venv
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

worker: venv
	$(VENV)/bin/celery -A qualify_site worker --loglevel=INFO

beat: venv
	$(VENV)/bin/celery -A qualify_site beat --loglevel=INFO

## prod: the production stack (gunicorn + worker + beat) from the Procfile; needs DATABASE_URL, REDIS_URL, SECRET_KEY
prod: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(VENV)/bin/honcho start

bench: venv
	$(PY) bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) qualify.sqlite3* staticfiles .pytest_cache .ruff_cache
