"""Command line: ``python -m warehouse {start,stop,status,url,psql,demo,quarantine}`` (what the Makefile calls)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys

from warehouse.embedded import EmbeddedWarehouse, _postgres_bin_path
from warehouse.settings import Settings

log = logging.getLogger("warehouse")

MARTS_SHOWN = ("dim_customer", "dim_account", "dim_relationship_manager", "fct_deposit_balances_daily",
               "fct_loan_balances_daily", "fct_transactions", "fct_service_interactions", "customer_value_monthly",
               "customer_360", "customer_segments")


def _uses_embedded() -> bool:
    return not os.environ.get("WAREHOUSE_URL", "").strip()


def ensure_warehouse() -> str:
    """The warehouse URL: WAREHOUSE_URL if set, else the embedded warehouse, started if needed."""
    if not _uses_embedded():
        return os.environ["WAREHOUSE_URL"].strip()
    return EmbeddedWarehouse.default().start()


def cmd_start(_args) -> int:
    if not _uses_embedded():
        print("WAREHOUSE_URL is set: the project uses that Postgres and starts no embedded one.")
        return 0
    url = ensure_warehouse()
    print(f"embedded warehouse running: {url}")
    print(f"  data folder: {EmbeddedWarehouse.default().pgdata}   stop it with: make warehouse-stop")
    return 0


def cmd_stop(_args) -> int:
    wh = EmbeddedWarehouse.default()
    print("embedded warehouse stopped" if wh.stop() else "embedded warehouse was not running")
    return 0


def cmd_status(_args) -> int:
    if not _uses_embedded():
        print(f"using WAREHOUSE_URL ({Settings.from_env().warehouse_url.split('@')[-1]})")
        return 0
    wh = EmbeddedWarehouse.default()
    if wh.is_running():
        print(f"embedded warehouse running: {wh.server_url('warehouse')}")
        return 0
    print(f"embedded warehouse not running (data folder {wh.pgdata}); start it with: make warehouse-start")
    return 1


def cmd_url(_args) -> int:
    print(Settings.from_env().warehouse_url)
    return 0


def cmd_psql(args) -> int:
    url = Settings.from_env().warehouse_url
    psql = _postgres_bin_path() / "psql"
    os.execv(psql, [str(psql), url, *args.psql_args])
    return 0  # not reached


def cmd_quarantine(args) -> int:
    """What waits in the quarantine, and the data engineer's two repairs: retry and release."""
    from ingestion import quarantine
    from ingestion.load import ensure_schema
    from warehouse.db import connect

    filters = {"file_name": args.file, "rule": args.rule, "business_date": args.date}
    with connect(Settings.from_env()) as conn:
        ensure_schema(conn)
        conn.commit()
        if args.action == "retry":
            tried, loaded = quarantine.retry(conn, **filters)
            print(f"{tried} waiting lines tried, {loaded} pass every rule now and were loaded into raw "
                  f"(audit.quarantined_rows: status retried); {tried - loaded} still wait")
            if loaded:
                print("the dates they belong to are revised: the next bank_customer_value run rebuilds them")
            return 0
        if args.action == "release":
            released = quarantine.release(conn, args.reason or "", **filters)
            print(f"{released} waiting lines released (kept in audit.quarantined_rows with your reason)")
            return 0
        with conn.cursor() as cur:
            rows = quarantine.summary(cur)
            lines = quarantine.waiting_lines(cur, **filters) if args.lines else []
    waiting = [r for r in rows if r[2] == quarantine.WAITING
               and (args.file is None or r[0] == args.file) and (args.rule is None or r[1] == args.rule)]
    print(f"{sum(r[3] for r in waiting)} lines wait in the quarantine")
    print(f"  {'file':<26} {'rule':<30} {'status':<11} {'lines':>7}  dates")
    for file_name, rule, status, count, first, last in rows:
        print(f"  {file_name:<26} {rule:<30} {status:<11} {count:>7}  {first} to {last}")
    for line in lines:
        print(f"{line.business_date} {line.file_name} line {line.line_number} [{line.rule}]: {line.raw_line[:150]}")
    if waiting:
        print("retry:   python -m warehouse quarantine retry [--file F] [--rule R] [--date D]   (after a fix)\n"
              "release: python -m warehouse quarantine release --reason '...' [--file F] [--rule R] [--date D]\n"
              "or ask the bank for a corrected re-delivery (it replaces the date and reloads the later ones)")
    return 0


