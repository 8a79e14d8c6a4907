"""dbt benchmark: a full refresh against an incremental run that adds one business date.

Simulates ``--customers`` for ``--days`` days plus one, loads all but the last day and replays it
into the history snapshots, times ``dbt run --full-refresh``, loads the last day and times what the
nightly run does for it: the snapshot replay of the new date and ``dbt run`` (incremental), in one
run on the same Postgres and database. Reported as wall-clock time and as dbt's own timing of its
models (``run_results.json``: what the warehouse does, without dbt's start-up and parsing), with
the models that cost most in the incremental run. Every model is run, those that read ``ml`` too
(on its empty tables here: no segmentation or churn model runs in the benchmark).

Between the full refresh and the new day the database is vacuumed and analyzed, as autovacuum
would have done by the next night: a table that dbt created seconds ago has no statistics and no
visibility map, which no nightly run meets.

    .venv/bin/python -m benchmarks.dbt_benchmark --customers 20000 --days 61
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import tempfile
import time
from pathlib import Path

from benchmarks import report
from ingestion.load import load_pending
from simulator.bank import SimulationConfig, simulate
from warehouse.cli import scratch_database
from warehouse.db import connect
from warehouse.history import replay_snapshots
from warehouse.settings import Settings
from warehouse.transform import run_dbt


def _timed(args: list[str], settings: Settings) -> tuple[float, float, list[tuple[str, float]]]:
    """Wall-clock seconds of ``dbt <args>``, dbt's own seconds (run_results.json) and each model's."""
    started = time.perf_counter()
    run_dbt(args, settings)
    wall = time.perf_counter() - started
    results = json.loads((settings.dbt_project_dir / "target" / "run_results.json").read_text())
    models = sorted(((r["unique_id"].rsplit(".", 1)[-1], r["execution_time"]) for r in results["results"]),
                    key=lambda model: -model[1])
    return wall, results["elapsed_time"], models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=61)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    start = dt.date(2026, 7, 1)
    last_history_day = start + dt.timedelta(days=args.days - 1)
    with scratch_database("bench_dbt") as url, tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        print(f"simulating {args.customers} customers x {args.days + 1} days ...", flush=True)
        simulate(SimulationConfig(customers=args.customers, start_date=start,
                                  end_date=last_history_day + dt.timedelta(days=1), seed=13),
                 landing, Path(tmp) / "truth")
        settings = Settings.from_env({"WAREHOUSE_URL": url, "BANK_LANDING_DIR": str(landing)})
        load_pending(settings, last_history_day)
        with connect(settings) as conn, conn.cursor() as cur:
            cur.execute("select count(*) from raw.deposit_balances")
            history_rows = cur.fetchone()[0]
        run_dbt(["seed"], settings)
        replay_snapshots(settings)
        full_wall, full_dbt, full_models = _timed(["run", "--full-refresh"], settings)
        with connect(settings, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("vacuum analyze")
        load_pending(settings, last_history_day + dt.timedelta(days=1))
        started = time.perf_counter()
        replay_snapshots(settings)
        replay = time.perf_counter() - started
        incremental_wall, incremental_dbt, incremental_models = _timed(["run"], settings)
    lines = [
        f"\n### dbt, {dt.date.today():%Y-%m-%d}: {args.customers:,} customers, {args.days} days of history "
        f"({history_rows:,} daily deposit balances), one more day added\n",
        f"`python -m benchmarks.dbt_benchmark --customers {args.customers} --days {args.days}`\n",
        "| `dbt run` | full refresh (s) | incremental, one new day (s) | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| dbt's own timing of the models (run_results.json) | {full_dbt:.1f} | {incremental_dbt:.1f} | "
        f"{incremental_dbt / full_dbt:.0%} |",
        f"| wall clock, dbt start-up and parsing included | {full_wall:.1f} | {incremental_wall:.1f} | "
        f"{incremental_wall / full_wall:.0%} |",
        f"| wall clock, with the history snapshot replay of the new day ({replay:.1f} s) | {full_wall:.1f} | "
        f"{incremental_wall + replay:.1f} | {(incremental_wall + replay) / full_wall:.0%} |\n",
        "The models that cost most (dbt's timing, seconds; 4 threads share 2 cores):\n",
        "| model | full refresh | incremental |", "| --- | ---: | ---: |",
    ]
    full_by_model, costliest = dict(full_models), incremental_models[:8]
    lines += [f"| {name} | {full_by_model.get(name, 0):.2f} | {seconds:.2f} |" for name, seconds in costliest]
    lines.append(f"| the other {len(incremental_models) - len(costliest)} models | "
                 f"{sum(s for n, s in full_models if n not in dict(costliest)):.2f} | "
                 f"{sum(s for _, s in incremental_models[len(costliest):]):.2f} |\n")
    return report(lines, append_to_docs=not args.no_docs)


if __name__ == "__main__":
    raise SystemExit(main())
