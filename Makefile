# AllReview: `make run` starts the platform, `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test check lint services clean-var bench graph

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@scripts/run.sh

test: $(STAMP) check
	@scripts/services.sh
	$(VENV)/bin/pytest

# The static checks, before any test runs: lint, formatting, types, and that every model change
# has its migration.
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	DJANGO_SETTINGS_MODULE=tests.settings $(VENV)/bin/python manage.py makemigrations --check --dry-run
	$(VENV)/bin/python scripts/app_graph.py --check

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

services:
	@scripts/services.sh

# Redraw docs/img/app_graph.svg from the code's imports (a test checks it is current).
graph: $(STAMP)
	$(VENV)/bin/python scripts/app_graph.py

clean-var:
	rm -rf var
