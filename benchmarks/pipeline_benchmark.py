"""The whole pipeline at several scales (`make bench`): every stage's wall time, peak memory and rows
per second, its growth exponent between scales, and each speed figure against its reference measured
in the same run.

For each ``--customers`` N the simulator writes N customers for ``--days`` days ending on 2026-07-31;
all but the last day are the bank's history, the last day, a month end, is one more night. Every stage calls the
functions the DAG tasks call (dags/), in the DAGs' order:

* history: simulate; load the deliveries (``load_pending``; reference: a bare ``COPY`` of the same
  files); replay them into the history snapshots; ``dbt build --full-refresh`` of every model that
  does not read ``ml``; the churn models (train, score, ``dbt build`` of what reads them); the
  segmentation of the months there are (reference: a bare ``KMeans(n_init=10)`` of the same matrix);
* the night: load the new day (references: bare ``COPY`` and ``pandas.to_sql`` of its files); replay
  it; ``dbt build`` (incremental; reference: the full refresh); the churn models; the segmentation; and,
  the RM and branch reports of the month, by one worker process and by two (``reports.publish.publish_books``,
  what each mapped task runs): the branch and head-office books all, the RM books a sample, the
  month's whole set extrapolated from the sample's rate (an RM book holds about the same customers
  at any scale; a branch book grows with the bank): the workers' start-up once, the busiest worker's
  own time on its books scaled to the whole set.

The night is the heaviest of the month: a complete month to segment and its reports. A shorter
``--days`` starts the history later in July, so that the largest scale fits the time there is.

Each stage runs in a forked child process, so its peak memory is its own (the resident set of the
child and any child it waited for, dbt included; the Postgres server's memory is its own and bounded
by its settings). The database is vacuumed and analyzed before the night, as autovacuum would have
done by then. The growth exponent of a stage between two scales is log(t2 / t1) / log(n2 / n1): 1 is
linear in customers.

    .venv/bin/python -m benchmarks.pipeline_benchmark --customers 10000 100000 1000000 --days 15

Each scale's figures are also written to ``output/bench/pipeline-<N>.json``; ``--with`` adds scales
measured by an earlier run to the exponents and the tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks import report
from warehouse.settings import PROJECT_DIR, Settings

RESULTS_DIR = PROJECT_DIR / "output" / "bench"
NIGHT = dt.date(2026, 7, 31)  # the night measured: a month end
REPORT_SAMPLE = 40  # RM books built twice (one worker, two) at each scale; the month's set is extrapolated


def in_child(name: str, function, *args) -> dict:
    """Run ``function(*args)`` in a forked child; its result (a dict) with the wall seconds and the
    child's peak resident memory in MB (``wait4``: the child and the children it waited for)."""
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: no connection is open in the parent when it forks
        os.close(read_end)
        code, payload = 0, b"{}"
        try:
            payload = json.dumps(function(*args) or {}, default=str).encode()
        except BaseException:  # noqa: BLE001 - reported to the parent through the exit code
            traceback.print_exc()
            code = 1
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"stage {name!r} failed (its traceback is above)")
    result = json.loads(payload)
    print(f"  {name:<34} {seconds:8.1f} s  {usage.ru_maxrss / 1024:7.0f} MB", flush=True)
    return {"stage": name, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, **result}


# --- the stages (each runs in its own child) ---------------------------------------------------------

def _simulate(customers: int, days: int, landing: str, truth: str) -> dict:
    from ingestion import contract
    from simulator.bank import SimulationConfig, simulate

    folders = simulate(SimulationConfig(customers=customers, start_date=NIGHT - dt.timedelta(days=days - 1),
                                        end_date=NIGHT, seed=42), Path(landing), Path(truth))
    lines = 0
    for folder in folders:
        for source in contract.SOURCE_FILES:
            with open(folder / source.file_name, "rb") as handle:
                lines += sum(1 for _ in handle) - 1
    return {"rows": lines, "unit": "data lines written"}


def _lines_loaded(settings: Settings) -> int:
    from warehouse.db import connect

    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('audit.file_loads') is not null")
        if not cur.fetchone()[0]:
            return 0
        cur.execute("select coalesce(sum(rows_read), 0) from audit.file_loads")
        return int(cur.fetchone()[0])


def _load(settings: Settings, through: str) -> dict:
    from ingestion.load import load_pending

    before = _lines_loaded(settings)
    load_pending(settings, dt.date.fromisoformat(through))
    return {"rows": _lines_loaded(settings) - before, "unit": "data lines loaded"}


