"""Load one delivery folder into ``raw``, losing nothing and changing nothing when it is unusable.

Row level: every data line of every file ends either in its ``raw`` table (tagged with business
date, batch id and source file) or in ``audit.quarantined_rows`` with its line number, text and the
rule it broke.

Delivery level: a delivery that cannot be trusted as a whole (control file missing or wrong,
header not the contract's, checksum or row count or amount total not matching the control file,
business date not the folder's, bytes not in the declared encoding) raises ``DeliveryError``
naming the file, the line and the rule; the transaction is rolled back and the warehouse stays
as it was.

Exactly once: a delivery whose control file was loaded before is skipped; a corrected
re-delivery (different control file) replaces every ``raw`` row of that business date, and the
later dates are loaded again after it, so that ``raw`` is always built in date order.

Speed: each file of each date is its own partition of its ``raw`` table, created with the load's
business date, batch id and file name as column defaults, so that a clean file goes to Postgres as
the bank's own bytes in one ``COPY``. While Postgres copies, the file is checked whole, column by
column, in native code (Arrow). Only a file in which that check or the ``COPY`` finds anything goes
the slow way: parsed line by line in Python, the bad lines quarantined and the good ones copied.
Both ways apply the same rules.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg2
import psycopg2.extras
import pyarrow as pa
import pyarrow.compute as pc
from psycopg2 import sql

from ingestion import contract, quarantine, raw
from ingestion.contract import SourceFile
from ingestion.control import ControlEntry, DeliveryError, read_control
from ingestion.rules import PATTERNS, CleanFile, arrow_verdict, bad_rows, unknown_references
from warehouse import schema
from warehouse.db import connect, hold_write_lock
from warehouse.progress import Progress

log = logging.getLogger(__name__)

COPY_CHUNK_ROWS = 10_000  # rows the slow way holds at a time
PG_ENCODINGS = {"utf-8": "UTF8", "gbk": "GBK"}


@dataclass
class FileResult:
    file_name: str
    sha256: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    fast_path: bool = False
    key_range: tuple[str, str] | None = None  # lowest and highest key loaded, for keys unique across deliveries
    loaded_keys: pa.Array | None = None  # of a master file: the records it delivered
    # of an event file: per referencing column, the codes of masters not delivered yet, and their row counts
    unknown_references: dict[str, Counter] = field(default_factory=dict)


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


# -- reading a file: in blocks, so that memory does not grow with the file -----------------------
READ_BLOCK_BYTES = 1 << 20


@dataclass
class _Scan:
    """What one pass over a file's bytes found."""
    digest: str
    lines: int  # physical lines, the header included (only \n ends one)
    plain: bool  # nothing the Arrow engine leaves to the slow way: quotes, \r, NUL, a byte-order mark, blank lines


def _scan_file(path: Path, source: SourceFile, entry: ControlEntry) -> _Scan:
    """Checksum, encoding and header, in that order (the whole delivery fails on these), in one pass."""
    sha = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(entry.encoding)()
    newlines, plain, last, bad_encoding, first = 0, True, b"", None, b""
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK_BYTES):
            sha.update(block)
            if not first:
                first = block
                plain = not block.startswith(b"\xef\xbb\xbf")
            if bad_encoding is None:
                pending = decoder.getstate()[0]
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as err:
                    bad_encoding = (newlines + (pending + block)[: err.start].count(b"\n") + 1, err.reason)
            plain = plain and not (b'"' in block or b"\r" in block or b"\x00" in block or b"\n\n" in last + block)
            newlines += block.count(b"\n")
            last = block[-1:]
    if bad_encoding is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as err:
            bad_encoding = (newlines + 1, err.reason)
    digest = sha.hexdigest()
    if digest != entry.sha256:
        raise DeliveryError(path, "checksum_matches_control", f"SHA-256 is {digest}, control says {entry.sha256}")
    if bad_encoding is not None:
        raise DeliveryError(path, "declared_encoding", f"bytes not valid {entry.encoding} ({bad_encoding[1]})",
                            line=bad_encoding[0])
    with path.open(encoding=entry.encoding, newline="\n") as handle:
        first_line = handle.readline().removeprefix("\ufeff")  # a byte-order mark is tolerated, not data
    header = next(csv.reader([first_line.rstrip("\r\n")]), None)
    if header is None or tuple(header) != source.column_names:
        raise DeliveryError(path, "header_matches_contract",
                            f"header must be {','.join(source.column_names)} (docs/data-contract.md)", line=1)
    return _Scan(digest, newlines + (0 if last in (b"", b"\n") else 1), plain)


