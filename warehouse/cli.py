"""Command line: ``python -m warehouse {start,stop,status,url,psql,demo,run,airflow,bi,quarantine,segment,
lookup,check-env,model-quality}``
(what the Makefile calls)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from warehouse.db import connect, drop_database, ensure_database, table_counts
from warehouse.embedded import EmbeddedWarehouse, postgres_bin_path
from warehouse.settings import COMPONENT_LOGINS, PIPELINE_LOGIN, PROJECT_DIR, Settings, redacted

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


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new empty database on the warehouse's server (a test's or a benchmark's), its URL, dropped
    afterwards. With the embedded warehouse it is made by the superuser and owned by the pipeline login,
    which the URL connects as (the product never connects as a superuser); with WAREHOUSE_URL it is made
    by that URL's user, who must be allowed to create databases."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    if _uses_embedded():
        warehouse = EmbeddedWarehouse.default()
        warehouse.start()
        server, url = warehouse.server_url("postgres"), warehouse.server_url(name, role=PIPELINE_LOGIN)
        ensure_database(server, name, owner=PIPELINE_LOGIN)
    else:
        parts = urlsplit(os.environ["WAREHOUSE_URL"].strip())
        server, url = (urlunsplit(parts._replace(path=f"/{database}")) for database in ("postgres", name))
        ensure_database(server, name)
    try:
        yield url
    finally:
        drop_database(server, name)


def cmd_start(_args) -> int:
    if not _uses_embedded():
        print("WAREHOUSE_URL is set: the project uses that Postgres and starts no embedded one.")
        return 0
    url = ensure_warehouse()
    print(f"embedded warehouse running: {redacted(url)}")
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
        print(f"embedded warehouse running: {redacted(wh.server_url('warehouse'))}")
        print(f"  passwords (generated, readable by you only): {wh.credentials_file}")
        return 0
    print(f"embedded warehouse not running (data folder {wh.pgdata}); start it with: make warehouse-start")
    return 1


def cmd_url(_args) -> int:
    print(redacted(Settings.from_env().warehouse_url))  # never the password: it is in the environment or
    return 0                                             # the embedded warehouse's credentials file


def cmd_psql(args) -> int:
    """psql on the warehouse; its password goes in the environment, never on the command line (ps shows it)."""
    from urllib.parse import unquote, urlsplit

    url = Settings.from_env().warehouse_url
    password = urlsplit(url).password
    env = {**os.environ, **({"PGPASSWORD": unquote(password)} if password else {})}
    psql = postgres_bin_path() / "psql"
    os.execve(psql, [str(psql), redacted(url), *args.psql_args], env)
    return 0  # not reached


def cmd_setup(_args) -> int:
    """The warehouse's schemas, roles and each component's rights (idempotent), as the set-up login."""
    from warehouse.schema import SCHEMA_VERSION, ensure_schema

    if _uses_embedded():
        ensure_warehouse()
    with connect(Settings.from_env()) as conn:
        ensure_schema(conn)
    print(f"warehouse schema at version {SCHEMA_VERSION}; component logins: "
          + ", ".join(f"{component} {login}" for component, login in COMPONENT_LOGINS.items()))
    return 0


def cmd_quarantine(args) -> int:
    """What waits in the quarantine, and the data engineer's two repairs: retry and release."""
    from ingestion import quarantine
    from warehouse.schema import ensure_schema

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


def _run_pipeline(url: str, landing_dir: Path, reports_dir: Path, airflow_home: Path, first: dt.date,
                  through: dt.date, step: int, steps: int) -> Path:
    """The DAGs through Airflow (in-process) for every pending delivery up to ``through``; the last run's log."""
    from warehouse import airflow_local
    from warehouse.schedule import PIPELINE_DAGS

    env = airflow_local.airflow_env(airflow_home, extra={
        "WAREHOUSE_URL": url,
        "BANK_LANDING_DIR": str(landing_dir),
        "BANK_REPORTS_DIR": str(reports_dir),
        "BANK_START_DATE": first.isoformat(),
        "BANK_TASK_RETRIES": "0",
    })
    print(f"{step}/{steps} preparing Airflow's metadata database (airflow db migrate)", flush=True)
    airflow_local.migrate(env)
    print(f"{step + 1}/{steps} airflow dags test, for {through}, of each DAG in turn: {', '.join(PIPELINE_DAGS)} "
          "(deliveries; history snapshots, dbt build, churn model; K-Means segments; RM PDFs)", flush=True)
    return airflow_local.run_pipeline(through.isoformat(), env)[-1]


