"""The quarantine is a repair queue, not a grave.

A quarantined line (``audit.quarantined_rows``) waits until one of these happens, each recorded on
the line (status, the batch and time it happened, and why):

- ``retried``: it passes every rule now and is loaded into its own date's ``raw`` partition, once.
  A master line that referenced a record not yet delivered is retried automatically by every later
  delivery; any line can be retried from the command line (``python -m warehouse quarantine retry``),
  e.g. after the contract changed.
- ``superseded``: its record (a master's key) was delivered again by a later delivery.
- ``released``: a data engineer accepted the loss, with a reason (``quarantine release``).

Events (balances, transactions, interactions) are never quarantined for a master that has not
arrived: they load against an inferred member and are registered in ``audit.unresolved_references``.
When the master arrives, the registry says which earlier dates it changes.

Any of these changes what an earlier business date means, so it revises that date:
``audit.deliveries.revision_batch_id`` takes the batch that made the change, and the incremental
models and the history replay rebuild from the earliest revised date.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections import Counter
from dataclasses import dataclass

import psycopg2.extras
import pyarrow as pa
import pyarrow.compute as pc
from psycopg2 import sql

from ingestion import contract, raw
from ingestion.contract import SourceFile
from ingestion.rules import bad_rows, reference_is_a_rule, unknown_references
from warehouse import schema
from warehouse.db import hold_write_lock

log = logging.getLogger(__name__)

WAITING = "waiting"
# The stored text of a line with a NUL byte is not the bank's bytes (NUL is written as \0), so it
# cannot pass for the line: only a corrected delivery replaces it.
NOT_RETRIABLE_RULES = ("no_nul_bytes",)


def record_key(source: SourceFile, row: list[str]) -> str | None:
    """The record's key as delivered, when the line has one (even with a field missing or one too
    many): what a later delivery of the record matches."""
    idx = source.column_names.index(source.key[0])
    if len(row) <= idx or not row[idx] or "\x00" in row[idx] or len(row[idx]) > source.columns[idx].max_length:
        return None
    return row[idx]


# -- late-arriving masters ---------------------------------------------------------------------
def record_unresolved(cur, business_date: dt.date, unknown: dict[str, dict[str, Counter]]) -> None:
    """Register the events of ``business_date`` loaded against masters not delivered yet."""
    rows = [(business_date, file_name, column, contract.BY_FILE_NAME[file_name].references[column] + ".csv", key, n)
            for file_name, columns in unknown.items() for column, counts in columns.items()
            for key, n in counts.items()]
    if not rows:
        return
    psycopg2.extras.execute_values(
        cur, """insert into audit.unresolved_references (business_date, file_name, column_name, referenced_file,
                    referenced_key, rows_loaded) values %s
                on conflict (business_date, file_name, column_name, referenced_key)
                do update set rows_loaded = audit.unresolved_references.rows_loaded + excluded.rows_loaded""", rows)
    log.info("%s: %d rows loaded against %d records not delivered yet (audit.unresolved_references)",
             business_date, sum(r[5] for r in rows), len(rows))


def resolve_references(cur, business_date: dt.date, batch_id: int, delivered: dict[str, pa.Array]) -> list[dt.date]:
    """Masters just loaded into ``business_date`` (delivered, or retried) resolve the events that waited
    for them; revise those events' dates."""
    cur.execute("select business_date, file_name, column_name, referenced_file, referenced_key "
                "from audit.unresolved_references where resolved_batch_id is null")
    waiting = cur.fetchall()
    resolved = []
    for referenced_file in {w[3] for w in waiting} & set(delivered):
        entries = [w for w in waiting if w[3] == referenced_file]
        found = pc.is_in(pa.array([w[4] for w in entries], pa.string()), value_set=delivered[referenced_file])
        resolved += [w for w, hit in zip(entries, found.to_pylist(), strict=True) if hit]
    for day, file_name, column, _, key in resolved:
        cur.execute("update audit.unresolved_references set resolved_on_date = %s, resolved_batch_id = %s "
                    "where business_date = %s and file_name = %s and column_name = %s and referenced_key = %s",
                    (business_date, batch_id, day, file_name, column, key))
    dates = sorted({r[0] for r in resolved})
    if dates:
        log.info("%s: %d records delivered late resolve references of %d dates (%s to %s)",
                 business_date, len({(r[3], r[4]) for r in resolved}), len(dates), dates[0], dates[-1])
        revise(cur, dates, batch_id)
    return dates


