"""Load one delivery folder into ``raw``, losing nothing and changing nothing when it is unusable.

Row level: every data line of every file ends either in its ``raw`` table (tagged with business
date, batch id, source file and line number) or in ``audit.quarantined_rows`` with the rule it broke.

Delivery level: a delivery that cannot be trusted as a whole (control file missing or wrong,
header not the contract's, checksum or row count or amount total not matching the control file,
business date not the folder's, bytes not in the declared encoding) raises ``DeliveryError``
naming the file, the line and the rule; the transaction is rolled back and the warehouse stays
as it was.

Exactly once: a delivery whose control file was loaded before is skipped; a corrected
re-delivery (different control file) replaces every ``raw`` row of that business date.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import operator
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from psycopg2 import sql

from ingestion import contract
from ingestion.contract import SourceFile

log = logging.getLogger(__name__)

COPY_CHUNK_ROWS = 50_000
_MONEY = contract.MONEY_PATTERN
_RATE = re.compile(r"-?\d{1,4}(\.\d{1,4})?")
_INT = re.compile(r"-?\d{1,9}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")


class DeliveryError(Exception):
    """A whole delivery is unusable. The message names the file, the line, the rule and what to do."""

    def __init__(self, path: Path, rule: str, detail: str, line: int | None = None):
        self.path, self.rule, self.detail, self.line = path, rule, detail, line
        where = f"{path}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: rule '{rule}' failed: {detail}. The delivery was not loaded and the "
                         f"warehouse is unchanged; ask the source system for a corrected delivery, "
                         f"then run the load again.")


@dataclass
class FileResult:
    file_name: str
    sha256: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0


@dataclass
class DeliveryResult:
    business_date: dt.date
    folder: Path
    batch_id: int | None
    status: str  # loaded, replaced, skipped
    files: list[FileResult] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


@dataclass(frozen=True)
class ControlEntry:
    file_name: str
    encoding: str
    row_count: int
    amount_total: Decimal | None
    sha256: str


# -- schema ------------------------------------------------------------------------------------
def ensure_schema(conn) -> None:
    """Create the ``raw`` and ``audit`` schemas and tables (from the contract) if missing."""
    statements = [
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
    ]
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        for source in contract.SOURCE_FILES:
            cols = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in source.columns]
            cols += [sql.SQL(s) for s in ("business_date date not null", "batch_id bigint not null",
                                          "source_file text not null", "source_line integer not null")]
            cur.execute(sql.SQL("create table if not exists raw.{} ({})").format(
                sql.Identifier(source.name), sql.SQL(", ").join(cols)))
            cur.execute(sql.SQL("create index if not exists {} on raw.{} (business_date)").format(
                sql.Identifier(f"{source.name}_business_date_idx"), sql.Identifier(source.name)))
            if source.is_master or source.key_unique_across_deliveries:  # looked up by the checks below
                cur.execute(sql.SQL("create index if not exists {} on raw.{} ({})").format(
                    sql.Identifier(f"{source.name}_key_idx"), sql.Identifier(source.name),
                    sql.SQL(", ").join(sql.Identifier(k) for k in source.key)))


# -- control file ------------------------------------------------------------------------------
def read_control(folder: Path) -> tuple[dt.date, dict[str, ControlEntry], str]:
    path = folder / contract.CONTROL_FILE
    try:
        business_date = dt.date.fromisoformat(folder.name)
    except ValueError:
        raise DeliveryError(folder, "delivery_folder_name",
                            "a delivery folder must be named after its business date, YYYY-MM-DD") from None
    if not path.exists():
        raise DeliveryError(path, "control_file_present", "the control file is missing")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DeliveryError(path, "control_file_encoding", f"not UTF-8 ({err.reason} at byte {err.start})") from None
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if not lines or tuple(lines[0]) != contract.CONTROL_COLUMNS:
        raise DeliveryError(path, "control_file_header", f"header must be {','.join(contract.CONTROL_COLUMNS)}",
                            line=1)
    entries: dict[str, ControlEntry] = {}
    for number, row in enumerate(lines[1:], start=2):
        if len(row) != len(contract.CONTROL_COLUMNS):
            raise DeliveryError(path, "control_file_columns", f"expected 6 fields, found {len(row)}", line=number)
        date_text, file_name, encoding, count, total, digest = row
        if date_text != business_date.isoformat():
            raise DeliveryError(path, "business_date_matches_folder",
                                f"control says {date_text} but the folder is {business_date}", line=number)
        if file_name not in contract.BY_FILE_NAME:
            raise DeliveryError(path, "known_file", f"'{file_name}' is not in the data contract", line=number)
        if encoding.lower() not in contract.ENCODINGS:
            raise DeliveryError(path, "known_encoding", f"encoding '{encoding}' is not one of "
                                f"{', '.join(contract.ENCODINGS)}", line=number)
        try:
            entries[file_name] = ControlEntry(file_name, encoding.lower(), int(count),
                                              Decimal(total) if total else None, digest.lower())
        except (ValueError, InvalidOperation):
            raise DeliveryError(path, "control_file_numbers", "row_count and amount_total must be numbers",
                                line=number) from None
    missing = [f.file_name for f in contract.SOURCE_FILES if f.file_name not in entries]
    if missing:
        raise DeliveryError(path, "control_lists_every_file", f"no control line for {', '.join(missing)}")
    return business_date, entries, hashlib.sha256(data).hexdigest()


# -- row validation ----------------------------------------------------------------------------
def _check_value(column: contract.Column, value: str) -> str | None:
    """The rule a value breaks, or None."""
    if value == "":
        return None if column.nullable else "not_null"
    if "\x00" in value:
        return "no_nul_bytes"
    if len(value) > column.max_length:
        return "max_length"
    kind = column.kind
    if kind == "money":
        if not _MONEY.fullmatch(value):
            return "numeric"
        if column.non_negative and value.startswith("-"):
            return "non_negative"
    elif kind == "rate":
        if not _RATE.fullmatch(value):
            return "numeric"
    elif kind == "int":
        if not _INT.fullmatch(value):
            return "integer"
        if column.non_negative and value.startswith("-"):
            return "non_negative"
    elif kind == "date":
        if not _DATE.fullmatch(value):
            return "date_format"
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return "valid_date"
    elif kind == "timestamp":
        if not _TIMESTAMP.fullmatch(value):
            return "timestamp_format"
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            return "valid_timestamp"
    if column.allowed and value not in column.allowed:
        return "accepted_values"
    return None


def _parse(path: Path, text: str) -> tuple[list[str] | None, list[list[str]], list[int], list[str]]:
    """Header, rows, each row's line number and text. One row per line is the fast, usual case."""
    physical = text.splitlines()
    reader = csv.reader(physical)
    try:
        parsed = list(reader)
    except csv.Error as err:
        raise DeliveryError(path, "csv_syntax", str(err), line=reader.line_num) from None
    if len(parsed) == len(physical):
        return (parsed[0] if parsed else None), parsed[1:], list(range(2, len(parsed) + 1)), physical[1:]
    # a quoted field holds a line break: follow which lines make each row
    tracker = _LineTracker(text.splitlines(keepends=True))
    reader = csv.reader(tracker)
    header = next(reader, None)
    tracker.take()
    rows, numbers, raws = [], [], []
    while True:
        number = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise DeliveryError(path, "csv_syntax", str(err), line=number) from None
        rows.append(row)
        numbers.append(number)
        raws.append(tracker.take().rstrip("\r\n"))
    return header, rows, numbers, raws


