"""Airflow as a deployment runs it, on this machine: the local stack (API server with the UI,
scheduler with the LocalExecutor, DAG processor: warehouse.airflow_local.local_stack, what `make
airflow` starts) with its metadata in a database of the test Postgres.

`airflow backfill create` over three dates loads each date exactly once, in order; then the DAG list
in headless Chromium shows the DAGs, with the loads' last run. The scheduler also creates today's
scheduled run when the DAG is unpaused; its sensor waits for today's delivery
(BANK_DELIVERY_WAIT_HOURS, 3 minutes here) while the backfill runs finish.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import psycopg2
import pytest

from ingestion import contract
from warehouse import airflow_local
from warehouse.cli import scratch_database

pytestmark = pytest.mark.e2e
DATES = ("2026-07-01", "2026-07-02", "2026-07-03")


@pytest.fixture
def airflow_metadata_url():
    with scratch_database("airflow_meta") as url:
        yield url.replace("postgresql://", "postgresql+psycopg2://", 1)


def _run_states(env: dict[str, str]) -> dict[str, str]:
    out = airflow_local._airflow(["dags", "list-runs", "bank_extract_load", "-o", "plain"], env).stdout
    states = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1].startswith(("backfill__", "scheduled__")):
            states[fields[1]] = fields[2]
    return states


def _page(url: str, screenshot) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed (make setup installs it when run as root: apt-get install chromium)"
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--virtual-time-budget=30000", "--window-size=1400,900"]
    subprocess.run([*common, f"--screenshot={screenshot}", url], capture_output=True, timeout=180)
    return subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=180).stdout


def test_a_backfill_under_the_scheduler_loads_each_date_once_and_the_ui_shows_the_runs(
        tiny_bank, tmp_path, database_url, airflow_metadata_url):
    landing = tmp_path / "landing"
    for day in DATES:
        shutil.copytree(tiny_bank / day, landing / day)
    env = airflow_local.local_stack_env(tmp_path / "airflow", airflow_metadata_url, airflow_local.free_port(), extra={
        "WAREHOUSE_URL": database_url, "BANK_LANDING_DIR": str(landing), "BANK_REPORTS_DIR": str(tmp_path / "reports"),
        "BANK_TASK_RETRIES": "0", "BANK_START_DATE": DATES[0], "BANK_DELIVERY_WAIT_HOURS": "0.05"})
    airflow_local.migrate(env)
    with airflow_local.local_stack(env) as ui:
        created = airflow_local._airflow(["backfill", "create", "--dag-id", "bank_extract_load", "--from-date",
                                          DATES[0], "--to-date", DATES[-1], "--max-active-runs", "1"], env)
        assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-2000:]
        # backfill runs of a paused DAG stay queued: unpause it, as a deployment would
        unpaused = airflow_local._airflow(["dags", "unpause", "bank_extract_load"], env)
        assert unpaused.returncode == 0, unpaused.stderr[-2000:]
        backfill_runs = {f"backfill__{day}T00:00:00+00:00" for day in DATES}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states = _run_states(env)
            if all(states.get(run) in ("success", "failed") for run in backfill_runs):
                break
            time.sleep(5)
        assert {run: states.get(run) for run in backfill_runs} == dict.fromkeys(backfill_runs, "success"), \
            f"backfill runs did not all succeed: {states}; logs in {env['AIRFLOW_HOME']}"
        page = _page(f"{ui}/dags", tmp_path / "dags.png")

    lines_in = sum(len((landing / day / s.file_name).read_bytes().splitlines()) - 1
                   for day in DATES for s in contract.SOURCE_FILES)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("select business_date::text, batch_id, status from audit.deliveries order by 1")
        assert cur.fetchall() == [(day, n, "loaded") for n, day in enumerate(DATES, start=1)]  # once each, in order
        cur.execute("select sum(rows_loaded + rows_quarantined) from audit.file_loads")
        assert cur.fetchone()[0] == lines_in
    assert "bank_extract_load" in page and "bank_customer_value" in page, page[-3000:]
    # the loads' last run, linked from the list (bank_customer_value, paused here, has none)
    assert re.search("/dags/bank_extract_load/runs/(backfill|scheduled)__", page), \
        f"bank_extract_load's last run is not shown; screenshot {tmp_path / 'dags.png'}"
