"""Loading benchmark: the DAG's loader against a bare COPY and against pandas.to_sql.

All three load the same simulated deliveries into fresh databases on the same Postgres, in one
run; each is run ``--repeat`` times and the best time kept (these machines are noisy). The result
is rows per second and the ratios, appended to docs/benchmarks.md.

    .venv/bin/python -m benchmarks.load_benchmark --customers 50000 --days 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import platform
import tempfile
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from benchmarks import report
from ingestion import contract
from ingestion.load import load_delivery
from ingestion.raw import DeliveredCodes
from simulator.bank import SimulationConfig, simulate
from warehouse.cli import scratch_database
from warehouse.schema import ensure_schema

PG_ENCODING = {"utf-8": "UTF8", "gbk": "GBK"}


def _control(folder: Path) -> dict[str, str]:
    import csv

    with open(folder / contract.CONTROL_FILE, newline="") as handle:
        return {row["file_name"]: row["encoding"] for row in csv.DictReader(handle)}


def load_with_loader(url: str, folders: list[Path]) -> None:
    """What ``load_pending`` does for the DAG: one connection, one transaction per delivery."""
    conn = psycopg2.connect(url)
    try:
        ensure_schema(conn)
        codes = DeliveredCodes()
        for folder in folders:
            load_delivery(conn, folder, codes=codes)
            conn.commit()
    finally:
        conn.close()


def load_with_bare_copy(url: str, folders: list[Path]) -> None:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("create schema bare")
            for source in contract.SOURCE_FILES:
                cols = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type))
                                          for c in source.columns)
                cur.execute(sql.SQL("create table bare.{} ({})").format(sql.Identifier(source.name), cols))
        conn.commit()
        for folder in folders:
            encodings = _control(folder)
            with conn.cursor() as cur:
                for source in contract.SOURCE_FILES:
                    with open(folder / source.file_name, "rb") as handle:
                        cur.copy_expert(sql.SQL("copy bare.{} from stdin with (format csv, header true, encoding {})")
                                        .format(sql.Identifier(source.name),
                                                sql.Literal(PG_ENCODING[encodings[source.file_name]])), handle)
            conn.commit()
    finally:
        conn.close()


def load_with_pandas(url: str, folders: list[Path]) -> None:
    import pandas as pd
    import sqlalchemy

    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("create schema pandas"))
    for folder in folders:
        encodings = _control(folder)
        for source in contract.SOURCE_FILES:
            frame = pd.read_csv(folder / source.file_name, encoding=encodings[source.file_name], dtype=str)
            frame.to_sql(source.name, engine, schema="pandas", if_exists="append", index=False)
    engine.dispose()


METHODS = {"bare COPY": load_with_bare_copy, "loader (bank_extract_load)": load_with_loader,
           "pandas.to_sql": load_with_pandas}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-docs", action="store_true", help="do not append the result to docs/benchmarks.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        config = SimulationConfig(customers=args.customers, start_date=dt.date(2026, 7, 1),
                                  end_date=dt.date(2026, 7, args.days), seed=11)
        print(f"simulating {args.customers} customers x {args.days} days ...", flush=True)
        folders = simulate(config, Path(tmp) / "landing", Path(tmp) / "truth")
        rows = sum(len((f / s.file_name).read_bytes().splitlines()) - 1 for f in folders for s in contract.SOURCE_FILES)
        megabytes = sum((f / s.file_name).stat().st_size for f in folders for s in contract.SOURCE_FILES) / 1e6
        best: dict[str, float] = {}
        for attempt in range(args.repeat):
            for name, method in METHODS.items():
                with scratch_database("bench_load") as db_url:
                    started = time.perf_counter()
                    method(db_url, folders)
                    elapsed = time.perf_counter() - started
                best[name] = min(best.get(name, elapsed), elapsed)
                print(f"  run {attempt + 1}: {name:<28} {elapsed:7.2f} s  {rows / elapsed:>10,.0f} rows/s", flush=True)
    reference = best["bare COPY"]
    lines = [
        f"\n### Loading, {dt.date.today():%Y-%m-%d}: {args.customers:,} customers x {args.days} days "
        f"({rows:,} data lines, {megabytes:.1f} MB, {len(folders)} deliveries)\n",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, best of {args.repeat} runs; "
        f"`python -m benchmarks.load_benchmark --customers {args.customers} --days {args.days}`.\n",
        "| method | seconds | rows/s | ratio to bare COPY |", "| --- | ---: | ---: | ---: |"]
    for name, seconds in best.items():
        lines.append(f"| {name} | {seconds:.2f} | {rows / seconds:,.0f} | {reference / seconds:.2f} |")
    lines.append(f"\nLoader against pandas.to_sql: {best['pandas.to_sql'] / best['loader (bank_extract_load)']:.1f}x "
                 f"faster.\n")
    return report(lines, append_to_docs=not args.no_docs)


if __name__ == "__main__":
    raise SystemExit(main())
