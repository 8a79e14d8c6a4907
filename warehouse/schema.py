"""Every table the product's Python writes, created and upgraded in one place.

dbt owns ``staging``, ``intermediate``, ``marts`` and ``snapshots``; everything else is set up here:
``raw`` (one table per contract file, partitioned by business date), ``audit`` (deliveries, files,
control totals, the quarantine, unresolved references, the history replay's record) and ``ml``
(segmentation runs, labels, profiles; churn models and scores) and ``security`` (the BI logins' map,
warehouse/access.py), with each component's rights (version 8: a login per component). ``ensure_schema`` is the
set-up's, idempotent and cheap when the warehouse is current: ``audit.schema_version`` holds the version of these
statements, and a warehouse at ``SCHEMA_VERSION`` is not touched. A component (the loader, the history replay)
checks the version with ``require_schema``: it may not create roles or schemas.
"""

from __future__ import annotations

import datetime as dt

from psycopg2 import sql

from ingestion import contract
from ingestion.contract import SourceFile
from warehouse import access
from warehouse.db import hold_write_lock

# Raise it with every change to the statements below: a warehouse at this version is not altered.
SCHEMA_VERSION = 8

AUDIT = (
    "create schema if not exists raw",
    "create schema if not exists audit",
    "create sequence if not exists audit.batch_id_seq",
    """create table if not exists audit.deliveries (
        business_date date primary key,
        batch_id bigint not null,
        control_sha256 text not null,
        folder text not null,
        status text not null,
        rows_read bigint not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        loaded_at timestamptz not null default now())""",
    """create table if not exists audit.file_loads (
        batch_id bigint not null,
        business_date date not null,
        file_name text not null,
        sha256 text not null,
        rows_read bigint not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        duration_seconds numeric(12,3) not null,
        loaded_at timestamptz not null default now(),
        primary key (batch_id, file_name))""",
    # lowest and highest key loaded, for the files whose keys are unique across deliveries
    "alter table audit.file_loads add column if not exists key_min text",
    "alter table audit.file_loads add column if not exists key_max text",
    "alter table audit.file_loads add column if not exists fast_path boolean",
    """create table if not exists audit.control_totals (
        business_date date not null,
        file_name text not null,
        row_count bigint not null,
        amount_total numeric(20,2),
        primary key (business_date, file_name))""",
    """create table if not exists audit.quarantined_rows (
        batch_id bigint not null,
        business_date date not null,
        file_name text not null,
        line_number integer not null,
        rule text not null,
        detail text not null,
        raw_line text not null,
        amount_cny numeric(18,2),
        primary key (batch_id, file_name, line_number))""",
    # the line's amount when it is a number: control total = loaded amounts + quarantined amounts
    "alter table audit.quarantined_rows add column if not exists amount_cny numeric(18,2)",
    # the repair queue (ingestion.quarantine): a line waits until it is retried (loaded into raw),
    # superseded (its record delivered again) or released by a data engineer; each is audited
    "alter table audit.quarantined_rows add column if not exists record_key text",
    "alter table audit.quarantined_rows add column if not exists status text not null default 'waiting'",
    "alter table audit.quarantined_rows add column if not exists resolved_batch_id bigint",
    "alter table audit.quarantined_rows add column if not exists resolved_at timestamptz",
    "alter table audit.quarantined_rows add column if not exists resolution text",
    # the newest batch that changed what a date's rows mean: its own load, a line of it retried, a
    # master that resolved its references. Incremental models and the history replay rebuild
    # every date whose revision is newer than what they were built from.
    "alter table audit.deliveries add column if not exists revision_batch_id bigint",
    "update audit.deliveries set revision_batch_id = batch_id where revision_batch_id is null",
    # events loaded against a master record not delivered yet (the late-arriving-dimension registry)
    """create table if not exists audit.unresolved_references (
        business_date date not null,
        file_name text not null,
        column_name text not null,
        referenced_file text not null,
        referenced_key text not null,
        rows_loaded integer not null,
        resolved_on_date date,
        resolved_batch_id bigint,
        primary key (business_date, file_name, column_name, referenced_key))""",
    # which revision (batch) of each business date the history snapshots have replayed (warehouse.transform)
    """create table if not exists audit.snapshot_replays (
        business_date date primary key,
        batch_id bigint not null,
        replayed_at timestamptz not null default now())""",
)