def _print_summary(settings: Settings, url: str, run_log: Path, what: str) -> None:
    from ingestion import quarantine

    with connect(settings) as conn:
        counts = table_counts(conn, "marts", MARTS_SHOWN)
        with conn.cursor() as cur:
            cur.execute("select count(*), min(business_date), max(business_date), coalesce(sum(rows_loaded), 0), "
                        "coalesce(sum(rows_quarantined), 0) from audit.deliveries")
            deliveries, first, last, loaded, quarantined = cur.fetchone()
            waiting = sum(r[3] for r in quarantine.summary(cur) if r[2] == quarantine.WAITING)
            cur.execute("select count(distinct referenced_key) from audit.unresolved_references "
                        "where resolved_batch_id is null")
            unresolved = cur.fetchone()[0]
            cur.execute("select count(*), count(*) filter (where dbt_valid_to is not null) "
                        "from snapshots.snap_customer_assignments")
            assignments, reassigned = cur.fetchone()
            cur.execute("select value_tier, count(*) from marts.customer_segments group by 1 order by 2")
            tiers = cur.fetchall()
            cur.execute("select count(*) filter (where is_estimated), count(*) from marts.customer_value_monthly")
            estimated_months, months = cur.fetchone()
            cur.execute("""select r.run_id, r.month_start_date, r.clusters, r.preprocessing,
                                  string_agg(p.segment_name || ' (' || p.customers || ')', ', '
                                             order by p.customers desc)
                           from ml.segmentation_runs r join ml.segment_profiles p using (run_id)
                           group by 1, 2, 3, 4 order by 2""")
            runs = cur.fetchall()
            run = runs[-1]
            cur.execute("select login from security.bi_logins where allowed_rm_id is not null order by login limit 1")
            logins = [login for (login,) in cur.fetchall()]
    from reports.publish import read_manifest

    month_dir = settings.reports_dir / f"{run[1]:%Y-%m}"
    reports = read_manifest(month_dir)["reports"]

    print(f"\n{what}")
    print(f"  raw: {deliveries} deliveries ({first} to {last}), {loaded:,} rows loaded, {quarantined:,} quarantined, "
          f"{waiting:,} of them waiting for a repair (python -m warehouse quarantine list)")
    print(f"  {unresolved:,} accounts or customers referenced but not delivered yet (inferred members, "
          "audit.unresolved_references)")
    print(f"  history: {assignments:,} customer → RM assignments in snapshots.snap_customer_assignments, "
          f"{reassigned:,} of them ended by a re-assignment")
    print("  marts (rows):")
    for name in MARTS_SHOWN:
        if name in counts:
            print(f"    marts.{name:<30} {counts[name]:>10,}")
    print(f"  {estimated_months:,} of {months:,} customer-months rest partly on estimated (carried-forward) balances")
    print(f"  tiers for {run[1]:%Y-%m}: " + ", ".join(f"{t} {n}" for t, n in tiers))
    for run_id, month, clusters, preprocessing, segments in runs:
        print(f"  segments {month:%Y-%m} (run {run_id}, {preprocessing}, k={clusters}): {segments}")
    rms = sorted({e["portfolio_id"] for e in reports if e["level"] == "rm"})
    branches = sorted({e["portfolio_id"] for e in reports if e["level"] == "branch"})
    head_office = " and head office" if any(e["level"] == "bank" for e in reports) else ""
    print(f"  reports for {run[1]:%Y-%m}: {len(rms)} RM{'s' * (len(rms) != 1)}, {len(branches)} "
          f"branch{'es' * (len(branches) != 1)}{head_office}, "
          f"in {', '.join(sorted({e['language'] for e in reports})) or '-'}; "
          f"{len(reports)} PDFs listed in {month_dir / 'manifest.json'}:")
    first = settings.report_languages[0]
    shown = [e for e in reports if e["language"] == first]
    for entry in [e for e in shown if e["level"] == "branch"][:2] + [e for e in shown if e["level"] == "rm"][:3]:
        print(f"    {month_dir / entry['file']}  ({entry['pages']} pages)")
    print(f"  Airflow run log: {run_log}")
    from warehouse.access import BI_READER

    print("\nConnect a BI tool to the schema bi (docs/bi.md), as head office:")
    print(f"  {redacted(url, user=BI_READER)}")
    if _uses_embedded():
        credentials = EmbeddedWarehouse.default().credentials_file
        print(f"  its password: \"{BI_READER}\" in {credentials} (readable by you only)")
    print(f"  each RM has a login that sees only their customers ({logins[0]}, ...): give it a password with "
          f"make psql, then \\password {logins[0]}" if logins else "  (no RM logins: the RM master is empty)")
    print("Data engineers (every schema):")
    print(f"  psql {redacted(url)}" + ("        (or: make psql)" if _uses_embedded() else ""))
    if _uses_embedded():
        print("  the embedded warehouse keeps running; stop it with: make warehouse-stop")