def _has_data_lines(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        handle.readline()
        return handle.read(1) != b""


class _Lines:
    """A file's physical lines for csv.reader (only \n ends one, as in the contract and for Arrow and
    Postgres: ``str.splitlines`` would also break at \x1c-\x1e, \x0b, \x0c, \x85, U+2028 and U+2029
    inside a field), remembering the lines that made the row read last."""

    def __init__(self, handle):
        self._handle = handle
        self.number = 0  # physical lines read
        self._taken: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self._handle.readline()
        if not line:
            raise StopIteration
        if not self.number:
            line = line.removeprefix("\ufeff")
        self.number += 1
        self._taken.append(line)
        return line

    def take(self) -> str:
        """The text of the lines read since the last call, without the final line end."""
        lines, self._taken = self._taken, []
        if len(lines) == 1:
            text = lines[0][:-1] if lines[0].endswith("\n") else lines[0]
            return text[:-1] if text.endswith("\r") else text
        return "".join(lines).rstrip("\r\n")


def _row_chunks(path: Path, encoding: str, size: int) -> Iterator[tuple[list[int], list[list[str]], list[str]]]:
    """The file's data rows in chunks of ``size``: each row's line number, fields and text (a quoted
    field may hold a line break, so a row may span lines)."""
    csv.field_size_limit(sys.maxsize)  # a long field is the max_length rule's to quarantine, not a parse error
    with path.open(encoding=encoding, newline="\n") as handle:
        lines = _Lines(handle)
        reader = csv.reader(lines)
        try:
            next(reader, None)  # the header, checked by _scan_file
        except csv.Error as err:
            raise DeliveryError(path, "csv_syntax", str(err), line=1) from None
        lines.take()
        numbers: list[int] = []
        rows: list[list[str]] = []
        texts: list[str] = []
        while True:
            number = lines.number + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                raise DeliveryError(path, "csv_syntax", str(err), line=number) from None
            numbers.append(number)
            rows.append(row)
            texts.append(lines.take())
            if len(rows) == size:
                yield numbers, rows, texts
                numbers, rows, texts = [], [], []
        if rows:
            yield numbers, rows, texts


def _copy_file(cur, target: sql.Composable, source: SourceFile, path: Path, encoding: str) -> None:
    with path.open("rb") as handle:
        cur.copy_expert(sql.SQL("copy {} ({}) from stdin with (format csv, header true, encoding {})").format(
            target, sql.SQL(", ").join(map(sql.Identifier, source.column_names)),
            sql.Literal(PG_ENCODINGS[encoding])), handle, size=READ_BLOCK_BYTES)


# -- loading -----------------------------------------------------------------------------------
@dataclass
class _Inspection:
    """What one file's checks that need no warehouse found: run ahead of the load, in a thread."""
    scan: _Scan
    clean: CleanFile | None  # the Arrow verdict (None: the slow way), references checked as of the inspection


def _inspect_file(folder: Path, source: SourceFile, entry: ControlEntry, known: dict[str, pa.Array]) -> _Inspection:
    """Checksum, encoding and header (the whole delivery fails on these), then the Arrow verdict."""
    path = folder / source.file_name
    if not path.exists():
        raise DeliveryError(path, "file_present", "the control file lists it but it is not in the delivery")
    scan = _scan_file(path, source, entry)
    clean = arrow_verdict(source, path, entry.encoding, scan.lines, known) if scan.plain and scan.lines > 1 else None
    return _Inspection(scan, clean)


class _Inspector:
    """Inspects the files of one delivery in order, in a thread, while the load copies the earlier ones.

    On 2 cores, Postgres copies file N while Arrow checks file N+1, instead of each waiting for the
    other. The references of a file are checked against the master keys delivered before this
    delivery and the keys of this delivery's master files that the inspection found clean, which are
    the keys loaded as long as every master file loads whole; once one does not (``trusted``), the
    load checks the later files again itself against the keys that did load.
    """

    def __init__(self, folder: Path, control: dict[str, ControlEntry], known_before: dict[str, pa.Array]):
        self._known = {name: [keys] for name, keys in known_before.items()}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inspect")
        self._futures = {source.name: self._pool.submit(self._inspect, folder, source, control[source.file_name])
                         for source in contract.SOURCE_FILES}
        self.trusted = True

    def _inspect(self, folder: Path, source: SourceFile, entry: ControlEntry) -> _Inspection:
        known = {column: pa.concat_arrays(self._known[target]) for column, target in source.references.items()}
        inspection = _inspect_file(folder, source, entry, known)
        if source.name in self._known and inspection.clean is not None:
            self._known[source.name].append(inspection.clean.keys)
        return inspection

    def result(self, source: SourceFile) -> _Inspection:
        return self._futures[source.name].result()

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True)


