"""History catch-up benchmark: the set-based replay of the master snapshots against dbt's own
``dbt snapshot`` run once per business date, on the same deliveries, in the same run.

Simulates ``--customers`` for ``--days`` days and loads them (a bank's first catch-up), then times
``warehouse.history.replay_snapshots`` (one pass per snapshot over every delivered master record),
drops the snapshots and times the reference: one ``dbt snapshot --vars '{snapshot_date: D}'`` per
business date in order, in one parsed dbt session (how the replay ran before). The two must give the
same tables, row for row; then the ratio. Appended to docs/benchmarks.md.

    .venv/bin/python -m benchmarks.history_benchmark --customers 20000 --days 120
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import START, report
from ingestion.load import load_pending
from simulator.bank import SimulationConfig, simulate
from warehouse.cli import scratch_database
from warehouse.db import connect
from warehouse.history import SNAPSHOTS, replay_snapshots
from warehouse.settings import Settings
from warehouse.transform import invoke_dbt


def snapshot_tables(settings: Settings) -> dict[str, list[tuple]]:
    with connect(settings) as conn, conn.cursor() as cur:
        tables = {}
        for snapshot in SNAPSHOTS:
            cur.execute(f"select * from snapshots.{snapshot.name} order by {snapshot.key}, dbt_valid_from")
            tables[snapshot.name] = cur.fetchall()
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    end = START + dt.timedelta(days=args.days - 1)
    with scratch_database("bench_history") as url, tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        print(f"simulating {args.customers:,} customers, {START} to {end} ...", flush=True)
        simulate(SimulationConfig(customers=args.customers, start_date=START, end_date=end, seed=42), landing,
                 Path(tmp) / "truth")
        settings = Settings.from_env({"WAREHOUSE_URL": url, "BANK_LANDING_DIR": str(landing)})
        load_pending(settings, end)
        with connect(settings) as conn, conn.cursor() as cur:
            cur.execute("""select (select count(*) from raw.customers), (select count(*) from raw.accounts),
                                  (select count(*) from audit.deliveries)""")
            customer_records, account_records, dates = cur.fetchone()
        print(f"replaying {dates} business dates, set-based ...", flush=True)
        started = time.perf_counter()
        replay_snapshots(settings)
        replay = time.perf_counter() - started
        replayed = snapshot_tables(settings)
        with connect(settings) as conn, conn.cursor() as cur:
            for snapshot in SNAPSHOTS:
                cur.execute(f"drop table snapshots.{snapshot.name}")
        print(f"replaying {dates} business dates, one dbt snapshot per date ...", flush=True)
        started = time.perf_counter()
        invoke_dbt(["run", "--select", *sorted({s.source for s in SNAPSHOTS})], settings)
        for day in range(args.days):
            invoke_dbt(["snapshot", "--vars", json.dumps({"snapshot_date": str(START + dt.timedelta(days=day))})],
                       settings)
        reference = time.perf_counter() - started
        if snapshot_tables(settings) != replayed:
            raise RuntimeError("the set-based replay and dbt's per-date snapshots differ")
        versions = sum(len(rows) for rows in replayed.values())
    lines = [f"\n## History catch-up at {args.customers:,} customers x {args.days} days ({dt.date.today():%Y-%m-%d})",
             "", "`benchmarks/history_benchmark.py`: a bank's first load of its history, replayed into the three "
             "master snapshots. The same deliveries both ways, in the same run; the tables compared equal row "
             f"for row. {customer_records:,} customer and {account_records:,} account records delivered, "
             f"{versions:,} versions kept.", "",
             "| replay | seconds | per business date | ratio |", "| --- | ---: | ---: | ---: |",
             f"| `dbt snapshot` once per date (the reference; how it ran before) | {reference:.1f} | "
             f"{reference / dates:.2f} s | 1.00 |",
             f"| one set-based pass per snapshot (`warehouse/history.py`) | {replay:.1f} | {replay / dates:.3f} s | "
             f"{replay / reference:.3f} |"]
    return report(lines, not args.no_docs)


if __name__ == "__main__":
    sys.exit(main())
