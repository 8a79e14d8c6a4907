"""The transformation runners: dbt (as a subprocess, or in-process for many short invocations) and the
replay of customer and account history through dbt's snapshots.

Both hold the warehouse write lock (``warehouse.db.transform_lock``) for their run: no delivery
commits while they read ``raw``.

History: each newly delivered business date is replayed through the dbt snapshots.

A dbt snapshot records what it sees when it runs. Run once after a catch-up of many dates, it would
keep only the last state and date every change to that run. So each delivered business date is
replayed in date order, ``dbt snapshot --vars '{snapshot_date: D}'`` reading only the master records
delivered on D: every change is dated on the business date it was delivered, whatever the run pattern.

A corrected re-delivery of an old date (and the later dates the loader reloads after it), or a
revision of it (a quarantined master line retried into it), rewinds the snapshots to that date and
replays from there. ``audit.snapshot_replays`` records which revision (batch) of each date has been
replayed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from psycopg2 import sql

from warehouse.db import connect, transform_lock
from warehouse.schema import ensure_schema
from warehouse.settings import Settings

log = logging.getLogger(__name__)


# -- dbt -----------------------------------------------------------------------------------------
class DbtError(RuntimeError):
    pass


def run_dbt(args: list[str], settings: Settings | None = None) -> None:
    """Run ``dbt <args>`` in the dbt project; stream its log; raise DbtError on failure."""
    settings = settings or Settings.from_env()
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, **settings.dbt_env(), "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    cmd = [str(dbt), *args, "--target", settings.dbt_target]
    log.info("running %s", " ".join(cmd))
    with transform_lock(settings):  # no delivery commits while dbt reads raw
        process = subprocess.Popen(cmd, cwd=settings.dbt_project_dir, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        tail: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            log.info("dbt | %s", line)
            tail = (tail + [line])[-40:]
        returncode = process.wait()
    if returncode != 0:
        raise DbtError(f"dbt {' '.join(args)} failed (exit {returncode}); last lines:\n" + "\n".join(tail))


def dbt_session(settings: Settings | None = None) -> Callable[[list[str]], None]:
    """Parse the project once and return a function that runs dbt commands in this process.

    For many small invocations (the history replay runs ``dbt snapshot`` once per business date),
    where starting and parsing dbt each time would cost far more than the work.
    """
    from dbt.cli.main import dbtRunner

    settings = settings or Settings.from_env()
    os.environ.update({**settings.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"})
    common = ["--project-dir", str(settings.dbt_project_dir), "--profiles-dir", str(settings.dbt_project_dir),
              "--target", settings.dbt_target]
    parsed = dbtRunner().invoke(["parse", *common])
    if not parsed.success:
        raise DbtError(f"dbt parse failed: {parsed.exception}")
    runner = dbtRunner(manifest=parsed.result)

    def invoke(args: list[str]) -> None:
        result = runner.invoke([*args, *common])
        if not result.success:
            raise DbtError(f"dbt {' '.join(args)} failed: {result.exception or 'see the dbt log above'}")

    return invoke


# -- history -------------------------------------------------------------------------------------
SNAPSHOTS = ("snap_customers", "snap_accounts", "snap_customer_assignments")
SNAPSHOT_SCHEMA = "snapshots"


def replay_snapshots(settings: Settings | None = None) -> list[dt.date]:
    """Replay every delivered date not yet replayed (or re-delivered since) in date order; return them."""
    settings = settings or Settings.from_env()
    with transform_lock(settings):  # no delivery commits while the snapshots read it
        return _replay(settings)


def _replay(settings: Settings) -> list[dt.date]:
    with connect(settings) as conn, conn.cursor() as cur:
        ensure_schema(conn)
        # a date's revision: its load, or a later change to it (a quarantined master line retried into it)
        cur.execute("select business_date, revision_batch_id from audit.deliveries order by business_date")
        delivered = cur.fetchall()
        cur.execute("select business_date, batch_id from audit.snapshot_replays")
        replayed = dict(cur.fetchall())
        first = next((day for day, batch in delivered if replayed.get(day) != batch), None)
        if first is None:
            log.info("history snapshots are up to date (%d business dates replayed)", len(replayed))
            return []
        _rewind(cur, first)
    dates = [(day, batch) for day, batch in delivered if day >= first]
    log.info("replaying %d business dates through the history snapshots, %s to %s", len(dates), dates[0][0],
             dates[-1][0])
    dbt = dbt_session(settings)
    dbt(["run", "--quiet", "--select", "stg_bank__customers", "stg_bank__accounts"])  # what the snapshots read
    for number, (day, batch) in enumerate(dates, start=1):
        dbt(["snapshot", "--quiet", "--vars", json.dumps({"snapshot_date": day.isoformat()})])
        with connect(settings) as conn, conn.cursor() as cur:
            cur.execute("insert into audit.snapshot_replays (business_date, batch_id) values (%s, %s)", (day, batch))
        if number % 10 == 0 or number == len(dates):
            log.info("progress: %d of %d business dates replayed", number, len(dates))
    return [day for day, _ in dates]


def _rewind(cur, first: dt.date) -> None:
    """Undo what the snapshots recorded on and after ``first``: those versions go, the ones they closed reopen."""
    for name in SNAPSHOTS:
        cur.execute("select to_regclass(%s)", (f"{SNAPSHOT_SCHEMA}.{name}",))
        if cur.fetchone()[0] is None:
            continue
        table = sql.Identifier(SNAPSHOT_SCHEMA, name)
        cur.execute(sql.SQL("delete from {} where dbt_valid_from >= %s").format(table), (first,))
        removed = cur.rowcount
        cur.execute(sql.SQL("update {} set dbt_valid_to = null where dbt_valid_to >= %s").format(table), (first,))
        if removed or cur.rowcount:
            log.info("%s: rewound to %s (%d versions removed, %d reopened)", name, first, removed, cur.rowcount)
    cur.execute("delete from audit.snapshot_replays where business_date >= %s", (first,))
