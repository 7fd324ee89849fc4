# The two commands a newcomer needs:  make run  (serve the demo)  and  make test  (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
TEST_WORKERS ?= auto  # pytest-xdist processes for make test (auto: one per core; 0: none)

.PHONY: run install migrate seed test lint format worker beat bench clean

# The embedded default runs long work as production does (issue 21): a Celery worker (with beat
# inside it) beside runserver, on kombu's filesystem transport (messages are files under var/celery,
# no broker server). Ctrl-C stops both. CELERY_BROKER_URL=redis://... uses a real broker instead.
# Like runserver, the worker is restarted when a .py file of the apps changes (watchfiles).
EMBEDDED_BROKER := $${CELERY_BROKER_URL:-filesystem://}
WORKER_ARGS := -A portal worker -B -l info --concurrency 2 --without-mingle --without-gossip --schedule var/celery/beat-schedule
CODE_DIRS := portal partnerships clusters grants evaluation messaging

run: install migrate seed  ## set everything up and serve the portal at http://$(HOST):$(PORT) (e-mail links too), with a worker
	export CELERY_BROKER_URL=$(EMBEDDED_BROKER) PORTAL_BASE_URL=$${PORTAL_BASE_URL:-http://$(HOST):$(PORT)}; \
	$(BIN)/watchfiles --filter python '$(BIN)/celery $(WORKER_ARGS)' $(CODE_DIRS) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: install
	$(BIN)/python manage.py seed_demo

test: install  ## the whole suite, in a random order (pytest-randomly prints the seed); PostgreSQL/Redis/Chromium when TEST_DATABASE_URL etc. are set
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install  ## ruff, ruff format, and the import-linter layers contract (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check --diff . >/dev/null || (echo "ruff format would reformat files: run make format" && exit 1)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install  ## a Celery worker on CELERY_BROKER_URL (unset: the filesystem broker `make run` uses)
	CELERY_BROKER_URL=$(EMBEDDED_BROKER) $(BIN)/celery -A portal worker -l info --concurrency 2

beat: install  ## the Celery beat scheduler (nightly summaries, heartbeat); `make run`'s worker has its own
	CELERY_BROKER_URL=$(EMBEDDED_BROKER) $(BIN)/celery -A portal beat -l info

bench: install  ## benchmarks on PostgreSQL (BENCH_DATABASE_URL), not part of the test run
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles test-results .pytest_cache .ruff_cache
