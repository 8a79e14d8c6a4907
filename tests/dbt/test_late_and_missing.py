"""What the bank gets wrong and later makes right, through the real loader, history replay and dbt:
a balance whose account master arrives a day late, and a balance line that is quarantined.

Day 1 delivers account A's balance but not A's master record; day 2 delivers the record. Day 2's
balance line of account B (another owner) is damaged. Expected, checked against figures worked out
from the delivery files themselves:
- after day 1, A's balance is in the fact against an inferred member, counted for no customer;
- after day 2, A's day-1 balance belongs to its owner (the late master reclassifies the fact), and the
  owner's daily-average deposit balance is what the files say;
- B's day-2 balance is missing, not zero: day 1's balance carried forward, flagged, and the owner's
  month marked estimated;
- the warehouse built that way equals a full refresh.
"""

import csv
import datetime as dt
from decimal import Decimal

from ingestion.load import load_pending
from tests.dbt.test_incremental import _assert_equals_a_full_refresh, _churn_models_and_their_marts
from tests.deliveries import copy_days, rewrite_control
from warehouse.history import replay_snapshots
from warehouse.transform import run_dbt

DAY1, DAY2 = dt.date(2026, 7, 1), dt.date(2026, 7, 2)


def _rows(path):
    return list(csv.DictReader(path.read_text().splitlines()))


def _night(settings, up_to):
    load_pending(settings, up_to)
    replay_snapshots(settings)
    run_dbt(["run", "--exclude", "source:ml+"], settings)


def test_a_late_master_reclassifies_its_facts_and_a_missing_balance_is_carried_forward(tiny_bank, tmp_path,
                                                                                      settings, conn):
    landing = copy_days(tiny_bank, tmp_path / "landing", days=2)
    day1, day2 = landing / DAY1.isoformat(), landing / DAY2.isoformat()
    families = {p["product_code"]: p["product_family"] for p in _rows(day1 / "products.csv")}
    accounts = {a["account_id"]: a for a in _rows(day1 / "accounts.csv")}
    balances = {d: {b["account_id"]: Decimal(b["balance_cny"]) for b in _rows(folder / "deposit_balances.csv")}
                for d, folder in ((DAY1, day1), (DAY2, day2))}
    deposits = [a for a in balances[DAY1] if a in balances[DAY2] and families[accounts[a]["product_code"]] == "deposit"]
    late = deposits[0]
    owner = accounts[late]["customer_id"]
    missing = next(a for a in deposits if accounts[a]["customer_id"] != owner)
    missing_owner = accounts[missing]["customer_id"]

    lines = (day1 / "accounts.csv").read_text().splitlines()
    late_line = next(line for line in lines if line.startswith(late + ","))
    (day1 / "accounts.csv").write_text("\n".join(line for line in lines if line != late_line) + "\n")
    (day2 / "accounts.csv").write_text((day2 / "accounts.csv").read_text() + late_line + "\n")
    path = day2 / "deposit_balances.csv"
    path.write_text("\n".join(line.replace(f"{missing},{balances[DAY2][missing]:.2f},",
                                           f"{missing},1O0.00,") for line in path.read_text().splitlines()) + "\n")
    for folder in (day1, day2):
        rewrite_control(folder)

    def fact(account_id):
        with conn.cursor() as cur:
            cur.execute("select business_date, customer_id, balance_cny, is_inferred_account, is_estimated, "
                        "estimated_from_date from marts.fct_deposit_balances_daily where account_id = %s "
                        "order by business_date", (account_id,))
            rows = cur.fetchall()
        conn.rollback()
        return rows

    def month(customer_id):
        with conn.cursor() as cur:
            cur.execute("select daily_average_deposit_balance_cny, delivered_balance_days, estimated_balance_days, "
                        "is_estimated from marts.customer_value_monthly where customer_id = %s", (customer_id,))
            row = cur.fetchone()
        conn.rollback()
        return row

    def owners_daily_average(customer_id, day_balances):
        own = [a for a, acc in accounts.items()
               if acc["customer_id"] == customer_id and families[acc["product_code"]] == "deposit"]
        return round(sum(day_balances[d].get(a, Decimal(0)) for d in (DAY1, DAY2) for a in own) / 2, 2)

    run_dbt(["seed"], settings)
    _night(settings, DAY1)
    assert fact(late) == [(DAY1, None, balances[DAY1][late], True, False, None)]
    with conn.cursor() as cur:
        cur.execute("select customer_id, is_inferred_member from marts.dim_account where account_id = %s", (late,))
        assert cur.fetchone() == (None, True)
    conn.rollback()

    _night(settings, DAY2)
    assert fact(late) == [(DAY1, owner, balances[DAY1][late], False, False, None),
                          (DAY2, owner, balances[DAY2][late], False, False, None)]
    assert month(owner)[0] == owners_daily_average(owner, balances)

    assert fact(missing) == [(DAY1, missing_owner, balances[DAY1][missing], False, False, None),
                             (DAY2, missing_owner, balances[DAY1][missing], False, True, DAY1)]
    carried = {DAY1: balances[DAY1], DAY2: {**balances[DAY2], missing: balances[DAY1][missing]}}
    average, delivered_days, estimated_days, is_estimated = month(missing_owner)
    assert average == owners_daily_average(missing_owner, carried)
    assert (estimated_days, is_estimated) == (1, True) and delivered_days >= 3
    assert month(owner)[3] is False

    _churn_models_and_their_marts(settings)  # the marts that read ml, as the DAG builds them
    _assert_equals_a_full_refresh(settings, conn)
