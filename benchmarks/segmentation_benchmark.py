"""Segmentation benchmark: the K-Means job at scale, each month's cost against a bare scikit-learn
fit of the same month, and its outcome against the simulator's hidden archetypes.

For each ``--customers`` scale: simulates from 2026-07-01 for ``--days`` days, loads them, replays
the history and runs dbt (everything that does not read ``ml``), then, in a child process (its own
peak memory), month by month:

* the job: ``ml.segmentation.segment_new_months`` for the month, as the DAG runs it (reading the
  features, choosing preprocessing and k on a sample for the first month or keeping last month's
  shape, fitting, matching ids, describing and writing the run);
* the reference: a bare ``KMeans(n_clusters=k, n_init=10)`` on standardised log features of the
  same month's matrix, k the job's (what any k-means of the month costs).

Then dbt builds the segment marts and ``ml.quality`` measures them against the ground truth (ARI
per month, steady customers keeping their id), beside the baseline it reports. With two scales or
more, the growth exponent of the job's monthly cost between them. Appended to docs/benchmarks.md.

    .venv/bin/python -m benchmarks.segmentation_benchmark --customers 10000 100000 --days 62
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


def measure(url: str) -> dict:
    """The child process: per month the job and the reference fit, seconds; peak resident memory."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

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
            KMeans(n_clusters=clusters, n_init=10, random_state=42).fit(
                StandardScaler().fit_transform(np.log1p(np.abs(matrix))))
            months.append({"month": f"{month:%Y-%m}", "clusters": clusters, "customers": customers,
                           "kept_shape": kept, "job_s": job, "reference_s": time.perf_counter() - started})
    return {"months": months, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_scale(customers: int, days: int) -> tuple[dict, str]:
    """One scale: the child's measurements and the quality section."""
    from ml.quality import segmentation_quality, segmentation_section

    with simulated_warehouse("seg", customers, days) as (settings, truth):
        print(f"segmenting {customers:,} customers (child process) ...", flush=True)
        child = subprocess.run([sys.executable, "-m", "benchmarks.segmentation_benchmark", "--measure",
                                settings.warehouse_url], capture_output=True, text=True)
        if child.returncode != 0:
            raise RuntimeError(f"the segmentation child failed:\n{child.stderr[-4000:]}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        run_dbt(["run", "--select", "source:ml+"], settings)
        with connect(settings) as conn:
            quality = segmentation_section(*segmentation_quality(conn, truth / "customer_truth.csv"))
    return result, quality


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000])
    parser.add_argument("--days", type=int, default=62)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process, on this warehouse URL
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    logging.basicConfig(level=logging.WARNING)
    scales = {customers: run_scale(customers, args.days) for customers in sorted(args.customers)}
    lines = [f"\n## Segmentation at {', '.join(f'{c:,}' for c in scales)} customers ({dt.date.today():%Y-%m-%d})",
             "", f"`benchmarks/segmentation_benchmark.py`: {args.days} simulated days from {START}; each complete "
             "month segmented by `segment_new_months`, as the DAG runs it (one child process per scale, its own "
             "peak memory). The reference, in the same run and on the same month's matrix: one bare scikit-learn "
             "`KMeans(n_init=10)` at the job's k, on standardised log features. The first month chooses the "
             "shape (about 560 small fits on a sample: a fixed cost, paid again only when a shape stops "
             "reproducing); a later month keeps it.", "",
             "| customers | month | shape | k | the job | reference | ratio | peak memory (child) |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for result, _ in scales.values():
        for month in result["months"]:
            lines.append(f"| {month['customers']:,} | {month['month']} | "
                         f"{'kept' if month['kept_shape'] else 'chosen'} | {month['clusters']} | "
                         f"{month['job_s']:.2f} s | {month['reference_s']:.2f} s | "
                         f"{month['job_s'] / month['reference_s']:.2f}× | {result['peak_rss_mb']:,.0f} MB |")
    kept = {c: [m for m in r["months"] if m["kept_shape"]] for c, (r, _) in scales.items()}
    sizes = [c for c in scales if kept[c]]
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        job = [sum(m["job_s"] for m in kept[c]) / len(kept[c]) for c in (first, last)]
        customers = [kept[c][-1]["customers"] for c in (first, last)]
        lines += ["", f"Growth of a kept month's job from {customers[0]:,} to {customers[1]:,} customers: exponent "
                  f"{math.log(job[1] / job[0]) / math.log(customers[1] / customers[0]):.2f} (1 = linear)."]
    for customers, (_, quality) in scales.items():
        lines += ["", f"The outcome at {customers:,} customers, against the simulator's hidden archetypes "
                  "(`ml/quality.py`):", "", quality.replace("## Segments (ml/segmentation.py)\n\n", "")]
    return report(lines, not args.no_docs)


if __name__ == "__main__":
    sys.exit(main())