def _load_file(cur, folder: Path, source: SourceFile, entry: ControlEntry, business_date: dt.date,
               batch_id: int, codes: raw.DeliveredCodes, inspector: _Inspector) -> FileResult:
    started = time.perf_counter()
    path = folder / source.file_name
    # read here as well as by the inspection (a second read comes from the page cache), so that the
    # COPY starts without waiting for the inspection
    target = None
    copy_refused = False
    if _has_data_lines(path):  # data lines after the header: a partition, copied while being inspected
        target = schema.create_partition(cur, source, business_date, batch_id)
        cur.execute("savepoint whole_file")
        try:
            _copy_file(cur, target, source, path, entry.encoding)
        except psycopg2.DataError:  # a value Postgres refuses: the slow way names the line and rule
            copy_refused = True
    inspection = inspector.result(source)  # raises DeliveryError for checksum, encoding or header
    result = FileResult(source.file_name, inspection.scan.digest)
    if target is None:  # a header and nothing else: no rows, no partition
        amount_total, loaded_keys = Decimal(0), pa.array([], pa.string())
    else:
        clean = None if copy_refused else inspection.clean
        if not copy_refused and not inspector.trusted and source.references:
            # an earlier master file of this delivery lost lines, so the inspection checked against the
            # wrong keys: check again against the keys that loaded
            clean = arrow_verdict(source, path, entry.encoding, inspection.scan.lines, _known_codes(cur, codes, source))
        if clean is not None and raw.delivered_before(cur, source, business_date, clean.keys):
            clean = None
        if clean is not None:
            cur.execute("release savepoint whole_file")
            result.fast_path = True
            result.rows_read = result.rows_loaded = clean.rows
            result.unknown_references = clean.unknown_references
            amount_total, loaded_keys = clean.amount_total, clean.keys
        else:
            cur.execute("rollback to savepoint whole_file")
            if source.is_master:
                inspector.trusted = False
            amount_total, loaded_keys = _load_line_by_line(cur, path, entry.encoding, source, business_date,
                                                           batch_id, target, _known_codes(cur, codes, source), result)
        schema.attach_partition(cur, source, business_date, target)
    if source.is_master:
        codes.add(source, loaded_keys)
        result.loaded_keys = loaded_keys
    if source.key_unique_across_deliveries and len(loaded_keys):
        result.key_range = tuple(v.as_py() for v in pc.min_max(loaded_keys).values())
    if result.rows_read != entry.row_count:
        raise DeliveryError(path, "row_count_matches_control",
                            f"{result.rows_read} data lines, control says {entry.row_count} (truncated file?)")
    if entry.amount_total is not None and amount_total != entry.amount_total:
        raise DeliveryError(path, "amount_total_matches_control",
                            f"{source.amount_column} sums to {amount_total} over the lines whose amount is a number, "
                            f"control says {entry.amount_total}")
    result.seconds = time.perf_counter() - started
    return result


def _known_codes(cur, codes: raw.DeliveredCodes, source: SourceFile) -> dict[str, pa.Array]:
    """The keys each referencing column of ``source`` may hold: the masters loaded so far."""
    return {column: codes.get(cur, contract.BY_NAME[target]) for column, target in source.references.items()}


