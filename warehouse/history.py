"""History: the masters' SCD2 snapshots (``snapshots.snap_customers``, ``snap_accounts``,
``snap_customer_assignments``), kept from their deliveries.

Masters are deltas: a business date's ``customers.csv`` and ``accounts.csv`` hold the records that
changed (or were sent again). A version opens on the business date its record was delivered, when
that record differs from the key's version in effect, and closes when the next one opens, whatever
the run pattern: a night with one new date and a catch-up of a year give the same history.

The tables are dbt snapshots (``dbt_project/snapshots``: ``strategy: check``; the snapshot time is the
business date, ``postgres__snapshot_get_time``), and dbt creates them. The dates not replayed yet are
replayed here in one set-based pass per snapshot, not one ``dbt snapshot`` per date: every delivered
record since the first new date, in date order per key, is compared with the record before it (the
first with the key's version in effect); each that differs is a new version, closed by the next.
So a catch-up costs in proportion to the master records delivered, not to dates x customers. The
versions are dbt's own: the same ``dbt_scd_id`` (md5 of key and valid-from time), ``dbt_updated_at``
and ``dbt_valid_from`` the business date, ``dbt_valid_to`` the next version's date or null. A test
replays the same deliveries both ways and finds the same tables.

A corrected re-delivery of an old date (and the later dates the loader reloads after it), or a
revision of it (a quarantined master line retried into it), rewinds the snapshots to that date and
replays from there. ``audit.snapshot_replays`` records which revision (batch) of each date has been
replayed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass

from psycopg2 import sql

from warehouse.db import connect, transform_lock
from warehouse.progress import Progress
from warehouse.schema import require_schema
from warehouse.settings import Settings
from warehouse.transform import invoke_dbt

log = logging.getLogger(__name__)

SNAPSHOT_SCHEMA = "snapshots"


@dataclass(frozen=True)
class Snapshot:
    name: str
    source: str  # the staging view of the master's delivered records (one per key and delivered date)
    key: str


SNAPSHOTS = (Snapshot("snap_customers", "stg_bank__customers", "customer_id"),
             Snapshot("snap_accounts", "stg_bank__accounts", "account_id"),
             Snapshot("snap_customer_assignments", "stg_bank__customers", "customer_id"))
DBT_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")


def replay_snapshots(settings: Settings | None = None) -> list[dt.date]:
    """Replay every delivered date not yet replayed (or re-delivered since); return them, in order."""
    settings = settings or Settings.from_env(component="transformer")
    with transform_lock(settings):  # no delivery commits while the snapshots read it
        return _replay(settings)


def _replay(settings: Settings) -> list[dt.date]:
    with connect(settings) as conn, conn.cursor() as cur:
        require_schema(conn)
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
        cur.execute("select count(*) = %s from information_schema.tables where table_schema = %s "
                    "and table_name = any(%s)", (len(SNAPSHOTS), SNAPSHOT_SCHEMA, [s.name for s in SNAPSHOTS]))
        created = cur.fetchone()[0]
    dates = [(day, batch) for day, batch in delivered if day >= first]
    log.info("replaying %d business dates through the history snapshots, %s to %s", len(dates), dates[0][0],
             dates[-1][0])
    invoke_dbt(["run", "--select", *sorted({s.source for s in SNAPSHOTS})], settings)  # what the snapshots read
    if not created:  # dbt creates its snapshot tables: from the first date, the rest replayed below
        invoke_dbt(["snapshot", "--vars", json.dumps({"snapshot_date": first.isoformat()})], settings)
    with connect(settings) as conn, conn.cursor() as cur:
        since = first if created else first + dt.timedelta(days=1)
        with Progress(f"replaying {len(dates)} dates", len(SNAPSHOTS), "snapshots", log, every=0) as progress:
            for snapshot in SNAPSHOTS:
                replay_since(cur, snapshot, since)
                progress.advance()
        cur.execute("""insert into audit.snapshot_replays (business_date, batch_id)
                       select * from unnest(%s::date[], %s::bigint[])""",
                    ([day for day, _ in dates], [batch for _, batch in dates]))
    return [day for day, _ in dates]


def replay_since(cur, snapshot: Snapshot, since: dt.date) -> int:
    """Open the versions of ``snapshot`` delivered on or after ``since`` and close the ones they follow,
    in one pass (the snapshot rewound to ``since``); returns the versions opened."""
    started = time.perf_counter()
    cur.execute("""select column_name from information_schema.columns
                   where table_schema = %s and table_name = %s order by ordinal_position""",
                (SNAPSHOT_SCHEMA, snapshot.name))
    columns = [name for (name,) in cur.fetchall() if name not in DBT_COLUMNS]
    table, key = sql.Identifier(SNAPSHOT_SCHEMA, snapshot.name), sql.Identifier(snapshot.key)
    fields = sql.SQL(", ").join(map(sql.Identifier, columns))
    # one statement: every sub-statement sees the snapshot as it was before (the versions in effect)
    cur.execute(sql.SQL("""
        with delivered as (
            select {fields}, delivered_date::timestamp as valid_from
            from {source} where delivered_date >= %(since)s
        ),
        in_effect as (
            select {fields}, null::timestamp as valid_from
            from {table}
            where dbt_valid_to is null and {key} in (select {key} from delivered)
        ),
        compared as (
            select *, md5(row({fields})::text) as record,
                   lag(md5(row({fields})::text)) over (partition by {key} order by valid_from nulls first) as before
            from (select * from in_effect union all select * from delivered) as records
        ),
        opened as (
            select {fields}, valid_from,
                   lead(valid_from) over (partition by {key} order by valid_from) as valid_to
            from compared
            where valid_from is not null and record is distinct from before
        ),
        closed as (
            update {table} as version set dbt_valid_to = successor.valid_from
            from (select {key}, min(valid_from) as valid_from from opened group by {key}) as successor
            where version.{key} = successor.{key} and version.dbt_valid_to is null
            returning 1
        ),
        -- dbt's own version key for the check strategy: md5 of the key and the snapshot time, as text
        inserted as (
            insert into {table} ({fields}, dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)
            select {fields},
                   md5(coalesce(cast({key} as varchar), '') || '|' || coalesce(cast(valid_from as varchar), '')),
                   valid_from, valid_from, valid_to
            from opened
            returning 1
        )
        select (select count(*) from inserted), (select count(*) from closed)""").format(
        fields=fields, key=key, table=table, source=sql.Identifier("staging", snapshot.source)), {"since": since})
    opened, closed = cur.fetchone()
    log.info("%s: %d versions opened since %s, %d closed (%.1f s)", snapshot.name, opened, since, closed,
             time.perf_counter() - started)
    return opened


def _rewind(cur, first: dt.date) -> None:
    """Undo what the snapshots recorded on and after ``first``: those versions go, the ones they closed reopen."""
    for snapshot in SNAPSHOTS:
        cur.execute("select to_regclass(%s)", (f"{SNAPSHOT_SCHEMA}.{snapshot.name}",))
        if cur.fetchone()[0] is None:
            continue
        table = sql.Identifier(SNAPSHOT_SCHEMA, snapshot.name)
        cur.execute(sql.SQL("delete from {} where dbt_valid_from >= %s").format(table), (first,))
        removed = cur.rowcount
        cur.execute(sql.SQL("update {} set dbt_valid_to = null where dbt_valid_to >= %s").format(table), (first,))
        if removed or cur.rowcount:
            log.info("%s: rewound to %s (%d versions removed, %d reopened)", snapshot.name, first, removed,
                     cur.rowcount)
    cur.execute("delete from audit.snapshot_replays where business_date >= %s", (first,))