_COLUMN_PATTERNS = {
    "money": re.compile(r"^-?\d{1,16}(?:\.\d{1,2})?$", re.M),
    "rate": re.compile(r"^-?\d{1,4}(?:\.\d{1,4})?$", re.M),
    "int": re.compile(r"^-?\d{1,9}$", re.M),
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$", re.M),
    "timestamp": re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$", re.M),
}


def _column_is_clean(column: contract.Column, values: tuple[str, ...]) -> bool:
    """True when no value of the column breaks a rule: whole-column checks that run in C."""
    joined = "\n".join(values)
    if "\x00" in joined or max(map(len, values)) > column.max_length:
        return False
    empties = values.count("")
    if empties and not column.nullable:
        return False
    pattern = _COLUMN_PATTERNS.get(column.kind)
    if pattern is not None and len(pattern.findall(joined)) != len(values) - empties:
        return False
    if column.non_negative and "-" in joined:
        return False
    distinct = set(values)
    distinct.discard("")
    if column.allowed and not distinct <= set(column.allowed):
        return False
    try:
        if column.kind == "date":
            for value in distinct:
                dt.date.fromisoformat(value)
        elif column.kind == "timestamp":
            for value in distinct:
                dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _bad_rows(source: SourceFile, rows: list[list[str]]) -> dict[int, tuple[str, str]]:
    """Index -> (rule, detail) of every row to quarantine; the first rule a row breaks is the one named.

    Columns are checked whole first; only the values of a column that fails are checked one by one.
    Among the rows that pass, a key seen earlier in the file is a duplicate (the first one loads).
    """
    width = len(source.columns)
    bad: dict[int, tuple[str, str]] = {}
    if set(map(len, rows)) - {width}:
        bad = {i: ("column_count", f"expected {width} fields, found {len(r)}")
               for i, r in enumerate(rows) if len(r) != width}
    candidates = [i for i in range(len(rows)) if i not in bad] if bad else range(len(rows))
    if candidates:
        columns = list(zip(*(rows[i] for i in candidates), strict=True))
        suspects: set[int] = set()
        for j, column in enumerate(source.columns):
            if not _column_is_clean(column, columns[j]):
                suspects.update(candidates[k] for k, v in enumerate(columns[j]) if _check_value(column, v))
        for i in sorted(suspects):
            for column, value in zip(source.columns, rows[i], strict=True):
                rule = _check_value(column, value)
                if rule:
                    bad[i] = (rule, f"column {column.name} = {value[:60]!r}")
                    break
    key_idx = [source.column_names.index(k) for k in source.key]
    keys = [tuple(rows[i][k] for k in key_idx) for i in candidates] if bad else \
        list(map(operator.itemgetter(*key_idx), rows)) if len(key_idx) > 1 else \
        [(r[key_idx[0]],) for r in rows]
    if len(set(keys)) == len(keys) and not bad:
        return bad
    seen: set = set()
    for i, row in enumerate(rows):
        if i in bad:
            continue
        key = tuple(row[k] for k in key_idx)
        if key in seen:
            bad[i] = ("unique_key_in_file", f"{'/'.join(source.key)} {'/'.join(key)} appears earlier in the file")
        seen.add(key)
    return bad


