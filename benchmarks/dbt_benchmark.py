"""dbt benchmark: a full refresh against an incremental run that adds one business date.

Simulates ``--customers`` for ``--days`` days plus one, loads all but the last day and replays it
into the history snapshots, times ``dbt run --full-refresh``, loads the last day and times what the
nightly run does for it: the snapshot replay of the new date and ``dbt run`` (incremental), in one
run on the same Postgres and database. Reported as wall-clock time and as dbt's own timing of its
models (``run_results.json``: what the warehouse does, without dbt's start-up and parsing).

    .venv/bin/python -m benchmarks.dbt_benchmark --customers 20000 --days 61
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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
from warehouse.history import replay_snapshots
from warehouse.settings import Settings


def _timed(args: list[str], settings: Settings) -> tuple[float, float]:
    """Wall-clock seconds of ``dbt <args>``, and dbt's own seconds for its nodes (run_results.json)."""
    started = time.perf_counter()
    run_dbt(args, settings)
    wall = time.perf_counter() - started
    results = json.loads((settings.dbt_project_dir / "target" / "run_results.json").read_text())
    return wall, results["elapsed_time"]


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
            replay_snapshots(settings)
            full_wall, full_dbt = _timed(["run", "--full-refresh", "--exclude", "source:ml+"], settings)
            load_pending(settings, last_history_day + dt.timedelta(days=1))
            started = time.perf_counter()
            replay_snapshots(settings)
            replay = time.perf_counter() - started
            incremental_wall, incremental_dbt = _timed(["run", "--exclude", "source:ml+"], settings)
    finally:
        drop_database(f"{server}/postgres", name)
    lines = [
        f"\n### dbt, {dt.date.today():%Y-%m-%d}: {args.customers:,} customers, {args.days} days of history "
        f"({history_rows:,} daily deposit balances), one more day added\n",
        f"`python -m benchmarks.dbt_benchmark --customers {args.customers} --days {args.days}`\n",
        "| `dbt run --exclude source:ml+` | full refresh (s) | incremental, one new day (s) | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| dbt's own timing of the models (run_results.json) | {full_dbt:.1f} | {incremental_dbt:.1f} | "
        f"{incremental_dbt / full_dbt:.0%} |",
        f"| wall clock, dbt start-up and parsing included | {full_wall:.1f} | {incremental_wall:.1f} | "
        f"{incremental_wall / full_wall:.0%} |",
        f"| wall clock, with the history snapshot replay of the new day ({replay:.1f} s) | {full_wall:.1f} | "
        f"{incremental_wall + replay:.1f} | {(incremental_wall + replay) / full_wall:.0%} |\n",
    ]
    return report(lines, append_to_docs=not args.no_docs)


if __name__ == "__main__":
    raise SystemExit(main())
