"""Segmentation benchmark: the K-Means job at scale, each month's cost against a bare scikit-learn
fit of the same month, and its outcome against the simulator's hidden archetypes.

For each ``--customers`` scale: simulates from 2026-07-01 for ``--days`` days, loads them, replays
the history and runs dbt (everything that does not read ``ml``), then, in a child process (its own
peak memory), month by month:

* the job: ``ml.segmentation.segment_new_months`` for the month, as the DAG runs it (reading the
  features, choosing preprocessing and k on a sample for the first month or keeping last month's
  shape, fitting, matching ids, describing and writing the run);
* the reference: a bare ``KMeans(n_clusters=k, n_init=10)`` on standardised log features of the
  same month's matrix, k the job's (what any k-means of the month costs);
* the reference with its reading and writing (``bare_job``): the script a data scientist would
  write for the month: the features read with ``pandas.read_sql_query``, the same bare fit, the
  labels written with ``COPY`` into a table of their own (what the job's aim of 1.2x "including
  reading features and writing labels" can be held against: a reference that reads and writes too).

Then dbt builds the segment marts and ``ml.quality`` measures them against the ground truth (ARI
per month, steady customers keeping their id), beside the baseline it reports. With two scales or
more, the growth exponent of the job's monthly cost between them. Appended to docs/benchmarks.md.

A scale above ``--simulate-up-to`` is not simulated (1M customers x 62 days would take the simulator
about 40 minutes): it is the largest simulated scale's value mart replicated, every copy a new
customer id with its balances and value jittered by up to 5%, and the ``ml`` tables emptied first.
Its timing and memory are the job's on that many customers; its outcome is not measured (the copies
have no ground truth of their own).

    .venv/bin/python -m benchmarks.segmentation_benchmark --customers 10000 100000 1000000 --days 62
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import resource
import subprocess
import sys
import time

from benchmarks import START, report, simulated_warehouse
from warehouse.db import connect
from warehouse.settings import Settings
from warehouse.transform import run_dbt


def bare_fit(matrix, clusters: int):
    """The reference: a bare scikit-learn K-Means of the month's matrix (log and standard scaling);
    its labels."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    scaled = StandardScaler().fit_transform(np.log1p(np.abs(matrix)))
    return KMeans(n_clusters=clusters, n_init=10, random_state=42).fit(scaled).labels_


def bare_job(conn, month: dt.date, clusters: int) -> None:
    """The reference with its I/O: the month's features read with pandas, the bare fit, the labels
    written with COPY into a table of their own (dropped after)."""
    import io
    import warnings

    import pandas as pd

    from ml.segmentation import FEATURES

    share = "coalesce(digital_transaction_count::float8 / nullif(transaction_count, 0), 0)"
    columns = ", ".join(f"{share} as {name}" if name == "digital_transaction_share" else name for name in FEATURES)

    with warnings.catch_warnings():  # pandas warns of a DBAPI connection that is not SQLAlchemy's
        warnings.simplefilter("ignore", UserWarning)
        frame = pd.read_sql_query(f"select customer_id, {columns} from marts.customer_value_monthly "
                                  "where month_start_date = %(month)s and not is_closed_in_month",
                                  conn, params={"month": month})
    labels = bare_fit(frame[list(FEATURES)].to_numpy(dtype=float), clusters)
    out = io.StringIO("".join(f"{customer}\t{label}\n" for customer, label in zip(frame["customer_id"], labels,
                                                                                   strict=True)))
    with conn.cursor() as cur:
        cur.execute("drop table if exists bench_bare_labels")  # left by a run that was stopped
        cur.execute("create table bench_bare_labels (customer_id text, segment integer)")
        cur.copy_expert("copy bench_bare_labels from stdin", out)
        conn.commit()
        cur.execute("drop table bench_bare_labels")
        conn.commit()