def _load_line_by_line(cur, path: Path, encoding: str, source: SourceFile, business_date: dt.date, batch_id: int,
                       target: sql.Composable, known: dict[str, pa.Array], result: FileResult
                       ) -> tuple[Decimal, pa.Array]:
    """The slow way: every line parsed and checked, bad ones quarantined, good ones copied as the bank's text.

    The file is read in chunks of ``COPY_CHUNK_ROWS`` rows, and memory holds one chunk: a key that an
    earlier chunk copied is found in the partition (indexed on the key for the load), so a duplicate
    later in the file is quarantined without keeping the file's keys. Returns the amount total (of
    every line whose amount is a number) and the keys loaded.
    """
    width = len(source.columns)
    key_idx = source.column_names.index(source.key[0])
    amount_idx = source.column_names.index(source.amount_column) if source.amount_column else None
    known_sets = {c: set(codes.to_pylist()) for c, codes in known.items()}
    key_index = sql.Identifier(f"{target.strings[-1]}_key")
    cur.execute(sql.SQL("create index {} on {} ({})").format(
        key_index, target, sql.SQL(", ").join(map(sql.Identifier, source.key))))
    amount_total = Decimal(0)
    loaded: list[pa.Array] = []
    copy = sql.SQL("copy {} ({}) from stdin with (format csv, force_null ({}))").format(
        target, sql.SQL(", ").join(map(sql.Identifier, source.column_names)),
        sql.SQL(", ").join(map(sql.Identifier, source.column_names)))
    for line_numbers, rows, raw_lines in _row_chunks(path, encoding, COPY_CHUNK_ROWS):
        result.rows_read += len(rows)
        delivered_before = raw.delivered_before(  # a key with a NUL byte is quarantined anyway
            cur, source, business_date, [r[key_idx] for r in rows if len(r) == width and "\x00" not in r[key_idx]])
        copied = _copied_before(cur, target, source, [r for r in rows if len(r) == width])
        bad = bad_rows(source, rows, known_sets, delivered_before, copied)
        amount_total += _amount_total(rows, width, amount_idx)
        good = [i for i in range(len(rows)) if i not in bad] if bad else range(len(rows))
        if good:
            cur.copy_expert(copy, io.StringIO("".join(f"{raw_lines[i]}\n" for i in good)))
        result.rows_loaded += len(good)
        result.rows_quarantined += len(bad)
        for column, found in unknown_references(source, rows, good, known_sets).items():
            result.unknown_references.setdefault(column, Counter()).update(found)
        if bad:
            _quarantine_lines(cur, source, business_date, batch_id, bad, line_numbers, rows, raw_lines, amount_idx)
        loaded.append(pa.array([rows[i][key_idx] for i in good], pa.string()))
    cur.execute(sql.SQL("drop index {}").format(sql.Identifier("raw", key_index.strings[0])))
    return amount_total, pa.concat_arrays(loaded) if loaded else pa.array([], pa.string())


def _copied_before(cur, target: sql.Identifier, source: SourceFile, rows: list[list[str]]) -> set[str]:
    """The keys (as ``bad_rows`` writes them) among ``rows`` that earlier chunks of the file copied."""
    idx = [source.column_names.index(k) for k in source.key]
    rows = [r for r in rows if not any("\x00" in r[i] for i in idx)]  # a key with a NUL byte is quarantined anyway
    if not rows:
        return set()
    columns = sql.SQL(", ").join(sql.Identifier("k", str(j)) for j in range(len(idx)))
    cur.execute(sql.SQL("select {columns} from unnest({arrays}) as k({names}) where exists "
                        "(select 1 from {target} as t where {match})").format(
        columns=columns, target=target,
        arrays=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in idx),
        names=sql.SQL(", ").join(sql.Identifier(str(j)) for j in range(len(idx))),
        match=sql.SQL(" and ").join(sql.SQL("t.{} = {}").format(sql.Identifier(k), sql.Identifier("k", str(j)))
                                    for j, k in enumerate(source.key))),
        [[r[i] for r in rows] for i in idx])
    return {"\x1f".join(found) for found in cur.fetchall()}


def _amount_total(rows: list[list[str]], width: int, idx: int | None) -> Decimal:
    """The sum of the amounts that are numbers (the control total is over the same lines)."""
    if idx is None:
        return Decimal(0)
    amounts = [r[idx] for r in rows if len(r) == width]
    if amounts and len(PATTERNS["money"].findall("\n".join(amounts))) == len(amounts):
        return sum(map(Decimal, amounts), Decimal(0))
    return sum((Decimal(a) for a in amounts if PATTERNS["money"].fullmatch(a)), Decimal(0))


