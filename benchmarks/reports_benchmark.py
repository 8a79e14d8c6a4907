"""Reports benchmark: RM and branch PDFs per minute for a bank of a few hundred RMs, and the
speed-up of building them in two worker processes against one.

Simulates ``--customers`` for ``--days`` days from 2026-07-01, and builds the warehouse as the DAGs
do (load, history replay, dbt, churn model, segmentation, the marts that read them). Then builds
every book's reports for the last month (both languages) twice, with ``reports.publish.publish_books``,
the function each mapped Airflow task calls:

* one worker: every book, one after another, in one child process (what one Airflow worker does);
* two workers: the books split between two child processes running at once (what the mapped
  tasks do on two workers of the LocalExecutor or Celery), each with its own connection.

The figures are the wall time of each (the reference is the one-worker run, in the same run), the
reports per minute and the speed-up; appended to docs/benchmarks.md.

    .venv/bin/python -m benchmarks.reports_benchmark --customers 30000 --days 31
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import START, report, simulated_warehouse
from warehouse.db import connect
from warehouse.settings import REPORT_LANGUAGES, Settings
from warehouse.transform import run_dbt


def build(url: str, reports_dir: str, books: list[dict]) -> dict:
    """The child process: build ``books``' reports one after another, as a mapped task builds its batch
    (``reports.publish.publish_books``); seconds and files."""
    from reports.books import BookKey
    from reports.publish import publish_books

    started = time.perf_counter()
    with connect(Settings.from_env({"WAREHOUSE_URL": url})) as conn:
        entries, failures = publish_books(conn, [BookKey.from_dict(book) for book in books], Path(reports_dir),
                                          REPORT_LANGUAGES)
    if failures:
        raise RuntimeError(f"{len(failures)} books failed: {', '.join(str(key) for key, _ in failures)}")
    return {"seconds": time.perf_counter() - started, "files": len(entries)}


def build_in_workers(url: str, books: list[dict], reports_dir: Path, workers: int) -> dict:
    shares = [books[i::workers] for i in range(workers)]
    started = time.perf_counter()
    children = [subprocess.Popen([sys.executable, "-m", "benchmarks.reports_benchmark", "--build", url,
                                  str(reports_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                for _ in shares]
    for child, share in zip(children, shares, strict=True):
        child.stdin.write(json.dumps(share))
        child.stdin.close()
    results = [json.loads(child.stdout.read().strip().splitlines()[-1]) for child in children]
    if any(child.wait() != 0 for child in children):
        raise RuntimeError("a report-building child failed (its log is above)")
    # the busiest child's own time (its books, after its start-up): what grows with the books
    return {"seconds": time.perf_counter() - started, "files": sum(r["files"] for r in results),
            "work_seconds": max(r["seconds"] for r in results)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--build", nargs=2, help=argparse.SUPPRESS)  # the child: url, reports dir
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.build:
        print(json.dumps(build(*args.build, json.loads(sys.stdin.read()))))
        return 0
    from ml.retention import score_churn_risk, train_churn_models
    from ml.segmentation import segment_new_months
    from reports.books import list_books, report_months

    logging.basicConfig(level=logging.WARNING)
    with simulated_warehouse("reports", args.customers, args.days) as (settings, _):
        print("churn model, segments ...", flush=True)
        with connect(settings) as conn:
            score_churn_risk(conn, train_churn_models(conn) or None)
            segment_new_months(conn)
        run_dbt(["run", "--select", "source:ml+"], settings)
        with connect(settings) as conn, conn.cursor() as cur:
            month = report_months(conn)[-1]
            books = [k.to_dict() for k in list_books(conn, month)]
            cur.execute("select count(*) from marts.rm_report_customers where month_start_date = %s", (month,))
            customers = cur.fetchone()[0]
        rms = sum(b["level"] == "rm" for b in books)
        print(f"{len(books)} books ({rms} RMs) of {month:%Y-%m}: one worker, then two ...", flush=True)
        url = settings.warehouse_url
        one = build_in_workers(url, books, settings.reports_dir / "one", 1)
        two = build_in_workers(url, books, settings.reports_dir / "two", 2)
    speedup = one["seconds"] / two["seconds"]
    lines = [f"\n## Reports at {len(books)} books ({dt.date.today():%Y-%m-%d})", "",
             f"`benchmarks/reports_benchmark.py`: {args.customers:,} simulated customers, {args.days} days from "
             f"{START}; {month:%Y-%m}: {customers:,} customers in {rms} RM books and {len(books) - rms} branch "
             f"books, each in {', '.join(REPORT_LANGUAGES)} ({one['files']} PDFs), built by "
             "`reports.publish.publish_books` (what each mapped task runs). The reference, in the same run: one "
             "worker process building them all.", "",
             "| workers | wall time | PDFs per minute | speed-up |", "| ---: | ---: | ---: | ---: |",
             f"| 1 | {one['seconds']:.1f} s | {one['files'] / one['seconds'] * 60:,.0f} | 1.00× |",
             f"| 2 | {two['seconds']:.1f} s | {two['files'] / two['seconds'] * 60:,.0f} | {speedup:.2f}× |", "",
             f"Aim: a speed-up of at least 1.7 on two workers: {'met' if speedup >= 1.7 else 'missed'}.", "",
             f"Per book, the busiest worker's own time over its books (start-up left out): "
             f"{one['work_seconds'] / len(books):.3f} s on one worker, {two['work_seconds'] / (len(books) / 2):.3f} s "
             f"on each of two; start-up (wall time less that): {one['seconds'] - one['work_seconds']:.1f} s and "
             f"{two['seconds'] - two['work_seconds']:.1f} s."]
    return report(lines, not args.no_docs)


if __name__ == "__main__":
    sys.exit(main())