def cmd_demo(args) -> int:
    from simulator.bank import SimulationConfig, simulate
    from warehouse import airflow_local
    from warehouse.db import connect, table_counts

    url = ensure_warehouse()
    settings = Settings.from_env({**os.environ, "WAREHOUSE_URL": url})
    config = SimulationConfig(customers=args.customers, start_date=args.start, end_date=args.end, seed=args.seed,
                              dirty_rate=args.dirty_rate)
    print(f"1/4 simulating the bank: {config.customers} customers, {config.start_date} to {config.end_date}, "
          f"seed {config.seed}, {config.dirty_rate:.2%} of lines damaged on purpose -> {settings.landing_dir}",
          flush=True)
    simulate(config, settings.landing_dir, settings.landing_dir.parent / "ground_truth")

    env = airflow_local.airflow_env(extra={
        "WAREHOUSE_URL": url,
        "BANK_LANDING_DIR": str(settings.landing_dir),
        "BANK_REPORTS_DIR": str(settings.reports_dir),
        "BANK_TASK_RETRIES": "0",
    })
    print("2/4 preparing Airflow's metadata database (airflow db migrate)", flush=True)
    airflow_local.migrate(env)
    logical_date = config.end_date.isoformat()
    print(f"3/4 airflow dags test bank_extract_load {logical_date}", flush=True)
    airflow_local.dags_test("bank_extract_load", logical_date, env)
    print(f"4/4 airflow dags test bank_customer_value {logical_date} (history snapshots, dbt build, K-Means, "
          "dbt build, PDFs)",
          flush=True)
    run_log = airflow_local.dags_test("bank_customer_value", logical_date, env)

    with connect(settings) as conn:
        counts = table_counts(conn, "marts")
        with conn.cursor() as cur:
            cur.execute("select count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
                        "from audit.deliveries")
            deliveries, loaded, quarantined = cur.fetchone()
            cur.execute("select count(*), count(*) filter (where dbt_valid_to is not null) "
                        "from snapshots.snap_customer_assignments")
            assignments, reassigned = cur.fetchone()
            cur.execute("select value_tier, count(*) from marts.customer_segments group by 1 order by 2")
            tiers = cur.fetchall()
            cur.execute("select run_id, month_start_date, clusters, round(silhouette::numeric, 3) "
                        "from ml.segmentation_runs order by created_at desc limit 1")
            run = cur.fetchone()
    reports = sorted((settings.reports_dir / f"{run[1]:%Y-%m}").glob("*.pdf"))

    print("\nThe demo bank is in the warehouse.")
    print(f"  raw: {deliveries} deliveries, {loaded:,} rows loaded, {quarantined:,} quarantined "
          f"(see audit.quarantined_rows: file, line, rule, text)")
    print(f"  history: {assignments:,} customer → RM assignments in snapshots.snap_customer_assignments, "
          f"{reassigned:,} of them ended by a re-assignment")
    print("  marts (rows):")
    for name in MARTS_SHOWN:
        if name in counts:
            print(f"    marts.{name:<30} {counts[name]:>10,}")
    print(f"  tiers for {run[1]:%Y-%m}: " + ", ".join(f"{t} {n}" for t, n in tiers))
    print(f"  segmentation run {run[0]}: {run[2]} segments, silhouette {run[3]}")
    print(f"  {len(reports)} RM reports:")
    for path in reports[:3]:
        print(f"    {path}")
    if len(reports) > 3:
        print(f"    ... and {len(reports) - 3} more in {reports[0].parent}")
    print(f"  Airflow run log: {run_log}")
    print("\nConnect a BI tool or psql:")
    print(f"  psql {url}        (or: make psql)")
    if _uses_embedded():
        print("  the embedded warehouse keeps running; stop it with: make warehouse-stop")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="start the embedded warehouse (no-op with WAREHOUSE_URL)").set_defaults(func=cmd_start)
    sub.add_parser("stop", help="stop the embedded warehouse").set_defaults(func=cmd_stop)
    sub.add_parser("status", help="is the warehouse running?").set_defaults(func=cmd_status)
    sub.add_parser("url", help="print the warehouse URL").set_defaults(func=cmd_url)
    psql = sub.add_parser("psql", help="open psql on the warehouse; further arguments go to psql (-c, -f, ...)")
    psql.set_defaults(func=cmd_psql)
    quarantined = sub.add_parser("quarantine", help="list the quarantined lines that wait; retry or release them")
    quarantined.add_argument("action", choices=("list", "retry", "release"), nargs="?", default="list")
    quarantined.add_argument("--file", help="only this file, e.g. deposit_balances.csv")
    quarantined.add_argument("--rule", help="only lines quarantined under this rule, e.g. known_reference")
    quarantined.add_argument("--date", type=dt.date.fromisoformat, help="only this business date (YYYY-MM-DD)")
    quarantined.add_argument("--lines", action="store_true", help="list: show each waiting line")
    quarantined.add_argument("--reason", help="release: why the lines are given up (kept for the audit)")
    quarantined.set_defaults(func=cmd_quarantine)
    demo = sub.add_parser("demo", help="simulate a bank and run the whole pipeline through Airflow")
    demo.add_argument("--customers", type=int, default=int(os.environ.get("DEMO_CUSTOMERS", 2000)))
    demo.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 7, 1))
    demo.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 9, 30))
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--dirty-rate", type=float, default=float(os.environ.get("DEMO_DIRTY_RATE", 0.0005)),
                      help="share of data lines damaged on purpose, to show the quarantine at work")
    demo.set_defaults(func=cmd_demo)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "psql":  # psql takes its own options (-c, -f, ...); nobody else does
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.psql_args = extra
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except Exception as err:  # the command line says what went wrong, without a traceback wall
        print(f"error: {err}", file=sys.stderr)
        return 1
