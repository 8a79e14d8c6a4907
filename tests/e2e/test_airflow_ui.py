"""`make airflow`: a data engineer without Docker watches the runs in Airflow's own UI.

Runs the first two DAGs for a tiny bank into a Postgres metadata database, starts the local stack (API server
with the UI, scheduler, DAG processor: warehouse.airflow_local.local_stack, what `make airflow`
starts) and opens the DAG list in headless Chromium: both DAGs are there with their last runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from warehouse import airflow_local
from warehouse.cli import scratch_database

pytestmark = pytest.mark.e2e
LAST_DAY = "2026-07-02"


@pytest.fixture
def airflow_metadata_url():
    with scratch_database("airflow_meta") as url:
        yield url.replace("postgresql://", "postgresql+psycopg2://", 1)


def _page(url: str, screenshot) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed (make setup installs it when run as root: apt-get install chromium)"
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--virtual-time-budget=30000", "--window-size=1400,900"]
    subprocess.run([*common, f"--screenshot={screenshot}", url], capture_output=True, timeout=180)
    return subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=180).stdout


def test_the_ui_shows_both_dags_and_their_last_runs(tiny_bank, tmp_path, database_url, airflow_metadata_url):
    landing = tmp_path / "landing"
    for day in ("2026-07-01", LAST_DAY):
        shutil.copytree(tiny_bank / day, landing / day)
    env = airflow_local.local_stack_env(tmp_path / "airflow", airflow_metadata_url, airflow_local.free_port(), extra={
        "WAREHOUSE_URL": database_url, "BANK_LANDING_DIR": str(landing), "BANK_REPORTS_DIR": str(tmp_path / "reports"),
        "BANK_TASK_RETRIES": "0", "BANK_START_DATE": "2026-07-01"})
    airflow_local.migrate(env)
    for dag_id in ("bank_extract_load", "bank_customer_value"):  # the two the page is checked for
        airflow_local.dags_test(dag_id, LAST_DAY, env)
    with airflow_local.local_stack(env) as ui:
        page = _page(f"{ui}/dags", tmp_path / "dags.png")
    assert "bank_extract_load" in page and "bank_customer_value" in page, page[-3000:]
    for dag_id in ("bank_extract_load", "bank_customer_value"):  # its latest run, linked from the list
        assert re.search(f"/dags/{dag_id}/runs/manual__", page), \
            f"{dag_id}'s last run is not shown; screenshot {tmp_path / 'dags.png'}"
