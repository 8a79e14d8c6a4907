"""Airflow's own backfill under a real scheduler: `airflow backfill create` over three dates loads each
date exactly once.

Starts what a deployment runs (API server, scheduler with the LocalExecutor, DAG processor) with the
metadata in a database of the test Postgres, creates the backfill with the CLI and waits for its
runs. The scheduler also creates today's scheduled run when the DAG is unpaused; its sensor waits
for today's delivery (BANK_DELIVERY_WAIT_HOURS, 3 minutes here) while the backfill runs finish.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest

from ingestion import contract
from warehouse.cli import scratch_database
from warehouse.settings import PROJECT_DIR

DATES = ("2026-07-01", "2026-07-02", "2026-07-03")
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def airflow_metadata_url():
    with scratch_database("airflow_meta") as url:
        yield url.replace("postgresql://", "postgresql+psycopg2://", 1)


def _run_states(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run([AIRFLOW, "dags", "list-runs", "bank_extract_load", "-o", "plain"], env=env,
                         capture_output=True, text=True, cwd=PROJECT_DIR).stdout
    states = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1].startswith(("backfill__", "scheduled__")):
            states[fields[1]] = fields[2]
    return states


def test_airflow_backfill_under_a_scheduler_loads_each_date_once(tiny_bank, tmp_path, database_url,
                                                                 airflow_metadata_url):
    landing = tmp_path / "landing"
    for day in DATES:
        shutil.copytree(tiny_bank / day, landing / day)
    home = tmp_path / "airflow"
    api_port = _free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_metadata_url,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex * 2,  # shared by the API server and the workers
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "PYTHONPATH": str(PROJECT_DIR),
        "WAREHOUSE_URL": database_url,
        "BANK_LANDING_DIR": str(landing),
        "BANK_TASK_RETRIES": "0",
        "BANK_DELIVERY_WAIT_HOURS": "0.05",
    }
    home.mkdir()
    migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, cwd=PROJECT_DIR)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    processes = []
    try:
        for component in (["api-server", "--port", str(api_port)], ["scheduler"], ["dag-processor"]):
            log = (home / f"{component[0]}.log").open("w")
            processes.append(subprocess.Popen([AIRFLOW, *component], env=env, stdout=log, stderr=subprocess.STDOUT,
                                              cwd=PROJECT_DIR, start_new_session=True))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # until the DAG processor has serialised the DAG
            listed = subprocess.run([AIRFLOW, "dags", "list", "-o", "plain"], env=env, capture_output=True,
                                    text=True, cwd=PROJECT_DIR).stdout
            if "bank_extract_load" in listed:
                break
            time.sleep(3)
        created = subprocess.run([AIRFLOW, "backfill", "create", "--dag-id", "bank_extract_load", "--from-date",
                                  DATES[0], "--to-date", DATES[-1], "--max-active-runs", "1"],
                                 env=env, capture_output=True, text=True, cwd=PROJECT_DIR)
        assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-2000:]
        # backfill runs of a paused DAG stay queued: unpause it, as a deployment would
        subprocess.run([AIRFLOW, "dags", "unpause", "bank_extract_load"], env=env, capture_output=True,
                       cwd=PROJECT_DIR, check=True)
        backfill_runs = {f"backfill__{day}T00:00:00+00:00" for day in DATES}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states = _run_states(env)
            if all(states.get(run) in ("success", "failed") for run in backfill_runs):
                break
            time.sleep(5)
        assert {run: states.get(run) for run in backfill_runs} == dict.fromkeys(backfill_runs, "success"), \
            f"backfill runs did not all succeed: {states}; logs in {home}"
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    lines_in = sum(len((landing / day / s.file_name).read_bytes().splitlines()) - 1
                   for day in DATES for s in contract.SOURCE_FILES)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("select business_date::text, batch_id, status from audit.deliveries order by 1")
        assert cur.fetchall() == [(day, n, "loaded") for n, day in enumerate(DATES, start=1)]  # once each, in order
        cur.execute("select sum(rows_loaded + rows_quarantined) from audit.file_loads")
        assert cur.fetchone()[0] == lines_in
