# The two commands a newcomer needs:  make run  (serve the demo)  and  make test  (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
TEST_WORKERS ?= auto  # pytest-xdist processes for make test (auto: one per core; 0: none)

.PHONY: run install migrate seed test lint format worker beat bench clean

run: install migrate seed  ## set everything up and serve the portal at http://127.0.0.1:8000
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

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --diff . >/dev/null || (echo "ruff format would reformat files: run make format" && exit 1)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install  ## a Celery worker (needs CELERY_BROKER_URL)
	$(BIN)/celery -A portal worker -l info --concurrency 2

beat: install  ## the Celery beat scheduler (nightly summaries, heartbeat)
	$(BIN)/celery -A portal beat -l info

bench: install  ## benchmarks on PostgreSQL (BENCH_DATABASE_URL), not part of the test run
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles test-results .pytest_cache .ruff_cache
