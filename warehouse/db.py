"""Connections to the warehouse (psycopg2, the product's driver and dbt-postgres's)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from warehouse.settings import Settings

log = logging.getLogger(__name__)

# A delivery load and a transform (the history replay, a dbt run) never overlap: a load committed
# while dbt builds would be half-seen (facts built before it, value models after, which record it as
# built) and its day left out of the monthly value model for good. Loads take this advisory lock for
# their transaction, transforms for their run; each waits for the other. Any fixed bigint will do.
WAREHOUSE_WRITE_LOCK = 7_310_001


def hold_write_lock(cur) -> None:
    """Take the warehouse write lock for the rest of ``cur``'s transaction (a load, a quarantine retry,
    a schema upgrade), waiting for a transform or another load that holds it."""
    cur.execute("select pg_advisory_xact_lock(%s)", (WAREHOUSE_WRITE_LOCK,))


@contextlib.contextmanager
def transform_lock(settings: Settings | None = None) -> Iterator[None]:
    """Hold the warehouse write lock for a transform: a delivery load being committed is waited for,
    and the next one waits until the transform is done (loads take it per delivery: ``hold_write_lock``)."""
    with connect(settings, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("select pg_try_advisory_lock(%s)", (WAREHOUSE_WRITE_LOCK,))
        if not cur.fetchone()[0]:
            log.info("a delivery is being loaded: the transform waits for it to commit")
            cur.execute("select pg_advisory_lock(%s)", (WAREHOUSE_WRITE_LOCK,))
        try:
            yield
        finally:
            cur.execute("select pg_advisory_unlock(%s)", (WAREHOUSE_WRITE_LOCK,))


@contextlib.contextmanager
def connect(settings: Settings | None = None, *, autocommit: bool = False) -> Iterator[
        psycopg2.extensions.connection]:
    """A connection that commits on success and rolls back on any error."""
    settings = settings or Settings.from_env()
    conn = psycopg2.connect(settings.warehouse_url, application_name="bank-customer-value")
    conn.autocommit = autocommit
    try:
        yield conn
        if not autocommit:
            conn.commit()
    except BaseException:
        if not autocommit:
            conn.rollback()
        raise
    finally:
        conn.close()


def ensure_database(server_url: str, database: str, owner: str | None = None) -> None:
    """Create ``database`` on the server at ``server_url`` if it does not exist, owned by ``owner``
    (a role of the server) when given."""
    conn = psycopg2.connect(server_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (database,))
            if cur.fetchone() is None:
                statement = sql.SQL("create database {}").format(sql.Identifier(database))
                if owner:
                    statement += sql.SQL(" owner {}").format(sql.Identifier(owner))
                cur.execute(statement)
    finally:
        conn.close()


def drop_database(server_url: str, database: str) -> None:
    conn = psycopg2.connect(server_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(database)))
    finally:
        conn.close()


def table_counts(conn, schema: str, names: Iterable[str]) -> dict[str, int]:
    """Row counts of those of ``names`` that are tables or views in ``schema``, by name."""
    with conn.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables where table_schema = %s and table_name = any(%s) "
            "order by table_name",
            (schema, list(names)),
        )
        counts = {}
        for (name,) in cur.fetchall():
            cur.execute(sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(name)))
            counts[name] = cur.fetchone()[0]
    return counts


def read_frame(conn, query: str, params: tuple | None, columns: dict):
    """The rows of ``query`` (its parameters bound by the driver) as a pandas frame of ``columns``
    (name: dtype, in the query's order), by COPY as CSV: about twice as fast as fetching rows, and
    parsed by Arrow's multi-threaded CSV reader (a million rows in about a third of pandas' time,
    without a Python object per value; decimal text parses to the nearest float, as float8 does).
    The CSV text is let go once parsed and Arrow's columns as each is converted, so the peak is about
    twice the frame, not four times (the churn signals of a year at 100,000 customers)."""
    import io

    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    buffer = io.BytesIO()
    with conn.cursor() as cur:
        bound = cur.mogrify(query, params).decode() if params else query
        cur.copy_expert(f"copy ({bound}) to stdout with (format csv)", buffer)
    if not buffer.getbuffer().nbytes:
        return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in columns.items()})
    buffer.seek(0)
    types = {name: pa.string() if kind is str else pa.from_numpy_dtype(pd.api.types.pandas_dtype(kind))
             for name, kind in columns.items()}
    table = pa_csv.read_csv(buffer, read_options=pa_csv.ReadOptions(column_names=list(columns)),
                            convert_options=pa_csv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                                                        quoted_strings_can_be_null=False))
    del buffer
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    return frame.astype(columns)  # copy-on-write: no copy of a column already of its type


def write_frame(conn, table: str, frame) -> None:
    """Append the rows of a pandas ``frame`` to ``table`` (its columns by the frame's names) by COPY as
    CSV written by Arrow: no Python object per value (a million rows in about a tenth of a second
    against more than a second for a loop of f-strings). A missing value is NULL; booleans are
    true/false; a Postgres array goes as its text literal, e.g. ``{a,b}``. In the caller's transaction."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    buffer = io.BytesIO()
    pa_csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buffer,
                     pa_csv.WriteOptions(include_header=False))
    buffer.seek(0)
    columns = ", ".join(sql.Identifier(name).as_string(conn) for name in frame.columns)
    with conn.cursor() as cur:
        cur.copy_expert(f"copy {table} ({columns}) from stdin with (format csv)", buffer)
