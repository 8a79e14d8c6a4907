"""Airflow on this machine, without Docker, against the same DAG files a deployment runs.

- In-process (``dags_test``: ``airflow dags test``), as the demo, ``python -m warehouse run`` and the
  tests do: metadata in SQLite under ``AIRFLOW_HOME`` (default ``.airflow/``), no scheduler.
- The local stack (``local_stack``; ``make airflow``): API server with the UI, scheduler
  (LocalExecutor) and DAG processor, metadata in Postgres, so that a data engineer watches and
  triggers the runs in Airflow's own UI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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


def run_pipeline(logical_date: str, env: dict[str, str]) -> list[Path]:
    """Every DAG of the nightly run for one logical date, in their Asset order (PIPELINE_DAGS), as a
    scheduler would trigger them one after another; the log files."""
    from warehouse.schedule import PIPELINE_DAGS

    return [dags_test(dag_id, logical_date, env) for dag_id in PIPELINE_DAGS]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_stack_env(airflow_home: Path, metadata_url: str, api_port: int, extra: dict[str, str] | None = None
                    ) -> dict[str, str]:
    """The environment of every component of the local stack: one metadata database, one API port and
    one token secret (the scheduler's workers call the API server with it)."""
    return airflow_env(airflow_home, extra={
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",  # this machine only
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        # a laptop's stack, on 127.0.0.1 only: the UI opens without a login (never in a deployment)
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        **(extra or {}),
    })


@contextlib.contextmanager
def local_stack(env: dict[str, str], timeout: float = 240) -> Iterator[str]:
    """Start the API server, the scheduler and the DAG processor; yield the UI's URL once the API
    server answers and the DAG processor has the project's DAGs; stop them all on the way out."""
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    port = env["AIRFLOW__API__PORT"]
    url = f"http://127.0.0.1:{port}"
    processes = []
    try:
        for component in (["api-server", "--host", "127.0.0.1", "--port", port], ["scheduler"], ["dag-processor"]):
            with (home / f"{component[0]}.log").open("w") as log_file:
                processes.append(subprocess.Popen([str(Path(sys.executable).with_name("airflow")), *component],
                                                  env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                                  cwd=PROJECT_DIR, start_new_session=True))
        deadline = time.monotonic() + timeout
        while True:
            if any(p.poll() is not None for p in processes):
                raise RuntimeError(f"an Airflow component stopped at start; see the logs in {home}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5):
                listed = _airflow(["dags", "list", "-o", "plain"], env).stdout
                if "bank_extract_load" in listed and "bank_customer_value" in listed:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"Airflow did not come up within {timeout:.0f} s; see the logs in {home}")
            time.sleep(2)
        log.info("Airflow UI on %s (logs in %s)", url, home)
        yield url
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
