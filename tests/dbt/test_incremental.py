"""The incremental models against a full refresh: a warehouse built night by night (a month end, two
days in one run, a corrected re-delivery of an old day) holds exactly what a full rebuild from the
same raw data holds, whichever way each run brought the monthly value model up to date."""

import datetime as dt
import logging
import re
import shutil

import pytest

from ingestion import contract
from ingestion.load import load_pending
from ml.retention import score_churn_risk, train_churn_models
from ml.segmentation import segment_new_months
from tests.deliveries import copy_days, rewrite_control
from warehouse.db import connect
from warehouse.history import replay_snapshots
from warehouse.transform import run_dbt

# Every incremental model, and the mart built from them. Each records the newest batch (and date) it
# was built from, which a full refresh sets to the newest on every row: not compared.
MODELS = {
    "marts.fct_deposit_balances_daily": ("built_from_batch_id",),
    "marts.fct_loan_balances_daily": ("built_from_batch_id",),
    "marts.fct_transactions": ("built_from_batch_id",),
    "intermediate.int_deposit_account_months": ("built_from_batch_id", "built_through_date"),
    "intermediate.int_loan_account_months": ("built_from_batch_id", "built_through_date"),
    "intermediate.int_customer_channel_months": ("built_from_batch_id", "built_through_date"),
    "intermediate.int_loan_credit_cost_months": ("built_from_batch_id",),
    "intermediate.int_customer_months_valued": ("built_from_batch_id",),
    "marts.customer_value_monthly": ("built_from_batch_id",),
    "marts.customer_tier_migrations_monthly": ("built_from_batch_id",),
    "marts.tier_migrations_monthly": ("built_from_batch_id",),
    "marts.portfolio_monthly": ("built_from_batch_id",),
    "marts.group_value_monthly": ("built_from_batch_id",),
    "marts.product_profitability_monthly": ("built_from_batch_id",),
    "marts.channel_profitability_monthly": ("built_from_batch_id",),
    "marts.customer_360": (),
    "intermediate.int_customer_signals_monthly": ("built_from_batch_id",),
    "marts.customer_retention_monthly": ("built_from_batch_id",),
    "marts.customer_segments_monthly": (),
    "marts.segment_migrations_monthly": (),
    "marts.segments_vs_tiers_monthly": (),
    "marts.delivery_reconciliation_daily": ("built_from_batch_id",),
    "marts.rm_report_customers": ("built_from_batch_id",),
    "marts.rm_report_books": ("built_from_batch_id",),
}


