"""Customer and account history: replay each newly delivered business date through the dbt snapshots.

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

from psycopg2 import sql

from warehouse.db import connect, transform_lock
from warehouse.dbt import dbt_session
from warehouse.settings import Settings

log = logging.getLogger(__name__)

SNAPSHOTS = ("snap_customers", "snap_accounts", "snap_customer_assignments")
SNAPSHOT_SCHEMA = "snapshots"


def replay_snapshots(settings: Settings | None = None) -> list[dt.date]:
    """Replay every delivered date not yet replayed (or re-delivered since) in date order; return them."""
    settings = settings or Settings.from_env()
    with transform_lock(settings):  # no delivery commits while the snapshots read it
        return _replay(settings)


def _replay(settings: Settings) -> list[dt.date]:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("""create table if not exists audit.snapshot_replays (
            business_date date primary key,
            batch_id bigint not null,
            replayed_at timestamptz not null default now())""")
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
