"""The transformation runners: dbt as a subprocess (``run_dbt``), or in-process for several short
invocations (``dbt_session``: the history replay, warehouse/history.py).

``run_dbt`` holds the warehouse write lock (``warehouse.db.transform_lock``) for its run: no delivery
commits while dbt reads ``raw``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from warehouse.db import transform_lock
from warehouse.settings import Settings

log = logging.getLogger(__name__)


# -- dbt -----------------------------------------------------------------------------------------
class DbtError(RuntimeError):
    pass


def run_dbt(args: list[str], settings: Settings | None = None) -> None:
    """Run ``dbt <args>`` in the dbt project; stream its log; raise DbtError on failure."""
    settings = settings or Settings.from_env(component="transformer")
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, **settings.dbt_env(), "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    cmd = [str(dbt), *args, "--target", settings.dbt_target]
    log.info("running %s", " ".join(cmd))
    with transform_lock(settings):  # no delivery commits while dbt reads raw
        process = subprocess.Popen(cmd, cwd=settings.dbt_project_dir, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        tail: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            log.info("dbt | %s", line)
            tail = (tail + [line])[-40:]
        returncode = process.wait()
    if returncode != 0:
        raise DbtError(f"dbt {' '.join(args)} failed (exit {returncode}); last lines:\n" + "\n".join(tail))


def dbt_session(settings: Settings | None = None) -> Callable[[list[str]], None]:
    """Parse the project once and return a function that runs dbt commands in this process.

    For many small invocations (the history replay runs ``dbt snapshot`` once per business date),
    where starting and parsing dbt each time would cost far more than the work.
    """
    from dbt.cli.main import dbtRunner

    settings = settings or Settings.from_env(component="transformer")
    os.environ.update({**settings.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"})
    common = ["--project-dir", str(settings.dbt_project_dir), "--profiles-dir", str(settings.dbt_project_dir),
              "--target", settings.dbt_target]
    parsed = dbtRunner().invoke(["parse", *common])
    if not parsed.success:
        raise DbtError(f"dbt parse failed: {parsed.exception}")
    runner = dbtRunner(manifest=parsed.result)

    def invoke(args: list[str]) -> None:
        result = runner.invoke([*args, *common])
        if not result.success:
            raise DbtError(f"dbt {' '.join(args)} failed: {result.exception or 'see the dbt log above'}")

    return invoke
