"""Run the project's DAGs in-process with Airflow (``airflow dags test``), as the demo and tests do.

Airflow keeps its metadata in SQLite under ``AIRFLOW_HOME`` (default ``.airflow/``); no scheduler
is started. Under a real scheduler (docker-compose.yml) the same DAG files run unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path

from warehouse.settings import PROJECT_DIR

log = logging.getLogger(__name__)


def airflow_env(airflow_home: Path | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    home = Path(airflow_home or os.environ.get("AIRFLOW_HOME", PROJECT_DIR / ".airflow"))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_DIR), os.environ.get("PYTHONPATH", "")) if p),
    }
    env.update(extra or {})
    return env


def _airflow(args: list[str], env: dict[str, str], log_file: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).with_name("airflow")), *args]
    log.info("running %s", " ".join(cmd))
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=PROJECT_DIR)
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(result.stdout + result.stderr)
    return result


def migrate(env: dict[str, str]) -> None:
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    result = _airflow(["db", "migrate"], env)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def dags_test(dag_id: str, logical_date: str, env: dict[str, str]) -> Path:
    """Run one DAG for one logical date in-process; return the log file; raise if any task failed.

    A logical date before the DAGs' start date (BANK_START_DATE) would run no task and still end
    green: refused here, by name.
    """
    from warehouse.schedule import start_date

    first = start_date(env).date()
    if dt.date.fromisoformat(logical_date[:10]) < first:
        raise RuntimeError(f"{dag_id} starts on {first} (BANK_START_DATE): airflow dags test {logical_date} would run "
                           f"no task. Set BANK_START_DATE to the first business date delivered, or choose a later date")
    log_file = Path(env["AIRFLOW_HOME"]) / "runs" / f"{dag_id}_{logical_date}.log"
    result = _airflow(["dags", "test", dag_id, logical_date], env, log_file)
    output = result.stdout + result.stderr
    failed = result.returncode != 0 or "state=failed" in output or "DagRunState.FAILED" in output
    if failed:
        raise RuntimeError(f"airflow dags test {dag_id} {logical_date} failed (exit {result.returncode}); "
                           f"full log: {log_file}\n{output[-4000:]}")
    return log_file