# -- loading -----------------------------------------------------------------------------------
def _load_file(cur, folder: Path, source: SourceFile, entry: ControlEntry, business_date: dt.date,
               batch_id: int) -> FileResult:
    started = time.perf_counter()
    path = folder / source.file_name
    if not path.exists():
        raise DeliveryError(path, "file_present", "the control file lists it but it is not in the delivery")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise DeliveryError(path, "checksum_matches_control", f"SHA-256 is {digest}, control says {entry.sha256}")
    try:
        text = data.decode(entry.encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DeliveryError(path, "declared_encoding", f"bytes not valid {entry.encoding} ({err.reason})",
                            line=line) from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark is tolerated, not data
    header, rows, line_numbers, raw_lines = _parse(path, text)
    if header is None or tuple(header) != source.column_names:
        raise DeliveryError(path, "header_matches_contract",
                            f"header must be {','.join(source.column_names)} (docs/data-contract.md)", line=1)

    result = FileResult(source.file_name, digest, rows_read=len(rows))
    bad = _bad_rows(source, rows)
    amount_total = Decimal(0)
    if source.amount_column:
        idx = source.column_names.index(source.amount_column)
        width = len(source.columns)
        amounts = [r[idx] for r in rows if len(r) == width]
        if amounts and _COLUMN_PATTERNS["money"].findall("\n".join(amounts)).__len__() == len(amounts):
            amount_total = sum(map(Decimal, amounts), Decimal(0))
        else:
            amount_total = sum((Decimal(a) for a in amounts if _MONEY.fullmatch(a)), Decimal(0))
    # Good lines go to COPY as the text the bank sent, with the load's metadata appended.
    suffix = f",{business_date.isoformat()},{batch_id},{source.file_name},"
    target = sql.SQL("copy raw.{} ({}) from stdin with (format csv, force_null ({}))").format(
        sql.Identifier(source.name),
        sql.SQL(", ").join(sql.Identifier(c) for c in
                           (*source.column_names, "business_date", "batch_id", "source_file", "source_line")),
        sql.SQL(", ").join(sql.Identifier(c) for c in source.column_names))
    good = [i for i in range(len(rows)) if i not in bad] if bad else range(len(rows))
    for chunk_start in range(0, len(good), COPY_CHUNK_ROWS):
        chunk = good[chunk_start:chunk_start + COPY_CHUNK_ROWS]
        buffer = io.StringIO("".join(f"{raw_lines[i]}{suffix}{line_numbers[i]}\n" for i in chunk))
        cur.copy_expert(target, buffer)
    result.rows_loaded = len(good)
    def line_amount(row: list[str]) -> str | None:
        if source.amount_column and len(row) == len(source.columns) and _MONEY.fullmatch(row[idx]):
            return row[idx]
        return None

    quarantined = [(batch_id, business_date, source.file_name, line_numbers[i], rule, detail,
                    raw_lines[i].replace("\x00", "\\0"), line_amount(rows[i]))
                   for i, (rule, detail) in sorted(bad.items())]

    if result.rows_read != entry.row_count:
        raise DeliveryError(path, "row_count_matches_control",
                            f"{result.rows_read} data lines, control says {entry.row_count} (truncated file?)")
    if entry.amount_total is not None and amount_total != entry.amount_total:
        raise DeliveryError(path, "amount_total_matches_control",
                            f"{source.amount_column} sums to {amount_total} over the lines whose amount is a number, "
                            f"control says {entry.amount_total}")
    if quarantined:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(quarantined)
        buffer.seek(0)
        cur.copy_expert("copy audit.quarantined_rows (batch_id, business_date, file_name, line_number, rule, "
                        "detail, raw_line, amount_cny) from stdin with (format csv)", buffer)
    moved = _quarantine_cross_file_problems(cur, source, business_date, batch_id)
    result.rows_loaded -= moved
    result.rows_quarantined = len(quarantined) + moved
    result.seconds = time.perf_counter() - started
    return result


class _LineTracker:
    """Feeds lines to csv.reader and keeps the text of the lines that made the last row."""

    def __init__(self, lines: list[str]):
        self._lines = iter(lines)
        self._consumed: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._consumed.append(line)
        return line

    def take(self) -> str:
        text = "".join(self._consumed)
        self._consumed.clear()
        return text


def _move_to_quarantine(cur, source: SourceFile, where: sql.Composable, params: dict, rule: str,
                        detail: sql.Composable) -> list[tuple[int, int]]:
    """Move the raw rows matching ``where`` to quarantine; return (batch_id, rows) moved per batch.

    The quarantined text is rebuilt from the parsed fields (the file and line number point at the original).
    """
    fields = sql.SQL(", ").join(sql.SQL("coalesce({}::text, '')").format(sql.Identifier(c))
                                for c in source.column_names)
    cur.execute(sql.SQL("""
        with moved as (
            delete from raw.{table} as r where {where}
            returning r.*
        ),
        quarantined as (
            insert into audit.quarantined_rows (batch_id, business_date, file_name, line_number, rule, detail, raw_line,
                                                amount_cny)
            select batch_id, business_date, source_file, source_line, {rule}, {detail}, concat_ws(',', {fields}),
                   {amount}
            from moved
            returning batch_id
        )
        select batch_id, count(*) from quarantined group by batch_id""").format(
        table=sql.Identifier(source.name), where=where, rule=sql.Literal(rule), detail=detail, fields=fields,
        amount=sql.Identifier(source.amount_column) if source.amount_column else sql.SQL("null")),
        params)
    return cur.fetchall()


def _quarantine_cross_file_problems(cur, source: SourceFile, business_date: dt.date, batch_id: int) -> int:
    """Set-based checks that need the rest of the warehouse; return the rows of this batch moved.

    - references: a code must have been delivered (in its own file) on or before this business date;
    - keys unique across deliveries: the earliest business date keeps the row; a later copy, whether
      it is in this delivery or in one loaded before (dates loaded out of order), is quarantined.
    The outcome does not depend on the order in which dates are loaded.
    """
    params = {"batch_id": batch_id, "business_date": business_date}
    moved_here = 0
    for column, target_name in source.references.items():
        target = next(f for f in contract.SOURCE_FILES if f.name == target_name)
        where = sql.SQL("""r.business_date = %(business_date)s and r.{col} is not null and not exists (
            select 1 from raw.{target} as t where t.{target_key} = r.{col} and t.business_date <= %(business_date)s)
            """).format(col=sql.Identifier(column), target=sql.Identifier(target.name),
                        target_key=sql.Identifier(target.key[0]))
        detail = sql.SQL("{} || {} || {}").format(
            sql.Literal(f"column {column} = '"), sql.Identifier(column),
            sql.Literal(f"' is not in {target.file_name} delivered on or before this date"))
        moved_here += sum(n for _, n in _move_to_quarantine(cur, source, where, params, "known_reference", detail))
    if source.key_unique_across_deliveries:
        key_match = sql.SQL(" and ").join(sql.SQL("o.{k} = r.{k}").format(k=sql.Identifier(k)) for k in source.key)
        key_text = sql.SQL(" || '/' || ").join(sql.Identifier(k) for k in source.key)
        detail = sql.SQL("{} || {} || {}").format(sql.Literal(f"{'/'.join(source.key)} "), key_text,
                                                 sql.Literal(" was delivered on an earlier business date"))
        # this delivery's rows whose key an earlier date already has
        where = sql.SQL("""r.business_date = %(business_date)s and exists (
            select 1 from raw.{t} as o where {m} and o.business_date < r.business_date)""").format(
            t=sql.Identifier(source.name), m=key_match)
        moved_here += sum(n for _, n in _move_to_quarantine(cur, source, where, params,
                                                           "unique_key_across_deliveries", detail))
        # rows of later dates, loaded earlier, whose key this delivery has: they lose to this earlier date
        where = sql.SQL("""r.business_date > %(business_date)s and exists (
            select 1 from raw.{t} as o where {m} and o.business_date = %(business_date)s)""").format(
            t=sql.Identifier(source.name), m=key_match)
        for other_batch, n in _move_to_quarantine(cur, source, where, params, "unique_key_across_deliveries",
                                                  detail):
            cur.execute("update audit.file_loads set rows_loaded = rows_loaded - %s, "
                        "rows_quarantined = rows_quarantined + %s where batch_id = %s and file_name = %s",
                        (n, n, other_batch, source.file_name))
            cur.execute("update audit.deliveries set rows_loaded = rows_loaded - %s, "
                        "rows_quarantined = rows_quarantined + %s where batch_id = %s", (n, n, other_batch))
    return moved_here


def load_delivery(conn, folder: Path) -> DeliveryResult:
    """Load one delivery folder in one transaction (commit is the caller's ``connect()``)."""
    folder = Path(folder)
    business_date, control, control_sha = read_control(folder)
    with conn.cursor() as cur:
        cur.execute("select control_sha256 from audit.deliveries where business_date = %s for update",
                    (business_date,))
        previous = cur.fetchone()
        if previous and previous[0] == control_sha:
            log.info("%s: already loaded (same control file), skipped", business_date)
            return DeliveryResult(business_date, folder, None, "skipped")
        cur.execute("select nextval('audit.batch_id_seq')")
        batch_id = cur.fetchone()[0]
        status = "replaced" if previous else "loaded"
        if previous:
            log.info("%s: corrected re-delivery, replacing the earlier load", business_date)
            for source in contract.SOURCE_FILES:
                cur.execute(sql.SQL("delete from raw.{} where business_date = %s").format(
                    sql.Identifier(source.name)), (business_date,))
            for table in ("file_loads", "quarantined_rows", "control_totals"):
                cur.execute(sql.SQL("delete from audit.{} where business_date = %s").format(sql.Identifier(table)),
                            (business_date,))
        result = DeliveryResult(business_date, folder, batch_id, status)
        for source in contract.SOURCE_FILES:
            entry = control[source.file_name]
            file_result = _load_file(cur, folder, source, entry, business_date, batch_id)
            result.files.append(file_result)
            cur.execute("insert into audit.file_loads (batch_id, business_date, file_name, sha256, rows_read, "
                        "rows_loaded, rows_quarantined, duration_seconds) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                        (batch_id, business_date, file_result.file_name, file_result.sha256, file_result.rows_read,
                         file_result.rows_loaded, file_result.rows_quarantined, round(file_result.seconds, 3)))
            cur.execute("insert into audit.control_totals values (%s, %s, %s, %s)",
                        (business_date, source.file_name, entry.row_count, entry.amount_total))
        cur.execute(
            """insert into audit.deliveries (business_date, batch_id, control_sha256, folder, status, rows_read,
                   rows_loaded, rows_quarantined, loaded_at)
               values (%s, %s, %s, %s, %s, %s, %s, %s, now())
               on conflict (business_date) do update set batch_id = excluded.batch_id,
                   control_sha256 = excluded.control_sha256, folder = excluded.folder, status = excluded.status,
                   rows_read = excluded.rows_read, rows_loaded = excluded.rows_loaded,
                   rows_quarantined = excluded.rows_quarantined, loaded_at = excluded.loaded_at""",
            (business_date, batch_id, control_sha, str(folder), status, result.rows_read, result.rows_loaded,
             result.rows_quarantined))
    log.info("%s: %s batch %s, %d rows read, %d loaded, %d quarantined", business_date, status, batch_id,
             result.rows_read, result.rows_loaded, result.rows_quarantined)
    return result