def revise(cur, dates: list[dt.date], batch_id: int) -> None:
    """What these business dates mean changed in ``batch_id``: the models rebuild them."""
    cur.execute("update audit.deliveries set revision_batch_id = %s where business_date = any(%s) "
                "and revision_batch_id < %s", (batch_id, list(dates), batch_id))


# -- the repair queue --------------------------------------------------------------------------
@dataclass(frozen=True)
class WaitingLine:
    batch_id: int
    business_date: dt.date
    file_name: str
    line_number: int
    rule: str
    raw_line: str
    record_key: str | None

    @property
    def source(self) -> SourceFile:
        return contract.BY_FILE_NAME[self.file_name]


_LINE_COLUMNS = "batch_id, business_date, file_name, line_number, rule, raw_line, record_key"


def _waiting(cur, where: str = "true", params: tuple = ()) -> list[WaitingLine]:
    cur.execute(f"select {_LINE_COLUMNS} from audit.quarantined_rows where status = 'waiting' and ({where}) "
                "order by business_date, file_name, line_number", params)
    lines = [WaitingLine(*row) for row in cur.fetchall()]
    order = {s.file_name: n for n, s in enumerate(contract.SOURCE_FILES)}  # masters before what references them
    return sorted(lines, key=lambda w: (order[w.file_name], w.business_date, w.line_number))


def _resolve(cur, line: WaitingLine, status: str, batch_id: int | None, resolution: str) -> None:
    cur.execute("update audit.quarantined_rows set status = %s, resolved_batch_id = %s, resolved_at = now(), "
                "resolution = %s where batch_id = %s and file_name = %s and line_number = %s",
                (status, batch_id, resolution, line.batch_id, line.file_name, line.line_number))


def settle_waiting_lines(cur, business_date: dt.date, batch_id: int, delivered: dict[str, pa.Array],
                         codes: raw.DeliveredCodes) -> None:
    """After a delivery: master lines of earlier dates that it delivers again are superseded, and the
    ones that waited for a record it delivered are retried."""
    masters = [s.file_name for s in contract.SOURCE_FILES if s.is_master]
    waiting = _waiting(cur, "file_name = any(%s) and business_date < %s", (masters, business_date))
    if not waiting:
        return
    superseded = []
    for line in waiting:
        keys = delivered.get(line.file_name)
        if line.record_key and keys is not None and pc.any(pc.equal(keys, line.record_key)).as_py():
            _resolve(cur, line, "superseded", batch_id, f"{line.source.key[0]} {line.record_key} was delivered "
                     f"again on {business_date}")
            superseded.append(line)
    if superseded:
        log.info("%s: %d quarantined master lines of earlier dates superseded by this delivery", business_date,
                 len(superseded))
        revise(cur, sorted({line.business_date for line in superseded}), batch_id)
    retry_lines(cur, [w for w in waiting if w not in superseded and w.rule == "known_reference"], batch_id, codes,
                f"what it referenced was delivered by {business_date}")


def retry_lines(cur, lines: list[WaitingLine], batch_id: int, codes: raw.DeliveredCodes, why: str) -> list[WaitingLine]:
    """Check each line against every rule as of now; load the ones that pass into their own date's
    partition (tagged with ``batch_id``), once. Returns the lines loaded."""
    loaded = []
    for line in lines:
        if line.rule in NOT_RETRIABLE_RULES:
            continue
        source = line.source
        rows = list(csv.reader(io.StringIO(line.raw_line, newline="")))
        row = rows[0] if len(rows) == 1 else None
        known = {column: set(codes.get(cur, contract.BY_NAME[target]).to_pylist())
                 for column, target in source.references.items()}
        if row is None or bad_rows(source, [row], known, set()) or _already_in_raw(cur, source, line, row):
            continue
        _insert_into_raw(cur, source, line, row, batch_id)
        _resolve(cur, line, "retried", batch_id, f"passes every rule now: {why}")
        moved = "rows_loaded = rows_loaded + 1, rows_quarantined = rows_quarantined - 1"
        cur.execute(f"update audit.file_loads set {moved} where business_date = %s and file_name = %s",
                    (line.business_date, line.file_name))
        cur.execute(f"update audit.deliveries set {moved} where business_date = %s", (line.business_date,))
        if source.is_master:
            keys = pa.array([row[source.column_names.index(source.key[0])]], pa.string())
            codes.add(source, keys)
            resolve_references(cur, line.business_date, batch_id, {source.file_name: keys})
        elif not reference_is_a_rule(source):
            record_unresolved(cur, line.business_date, {source.file_name: unknown_references(source, [row], [0],
                                                                                              known)})
        loaded.append(line)
    if loaded:
        log.info("%d quarantined lines retried and loaded (%s)", len(loaded), why)
        revise(cur, sorted({line.business_date for line in loaded}), batch_id)
    return loaded


