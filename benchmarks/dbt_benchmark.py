"""dbt benchmark: a full refresh against an incremental run that adds one business date.

Simulates ``--customers`` for ``--days`` days plus one, loads all but the last day, times
``dbt run --full-refresh``, loads the last day and times ``dbt run`` (incremental), in one run on
the same Postgres and database. Timed twice: the whole project, and the incremental facts alone.

    .venv/bin/python -m benchmarks.dbt_benchmark --customers 20000 --days 61
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks import report
from ingestion.load import load_pending
from simulator.bank import SimulationConfig, simulate
from warehouse.cli import ensure_warehouse
from warehouse.db import connect, drop_database, ensure_database
from warehouse.dbt import run_dbt
from warehouse.settings import Settings

FACTS = "fct_deposit_balances_daily fct_loan_balances_daily fct_transactions"


def _timed(args: list[str], settings: Settings) -> float:
    started = time.perf_counter()
    run_dbt(args, settings)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=61)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    server = ensure_warehouse().rsplit("/", 1)[0]
    name = f"bench_dbt_{uuid.uuid4().hex[:8]}"
    ensure_database(f"{server}/postgres", name)
    start = dt.date(2026, 7, 1)
    last_history_day = start + dt.timedelta(days=args.days - 1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            landing = Path(tmp) / "landing"
            print(f"simulating {args.customers} customers x {args.days + 1} days ...", flush=True)
            simulate(SimulationConfig(customers=args.customers, start_date=start,
                                      end_date=last_history_day + dt.timedelta(days=1), seed=13),
                     landing, Path(tmp) / "truth")
            settings = Settings.from_env({"WAREHOUSE_URL": f"{server}/{name}", "BANK_LANDING_DIR": str(landing)})
            load_pending(settings, last_history_day)
            with connect(settings) as conn, conn.cursor() as cur:
                cur.execute("select count(*) from raw.deposit_balances")
                history_rows = cur.fetchone()[0]
            run_dbt(["seed"], settings)
            full = _timed(["run", "--full-refresh", "--exclude", "source:ml+"], settings)
            full_facts = _timed(["run", "--full-refresh", "--select", *FACTS.split()], settings)
            load_pending(settings, last_history_day + dt.timedelta(days=1))
            incremental_facts = _timed(["run", "--select", *FACTS.split()], settings)
            # the rest of the project on top of the incremental facts (marts are tables, rebuilt whole)
            incremental = incremental_facts + _timed(["run", "--exclude", *FACTS.split(), "source:ml+"], settings)
    finally:
        drop_database(f"{server}/postgres", name)
    lines = [
        f"\n### dbt, {dt.date.today():%Y-%m-%d}: {args.customers:,} customers, {args.days} days of history "
        f"({history_rows:,} daily deposit balances), one more day added\n",
        f"`python -m benchmarks.dbt_benchmark --customers {args.customers} --days {args.days}`\n",
        "| run | full refresh (s) | incremental, one new day (s) | ratio |", "| --- | ---: | ---: | ---: |",
        f"| incremental facts ({FACTS.replace(' ', ', ')}) | {full_facts:.1f} | {incremental_facts:.1f} | "
        f"{incremental_facts / full_facts:.0%} |",
        f"| whole project before segmentation (`dbt run --exclude source:ml+`) | {full:.1f} | "
        f"{incremental:.1f} | {incremental / full:.0%} |\n",
    ]
    return report(lines, append_to_docs=not args.no_docs)


if __name__ == "__main__":
    raise SystemExit(main())