def measure(url: str) -> dict:
    """The child process: per month the job and the reference fit, seconds; peak resident memory."""
    from ml import segmentation

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    months = []
    with connect(Settings.from_env({"WAREHOUSE_URL": url})) as conn:
        for month in segmentation.months_to_segment(conn):
            started = time.perf_counter()
            segmentation.segment_new_months(conn, months=[month])
            job = time.perf_counter() - started
            with conn.cursor() as cur:
                cur.execute("""select clusters, customers, (selection ->> 'kept_last_months_shape')::boolean
                               from ml.segmentation_runs where month_start_date = %s""", (month,))
                clusters, customers, kept = cur.fetchone()
            matrix = segmentation.read_features(conn, month)[list(segmentation.FEATURES)].to_numpy()
            started = time.perf_counter()
            bare_fit(matrix, clusters)
            reference = time.perf_counter() - started
            started = time.perf_counter()
            bare_job(conn, month, clusters)
            months.append({"month": f"{month:%Y-%m}", "clusters": clusters, "customers": customers,
                           "kept_shape": kept, "job_s": job, "reference_s": reference,
                           "reference_io_s": time.perf_counter() - started})
    return {"months": months, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_in_child(settings: Settings, customers: int) -> dict:
    print(f"segmenting {customers:,} customers (child process) ...", flush=True)
    child = subprocess.run([sys.executable, "-m", "benchmarks.segmentation_benchmark", "--measure",
                            settings.warehouse_url], capture_output=True, text=True)
    if child.returncode != 0:
        raise RuntimeError(f"the segmentation child failed:\n{child.stderr[-4000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


JITTERED = ("daily_average_deposit_balance_cny", "daily_average_wealth_balance_cny",
            "daily_average_loan_balance_cny", "current_value_cny")


def replicate(settings: Settings, copies: int) -> None:
    """The value mart ``copies`` times over: each further copy new customer ids (C + 10M x copy + the
    number) with its balances and value jittered by up to 5%; the ``ml`` tables emptied first so
    every month is segmented again."""
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("truncate ml.customer_segments, ml.segment_profiles, ml.segmentation_runs")
        cur.execute("""select column_name from information_schema.columns
                       where table_schema = 'marts' and table_name = 'customer_value_monthly'
                       order by ordinal_position""")
        columns = [name for (name,) in cur.fetchall()]
        cur.execute("create temporary table original as select * from marts.customer_value_monthly")
        for copy in range(1, copies):
            values = ", ".join(
                f"'C' || lpad((substr(customer_id, 2)::bigint + {copy * 10_000_000})::text, 8, '0')"
                if name == "customer_id" else f"{name} * (0.95 + random() * 0.1)" if name in JITTERED else name
                for name in columns)
            cur.execute(f"insert into marts.customer_value_monthly ({', '.join(columns)}) "
                        f"select {values} from original")
        cur.execute("analyze marts.customer_value_monthly")
        conn.commit()


def run_scales(scales: list[int], days: int, simulate_up_to: int) -> dict[int, tuple[dict, str | None]]:
    """Each simulated scale: the child's measurements and the quality section. Each larger scale: the
    largest simulated one's mart replicated, measured, no quality section."""
    from ml.quality import segmentation_quality, segmentation_section

    simulated = [c for c in scales if c <= simulate_up_to] or [min(scales)]
    results: dict[int, tuple[dict, str | None]] = {}
    for customers in simulated:
        with simulated_warehouse("seg", customers, days) as (settings, truth):
            results[customers] = measure_in_child(settings, customers), None
            run_dbt(["run", "--select", "source:ml+"], settings)
            with connect(settings) as conn:
                quality = segmentation_section(*segmentation_quality(conn, truth / "customer_truth.csv"))
            results[customers] = results[customers][0], quality
            if customers == simulated[-1]:
                for larger in (c for c in scales if c not in simulated):
                    copies = round(larger / customers)
                    print(f"replicating the {customers:,}-customer value mart {copies} times ...", flush=True)
                    replicate(settings, copies)
                    results[larger] = measure_in_child(settings, larger), None
    return dict(sorted(results.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--days", type=int, default=62)
    parser.add_argument("--simulate-up-to", type=int, default=100_000,
                        help="larger scales replicate the largest simulated one's value mart")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process, on this warehouse URL
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    logging.basicConfig(level=logging.WARNING)
    scales = run_scales(sorted(args.customers), args.days, args.simulate_up_to)
    lines = [f"\n## Segmentation at {', '.join(f'{c:,}' for c in scales)} customers ({dt.date.today():%Y-%m-%d})",
             "", f"`benchmarks/segmentation_benchmark.py`: {args.days} simulated days from {START}; each complete "
             "month segmented by `segment_new_months`, as the DAG runs it (one child process per scale, its own "
             "peak memory). The reference, in the same run and on the same month's matrix: one bare scikit-learn "
             "`KMeans(n_init=10)` at the job's k, on standardised log features; and the same fit with its "
             "reading and writing (`bare_job`: the features read with `pandas.read_sql_query`, the labels "
             "written with `COPY` into a table of their own). The first month chooses the "
             "shape (about 560 small fits on a sample: a fixed cost, paid again only when a shape stops "
             "reproducing); a later month keeps it.", "",
             "| customers | month | shape | k | the job | bare fit | ratio | bare fit with I/O | ratio "
             "| peak memory (child) |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for result, _ in scales.values():
        for month in result["months"]:
            lines.append(f"| {month['customers']:,} | {month['month']} | "
                         f"{'kept' if month['kept_shape'] else 'chosen'} | {month['clusters']} | "
                         f"{month['job_s']:.2f} s | {month['reference_s']:.2f} s | "
                         f"{month['job_s'] / month['reference_s']:.2f}× | {month['reference_io_s']:.2f} s | "
                         f"{month['job_s'] / month['reference_io_s']:.2f}× | "
                         f"{result['peak_rss_mb']:,.0f} MB |")
    kept = {c: [m for m in r["months"] if m["kept_shape"]] for c, (r, _) in scales.items()}
    sizes = [c for c in scales if kept[c]]
    for smaller, larger in zip(sizes, sizes[1:], strict=False):
        job = [sum(m["job_s"] for m in kept[c]) / len(kept[c]) for c in (smaller, larger)]
        customers = [kept[c][-1]["customers"] for c in (smaller, larger)]
        lines += ["", f"Growth of a kept month's job from {customers[0]:,} to {customers[1]:,} customers: exponent "
                  f"{math.log(job[1] / job[0]) / math.log(customers[1] / customers[0]):.2f} (1 = linear)."]
    for customers, (_, quality) in scales.items():
        if quality is None:
            lines += ["", f"At {customers:,} customers (the value mart replicated, see the module docstring) the "
                      "outcome is not measured: the copies have no ground truth of their own."]
            continue
        lines += ["", f"The outcome at {customers:,} customers, against the simulator's hidden archetypes "
                  "(`ml/quality.py`):", "", quality.replace("## Segments (ml/segmentation.py)\n\n", "")]
    return report(lines, not args.no_docs)


if __name__ == "__main__":
    sys.exit(main())