def _already_in_raw(cur, source: SourceFile, line: WaitingLine, row: list[str]) -> bool:
    """Its key is in raw already: on its own date (a duplicate line), or for an event id on any date."""
    key = row[source.column_names.index(source.key[0])]
    query = sql.SQL("select exists (select 1 from raw.{} where {} = %s {})").format(
        sql.Identifier(source.name), sql.Identifier(source.key[0]),
        sql.SQL("" if source.key_unique_across_deliveries else "and business_date = %s"))
    cur.execute(query, (key,) if source.key_unique_across_deliveries else (key, line.business_date))
    return cur.fetchone()[0]


def _insert_into_raw(cur, source: SourceFile, line: WaitingLine, row: list[str], batch_id: int) -> None:
    partition = schema.partition_name(source, line.business_date)
    cur.execute("select to_regclass(%s)", (f"raw.{partition}",))
    if cur.fetchone()[0] is None:  # every line of that file was quarantined: no partition yet
        schema.attach_partition(cur, source, line.business_date,
                             schema.create_partition(cur, source, line.business_date, line.batch_id))
    columns = [*source.column_names, "business_date", "batch_id", "source_file"]
    cur.execute(sql.SQL("insert into raw.{} ({}) values ({})").format(
        sql.Identifier(source.name), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns))),
        [value if value != "" else None for value in row] + [line.business_date, batch_id, source.file_name])


# -- what a data engineer runs (python -m warehouse quarantine ...) ----------------------------
def _filters(file_name: str | None, rule: str | None, business_date: dt.date | None) -> tuple[str, tuple]:
    clauses, params = [], []
    for column, value in (("file_name", file_name), ("rule", rule), ("business_date", business_date)):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    return " and ".join(clauses) or "true", tuple(params)


def summary(cur) -> list[tuple]:
    """What waits, by file and rule: (file, rule, lines, first date, last date); and what was settled."""
    cur.execute("""select file_name, rule, status, count(*), min(business_date), max(business_date)
                   from audit.quarantined_rows group by 1, 2, 3 order by 1, 2, 3""")
    return cur.fetchall()


def waiting_lines(cur, file_name: str | None = None, rule: str | None = None,
                  business_date: dt.date | None = None) -> list[WaitingLine]:
    return _waiting(cur, *_filters(file_name, rule, business_date))


def retry(conn, file_name: str | None = None, rule: str | None = None,
          business_date: dt.date | None = None) -> tuple[int, int]:
    """Retry the waiting lines that match, in one transaction; return (lines tried, lines loaded)."""

    with conn.cursor() as cur:
        hold_write_lock(cur)
        lines = _waiting(cur, *_filters(file_name, rule, business_date))
        if not lines:
            return 0, 0
        cur.execute("select nextval('audit.batch_id_seq')")
        batch_id = cur.fetchone()[0]
        codes = raw.DeliveredCodes()
        codes.start(dt.date.max)  # every master delivered so far
        loaded = retry_lines(cur, lines, batch_id, codes, f"retried from the command line in batch {batch_id}")
    conn.commit()
    return len(lines), len(loaded)


def release(conn, reason: str, file_name: str | None = None, rule: str | None = None,
            business_date: dt.date | None = None) -> int:
    """Accept the loss of the waiting lines that match, with a reason; return how many."""
    if not reason.strip():
        raise ValueError("say why the lines are released (--reason): it is kept with each line for the audit")
    where, params = _filters(file_name, rule, business_date)
    with conn.cursor() as cur:
        cur.execute(f"update audit.quarantined_rows set status = 'released', resolved_at = now(), resolution = %s "
                    f"where status = 'waiting' and ({where})", (f"released: {reason}", *params))
        count = cur.rowcount
    conn.commit()
    return count
