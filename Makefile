# The verbs people expect. `make run` and `make test` build .venv on their own.
PYTHON ?= python3
VENV ?= .venv
# The port: from the environment, else from .env, else 5000 (the app reads .env the same way).
PORT ?= $(or $(shell sed -n 's/^PORT=\([0-9]*\).*/\1/p' .env 2>/dev/null | tail -n 1),5000)
BIN := $(VENV)/bin

.PHONY: run test lint format fuzz bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when a requirements file changes.
$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	@echo "Bot:          http://127.0.0.1:$(PORT)"
	@echo "Webhook:      http://127.0.0.1:$(PORT)/bot   (POST, signed by Twilio)"
	@echo "              $(BIN)/flask --app bot sign \"hi\" prints a signed test request."
	@echo "Health:       http://127.0.0.1:$(PORT)/health"
	@echo "Public URL:   run 'ngrok http $(PORT)' in another terminal, put its https URL in .env"
	@echo "              as BOT_PUBLIC_URL, and set <that URL>/bot as the Twilio webhook."
	$(BIN)/flask --app bot run --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

fuzz: $(VENV)/.dev-installed
	BOT_FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest -k fuzz $(PYTEST_ARGS)

$(VENV)/.bench-installed: requirements.txt requirements-bench.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	touch $@

# Speed and memory, measured here, never asserted in tests. bench/load.py needs wrk
# (apt-get install wrk). Results go to bench/out/*.json (untracked). bench/webhook.py starts a
# redis-server of its own; BOT_BENCH_REDIS_URL names another, whose database it EMPTIES.
bench: $(VENV)/.bench-installed
	$(BIN)/python bench/understand.py
	$(BIN)/python bench/rivescript_compare.py
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/slow_clients.py
	$(BIN)/python bench/knowledge.py
	$(BIN)/python bench/console_store.py
	$(BIN)/python bench/console_page.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
