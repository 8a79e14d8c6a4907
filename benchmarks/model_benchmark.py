"""Model benchmark: fitting and scoring time and peak memory of the BG/NBD and churn models.

For each scale (``--customers``, default 100,000 and 1,000,000), a child process builds synthetic
signals of three month ends shaped like the warehouse's (``int_customer_signals_monthly``: the
demo bank's balance and activity spread, 5% of customers emptying their current account in the
month before they close), then times, in the same run:

* reference: ``numpy.sort`` of one float per customer-month (what any pass over the data costs);
* BG/NBD: ``ml.activity.fit`` on every customer's history at the last month end, then P(active)
  and the expected transaction days for all of them;
* churn: ``ml.retention.fit_for_month`` for the last month end (features of the two months
  before, their BG/NBD fits, the cross-validated logistic regression) and scoring it.

Peak memory is the child's maximum resident set (``ru_maxrss``), with the size of the signals
beside it. Reported as seconds and as ratios to the reference; appended to docs/benchmarks.md.

    .venv/bin/python -m benchmarks.model_benchmark --customers 100000 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from benchmarks import report

MONTHS = [pd.Timestamp("2026-07-01"), pd.Timestamp("2026-08-01"), pd.Timestamp("2026-09-01")]


def synthetic_signals(customers: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    leaving_before = np.zeros(customers, dtype=bool)
    for index, month in enumerate(MONTHS):
        end = month + pd.offsets.MonthEnd(0)
        leaving = (rng.random(customers) < 0.05) & ~leaving_before
        balance = rng.lognormal(np.log(12_000), 1.2, customers)
        week_before = balance * rng.lognormal(0, 0.05, customers)
        at_end = np.where(leaving, week_before * 0.6, week_before * rng.lognormal(0, 0.05, customers))
        tx = rng.poisson(18, customers).astype(float)
        days = np.minimum(tx, rng.integers(1, 29, customers)).astype(float)
        first = month + pd.to_timedelta(rng.integers(0, 5, customers), unit="D")
        frames.append(pd.DataFrame({
            "customer_id": np.char.add("C", np.arange(customers).astype(str)), "month_start_date": month,
            "month_end_date": end, "is_complete_month": True, "is_closed_in_month": leaving_before,
            "rm_id": np.char.add("RM", (np.arange(customers) % 500).astype(str)),
            "current_value_cny": rng.normal(40, 80, customers), "accounts_held": rng.integers(1, 4, customers) * 1.0,
            "tenure_days": rng.integers(30, 5000, customers) * 1.0, "assets_under_management_cny": balance,
            "month_end_assets_cny": at_end, "current_account_month_end_cny": at_end,
            "current_account_7_days_before_cny": week_before, "current_account_14_days_before_cny": balance,
            "transaction_count": tx, "transaction_days": days,
            "transactions_last_7_days": np.where(leaving, tx * 0.1, tx * 0.25).round(),
            "first_transaction_date": first.where(days > 0),
            "last_transaction_date": (end - pd.to_timedelta(rng.integers(0, 6, customers), unit="D")).where(
                days > 1, first).where(days > 0),
            "prior_months_held": float(index), "prior_3_month_average_assets_cny": balance if index else np.nan,
            "prior_3_month_average_transactions": tx if index else np.nan,
            "prior_3_month_average_value_cny": 40.0 if index else np.nan,
            "complaint_hours_open": np.where(rng.random(customers) < 0.01, 30.0, 0.0),
            "time_deposits_run_off": 0.0, "built_from_batch_id": 1,
        }))
        leaving_before = leaving
    return pd.concat(frames, ignore_index=True)


def measure(customers: int) -> dict:
    """One scale, in this process: seconds of each step and the peak resident memory."""
    from ml import activity, retention

    signals = synthetic_signals(customers)
    started = time.perf_counter()
    np.sort(signals["assets_under_management_cny"].to_numpy())
    reference = time.perf_counter() - started

    started = time.perf_counter()
    histories = retention.activity_histories(signals, MONTHS[-1])
    params = activity.fit(histories["frequency"], histories["recency"], histories["age"])
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    activity.probability_active(params, histories["frequency"], histories["recency"], histories["age"])
    activity.expected_transactions(params, 30, histories["frequency"], histories["recency"], histories["age"])
    score_seconds = time.perf_counter() - started

    started = time.perf_counter()  # the months' features and BG/NBD fits are made as the cache takes them
    cache = retention._MonthCache.of(signals)
    fitted = retention.fit_for_month(signals, MONTHS[-1], cache)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fitted.model.apply(cache.features(MONTHS[-1]))
    apply_seconds = time.perf_counter() - started
    return {"customers": customers, "customer_months": len(signals),
            "signals_mb": signals.memory_usage(deep=True).sum() / 2**20, "reference_s": reference,
            "bgnbd_fit_s": fit_seconds, "bgnbd_score_s": score_seconds, "churn_train_s": train_seconds,
            "churn_score_s": apply_seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "regularisation_c": fitted.metrics.get("selection", {}).get("regularisation_c")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process of one scale
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    results = []
    for customers in args.customers:
        print(f"measuring {customers:,} customers ...", file=sys.stderr, flush=True)
        child = subprocess.run([sys.executable, "-m", "benchmarks.model_benchmark", "--one", str(customers)],
                               capture_output=True, text=True, check=True)
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    lines = [f"\n## Models: BG/NBD and churn, fitting and scoring ({dt.date.today():%Y-%m-%d})", "",
             "Synthetic signals of three month ends (`benchmarks/model_benchmark.py`), one child process per "
             "scale; the reference is `numpy.sort` of one float per customer-month in the same run.", "",
             "| customers | customer-months | signals in memory | BG/NBD fit | BG/NBD score | churn train | "
             "churn score | peak memory | reference |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        ref = r["reference_s"]
        lines.append(
            f"| {r['customers']:,} | {r['customer_months']:,} | {r['signals_mb']:,.0f} MB | "
            f"{r['bgnbd_fit_s']:.1f} s ({r['bgnbd_fit_s'] / ref:,.0f}×) | {r['bgnbd_score_s']:.2f} s | "
            f"{r['churn_train_s']:.1f} s ({r['churn_train_s'] / ref:,.0f}×) | {r['churn_score_s']:.2f} s | "
            f"{r['peak_rss_mb']:,.0f} MB | {ref:.3f} s |")
    lines.append("")
    return report(lines, not args.no_docs)


if __name__ == "__main__":
    sys.exit(main())
