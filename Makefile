# Two entry points: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := demo-data
PORT   ?= 8000

.PHONY: demo test e2e lint format venv clean

# PostgreSQL for the tests: the URL given in PINGJI_TEST_PG_URL, else the default server when it
# answers; without either, those tests skip and say why in pytest's closing lines (on CI,
# where .ci/run sets the URL, they must run).
PG_DEFAULT := postgresql://postgres@127.0.0.1:5432/test
export PINGJI_TEST_PG_URL ?= $(shell $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_DEFAULT)', connect_timeout=2).close(); print('$(PG_DEFAULT)')" 2>/dev/null)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The command-line demo over every built-in, then the web app on the same data at
# http://127.0.0.1:$(PORT)/ (logins printed; Ctrl-C stops it).
demo: $(STAMP)
	$(BIN)/python -m pingji.cli.demo --out $(DEMO) --port $(PORT)

# Lint, every test (web tests on SQLite), the Spark tests once in one process (one JVM, not
# one per xdist worker), the web tests (and the demo set-up) again on PostgreSQL when
# PINGJI_TEST_PG_URL names a server, then the browser tests once (Chromium, a real
# `pingji serve` on SQLite).
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest -n 2 -q -m "not e2e and not spark"
	$(BIN)/python -m pytest tests/engine/test_spark.py tests/data/test_spark_files.py -m spark -q -p no:xdist
	@if [ -n "$$PINGJI_TEST_PG_URL" ]; then \
	  echo "web tests on PostgreSQL ($$PINGJI_TEST_PG_URL)"; \
	  DATABASE_URL="$$PINGJI_TEST_PG_URL" $(BIN)/python -m pytest tests/web \
	    tests/e2e/test_setup_demo.py -n 2 -q -m "not e2e"; \
	fi
	$(MAKE) --no-print-directory e2e

# Browser tests: screenshots in test-artifacts/screenshots/.
e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e -m e2e -q -p no:xdist

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache test-artifacts