def _quarantine_lines(cur, source: SourceFile, business_date: dt.date, batch_id: int, bad: dict[int, tuple[str, str]],
                      line_numbers: list[int], rows: list[list[str]], raw_lines: list[str], amount_idx: int | None
                      ) -> None:
    width = len(source.columns)

    def line_amount(row: list[str]) -> str | None:
        if amount_idx is not None and len(row) == width and PATTERNS["money"].fullmatch(row[amount_idx]):
            return row[amount_idx]
        return None

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        (batch_id, business_date, source.file_name, line_numbers[i], rule, detail,
         raw_lines[i].replace("\x00", "\\0"), line_amount(rows[i]),
         quarantine.record_key(source, rows[i])) for i, (rule, detail) in sorted(bad.items()))
    buffer.seek(0)
    # force_not_null: a blank line is quarantined with its (empty) text, not refused as a null
    cur.copy_expert("copy audit.quarantined_rows (batch_id, business_date, file_name, line_number, rule, "
                    "detail, raw_line, amount_cny, record_key) from stdin "
                    "with (format csv, force_not_null (raw_line, detail))", buffer)


def load_delivery(conn, folder: Path, *, codes: raw.DeliveredCodes | None = None) -> DeliveryResult:
    """Load one delivery folder in one transaction (commit is the caller's ``connect()``).

    A delivery loaded before with the same control file is skipped, unless it is stale: an earlier
    date was loaded after it (a corrected re-delivery), so it is loaded again after that date. Two
    loads started at once take turns on the warehouse write lock, and the second skips what the
    first loaded.
    """
    folder = Path(folder)
    business_date, control, control_sha = read_control(folder)
    codes = codes or raw.DeliveredCodes()
    with conn.cursor() as cur:
        # a transform (history replay, dbt) in progress is waited for: it must see no delivery half-way
        hold_write_lock(cur)
        cur.execute("select control_sha256, batch_id < (select coalesce(max(batch_id), 0) from audit.deliveries "
                    "where business_date < %s) from audit.deliveries where business_date = %s for update",
                    (business_date, business_date))
        previous = cur.fetchone()
        if previous and previous[0] == control_sha and not previous[1]:
            log.info("%s: already loaded (same control file), skipped", business_date)
            return DeliveryResult(business_date, folder, None, "skipped")
        codes.start(business_date)
        # a session that holds a lock on raw (only a re-delivery's partition drop waits for readers)
        # fails the load after a while instead of holding it back for ever
        cur.execute("set local lock_timeout = '5min'")
        cur.execute("select nextval('audit.batch_id_seq')")
        batch_id = cur.fetchone()[0]
        status = "replaced" if previous else "loaded"
        if previous:
            log.info("%s: %s, replacing the earlier load", business_date,
                     "loaded again after an earlier date" if previous[0] == control_sha else "corrected re-delivery")
            _drop_earlier_load(cur, folder, business_date)
        result = DeliveryResult(business_date, folder, batch_id, status)
        referenced = {target for source in contract.SOURCE_FILES for target in source.references.values()}
        inspector = _Inspector(folder, control, {name: codes.get(cur, contract.BY_NAME[name]) for name in referenced})
        try:
            for source in contract.SOURCE_FILES:
                result.files.append(_load_file(cur, folder, source, control[source.file_name], business_date,
                                               batch_id, codes, inspector))
        finally:
            inspector.close()
        psycopg2.extras.execute_values(
            cur, "insert into audit.file_loads (batch_id, business_date, file_name, sha256, rows_read, rows_loaded, "
                 "rows_quarantined, duration_seconds, key_min, key_max, fast_path) values %s",
            [(batch_id, business_date, f.file_name, f.sha256, f.rows_read, f.rows_loaded, f.rows_quarantined,
              round(f.seconds, 3), *(f.key_range or (None, None)), f.fast_path) for f in result.files])
        psycopg2.extras.execute_values(
            cur, "insert into audit.control_totals values %s",
            [(business_date, name, entry.row_count, entry.amount_total) for name, entry in control.items()])
        cur.execute(
            """insert into audit.deliveries (business_date, batch_id, revision_batch_id, control_sha256, folder,
                   status, rows_read, rows_loaded, rows_quarantined, loaded_at)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())
               on conflict (business_date) do update set batch_id = excluded.batch_id,
                   revision_batch_id = excluded.revision_batch_id,
                   control_sha256 = excluded.control_sha256, folder = excluded.folder, status = excluded.status,
                   rows_read = excluded.rows_read, rows_loaded = excluded.rows_loaded,
                   rows_quarantined = excluded.rows_quarantined, loaded_at = excluded.loaded_at""",
            (business_date, batch_id, batch_id, control_sha, str(folder), status, result.rows_read,
             result.rows_loaded, result.rows_quarantined))
        # what this delivery makes right: events of earlier dates waiting for its masters, quarantined
        # lines that now pass or that it delivers again
        quarantine.record_unresolved(cur, business_date, {
            f.file_name: f.unknown_references for f in result.files if f.unknown_references})
        delivered = {f.file_name: f.loaded_keys for f in result.files if f.loaded_keys is not None}
        quarantine.resolve_references(cur, business_date, batch_id, delivered)
        quarantine.settle_waiting_lines(cur, business_date, batch_id, delivered, codes)
    fast = sum(f.fast_path for f in result.files)
    log.info("%s: %s batch %s, %d rows read, %d loaded, %d quarantined (%d of %d files clean, copied whole)",
             business_date, status, batch_id, result.rows_read, result.rows_loaded, result.rows_quarantined, fast,
             len(result.files))
    return result