def cmd_demo(args) -> int:
    from simulator.bank import SimulationConfig, simulate

    url = ensure_warehouse()
    settings = Settings.from_env({**os.environ, "WAREHOUSE_URL": url})
    config = SimulationConfig(customers=args.customers, start_date=args.start, end_date=args.end, seed=args.seed,
                              dirty_rate=args.dirty_rate)
    print(f"1/3 simulating the bank: {config.customers} customers, {config.start_date} to {config.end_date}, "
          f"seed {config.seed}, {config.dirty_rate:.2%} of lines damaged on purpose -> {settings.landing_dir}",
          flush=True)
    simulate(config, settings.landing_dir, settings.landing_dir.parent / "ground_truth")
    run_log = _run_pipeline(url, settings.landing_dir, settings.reports_dir, PROJECT_DIR / ".airflow",
                            config.start_date, config.end_date, 2, 3)
    _print_summary(settings, url, run_log, "The demo bank is in the warehouse.")
    from ml.quality import write_model_quality

    with connect(settings) as conn:
        quality = write_model_quality(conn, settings.landing_dir.parent / "ground_truth" / "customer_truth.csv",
                                      PROJECT_DIR / "output" / "model-quality.md",
                                      source=f"the demo bank ({config.customers:,} customers, seed {config.seed})")
    print(f"churn model against the simulator's hidden ground truth: {quality}")
    return 0


def delivered_dates(landing: Path) -> list[dt.date]:
    """The business dates of the delivery folders (YYYY-MM-DD) in ``landing``."""
    dates = []
    for folder in landing.iterdir():
        try:
            dates.append(dt.date.fromisoformat(folder.name))
        except ValueError:
            continue
    return sorted(dates)


def cmd_run(args) -> int:
    """Your own deliveries, through both DAGs, in a warehouse of their own."""
    landing = Path(args.landing).resolve()
    if not landing.is_dir():
        raise SystemExit(f"error: {landing} is not a folder: --landing takes the folder that holds one delivery "
                         "folder per business date (YYYY-MM-DD), see docs/adopting.md")
    dates = delivered_dates(landing)
    if not dates:
        raise SystemExit(f"error: no delivery folder named YYYY-MM-DD in {landing} (docs/data-contract.md)")
    through = args.through or dates[-1]
    if not dates[0] <= through <= dates[-1]:
        raise SystemExit(f"error: --through {through} is outside what was delivered to {landing} "
                         f"({dates[0]} to {dates[-1]}): nothing would run for it; choose a date in that range")
    name = re.sub(r"[^a-z0-9]+", "_", (args.name or (landing.parent.name if landing.name == "landing"
                                                      else landing.name)).lower()).strip("_") or "bank"
    if _uses_embedded():

        server = EmbeddedWarehouse.default()
        server.start()
        database = f"bank_{name}"
        ensure_database(server.server_url(), database, owner=PIPELINE_LOGIN)
        server.hand_over(database)
        url = server.server_url(database, role=PIPELINE_LOGIN)
        print(f"warehouse: database {database} on the embedded Postgres (the demo's is 'warehouse')")
    else:
        url = os.environ["WAREHOUSE_URL"].strip()
        print(f"warehouse: WAREHOUSE_URL ({url.split('@')[-1]})")
    output = PROJECT_DIR / "output" / name
    settings = Settings.from_env({**os.environ, "WAREHOUSE_URL": url, "BANK_LANDING_DIR": str(landing),
                                  "BANK_REPORTS_DIR": str(output / "reports")})
    print(f"deliveries: {len(dates)} in {landing}, {dates[0]} to {dates[-1]}; running through {through}", flush=True)
    run_log = _run_pipeline(url, landing, settings.reports_dir, PROJECT_DIR / ".airflow" / name, dates[0], through,
                            1, 2)
    _print_summary(settings, url, run_log, f"Your deliveries are in the warehouse (reports in {output}).")
    return 0


