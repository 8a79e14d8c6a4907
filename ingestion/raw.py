"""What ``raw`` holds, as the loader and the quarantine's repair queue look it up.

Each file of each business date is its own partition of ``raw.<file>`` (``warehouse.schema``
creates and attaches them); the master keys delivered
so far are what references are checked against; the ids of event files are unique across
deliveries, so an id delivered on an earlier date is looked up here.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
from psycopg2 import sql

from ingestion.contract import SourceFile


class DeliveredCodes:
    """The keys of each master file delivered on or before the business date being loaded.

    References are checked against them (an account's customer, a balance's account). A load run
    reads from ``raw`` only what earlier runs loaded, once per master, and adds each master file's
    keys as it loads them, so that a run over many dates reads each master once. Dates within a run
    only go forward; a date not after the previous one starts afresh.
    """

    def __init__(self):
        self._run_start: dt.date | None = None
        self._last: dt.date | None = None
        self._before_run: dict[str, pa.Array] = {}
        self._this_run: dict[str, list[pa.Array]] = {}

    def start(self, business_date: dt.date) -> None:
        if self._last is None or business_date <= self._last:
            self._run_start = business_date
            self._before_run.clear()
            self._this_run.clear()
        self._last = business_date

    def get(self, cur, target: SourceFile) -> pa.Array:
        if target.name not in self._before_run:
            cur.execute(sql.SQL("select string_agg({key}, E'\\n') from raw.{table} where business_date < %s").format(
                key=sql.Identifier(target.key[0]), table=sql.Identifier(target.name)), (self._run_start,))
            text = cur.fetchone()[0]
            self._before_run[target.name] = pa.array(text.split("\n") if text else [], pa.string())
        return pa.concat_arrays([self._before_run[target.name], *self._this_run.get(target.name, [])])

    def add(self, target: SourceFile, keys: pa.Array) -> None:
        self._this_run.setdefault(target.name, []).append(keys.cast(pa.string()))


def delivered_before(cur, source: SourceFile, business_date: dt.date, keys: list[str] | pa.Array) -> set[str]:
    """The keys among ``keys`` that an earlier business date already delivered (for event files).

    The key range of every earlier load is in ``audit.file_loads``: when today's keys all lie outside
    those ranges (ids grow with time in the bank's systems) nothing needs to be looked up in ``raw``.
    """
    if not source.key_unique_across_deliveries or not len(keys):
        return set()
    if isinstance(keys, pa.Array):
        low, high = (v.as_py() for v in pc.min_max(keys).values())
    else:
        low, high = min(keys), max(keys)
    cur.execute("select key_min, key_max from audit.file_loads where file_name = %s and business_date < %s",
                (source.file_name, business_date))
    if all(k_min is not None and (k_max < low or k_min > high) for k_min, k_max in cur.fetchall()):
        return set()
    cur.execute(sql.SQL("""select k from unnest(%s::text[]) as k where exists (
            select 1 from raw.{t} as o where o.{key} = k and o.business_date < %s)""").format(
        t=sql.Identifier(source.name), key=sql.Identifier(source.key[0])),
        (keys.to_pylist() if isinstance(keys, pa.Array) else list(keys), business_date))
    return {k for (k,) in cur.fetchall()}