ML = (
    "create schema if not exists ml",
    """create table if not exists ml.segmentation_runs (
        run_id text primary key,
        created_at timestamptz not null,
        month_start_date date not null,
        customers integer not null,
        clusters integer not null,
        random_state integer not null,
        inertia double precision not null,
        silhouette double precision,
        features jsonb not null,
        library_versions jsonb not null)""",
    # version 5: the model's choice (preprocessing, every candidate's scores, ids new and retired)
    "alter table ml.segmentation_runs add column if not exists preprocessing text",
    "alter table ml.segmentation_runs add column if not exists selection jsonb",
    "create index if not exists segmentation_runs_month on ml.segmentation_runs (month_start_date)",
    # A run's labels and a model's scores carry no foreign key to their run or model: checked row by
    # row, it doubled the time of writing a million of them (13.4 s against 6.2 s). Their writers
    # insert the run or model and its rows in one transaction and delete a run's rows before it.
    """create table if not exists ml.customer_segments (
        run_id text not null,
        customer_id text not null,
        segment_id integer not null,
        distance_to_centroid double precision not null,
        is_outlier boolean not null,
        primary key (run_id, customer_id))""",
    """create table if not exists ml.segment_profiles (
        run_id text not null references ml.segmentation_runs (run_id),
        segment_id integer not null,
        segment_name text not null,
        customers integer not null,
        centroid jsonb not null,
        primary key (run_id, segment_id))""",
    # version 5: names in Chinese, one-line profiles, the outlier threshold, the members' medians
    "alter table ml.segment_profiles add column if not exists segment_name_zh text",
    "alter table ml.segment_profiles add column if not exists profile text",
    "alter table ml.segment_profiles add column if not exists profile_zh text",
    "alter table ml.segment_profiles add column if not exists outlier_threshold double precision",
    "alter table ml.segment_profiles add column if not exists medians jsonb",
    # the churn model: one trained model per month end (ml/retention.py), then its scores
    """create table if not exists ml.churn_models (
        model_id text primary key,
        created_at timestamptz not null,
        month_start_date date not null,
        scored_through_date date not null,
        signals_batch_id bigint,
        model_kind text not null,
        training_months jsonb not null,
        training_rows integer not null,
        training_positives integer not null,
        parameters jsonb not null,
        activity_model jsonb,
        metrics jsonb not null,
        library_versions jsonb not null)""",
    """create table if not exists ml.churn_scores (
        model_id text not null,
        customer_id text not null,
        month_start_date date not null,
        churn_risk_score double precision not null,
        churn_risk_reasons text[] not null,
        p_active double precision,
        expected_transaction_days_30d double precision,
        primary key (model_id, customer_id))""",
    # version 7: no per-row foreign key on the labels and the scores (above)
    "alter table ml.customer_segments drop constraint if exists customer_segments_run_id_fkey",
    "alter table ml.churn_scores drop constraint if exists churn_scores_model_id_fkey",
)


# version 6: who may see what in `bi` (warehouse/access.py creates the roles)
SECURITY = (
    "create schema if not exists security",
    "revoke all on schema security from public",
    """create table if not exists security.bi_logins (
        login text primary key,
        allowed_rm_id text,
        allowed_branch_id text,
        check (allowed_rm_id is not null or allowed_branch_id is not null))""",
    f"create schema if not exists {access.BI_SCHEMA}",
)


def _version(cur) -> int | None:
    cur.execute("select to_regclass('audit.schema_version') is not null")
    if not cur.fetchone()[0]:
        return None
    cur.execute("select max(version) from audit.schema_version")
    return cur.fetchone()[0]