def _reference_load(method: str, url: str, folders: list[str]) -> dict:
    """A reference of the load benchmark's (bare COPY, pandas.to_sql) on the same folders."""
    from benchmarks.load_benchmark import METHODS

    METHODS[method](url, [Path(f) for f in folders])
    return {}


def _replay(settings: Settings) -> dict:
    from warehouse.history import replay_snapshots

    return {"rows": len(replay_snapshots(settings)), "unit": "business dates replayed"}


def _seed(settings: Settings) -> dict:
    from warehouse.transform import run_dbt

    run_dbt(["seed"], settings)
    return {}


def _dbt(settings: Settings, args: list[str]) -> dict:
    from warehouse.db import connect
    from warehouse.transform import run_dbt

    run_dbt(args, settings)
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("""select (select count(*) from marts.fct_deposit_balances_daily)
                            + (select count(*) from marts.fct_loan_balances_daily)
                            + (select count(*) from marts.fct_transactions)""")
        return {"rows": cur.fetchone()[0], "unit": "fact rows in the marts"}


def _churn(settings: Settings) -> dict:
    from ml.retention import score_churn_risk, train_churn_models
    from warehouse.db import connect
    from warehouse.transform import run_dbt

    with connect(settings) as conn:
        model_ids = train_churn_models(conn)
    with connect(settings) as conn:
        scores = score_churn_risk(conn, model_ids or None)
    run_dbt(["build", "--select", "source:ml+"], settings)
    return {"rows": scores, "unit": "churn scores written", "models": len(model_ids)}


def _segment(settings: Settings) -> dict:
    from ml.segmentation import segment_new_months
    from warehouse.db import connect
    from warehouse.transform import run_dbt

    with connect(settings) as conn:
        run_ids = segment_new_months(conn)
        with conn.cursor() as cur:
            cur.execute("select coalesce(sum(customers), 0) from ml.segmentation_runs where run_id = any(%s)",
                        (run_ids,))
            customers = int(cur.fetchone()[0])
    run_dbt(["build", "--select", "source:ml+"], settings)
    return {"rows": customers, "unit": "customers segmented", "runs": run_ids}


def _bare_kmeans(settings: Settings, run_ids: list[str]) -> dict:
    """The reference: a bare scikit-learn fit of each run's month, with the run's k."""
    from benchmarks.segmentation_benchmark import bare_fit
    from ml import segmentation
    from warehouse.db import connect

    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("select month_start_date, clusters from ml.segmentation_runs where run_id = any(%s)", (run_ids,))
        runs = cur.fetchall()
        matrices = [(segmentation.read_features(conn, month)[list(segmentation.FEATURES)].to_numpy(), k)
                    for month, k in runs]
    started = time.perf_counter()
    for matrix, k in matrices:
        bare_fit(matrix, k)
    return {"fit_seconds": time.perf_counter() - started}


def _books(settings: Settings, month: str) -> dict:
    from reports.books import list_books
    from warehouse.db import connect

    with connect(settings) as conn:
        return {"books": [k.to_dict() for k in list_books(conn, dt.date.fromisoformat(month))]}


def _reports(settings: Settings, books: list[dict], workers: int, reports_dir: str) -> dict:
    from benchmarks.reports_benchmark import build_in_workers

    built = build_in_workers(settings.warehouse_url, books, Path(reports_dir), workers)
    return {"rows": built["files"], "unit": "PDFs", "work_seconds": built["work_seconds"]}


