"""Run dbt as a subprocess of the project's environment, with the warehouse settings."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from warehouse.settings import Settings

log = logging.getLogger(__name__)


class DbtError(RuntimeError):
    pass


def run_dbt(args: list[str], settings: Settings | None = None) -> None:
    """Run ``dbt <args>`` in the dbt project; stream its log; raise DbtError on failure."""
    settings = settings or Settings.from_env()
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, **settings.dbt_env(), "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    cmd = [str(dbt), *args, "--target", settings.dbt_target]
    log.info("running %s", " ".join(cmd))
    process = subprocess.Popen(cmd, cwd=settings.dbt_project_dir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        log.info("dbt | %s", line)
        tail = (tail + [line])[-40:]
    if process.wait() != 0:
        raise DbtError(f"dbt {' '.join(args)} failed (exit {process.returncode}); last lines:\n" + "\n".join(tail))
