# The two commands: `make demo` and `make test`. Everything else is a step they call.
# A fresh machine needs only python3 (3.11) and make: the environment is built from uv.lock.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
# make test runs the test files on this many workers (pytest-xdist); 1 runs them one after another
TEST_WORKERS ?= 2
PY := $(VENV)/bin/python
# Debian's Chromium, for the test that opens Airflow's UI (installed when we are root, as on CI)
BROWSER := /usr/bin/chromium
SUPERSET_VENV := .venv-superset
# Use this machine's Python; never download one.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test run airflow bi bi-setup setup lint pytest warehouse-start warehouse-stop warehouse-status psql clean benchmark-load benchmark-dbt benchmark-models benchmark-segments benchmark-history benchmark-reports bench

demo: setup ## simulate a bank and run the whole pipeline through Airflow
	$(PY) -m warehouse demo

test: setup lint pytest ## linters and the test suite against a real Postgres

airflow: setup ## Airflow's UI, scheduler and DAG processor on this machine (http://127.0.0.1:8080), Ctrl-C stops
	$(PY) -m warehouse airflow

run: setup ## your own deliveries through both DAGs: make run LANDING=dir [THROUGH=YYYY-MM-DD]
	@test -n "$(LANDING)" || (echo "usage: make run LANDING=<folder of delivery folders> [THROUGH=YYYY-MM-DD]"; exit 2)
	$(PY) -m warehouse run --landing "$(LANDING)" $(if $(THROUGH),--through $(THROUGH))

setup: $(VENV)/.synced $(BROWSER)

bi: setup bi-setup ## Superset on http://127.0.0.1:8088 with the warehouse's dashboard, as bi_reader (docs/bi.md)
	$(PY) -m warehouse bi

# the BI tool's own environment, apart from Airflow's lock (bi/requirements.txt, locked in bi/requirements.lock)
bi-setup: $(SUPERSET_VENV)/.synced

$(SUPERSET_VENV)/.synced: $(UV) bi/requirements.lock
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(SUPERSET_VENV)
	$(UV) pip sync --quiet --python $(SUPERSET_VENV)/bin/python bi/requirements.lock
	touch $@

$(BROWSER):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium is missing: the Airflow UI test needs it (apt-get install chromium)"; fi

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

lint: setup
	$(VENV)/bin/ruff check .

pytest: setup bi-setup
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

warehouse-start: setup ## start the embedded Postgres (kept running until warehouse-stop)
	$(PY) -m warehouse start

warehouse-stop: setup
	$(PY) -m warehouse stop

warehouse-status: setup
	$(PY) -m warehouse status

psql: setup ## psql on the warehouse
	$(PY) -m warehouse psql

clean: warehouse-stop ## remove generated data, reports, Airflow home and the embedded warehouse
	rm -rf data output .airflow .warehouse dbt_project/target dbt_project/logs

bench: setup ## the whole pipeline at 10k, 100k and 1M customers (a month of history, then its last night): every stage's time, memory, rows/s and growth exponent, appended to docs/benchmarks.md (about an hour and a half)
	$(PY) -m benchmarks.pipeline_benchmark --customers 10000 100000 1000000 --days 31

benchmark-load: setup ## loader vs bare COPY vs pandas.to_sql, appended to docs/benchmarks.md
	$(PY) -m benchmarks.load_benchmark --customers 50000 --days 3

benchmark-dbt: setup ## dbt full refresh vs a one-day incremental run at a year of history, appended to docs/benchmarks.md
	$(PY) -m benchmarks.dbt_benchmark --customers 20000 --days 365

benchmark-models: setup ## BG/NBD and churn model fitting and scoring time and peak memory at 100k and 1M customers, appended to docs/benchmarks.md
	$(PY) -m benchmarks.model_benchmark --customers 100000 1000000

benchmark-segments: setup ## the segmentation at 10k, 100k and 1M (replicated) customers: each month against a bare scikit-learn fit, memory, ARI, appended to docs/benchmarks.md
	$(PY) -m benchmarks.segmentation_benchmark --customers 10000 100000 1000000 --days 62

benchmark-history: setup ## the history catch-up (20k customers x 120 days): the set-based replay against one dbt snapshot per date, appended to docs/benchmarks.md
	$(PY) -m benchmarks.history_benchmark --customers 20000 --days 120

benchmark-reports: setup ## RM and branch PDFs per minute at a few hundred RMs, two worker processes against one, appended to docs/benchmarks.md
	$(PY) -m benchmarks.reports_benchmark --customers 30000 --days 31