def _vacuum(settings: Settings) -> dict:
    from warehouse.db import connect

    with connect(settings, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("vacuum analyze")
    return {}


def _drop_schemas(settings: Settings, *schemas: str) -> dict:
    from warehouse.db import connect

    with connect(settings) as conn, conn.cursor() as cur:
        for schema in schemas:
            cur.execute(f"drop schema if exists {schema} cascade")  # the references' own schemas (bare, pandas)
    return {}


# --- one scale -----------------------------------------------------------------------------------------

def run_scale(customers: int, days: int, sample: int) -> dict:
    from warehouse.cli import scratch_database

    night = NIGHT
    start, history_end = night - dt.timedelta(days=days - 1), night - dt.timedelta(days=1)
    print(f"\n{customers:,} customers: history {start} to {history_end}, the night of {night}", flush=True)
    result = {"customers": customers, "days": days, "start": start.isoformat(), "night": night.isoformat(),
              "date": f"{dt.date.today()}",
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "stages": []}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)

    def record(*stages: dict) -> None:  # written after every stage: a run stopped part-way keeps its figures
        result["stages"] += stages
        (RESULTS_DIR / f"pipeline-{customers}.json").write_text(json.dumps(result, indent=1))

    with scratch_database("bench_pipeline") as url, tempfile.TemporaryDirectory() as tmp:
        landing, truth = Path(tmp) / "landing", Path(tmp) / "truth"
        settings = Settings.from_env({"WAREHOUSE_URL": url, "BANK_LANDING_DIR": str(landing),
                                      "BANK_REPORTS_DIR": str(Path(tmp) / "reports")})
        record(in_child("simulate", _simulate, customers, days, str(landing), str(truth)))
        history = [str(f) for f in sorted(landing.iterdir()) if f.name <= history_end.isoformat()]
        new_day = [str(landing / night.isoformat())]

        load = in_child("history: load", _load, settings, history_end.isoformat())
        bare = in_child("history: bare COPY (reference)", _reference_load, "bare COPY", url, history)
        record({**load, "reference": "bare COPY", "reference_seconds": bare["seconds"]})
        in_child("(drop the reference's tables)", _drop_schemas, settings, "bare")
        in_child("(dbt seed)", _seed, settings)
        record(in_child("history: replay", _replay, settings))
        full = in_child("history: dbt full refresh", _dbt, settings, ["build", "--full-refresh",
                                                                       "--exclude", "source:ml+"])
        record(full, in_child("history: churn models", _churn, settings))
        segments = in_child("history: segmentation", _segment, settings)
        fit = in_child("history: bare KMeans (reference)", _bare_kmeans, settings, segments["runs"])
        record({**segments, "reference": "bare KMeans(n_init=10)", "reference_seconds": fit["fit_seconds"]})
        in_child("(vacuum analyze)", _vacuum, settings)

        load = in_child("night: load", _load, settings, night.isoformat())
        bare = in_child("night: bare COPY (reference)", _reference_load, "bare COPY", url, new_day)
        to_sql = in_child("night: pandas.to_sql (reference)", _reference_load, "pandas.to_sql", url, new_day)
        in_child("(drop the references' tables)", _drop_schemas, settings, "bare", "pandas")
        record({**load, "reference": "bare COPY", "reference_seconds": bare["seconds"],
                "reference_2": "pandas.to_sql", "reference_2_seconds": to_sql["seconds"]},
               in_child("night: replay", _replay, settings))
        incremental = in_child("night: dbt build (incremental)", _dbt, settings, ["build", "--exclude", "source:ml+"])
        record({**incremental, "reference": "full refresh", "reference_seconds": full["seconds"]},
               in_child("night: churn models", _churn, settings))
        segments = in_child("night: segmentation", _segment, settings)
        if segments["runs"]:
            fit = in_child("night: bare KMeans (reference)", _bare_kmeans, settings, segments["runs"])
            segments = {**segments, "reference": "bare KMeans(n_init=10)", "reference_seconds": fit["fit_seconds"]}
        record(segments)
        books = in_child("(the month's books)", _books, settings, night.replace(day=1).isoformat())["books"]
        rm_books = [b for b in books if b["level"] == "rm"]
        chosen = rm_books[:: max(1, len(rm_books) // sample)][:sample]
        others = [b for b in books if b["level"] != "rm"]  # the branches' and the head office's: all built
        runs = {}
        for workers in (1, 2):
            part = {kind: in_child(f"night: reports, {workers} worker(s): {kind}", _reports, settings, chosen_books,
                                   workers, f"{tmp}/{workers}-{kind}")
                    for kind, chosen_books in (("RM sample", chosen), ("branches, head office", others))}
            # the workers start once; what the sample's books cost grows with the books
            scale, sampled = len(rm_books) / len(chosen), part["RM sample"]
            runs[workers] = {"seconds": sampled["seconds"] + sampled["work_seconds"] * (scale - 1)
                             + part["branches, head office"]["seconds"],
                             "rows": round(part["RM sample"]["rows"] * scale) + part["branches, head office"]["rows"],
                             "peak_mb": max(p["peak_mb"] for p in part.values()),
                             "sampled_seconds": part["RM sample"]["seconds"],
                             "others_seconds": part["branches, head office"]["seconds"]}
        record({**runs[2], "stage": "night: reports (all books, extrapolated)", "unit": "PDFs",
                "sampled_books": len(chosen), "rm_books": len(rm_books), "other_books": len(others),
                "books": len(books), "reference": "1 worker", "reference_seconds": runs[1]["seconds"]})
    return result


# --- the report ------------------------------------------------------------------------------------------

def exponent(small: dict, large: dict, stage: str) -> float | None:
    """The growth exponent of ``stage`` between two scales (None if either lacks it or took no time)."""
    times = [next((s["seconds"] for s in r["stages"] if s["stage"] == stage), None) for r in (small, large)]
    if None in times or min(times) <= 0.05:
        return None
    return math.log(times[1] / times[0]) / math.log(large["customers"] / small["customers"])


def _ratio(stage: dict) -> str:
    """The stage against its reference: for a load, the share of bare COPY's speed (and how many times
    pandas.to_sql's); for anything else, its time over the reference's."""
    if "reference_seconds" not in stage:
        return ""
    if stage["reference"] == "bare COPY":
        text = f"{stage['reference_seconds'] / stage['seconds']:.2f} of bare COPY's speed"
        if "reference_2_seconds" in stage:
            text += f"; {stage['reference_2_seconds'] / stage['seconds']:.1f}× pandas.to_sql's"
        return text
    return f"{stage['seconds'] / stage['reference_seconds']:.2f}× {stage['reference']}"


def markdown(results: list[dict]) -> list[str]:
    results = sorted(results, key=lambda r: r["customers"])
    first = results[0]
    scales = ", ".join(f"{r['customers']:,}" for r in results)
    lines = [f"\n## The whole pipeline at {scales} customers "
             f"({dt.date.today():%Y-%m-%d})", "",
             f"`make bench` (`benchmarks/pipeline_benchmark.py`): {first['days'] - 1} days of history from "
             f"{first.get('start', '2026-07-01')}, "
             f"then the night of {first['night']}; every stage through the functions the DAG tasks call, each in a "
             f"child process (peak memory: its resident set). Machine: {first['machine']}. References are "
             "measured in the same run: a load as the share of a bare COPY's speed, anything else as its time "
             "over its reference's (for dbt's incremental run, the share of the full refresh)."]
    for result in results:
        lines += ["", f"### {result['customers']:,} customers", "",
                  "| stage | wall time | peak memory | rows | rows/s | against its reference |",
                  "| --- | ---: | ---: | ---: | ---: | --- |"]
        for stage in result["stages"]:
            rows = stage.get("rows")
            counted = f"{rows:,} {stage['unit']}" if rows is not None else ""
            rate = f"{rows / stage['seconds']:,.0f}" if rows and stage["seconds"] > 0 else ""
            lines.append(f"| {stage['stage']} | {stage['seconds']:,.1f} s | {stage['peak_mb']:,.0f} MB | {counted} | "
                         f"{rate} | {_ratio(stage)} |")
        night = [s for s in result["stages"] if s["stage"].startswith("night")]
        total = sum(s["seconds"] for s in night)
        reports = next((s for s in night if "reports" in s["stage"]), None)
        lines += ["", f"The night (load, replay, dbt, churn, segmentation{', reports' if reports else ''}): "
                      f"**{total / 60:.1f} minutes**; peak memory of any stage "
                      f"{max(s['peak_mb'] for s in result['stages']):,.0f} MB."]
        if reports:
            lines.append(f"Reports (both languages, two workers): {reports['sampled_books']} of the month's "
                         f"{reports.get('rm_books', reports['books']):,} RM books in {reports['sampled_seconds']:.1f} s"
                         + (f", its {reports['other_books']} branch and head-office books in "
                            f"{reports['others_seconds']:.1f} s" if "other_books" in reports else "")
                         + f"; the whole set extrapolated at that rate: {reports['seconds'] / 60:.1f} minutes.")
    if len(results) > 1:
        names = [s["stage"] for s in results[-1]["stages"]]
        pairs = list(zip(results, results[1:], strict=False))
        lines += ["", "### Growth exponents (1 = linear in customers; aim ≤ 1.1)", "",
                  "| stage | " + " | ".join(f"{a['customers']:,} → {b['customers']:,}" for a, b in pairs) + " |",
                  "| --- |" + " ---: |" * len(pairs)]
        for name in names:
            values = [exponent(a, b, name) for a, b in pairs]
            lines.append(f"| {name} | " + " | ".join("" if v is None else f"{v:.2f}" for v in values) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                        help="the scales to run (none: only report the --with results)")
    parser.add_argument("--days", type=int, default=31, help=f"days simulated, ending on {NIGHT}: the night measured")
    parser.add_argument("--report-sample", type=int, default=REPORT_SAMPLE)
    parser.add_argument("--with", dest="earlier", type=Path, nargs="*", default=[],
                        help="results of scales measured earlier (output/bench/pipeline-N.json)")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.days < 2:
        parser.error("--days must be at least 2: a history and one night")
    logging.basicConfig(level=logging.WARNING)
    results = [json.loads(path.read_text()) for path in args.earlier]
    results += [run_scale(customers, args.days, args.report_sample) for customers in args.customers]
    if not results:
        parser.error("nothing to report: give --customers, or --with earlier results")
    return report(markdown(results), not args.no_docs)


if __name__ == "__main__":
    sys.exit(main())