def _drop_earlier_load(cur, folder: Path, business_date: dt.date) -> None:
    """Remove what the earlier load of ``business_date`` wrote, and undo what it made right of earlier
    dates' references (the reload makes it right again, or not)."""
    for source in contract.SOURCE_FILES:
        try:
            cur.execute(sql.SQL("drop table if exists {}").format(
                sql.Identifier("raw", schema.partition_name(source, business_date))))
        except psycopg2.errors.LockNotAvailable:
            raise DeliveryError(folder / source.file_name, "replace_earlier_load",
                                f"raw.{source.name} is in use by another session (a reader holding a "
                                f"transaction open; see pg_stat_activity), so the earlier load of "
                                f"{business_date} cannot be dropped; end that session") from None
    for table in ("file_loads", "quarantined_rows", "control_totals", "unresolved_references"):
        cur.execute(sql.SQL("delete from audit.{} where business_date = %s").format(sql.Identifier(table)),
                    (business_date,))
    cur.execute("update audit.unresolved_references set resolved_on_date = null, resolved_batch_id = null "
                "where resolved_on_date >= %s", (business_date,))


def pending_deliveries(conn, landing_dir: Path, up_to: dt.date) -> list[Path]:
    """Delivery folders dated on or before ``up_to`` to load now, in date order.

    A folder is pending when it is new, its control file changed, or it is stale: an earlier date
    was loaded after it (a corrected re-delivery, even one loaded by a run for its own date), because
    the rules that look at earlier dates (references, ids delivered before) must see the corrected
    day. Every later folder is pending after a pending one.
    """
    landing_dir = Path(landing_dir)
    if not landing_dir.exists():
        return []
    with conn.cursor() as cur:
        cur.execute("select business_date, control_sha256, batch_id from audit.deliveries")
        loaded = {d.isoformat(): (sha, batch) for d, sha, batch in cur.fetchall()}
    pending = []
    expected: dt.date | None = None
    newest_batch_before = 0
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
        sha, batch = loaded.get(folder.name, (None, 0))
        if pending or not control.is_file() or batch < newest_batch_before:
            pending.append(folder)  # after a pending date, broken (the load names it), or stale
        elif sha != hashlib.sha256(control.read_bytes()).hexdigest():
            pending.append(folder)
        newest_batch_before = max(newest_batch_before, batch)
    return pending


def load_pending(settings, up_to: dt.date) -> list[DeliveryResult]:
    """Load every pending delivery up to ``up_to`` in date order, one transaction per delivery."""
    with connect(settings) as conn:
        schema.ensure_schema(conn)
        folders = pending_deliveries(conn, settings.landing_dir, up_to)
    log.info("%d deliveries pending up to %s in %s", len(folders), up_to, settings.landing_dir)
    return load_folders(settings, folders)


def load_folders(settings, folders: list[Path]) -> list[DeliveryResult]:
    """Load these delivery folders (``pending_deliveries``, in date order), one transaction each.

    A folder loaded before with the same control file is loaded again only when an earlier date was
    loaded after it (``load_delivery``). A delivery that fails stops the run (later dates wait for
    it), and rolls back only itself.
    """
    results = []
    codes = raw.DeliveredCodes()  # the master keys are read from raw once per run, not once per delivery
    with connect(settings) as conn, Progress("loading", len(folders), "deliveries", log) as progress:
        for folder in folders:
            results.append(load_delivery(conn, Path(folder), codes=codes))
            conn.commit()
            progress.advance()
    return results
