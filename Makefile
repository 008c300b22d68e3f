# Two commands do everything on a fresh machine with Python 3.11:
#   make run   - virtualenv, requirements, migrations, model check, serve on :8000
#   make test  - the same set-up plus test packages, lint, then the whole suite
#   make test-fast - lint, then the suite without the browser, the workers and slow tests (day to day)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1:8000

.PHONY: run test test-fast install install-test lint migrate worker beat clean

$(VENV)/.installed: requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_model

run: migrate
	$(PY) manage.py runserver $(HOST)

lint: install-test
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run

test: install-test lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-fast: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -m "not browser and not celery_worker and not slow" $(PYTEST_ARGS)

worker: install
	$(VENV)/bin/celery -A digitsite worker --loglevel=info --concurrency=1

beat: install
	$(VENV)/bin/celery -A digitsite beat --loglevel=info

clean:
	rm -rf $(VENV) staticfiles .model-cache .pytest_cache
