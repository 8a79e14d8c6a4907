"""Segmentation benchmark: the K-Means job at scale, its speed against a bare scikit-learn fit and its
outcome against the simulator's hidden archetypes.

Simulates ``--customers`` from 2026-07-01 for ``--days`` days, loads them, replays the history and
runs dbt (everything that does not read ``ml``), then, in a child process (its own peak memory):

* reference: a bare ``KMeans(n_clusters=k, n_init=10)`` on standardised log features of the last
  month, k the job's choice (what any k-means of the month costs);
* the job: ``ml.segmentation.segment_new_months`` over every complete month (reading the
  features, choosing preprocessing and k on a sample, fitting, matching ids, describing and
  writing the runs).

Then dbt builds the segment marts and ``ml.quality`` measures them against the ground truth (ARI
per month, steady customers keeping their id), beside the baseline it reports. Appended to
docs/benchmarks.md; the quality figures are also printed for docs/model-quality.md.

    .venv/bin/python -m benchmarks.segmentation_benchmark --customers 100000 --days 62
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import resource
import subprocess
import sys
import time

from benchmarks import START, report, simulated_warehouse
from warehouse.db import connect
from warehouse.settings import Settings
from warehouse.transform import run_dbt


def measure(url: str) -> dict:
    """The child process: the reference fit and the job, seconds and peak resident memory."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    from ml import segmentation

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with connect(Settings.from_env({"WAREHOUSE_URL": url})) as conn:
        started = time.perf_counter()
        run_ids = segmentation.segment_new_months(conn)
        job = time.perf_counter() - started
        with conn.cursor() as cur:
            cur.execute("select month_start_date, clusters, customers from ml.segmentation_runs order by 1")
            runs = cur.fetchall()
        last_month, clusters, _ = runs[-1]
        matrix = segmentation.read_features(conn, last_month)[list(segmentation.FEATURES)].to_numpy()
    started = time.perf_counter()
    KMeans(n_clusters=clusters, n_init=10, random_state=42).fit(StandardScaler().fit_transform(np.log1p(
        np.abs(matrix))))
    reference = time.perf_counter() - started
    return {"runs": len(run_ids), "months": [f"{m:%Y-%m}" for m, *_ in runs], "clusters": [k for _, k, _ in runs],
            "customers": [n for *_, n in runs], "job_s": job, "reference_s": reference,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=62)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process, on this warehouse URL
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    from ml.quality import segmentation_quality, segmentation_section

    logging.basicConfig(level=logging.WARNING)
    with simulated_warehouse("seg", args.customers, args.days) as (settings, truth):
        print("segmenting (child process) ...", flush=True)
        child = subprocess.run([sys.executable, "-m", "benchmarks.segmentation_benchmark", "--measure",
                                settings.warehouse_url], capture_output=True, text=True)
        if child.returncode != 0:
            raise RuntimeError(f"the segmentation child failed:\n{child.stderr[-4000:]}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        run_dbt(["run", "--select", "source:ml+"], settings)
        with connect(settings) as conn:
            quality = segmentation_section(*segmentation_quality(conn, truth / "customer_truth.csv"))
    ratio = result["job_s"] / result["reference_s"]
    lines = [f"\n## Segmentation at {args.customers:,} customers ({dt.date.today():%Y-%m-%d})", "",
             f"`benchmarks/segmentation_benchmark.py`: {args.days} simulated days from {START}, "
             f"{len(result['months'])} complete months segmented by `segment_new_months` (one child process, "
             "its own peak memory). The reference, in the same run: one bare scikit-learn `KMeans(n_init=10)` "
             "of the last month at the job's k, on standardised log features.", "",
             "| customers | months | k per month | the job | reference | ratio | peak memory |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: |",
             f"| {result['customers'][-1]:,} | {', '.join(result['months'])} | "
             f"{', '.join(map(str, result['clusters']))} | {result['job_s']:.1f} s | {result['reference_s']:.1f} s "
             f"| {ratio:.1f}× | {result['peak_rss_mb']:,.0f} MB |", "",
             "The outcome at this scale, against the simulator's hidden archetypes (`ml/quality.py`):", "",
             quality.replace("## Segments (ml/segmentation.py)\n\n", "")]
    return report(lines, not args.no_docs)


if __name__ == "__main__":
    sys.exit(main())
