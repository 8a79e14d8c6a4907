"""sqlfluff (postgres dialect, dbt templater) passes on the dbt project."""

import os
import subprocess
import sys
from pathlib import Path

from warehouse.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_sqlfluff_lint_passes_on_the_dbt_project(database_url):
    env = {**os.environ, **Settings.from_env({"WAREHOUSE_URL": database_url}).dbt_env(),
           "DBT_PROFILES_DIR": str(ROOT / "dbt_project")}
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    result = subprocess.run([str(sqlfluff), "lint", "dbt_project/models", "dbt_project/tests"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"sqlfluff found problems (fix with `sqlfluff fix`):\n{result.stdout[-4000:]}"
