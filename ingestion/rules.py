"""The row rules of the contract, in their two engines side by side: line by line in Python, and
whole columns in native code (Arrow). Both must name the same lines; the loader tests hold them to it.

- ``bad_rows``: the line-by-line engine. Index -> (rule, detail) of every row that breaks a rule.
- ``arrow_verdict``: the whole-file engine. A file in which no line breaks a rule gets its row count,
  amount total and keys; any doubt returns None and the file goes line by line.

References: a master record (an account's customer, a customer's RM) must point at a master
delivered on or before its business date, or it is quarantined (``known_reference``) until what it
lacks arrives. An event (a balance, a transaction, an interaction) is never lost for a master that has
not arrived yet: it loads against an inferred member, and ``unknown_references`` reports what it
pointed at, for ``audit.unresolved_references`` (the late-arriving-dimension registry).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingestion import contract
from ingestion.contract import SourceFile

# The one compiled table of value patterns. ``^...$`` with MULTILINE: ``fullmatch`` checks one value,
# ``findall`` over values joined by newlines counts the values that match, in C.
ARROW_BLOCK_BYTES = 4 << 20  # what the Arrow engine holds of a file at a time

PATTERNS = {kind: re.compile(f"^{pattern}$", re.M | re.ASCII) for kind, pattern in contract.VALUE_PATTERNS.items()}


def reference_is_a_rule(source: SourceFile) -> bool:
    """Only master records wait for what they reference; events load against inferred members."""
    return source.is_master


# -- line by line ------------------------------------------------------------------------------
def check_value(column: contract.Column, value: str) -> str | None:
    """The rule a value breaks, or None."""
    if value == "":
        return None if column.nullable else "not_null"
    if "\x00" in value:
        return "no_nul_bytes"
    if len(value) > column.max_length:
        return "max_length"
    if column.is_code and not PATTERNS["code"].fullmatch(value):
        return "code_format"
    kind = column.kind
    if kind in PATTERNS and not PATTERNS[kind].fullmatch(value):
        return {"money": "numeric", "rate": "numeric", "int": "integer", "date": "date_format",
                "timestamp": "timestamp_format"}[kind]
    if kind in ("money", "int") and column.non_negative and value.startswith("-"):
        return "non_negative"
    try:
        if kind == "date":
            dt.date.fromisoformat(value)
        elif kind == "timestamp":
            dt.datetime.fromisoformat(value)
    except ValueError:
        return "valid_date" if kind == "date" else "valid_timestamp"
    if column.allowed and value not in column.allowed:
        return "accepted_values"
    return None


def _column_is_clean(column: contract.Column, values: tuple[str, ...]) -> bool:
    """True when no value of the column breaks a rule: whole-column checks that run in C."""
    joined = "\n".join(values)
    if "\x00" in joined or max(map(len, values)) > column.max_length:
        return False
    empties = values.count("")
    if empties and not column.nullable:
        return False
    pattern = PATTERNS.get(column.kind)
    if pattern is not None and len(pattern.findall(joined)) != len(values) - empties:
        return False
    if column.is_code and len(PATTERNS["code"].findall(joined)) != len(values) - empties:
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


def bad_rows(source: SourceFile, rows: list[list[str]], known: dict[str, set[str]],
             delivered_before: set[str], seen: set | None = None) -> dict[int, tuple[str, str]]:
    """Index -> (rule, detail) of every row to quarantine; the first rule a row breaks is the one named.

    Columns are checked whole first; only the values of a column that fails are checked one by one.
    Among the rows that pass: a key seen earlier in the file is a duplicate (the first one loads;
    ``seen`` carries the keys of the file's earlier chunks, and is updated); in a master file, a code
    not in ``known`` (per referencing column) was never delivered; a key in ``delivered_before`` came
    on an earlier business date, which keeps it.
    """
    width = len(source.columns)
    seen = set() if seen is None else seen
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
                suspects.update(candidates[k] for k, v in enumerate(columns[j]) if check_value(column, v))
        for i in sorted(suspects):
            for column, value in zip(source.columns, rows[i], strict=True):
                rule = check_value(column, value)
                if rule:
                    bad[i] = (rule, f"column {column.name} = {value[:60]!r}")
                    break
    key_idx = [source.column_names.index(k) for k in source.key]
    # a key as one string (the columns joined by \x1f, as in the Arrow engine): compact, for ``seen``
    key_of = operator.itemgetter(key_idx[0]) if len(key_idx) == 1 else \
        (lambda row: "\x1f".join(row[k] for k in key_idx))
    keys = [key_of(rows[i]) for i in candidates] if bad else list(map(key_of, rows))
    fresh = set(keys)
    if len(fresh) != len(keys) or bad or not seen.isdisjoint(fresh):
        for i, row in enumerate(rows):
            if i in bad:
                continue
            key = key_of(row)
            if key in seen:
                bad[i] = ("unique_key_in_file",
                          f"{'/'.join(source.key)} {key.replace(chr(31), '/')} appears earlier in the file")
            seen.add(key)
    else:
        seen |= fresh
    if reference_is_a_rule(source):
        for column, target in source.references.items():
            j = source.column_names.index(column)
            codes = known[column]
            for i, row in enumerate(rows):
                if i not in bad and row[j] and row[j] not in codes:
                    bad[i] = ("known_reference", f"column {column} = '{row[j]}' is not in {target}.csv delivered on "
                              f"or before this date")
    if delivered_before:
        for i, row in enumerate(rows):
            if i not in bad and row[key_idx[0]] in delivered_before:
                bad[i] = ("unique_key_across_deliveries",
                          f"{source.key[0]} {row[key_idx[0]]} was delivered on an earlier business date")
    return bad


def unknown_references(source: SourceFile, rows: list[list[str]], loaded: list[int] | range,
                       known: dict[str, set[str]]) -> dict[str, Counter]:
    """Per referencing column of an event file: the codes its loaded rows point at that no master
    delivered yet, with how many rows point at each."""
    if reference_is_a_rule(source):
        return {}
    unknown: dict[str, Counter] = {}
    for column in source.references:
        j = source.column_names.index(column)
        codes = known[column]
        found = Counter(rows[i][j] for i in loaded if rows[i][j] and rows[i][j] not in codes)
        if found:
            unknown[column] = found
    return unknown


# -- whole columns, in Arrow -------------------------------------------------------------------
@dataclass
class CleanFile:
    rows: int
    amount_total: Decimal
    keys: pa.Array  # the first key column
    unknown_references: dict[str, Counter] = field(default_factory=dict)  # events only, as above


def _arrow_column_is_clean(column: contract.Column, values: pa.ChunkedArray) -> bool:
    lengths = pc.utf8_length(values)
    if pc.max(lengths).as_py() > column.max_length:
        return False
    empty = pc.equal(lengths, 0)
    if pc.any(empty).as_py():
        if not column.nullable:
            return False
        values = pc.filter(values, pc.invert(empty))
        if not len(values):
            return True
    for pattern in (contract.VALUE_PATTERNS.get(column.kind), column.is_code and contract.VALUE_PATTERNS["code"]):
        if pattern and not pc.all(pc.match_substring_regex(values, f"^{pattern}$")).as_py():
            return False
    if column.non_negative and pc.any(pc.starts_with(values, "-")).as_py():
        return False
    if column.allowed and not pc.all(pc.is_in(values, value_set=pa.array(column.allowed))).as_py():
        return False
    try:  # impossible dates and times (Postgres refuses year 0 in the COPY)
        if column.kind == "date":
            values.cast(pa.date32())
        elif column.kind == "timestamp":
            pc.replace_substring(values, "T", " ").cast(pa.timestamp("s"))
    except pa.ArrowInvalid:
        return False
    return True


def _arrow_unknown(values: pa.ChunkedArray, known: pa.Array) -> Counter:
    """The references among ``values`` (empty ones aside) that ``known`` does not hold, with their counts."""
    values = pc.filter(values, pc.not_equal(values, ""))
    if not len(values):
        return Counter()
    outside = pc.filter(values, pc.invert(pc.is_in(values, value_set=known)))
    if not len(outside):
        return Counter()
    counts = pc.value_counts(outside)
    return Counter(dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)))


def arrow_verdict(source: SourceFile, path: Path, encoding: str, lines: int,
                  known: dict[str, pa.Array]) -> CleanFile | None:
    """Row count, amount total and keys when no line breaks a row rule; None when the file needs the slow way.

    The caller has seen that the file is plain (``lines`` physical lines; no quotes, carriage returns,
    byte-order mark, NUL bytes or blank lines: those go the slow way, where they are handled line by
    line). The file is read in blocks: memory holds a block, the key column and the referencing
    columns. The references are looked up once per file, after the last block: each look-up builds a
    hash table of every key ``known`` holds, so one per block cost blocks x keys, which grows with the
    square of the bank (a million customers' balance file is 22 blocks against 1.5 million accounts).
    """
    strict_references = reference_is_a_rule(source)
    rows, total = 0, Decimal(0)
    keys: list[pa.Array] = []
    joined: list[pa.Array] = []
    references: dict[str, list[pa.Array]] = {column: [] for column in source.references}
    try:
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(use_threads=False, block_size=ARROW_BLOCK_BYTES, encoding=encoding),
            parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in source.column_names},
                                                 strings_can_be_null=False))
        if tuple(reader.schema.names) != source.column_names:
            return None
        for batch in reader:
            if not batch.num_rows:
                continue
            rows += batch.num_rows
            for column in source.columns:
                if not _arrow_column_is_clean(column, batch.column(column.name)):
                    return None
            keys.append(batch.column(source.key[0]))
            if len(source.key) > 1:
                joined.append(pc.binary_join_element_wise(*(batch.column(k) for k in source.key), "\x1f"))
            if source.amount_column:
                total += pc.sum(batch.column(source.amount_column).cast(pa.decimal128(18, 2))).as_py() or Decimal(0)
            for column, chunks in references.items():
                chunks.append(batch.column(column))
    except pa.ArrowInvalid:
        return None
    if rows != lines - 1:
        return None
    if rows == 0:
        return CleanFile(0, Decimal(0), pa.array([], pa.string()))
    unknown: dict[str, Counter] = {}
    for column, chunks in references.items():
        found = _arrow_unknown(pa.chunked_array(chunks, pa.string()), known[column])
        if found and strict_references:  # a master record waits for what it references: the slow way
            return None
        if found:
            unknown[column] = found
    first_keys = pa.concat_arrays(keys)
    whole_keys = pa.concat_arrays(joined) if joined else first_keys
    if len(pc.unique(whole_keys)) != rows:  # (unique builds one hash table; count_distinct is 2x slower)
        return None
    return CleanFile(rows, total, first_keys, unknown)
