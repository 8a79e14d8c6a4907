"""A bank's own deliveries, not the simulator's: the worked example in examples/small_bank (three
days written by hand to the contract, docs/adopting.md) through `python -m warehouse run`."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from warehouse import airflow_local

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "small_bank" / "landing"


def _run(database_url, *args):
    env = {**os.environ, "WAREHOUSE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "warehouse", "run", "--landing", str(EXAMPLE), *args], env=env,
                          capture_output=True, text=True, cwd=EXAMPLE.parents[2])


def test_the_worked_example_runs_through_both_dags_to_the_reports(database_url):
    result = _run(database_url, "--name", "small_bank_test")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "raw: 3 deliveries (2025-03-01 to 2025-03-03), 53 rows loaded, 0 quarantined" in result.stdout
    assert "reports for 2025-03: 2 RMs, 1 branch and head office, in en, zh" in result.stdout
    assert "reports/2025-03/RM01.zh.pdf" in result.stdout and "reports/2025-03/RM02.zh.pdf" in result.stdout
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        # the overdraft is a day of lending: -120.00 at 18.25% against the demand deposit's FTP rate
        cur.execute("select balance_cny from marts.fct_deposit_balances_daily where account_id = 'P0008' "
                    "order by business_date")
        assert [float(b) for (b,) in cur.fetchall()] == [310.20, -120.00, -95.00]
        cur.execute("select ftp_rate_pct from marts.dim_product where product_code = 'DD01'")
        ftp = float(cur.fetchone()[0])
        expected = round((310.20 * (ftp - 0.20) - 120.00 * (ftp - 18.25) - 95.00 * (ftp - 18.25)) / 100 / 365, 2)
        cur.execute("select deposit_spread_cny, daily_average_deposit_balance_cny from marts.customer_value_monthly "
                    "where customer_id = 'K004'")
        spread, average = cur.fetchone()
        assert (float(spread), float(average)) == (expected, round((310.20 - 120.00 - 95.00) / 3, 2))
        # a system posting is not the customer's own activity and costs nothing to serve
        cur.execute("select transaction_count from marts.customer_value_monthly where customer_id = 'K001'")
        assert cur.fetchone()[0] == 1  # the mobile payment; not the interest the bank credited


def test_a_date_outside_the_deliveries_fails_clearly_instead_of_a_green_no_op(database_url, tmp_path):
    result = _run(database_url, "--through", "2025-04-01")
    assert result.returncode == 1
    assert "outside what was delivered" in result.stderr and "2025-03-01 to 2025-03-03" in result.stderr
    env = airflow_local.airflow_env(tmp_path / "airflow", extra={"WAREHOUSE_URL": database_url,
                                                                  "BANK_START_DATE": "2025-03-01"})
    with pytest.raises(RuntimeError, match="would run no task"):
        airflow_local.dags_test("bank_extract_load", "1993-03-31", env)