def pending_deliveries(conn, landing_dir: Path, up_to: dt.date) -> list[Path]:
    """Delivery folders dated on or before ``up_to`` that are new or changed since their last load."""
    landing_dir = Path(landing_dir)
    if not landing_dir.exists():
        return []
    with conn.cursor() as cur:
        cur.execute("select business_date, control_sha256 from audit.deliveries")
        loaded = {d.isoformat(): sha for d, sha in cur.fetchall()}
    pending = []
    expected: dt.date | None = None
    for folder in sorted(p for p in landing_dir.iterdir() if p.is_dir()):
        if folder.name > up_to.isoformat():
            continue
        try:
            folder_date = dt.date.fromisoformat(folder.name)
        except ValueError:
            pending.append(folder)  # the load names it as a broken delivery
            break
        # A delivery comes every calendar day. Later dates wait behind a missing one, so that raw is
        # always built in date order (a reference to a master delivered on the missing day would
        # otherwise be quarantined, and the result would depend on the order deliveries arrived in).
        gap = [] if expected is None else [
            (expected + dt.timedelta(days=n)).isoformat() for n in range((folder_date - expected).days)]
        missing = [d for d in gap if d not in loaded]
        if missing:
            log.warning("the delivery for %s is missing from %s: %s and later deliveries wait for it",
                        missing[0], landing_dir, folder.name)
            break
        expected = folder_date + dt.timedelta(days=1)
        control = folder / contract.CONTROL_FILE
        if not control.exists():
            pending.append(folder)  # the load names it as a broken delivery
            continue
        if loaded.get(folder.name) != hashlib.sha256(control.read_bytes()).hexdigest():
            pending.append(folder)
    return pending


def load_pending(settings, up_to: dt.date) -> list[DeliveryResult]:
    """Load every pending delivery up to ``up_to`` in date order, one transaction per delivery.

    A delivery that fails stops the run (later dates wait for it): dates load in order.
    """
    from warehouse.db import connect

    with connect(settings) as conn:
        ensure_schema(conn)
        folders = pending_deliveries(conn, settings.landing_dir, up_to)
    log.info("%d deliveries pending up to %s in %s", len(folders), up_to, settings.landing_dir)
    results = []
    for number, folder in enumerate(folders, start=1):
        with connect(settings) as conn:
            results.append(load_delivery(conn, folder))
        if number % 10 == 0 or number == len(folders):
            log.info("progress: %d of %d deliveries loaded", number, len(folders))
    return results