def require_schema(conn) -> None:
    """Raise, saying what to run, unless the warehouse's schema is this code's version (a component's
    check: only the set-up login may create or upgrade it)."""
    with conn.cursor() as cur:
        found = _version(cur)
    if found != SCHEMA_VERSION:
        state = "has no schema" if found is None else f"has schema version {found}"
        raise RuntimeError(f"the warehouse {state} and this code needs version {SCHEMA_VERSION}: set it up as the "
                           "set-up login with `python -m warehouse setup` (the bank_extract_load DAG's first task "
                           "does it too), then run this again")


def ensure_schema(conn) -> None:
    """Create or upgrade ``raw``, ``audit``, ``ml`` and ``security``, the roles, and each component's rights
    (the set-up login's; commit is the caller's)."""
    with conn.cursor() as cur:
        # Up to date: no DDL, which would wait for every reader of an audit table (a BI session, a
        # data engineer's open transaction) and hold the load back behind it.
        if _version(cur) == SCHEMA_VERSION:
            return
        # two loads started at once on an empty warehouse would both create the schemas: one waits
        hold_write_lock(cur)
        for statement in (*AUDIT, *ML, *SECURITY):
            cur.execute(statement)
        _raw_tables(cur)
        access.ensure_roles(cur)
        cur.execute("create table if not exists audit.schema_version (version integer not null, "
                    "upgraded_at timestamptz not null default now())")
        for name in access.SCHEMA_OWNERS:  # dbt's too: each component's, given to it by grant_components
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(name)))
        access.grant_components(cur)
        cur.execute("insert into audit.schema_version (version) values (%s)", (SCHEMA_VERSION,))


def _raw_tables(cur) -> None:
    """One table per contract file, partitioned by business date; the loader adds a partition per file and date."""
    for source in contract.SOURCE_FILES:
        cur.execute("select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                    "where n.nspname = 'raw' and c.relname = %s", (source.name,))
        found = cur.fetchone()
        if found and found[0] != "p":
            raise RuntimeError(
                f"raw.{source.name} was created by an earlier version of the loader (one table, not "
                f"partitioned by business date). Drop the schemas raw and audit (make clean removes the "
                f"embedded warehouse) and run the load again: every delivery is reloaded from the landing folder.")
        cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in source.columns]
        cols += [sql.SQL(s) for s in ("business_date date not null", "batch_id bigint not null",
                                      "source_file text not null")]
        cur.execute(sql.SQL("create table if not exists raw.{} ({}) partition by list (business_date)").format(
            sql.Identifier(source.name), sql.SQL(", ").join(cols)))


# -- raw partitions: one per file and business date, created by each load ---------------------------
def partition_name(source: SourceFile, business_date: dt.date) -> str:
    return f"{source.name}_{business_date:%Y%m%d}"


def create_partition(cur, source: SourceFile, business_date: dt.date, batch_id: int) -> sql.Composable:
    """An empty table for one file of one date; its defaults tag every row the COPY writes.

    It becomes a partition of ``raw.<file>`` (``attach_partition``) once loaded: attaching takes a
    lock that readers of ``raw`` do not wait for, where creating it as a partition would lock them out.
    """
    name = sql.Identifier("raw", partition_name(source, business_date))
    cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in source.columns]
    cols += [sql.SQL("business_date date not null default {d} check (business_date = {d})").format(
                 d=sql.Literal(business_date)),
             sql.SQL("batch_id bigint not null default {}").format(sql.Literal(batch_id)),
             sql.SQL("source_file text not null default {}").format(sql.Literal(source.file_name))]
    cur.execute(sql.SQL("create table {} ({})").format(name, sql.SQL(", ").join(cols)))
    return name


def attach_partition(cur, source: SourceFile, business_date: dt.date, name: sql.Composable) -> None:
    cur.execute(sql.SQL("alter table raw.{} attach partition {} for values in ({})").format(
        sql.Identifier(source.name), name, sql.Literal(business_date)))
