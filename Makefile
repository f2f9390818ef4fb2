# Two commands do everything on a fresh machine: `make run` and `make test`.
# A Python 3.11 or newer (PYTHON=/path/to/python to choose another): the versions the
# lock is known to install on first (their wheels exist), then python3 whatever it is.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3.11 python3.12 python3.13 python3 python3.14; do \
	command -v $$p >/dev/null 2>&1 && \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && \
	{ echo $$p; break; }; done)
endif
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
MAIL_DIR ?= $(CURDIR)/var/mail
STAMP := $(VENV)/.installed-stamp

# Settings come from the environment and this file (git-ignored); see README.
ENV_FILE ?= .env
export ENV_FILE

.PHONY: run serve test lint typecheck format lock migrate seed clean secret-key messages

$(STAMP): requirements.lock
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (none found; set PYTHON=...)." >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

# Every copy of the project gets its own random SECRET_KEY, written once into $(ENV_FILE)
# unless the environment or the file has one (with DEBUG off the built-in key is refused).
# The file is made the owner's alone (0600) before the key goes in, also when it existed.
secret-key:
	@if [ -z "$$SECRET_KEY" ] && ! grep -qs '^SECRET_KEY=' "$(ENV_FILE)"; then \
		key=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))') || exit 1; \
		(umask 077; touch "$(ENV_FILE)") && chmod 600 "$(ENV_FILE)" || exit 1; \
		if [ -s "$(ENV_FILE)" ] && [ -n "$$(tail -c1 "$(ENV_FILE)")" ]; then echo >> "$(ENV_FILE)"; fi; \
		printf 'SECRET_KEY=%s\n' "$$key" >> "$(ENV_FILE)"; \
		echo "Wrote a new random SECRET_KEY into $(ENV_FILE)."; \
	fi

migrate: $(STAMP) secret-key
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_templates --verbosity 0

seed: migrate
	$(PY) manage.py seed_demo

# Serve on http://127.0.0.1:$(PORT) (the next free port when it is taken) with the
# periodic jobs running beside it: Celery worker + beat when REDIS_URL is set, else
# `run_cron --loop` (no broker needed). Unless the environment or $(ENV_FILE) say
# otherwise, links in mail point at the port served on (HELPDESK_BASE_URL) and mail is
# written to files in $(MAIL_DIR) (EMAIL_URL=filemail://...), one per message. The output
# ends with the addresses and the demo sign-ins.
run: migrate
	@port=$$($(PY) -m helpdesk.devport $(PORT)) || exit 1; \
	if [ -z "$$HELPDESK_BASE_URL" ] && ! grep -qs '^HELPDESK_BASE_URL=' "$(ENV_FILE)"; then \
		export HELPDESK_BASE_URL="http://127.0.0.1:$$port"; \
	fi; \
	if [ -z "$$EMAIL_URL" ] && ! grep -qs '^EMAIL_URL=' "$(ENV_FILE)"; then \
		mkdir -p "$(MAIL_DIR)" && export EMAIL_URL="filemail:///$(abspath $(MAIL_DIR))"; \
	fi; \
	export DEBUG=$${DEBUG:-1}; \
	$(PY) manage.py seed_demo --verbosity 0 || exit 1; \
	trap 'kill 0' EXIT INT TERM; \
	if [ -n "$$REDIS_URL" ]; then \
		$(VENV)/bin/celery -A config worker --beat --loglevel=INFO --schedule var/celerybeat-schedule & \
	else \
		$(PY) manage.py run_cron --loop & \
	fi; \
	$(PY) manage.py runserver --noreload 127.0.0.1:$$port & server=$$!; \
	$(PY) -m helpdesk.devport --wait $$port && $(PY) manage.py seed_demo --summary; \
	wait $$server

# The helpdesk as a service on this machine: gunicorn, a Celery worker and Celery beat
# against DATABASE_URL and REDIS_URL (or CELERY_BROKER_URL), DEBUG off, static files
# hashed and compressed, served by WhiteNoise. It says what is missing before starting.
serve: $(STAMP) secret-key
	STATIC_FILES_STORAGE=$${STATIC_FILES_STORAGE:-config.staticstorage.StaticStorage} \
		$(PY) manage.py serve --port $(PORT)

# The suite runs on every core (pytest-xdist); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto
test: $(STAMP)
	$(VENV)/bin/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy with django-stubs and djangorestframework-stubs, configured in pyproject.toml:
# strict on the core (tickets.services, tickets.selectors, accounts, routing, threads),
# the adapters checked at check_untyped_defs, so their calls into the core are checked.
TYPECHECK_PATHS := tickets/services tickets/selectors.py accounts routing threads \
	helpdesk/api helpdesk/panel helpdesk/portal helpdesk/ops helpdesk/exports helpdesk/formfields.py helpdesk/display.py helpdesk/apart.py \
	helpdesk/keyset.py config/postgresql
typecheck: $(STAMP)
	$(VENV)/bin/mypy $(TYPECHECK_PATHS)

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Re-pin every dependency from pyproject.toml into requirements.lock (with the osticket
# extra: the importer's tests need its driver, so `make test` installs it).
lock:
	rm -rf var/lockenv && $(PYTHON) -m venv var/lockenv
	var/lockenv/bin/pip install --quiet ".[dev,osticket]"
	var/lockenv/bin/pip freeze --exclude helpdesk > requirements.lock
	rm -rf var/lockenv

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache

# The translation catalogues (locale/<lang>/LC_MESSAGES/django.po, djangojs.po) brought up
# to date with the strings in the code, templates and static/, then compiled; translate
# what is new (tests/i18n names every untranslated or fuzzy entry).
messages: $(STAMP)
	$(PY) manage.py update_catalogues