def cmd_airflow(args) -> int:
    """Airflow's own UI, scheduler and DAG processor on this machine, against the same DAGs and warehouse."""
    import signal
    import time

    from warehouse import airflow_local

    url = ensure_warehouse()
    if _uses_embedded():
        server = EmbeddedWarehouse.default()
        ensure_database(server.server_url(), "airflow_metadata", owner=PIPELINE_LOGIN)
        server.hand_over("airflow_metadata")
        metadata = server.server_url("airflow_metadata", role=PIPELINE_LOGIN).replace(
            "postgresql://", "postgresql+psycopg2://", 1)
    elif os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        metadata = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    else:
        raise SystemExit("error: with WAREHOUSE_URL set, say where Airflow keeps its metadata: "
                         "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://user:password@host/airflow")
    settings = Settings.from_env({**os.environ, "WAREHOUSE_URL": url})
    env = airflow_local.local_stack_env(PROJECT_DIR / ".airflow" / "stack", metadata, args.port, extra={
        "WAREHOUSE_URL": url, "BANK_LANDING_DIR": str(settings.landing_dir),
        "BANK_REPORTS_DIR": str(settings.reports_dir)})
    print("preparing Airflow's metadata database (airflow db migrate)", flush=True)
    airflow_local.migrate(env)
    print(f"starting the API server, scheduler and DAG processor (logs in {env['AIRFLOW_HOME']})", flush=True)
    def stop(_signum, _frame):  # a service manager's SIGTERM stops the components as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with airflow_local.local_stack(env) as ui:
        print(f"Airflow UI: {ui}/dags  (this machine only, no login). Unpause a DAG or trigger a run there; "
              f"deliveries are read from {settings.landing_dir}. Ctrl-C stops Airflow.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping Airflow")
    return 0


def cmd_segment(args) -> int:
    """Segment past months again (a backfill) or every complete month not segmented yet, then build the
    marts that read them."""
    from ml.segmentation import segment_new_months
    from warehouse.transform import run_dbt

    months = [dt.date(m.year, m.month, 1) for m in args.month] or None
    settings = Settings.from_env({**os.environ, "WAREHOUSE_URL": ensure_warehouse()})
    with connect(settings) as conn:
        run_ids = segment_new_months(conn, months=months)
    if not run_ids:
        print("every complete month is segmented already; name one to run it again: --month YYYY-MM")
        return 0
    print(f"{len(run_ids)} segmentation run(s) written to ml: {', '.join(run_ids)}; building the marts that read "
          "them (dbt build --select source:ml+)", flush=True)
    run_dbt(["build", "--select", "source:ml+"], settings)
    print("marts.customer_segments_monthly, the migrations, segments against tiers and retention are up to date")
    return 0


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month: write it YYYY-MM, e.g. 2026-09") from None


def cmd_model_quality(args) -> int:
    from ml.quality import write_model_quality

    truth = Path(args.ground_truth)
    if truth.is_dir():
        truth = truth / "customer_truth.csv"
    if not truth.exists():
        raise FileNotFoundError(f"{truth}: no ground truth there; the demo writes it to data/ground_truth/")
    settings = Settings.from_env({**os.environ, "WAREHOUSE_URL": ensure_warehouse()})
    with connect(settings) as conn:
        path = write_model_quality(conn, truth, Path(args.output), source=args.source or str(truth))
    print(f"model quality written to {path}")
    return 0


def cmd_check_env(_args) -> int:
    """The compose stack's first service: refuse to start with placeholder or missing secrets."""
    from warehouse.settings import stack_secret_problems

    problems = stack_secret_problems(dict(os.environ))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print("the stack does not start until every secret in .env is set (see .env.example)", file=sys.stderr)
        return 1
    print("the stack's secrets are set")
    return 0