def _contents(cur, table: str, excluded: tuple[str, ...]) -> tuple[int, str]:
    schema, name = table.split(".")
    cur.execute("select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "order by ordinal_position", (schema, name))
    columns = [c for (c,) in cur.fetchall() if c not in excluded]
    assert columns, f"{table} does not exist"
    row = "concat_ws('|', " + ", ".join(f'"{c}"::text' for c in columns) + ")"
    cur.execute(f"select count(*), md5(coalesce(string_agg({row}, E'\\n' order by {row}), '')) from {table}")
    return cur.fetchone()


# the models that add up days, each of which logs its build plan (macro monthly_build_plan)
DAY_SUM_MODELS = ("int_deposit_account_months", "int_loan_account_months", "int_customer_channel_months")


def _build_plans(caplog) -> dict[str, str]:
    """The build plan each day-summing model logged in the last dbt run: 'add days from ...', 'rebuild
    months from ...', 'nothing new' or 'full refresh'."""
    plans = {}
    for record in caplog.records:
        found = re.search(r"build plan (\w+): (.+)$", record.getMessage())
        if found:
            plans[found.group(1)] = found.group(2)
    caplog.clear()
    assert set(plans) == set(DAY_SUM_MODELS), f"build plans logged: {plans}"
    return plans


def _run_day(settings, landing, tiny_bank, up_to: dt.date) -> None:
    """The deliveries up to ``up_to`` arrive; the nightly pipeline loads, replays history and runs dbt."""
    for folder in sorted(tiny_bank.iterdir()):
        if folder.name <= up_to.isoformat() and not (landing / folder.name).exists():
            shutil.copytree(folder, landing / folder.name)
    load_pending(settings, up_to)
    replay_snapshots(settings)
    run_dbt(["run", "--exclude", "source:ml+"], settings)
    _churn_models_and_their_marts(settings)


def _churn_models_and_their_marts(settings, months=None) -> list[str]:
    """What the DAG does after the first dbt run: train and score the churn models, build what reads ml."""
    with connect(settings) as connection:
        model_ids = train_churn_models(connection, months)
    with connect(settings) as connection:
        score_churn_risk(connection, model_ids or None)
    run_dbt(["run", "--select", "source:ml+"], settings)
    return model_ids


def _views(conn) -> dict[str, int]:
    """Every view dbt built, with its oid: a re-created view gets a new one."""
    with conn.cursor() as cur:
        cur.execute("select n.nspname || '.' || c.relname, c.oid from pg_class as c "
                    "join pg_namespace as n on n.oid = c.relnamespace "
                    "where c.relkind = 'v' and n.nspname in ('staging', 'intermediate', 'marts')")
        views = dict(cur.fetchall())
    conn.rollback()
    return views


DAILY_FACTS = ("fct_deposit_balances_daily", "fct_loan_balances_daily", "fct_transactions")


def _assert_partitioned_by_month(conn) -> None:
    """Each daily fact is partitioned by month (macro create_month_partitions): one partition for each
    month its rows hold and no other, named <fact>_pYYYYMM after the month it holds, with the fact's
    four indexes, and no dbt intermediate or backup table (nor their partitions or indexes) left
    behind."""
    with conn.cursor() as cur:
        for fact in DAILY_FACTS:
            cur.execute("select c.relkind, array(select i.inhrelid::regclass::text from pg_inherits as i "
                        "where i.inhparent = c.oid order by 1) from pg_class as c where c.oid = %s::regclass",
                        (f"marts.{fact}",))
            kind, partitions = cur.fetchone()
            assert kind == "p", f"marts.{fact} is not partitioned (relkind {kind})"
            cur.execute(f"select tableoid::regclass::text, to_char(business_date, 'YYYYMM') "
                        f"from marts.{fact} group by 1, 2 order by 1")
            held = cur.fetchall()
            assert held and all(name == f"marts.{fact}_p{month}" for name, month in held), held
            assert partitions == [name for name, _ in held], f"{fact}: partitions {partitions}, months {held}"
            indexes = _partition_indexes(cur, fact)
            assert len(indexes) == 4 * len(partitions), f"{fact}: each partition should hold four indexes: {indexes}"
        cur.execute(r"select relname from pg_class where relname like '%\_\_dbt\_%'")
        assert cur.fetchall() == [], "dbt's intermediate or backup tables are left behind"
    conn.rollback()


def _partition_indexes(cur, fact: str) -> list[str]:
    """The names of the indexes on ``fact``'s partitions (Postgres names them after the partition)."""
    cur.execute("select x.indexrelid::regclass::text from pg_inherits as i "
                "join pg_index as x on x.indrelid = i.inhrelid where i.inhparent = %s::regclass order by 1",
                (f"marts.{fact}",))
    return [name for (name,) in cur.fetchall()]


def _assert_equals_a_full_refresh(settings, conn) -> None:
    with conn.cursor() as cur:
        incremental = {table: _contents(cur, table, excluded) for table, excluded in MODELS.items()}
        indexes = {fact: _partition_indexes(cur, fact) for fact in DAILY_FACTS}
    conn.rollback()
    run_dbt(["run", "--full-refresh"], settings)
    with conn.cursor() as cur:
        for table, excluded in MODELS.items():
            assert _contents(cur, table, excluded) == incremental[table], \
                f"{table}: the night-by-night build differs from a full refresh"
        for fact, names in indexes.items():  # the table replaced gave its partitions' index names up
            assert not names or _partition_indexes(cur, fact) == names, f"{fact}: index names drifted"
    conn.rollback()
    _assert_partitioned_by_month(conn)
    assert incremental["marts.customer_value_monthly"][0] > 0


@pytest.mark.e2e
def test_night_by_night_equals_a_full_refresh(tiny_bank, tmp_path, settings, conn, caplog):
    caplog.set_level(logging.INFO, logger="warehouse.transform")
    landing = copy_days(tiny_bank, tmp_path / "landing", days=30)
    load_pending(settings, dt.date(2026, 7, 30))
    run_dbt(["seed"], settings)
    replay_snapshots(settings)
    run_dbt(["run", "--exclude", "source:ml+"], settings)  # the first run builds everything
    _churn_models_and_their_marts(settings)
    views = _views(conn)
    assert len(views) >= 15, f"dbt's views: {sorted(views)}"

    # nights that add days to their months: one day that ends a month, two days that open the next
    for night in (dt.date(2026, 7, 31), dt.date(2026, 8, 2)):
        caplog.clear()
        _run_day(settings, landing, tiny_bank, night)
        warned = [r.getMessage() for r in caplog.records
                  if r.name == "warehouse.transform" and r.levelno >= logging.WARNING]
        assert not warned, f"{night}: a night's dbt should log no warning, so that one that matters is read: {warned}"
        first_new = (night - dt.timedelta(days=1) if night == dt.date(2026, 8, 2) else night).isoformat()
        assert set(_build_plans(caplog).values()) == {f"add days from {first_new}"}, \
            f"{night}: the new days should be added to their months"
    assert _views(conn) == views, "a view whose definition did not change should not be re-created each night"
    _assert_partitioned_by_month(conn)  # built whole, then a new month's partition made by a night
    # a view whose definition differs from the model's (here its fingerprint), or that is missing, is rebuilt
    with conn.cursor() as cur:
        cur.execute("comment on view staging.stg_bank__products is 'an older definition'")
        cur.execute("drop view staging.stg_bank__org_units cascade")
    conn.commit()
    run_dbt(["run", "--select", "stg_bank__products", "stg_bank__org_units"], settings)
    rebuilt = {name for name, oid in _views(conn).items() if views.get(name) != oid}
    assert rebuilt == {"staging.stg_bank__products", "staging.stg_bank__org_units"}, rebuilt
    _assert_equals_a_full_refresh(settings, conn)
    assert not set(_views(conn).items()) & set(views.items()), "--full-refresh should re-create every view"

    # a month end re-scored by a retrained model, with no new delivery: the marts that read it follow
    [retrained] = _churn_models_and_their_marts(settings, [dt.date(2026, 7, 1)])
    with conn.cursor() as cur:
        cur.execute("select distinct churn_model_id from marts.customer_retention_monthly "
                    "where month_start_date = '2026-07-01' and churn_model_id is not null "
                    "union all select distinct churn_model_id from marts.portfolio_monthly "
                    "where month_start_date = '2026-07-01'")
        assert {model for (model,) in cur.fetchall()} == {retrained}
    conn.rollback()

    # July segmented, then segmented again with no new delivery: the marts that read it follow
    for months in (None, [dt.date(2026, 7, 1)]):
        with connect(settings) as connection:
            [run_id] = segment_new_months(connection, months=months)
        run_dbt(["run", "--select", "source:ml+"], settings)
        with conn.cursor() as cur:
            cur.execute("select distinct run_id from marts.customer_segments_monthly union all "
                        "select distinct segmentation_run_id from marts.customer_retention_monthly "
                        "where month_start_date = '2026-07-01'")
            assert [run for (run,) in cur.fetchall()] == [run_id, run_id]
        conn.rollback()

    # a corrected re-delivery of an old day (one deposit balance changes) rebuilds from its month
    day = landing / "2026-07-10"
    path = day / "deposit_balances.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    fields = lines[1].split(",")
    column = header.index(contract.BY_NAME["deposit_balances"].amount_column)
    fields[column] = f"{float(fields[column]) + 1000:.2f}"
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rewrite_control(day)
    # ... into a fact an earlier version built as one table: the night works on it as it is and says
    # how to partition it; the full refresh below does
    with conn.cursor() as cur:
        cur.execute("create table marts.fct_transactions_one (like marts.fct_transactions including all)")
        cur.execute("insert into marts.fct_transactions_one select * from marts.fct_transactions")
        cur.execute("drop table marts.fct_transactions cascade")
        cur.execute("alter table marts.fct_transactions_one rename to fct_transactions")
    conn.commit()
    caplog.clear()
    _run_day(settings, landing, tiny_bank, dt.date(2026, 8, 4))
    assert [r for r in caplog.records if r.levelno == logging.WARNING
            and "fct_transactions\" is one table" in r.getMessage() and "--full-refresh" in r.getMessage()], \
        "a fact built before the partitioning should be warned about"
    assert set(_build_plans(caplog).values()) == {"rebuild months from 2026-07-01"}, \
        "a re-delivered day should rebuild the months from its own"
    with conn.cursor() as cur:
        cur.execute("select relkind from pg_class where oid = 'marts.fct_transactions'::regclass")
        assert cur.fetchone() == ("r",)
    conn.rollback()
    _assert_equals_a_full_refresh(settings, conn)
