# Everything a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# e.g. TEST_WORKERS="-n 2": pytest-xdist workers per pass (each with a database of its own).
# Off by default: with both passes side by side on 2 cores it gained nothing (see README).
TEST_WORKERS ?=
FLASK := $(BIN)/flask --app wsgi

.PHONY: install run test test-sqlite test-postgres lint bench drill fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	touch $@

app/translations/zh_Hans_CN/LC_MESSAGES/messages.mo: app/translations/zh_Hans_CN/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -d app/translations

install: $(VENV)/.installed app/translations/zh_Hans_CN/LC_MESSAGES/messages.mo

run: install
	$(FLASK) db upgrade
	$(FLASK) demo-data --if-empty
	$(FLASK) demo-logins
	GUNICORN_BIND=127.0.0.1:$(PORT) WEB_CONCURRENCY=2 $(BIN)/gunicorn wsgi:app  # gunicorn.conf.py

test: install
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== SQLite pass, and the PostgreSQL pass ($$TEST_DATABASE_URL) beside it"; \
		TEST_ON_POSTGRES=1 $(BIN)/pytest -q $(TEST_WORKERS) -m "not browser" \
			-p no:cacheprovider > .pytest-postgres.log 2>&1 & postgres=$$!; \
		$(BIN)/pytest -q $(TEST_WORKERS); sqlite=$$?; \
		wait $$postgres; pg=$$?; \
		echo "== PostgreSQL pass"; cat .pytest-postgres.log; \
		test $$sqlite -eq 0 && test $$pg -eq 0; \
	else \
		$(BIN)/pytest -q $(TEST_WORKERS); \
		echo "TEST_DATABASE_URL unset: PostgreSQL pass skipped"; \
	fi

lint: install
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

bench: install
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.dashboard
	$(BIN)/python -m bench.imports

# A fault drill (not part of `make test`): 4 workers killed at random under load, then every
# invariant checked in SQL (bench/drill.py).
drill: install
	$(BIN)/python -m bench.drill

# schemathesis --checks all against a fresh app, as HQ and as a dealer (bench/fuzz.py);
# FUZZ_EXAMPLES=100 by default. Not part of `make test`; CI runs `bench.fuzz --quick`.
fuzz: install
	$(BIN)/python -m bench.fuzz

clean:
	rm -rf $(VENV) .pytest_cache
