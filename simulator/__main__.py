"""Command line: ``python -m simulator --customers 2000 --start 2026-07-01 --end 2026-09-30``."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import Path

from simulator.bank import SimulationConfig, simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write deterministic bank source deliveries.")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 7, 1))
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 9, 30))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty-rate", type=float, default=0.0,
                        help="share of data lines damaged on purpose (they must end in quarantine)")
    parser.add_argument("--landing", type=Path, default=Path("data/landing"),
                        help="folder that receives one delivery folder per business date")
    parser.add_argument("--truth", type=Path, default=Path("data/ground_truth"),
                        help="folder for the hidden ground truth (never read by the pipeline)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = SimulationConfig(customers=args.customers, start_date=args.start, end_date=args.end, seed=args.seed,
                              dirty_rate=args.dirty_rate)
    folders = simulate(config, args.landing, args.truth)
    print(f"wrote {len(folders)} deliveries to {args.landing} ({config.customers} customers, seed {config.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
