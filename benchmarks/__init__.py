"""Benchmarks: speed measured as ratios against a reference in the same run (never timed tests)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
START = dt.date(2026, 7, 1)


def report(lines: list[str], append_to_docs: bool) -> int:
    """Print a benchmark's markdown section and, unless told not to, append it to docs/benchmarks.md."""
    text = "\n".join(lines)
    print(text)
    if append_to_docs:
        with open(DOCS, "a") as handle:
            handle.write(text)
    return 0


@contextmanager
def simulated_warehouse(kind: str, customers: int, days: int, seed: int = 42) -> Iterator[tuple]:
    """A scratch database of the warehouse's server holding ``customers`` simulated for ``days`` from
    START, loaded, replayed through the history and built by dbt (every model that does not read
    ``ml``); dropped afterwards. Yields (settings, the simulator's ground-truth folder)."""
    from ingestion.load import load_pending
    from simulator.bank import SimulationConfig, simulate
    from warehouse.cli import scratch_database
    from warehouse.history import replay_snapshots
    from warehouse.settings import Settings
    from warehouse.transform import run_dbt

    end = START + dt.timedelta(days=days - 1)
    with scratch_database(f"bench_{kind}") as url, tempfile.TemporaryDirectory() as tmp:
        landing, truth = Path(tmp) / "landing", Path(tmp) / "truth"
        print(f"simulating {customers:,} customers, {START} to {end} ...", flush=True)
        simulate(SimulationConfig(customers=customers, start_date=START, end_date=end, seed=seed), landing, truth)
        settings = Settings.from_env({"WAREHOUSE_URL": url, "BANK_LANDING_DIR": str(landing),
                                      "BANK_REPORTS_DIR": str(Path(tmp) / "reports")})
        print("loading, replaying the history, dbt run ...", flush=True)
        load_pending(settings, end)
        run_dbt(["seed"], settings)
        replay_snapshots(settings)
        run_dbt(["run", "--exclude", "source:ml+"], settings)
        yield settings, truth