def cmd_bi(args) -> int:
    """Superset with the warehouse's dashboard, as bi_reader, until Ctrl-C."""
    from warehouse import bi_tool

    settings = Settings.from_env()
    home = bi_tool.superset_home()
    env = bi_tool.superset_env(settings, home)
    print(f"setting up Superset in {home} (metadata upgrade, roles, the dashboard) ...", flush=True)
    bi_tool.prepare(env)
    with bi_tool.serving(env, args.port) as url:
        print(f"Superset: {url}/superset/dashboard/customer-value/")
        print(f"  it reads {redacted(env['BI_WAREHOUSE_URI'])}, schema bi")
        print(f"  log in as admin; the password is \"admin_password\" in {home / 'credentials.json'} (yours only)")
        print("  Ctrl-C stops it", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping Superset")
    return 0


def cmd_postgres_settings(args) -> int:
    """The warehouse's Postgres settings for a server of the given size, in postgresql.conf form: what
    the embedded warehouse sets for itself (warehouse/embedded.py), for any other Postgres."""
    from warehouse.embedded import tuning

    print(f"# bank-customer-value warehouse: a server of {args.memory_gb:g} GB and {args.cores} cores "
          "(docs/scaling.md says why each)")
    for name, value in tuning(int(args.memory_gb * 2**30), args.cores).items():
        print(f"{name} = '{value}'")
    return 0


def cmd_lookup(args) -> int:
    """The information query: a customer's 360 view, as the login (or --as) may see it."""
    from warehouse.lookup import NotFound, format_customer, lookup

    with connect() as conn:
        try:
            found = lookup(conn, customer_id=args.customer_id, name=args.name, as_login=args.as_login)
        except NotFound as err:
            print(err, file=sys.stderr)
            return 3
    print("\n\n".join(format_customer(entry) for entry in found))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="start the embedded warehouse (no-op with WAREHOUSE_URL)").set_defaults(func=cmd_start)
    sub.add_parser("stop", help="stop the embedded warehouse").set_defaults(func=cmd_stop)
    sub.add_parser("status", help="is the warehouse running?").set_defaults(func=cmd_status)
    sub.add_parser("url", help="print the warehouse URL").set_defaults(func=cmd_url)
    sub.add_parser("setup", help="create or upgrade the warehouse's schemas, roles and the components' rights "
                                 "(as the set-up login; idempotent)").set_defaults(func=cmd_setup)
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
    run = sub.add_parser("run", help="run both DAGs through Airflow on your own deliveries (docs/adopting.md)")
    run.add_argument("--landing", required=True, help="folder with one delivery folder per business date")
    run.add_argument("--through", type=dt.date.fromisoformat, help="last business date to run (default: the last "
                     "delivered)")
    run.add_argument("--name", help="name of its warehouse database and output folder (default: from the folder)")
    run.set_defaults(func=cmd_run)
    stack = sub.add_parser("airflow", help="Airflow's UI, scheduler and DAG processor on this machine (make airflow)")
    stack.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_UI_PORT", 8080)))
    stack.set_defaults(func=cmd_airflow)
    segment = sub.add_parser("segment", help="K-Means segmentation of the complete months not segmented yet, or of "
                             "the months named (re-running a month replaces its run)")
    segment.add_argument("--month", type=_month, action="append", default=[],
                         help="a month to segment (again), YYYY-MM; repeat for several")
    segment.set_defaults(func=cmd_segment)
    bi = sub.add_parser("bi", help="Superset with the warehouse's dashboard, as bi_reader (make bi)")
    bi.add_argument("--port", type=int, default=8088)
    bi.set_defaults(func=cmd_bi)
    sub.add_parser("check-env", help="check the compose stack's secrets (no placeholder, none missing, a real "
                   "Fernet key); the stack's first service runs it").set_defaults(func=cmd_check_env)
    pg_settings = sub.add_parser("postgres-settings", help="the warehouse's Postgres settings for a server of a "
                                 "given size, to add to its postgresql.conf (docs/scaling.md)")
    pg_settings.add_argument("--memory-gb", type=float, required=True, help="the server's memory, in GB")
    pg_settings.add_argument("--cores", type=int, required=True)
    pg_settings.set_defaults(func=cmd_postgres_settings)
    lookup = sub.add_parser("lookup", help="a customer's 360 view (individual or enterprise) from bi, as your "
                            "login may see it: an RM finds only their own customers")
    lookup.add_argument("customer_id", nargs="?", help="the customer's id, e.g. C00000123")
    lookup.add_argument("--name", help="a part of the name instead (as your login sees names)")
    lookup.add_argument("--as", dest="as_login", help="look up as this BI login (e.g. rm_rm0001): what it sees")
    lookup.set_defaults(func=cmd_lookup)
    quality = sub.add_parser("model-quality", help="measure the models against the simulator's ground truth and "
                             "write docs/model-quality.md")
    quality.add_argument("--ground-truth", default=str(PROJECT_DIR / "data" / "ground_truth"),
                         help="the simulator's customer_truth.csv, or its folder (default: the demo's)")
    quality.add_argument("--output", default=str(PROJECT_DIR / "docs" / "model-quality.md"))
    quality.add_argument("--source", help="what the figures were measured on, for the report's first line")
    quality.set_defaults(func=cmd_model_quality)
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
