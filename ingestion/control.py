"""The control file of a delivery: reading it (the loader), and writing it (a bank's extract job,
``python -m ingestion.control FOLDER...``).

``control.csv`` lists every data file of the delivery once: its business date, encoding, row count,
amount total and SHA-256 (docs/data-contract.md). A delivery whose control file is missing or wrong is
refused whole: ``DeliveryError`` names the file, the line and the rule, and says what to do.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ingestion import contract


class DeliveryError(Exception):
    """A whole delivery is unusable. The message names the file, the line, the rule and what to do."""

    def __init__(self, path: Path, rule: str, detail: str, line: int | None = None):
        self.path, self.rule, self.detail, self.line = path, rule, detail, line
        where = f"{path}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: rule '{rule}' failed: {detail}. The delivery was not loaded and the "
                         f"warehouse is unchanged; ask the source system for a corrected delivery, "
                         f"then run the load again.")


@dataclass(frozen=True)
class ControlEntry:
    file_name: str
    encoding: str
    row_count: int
    amount_total: Decimal | None
    sha256: str


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
        if file_name in entries:
            raise DeliveryError(path, "control_lists_each_file_once", f"'{file_name}' is listed twice",
                                line=number)
        try:
            entries[file_name] = ControlEntry(file_name, encoding.lower(), int(count),
                                              Decimal(total) if total else None, digest.lower())
        except (ValueError, InvalidOperation):
            raise DeliveryError(path, "control_file_numbers", "row_count and amount_total must be numbers",
                                line=number) from None
    missing = [f.file_name for f in contract.SOURCE_FILES if f.file_name not in entries]
    if missing:
        raise DeliveryError(path, "control_lists_every_file", f"no control line for {', '.join(missing)}")
    for file_name in entries:
        data_path = folder / file_name
        if data_path.is_symlink() or (data_path.exists() and not data_path.is_file()):
            raise DeliveryError(data_path, "regular_file", "a delivery holds the files themselves, not links or "
                                "folders; put the file there in place of what is there")
    return business_date, entries, hashlib.sha256(data).hexdigest()


def write_control(folder: Path, encodings: dict[str, str] | None = None) -> Path:
    """Write ``folder/control.csv`` for the data files in ``folder`` (every file of the contract, in
    the encoding given per file name, UTF-8 otherwise), counting rows and adding amounts by the
    contract's rules. A bank's extract job does this from the same extract as the data files."""
    folder = Path(folder)
    business_date = dt.date.fromisoformat(folder.name)
    encodings = encodings or {}
    lines = []
    for source in contract.SOURCE_FILES:
        path = folder / source.file_name
        if not path.is_file():
            raise DeliveryError(path, "file_present", "every file of the contract must be in the delivery, "
                                "with its header even when it has no rows")
        data = path.read_bytes()
        encoding = encodings.get(source.file_name, "utf-8")
        csv.field_size_limit(sys.maxsize)
        rows = list(csv.reader(io.StringIO(data.decode(encoding).removeprefix("\ufeff"), newline="")))[1:]
        total = ""
        if source.amount_column:
            idx = source.column_names.index(source.amount_column)
            amounts = (Decimal(r[idx]) for r in rows
                       if len(r) == len(source.columns) and contract.MONEY_PATTERN.fullmatch(r[idx]))
            total = f"{sum(amounts, Decimal(0)):.2f}"
        lines.append([business_date.isoformat(), source.file_name, encoding, str(len(rows)), total,
                      hashlib.sha256(data).hexdigest()])
    path = folder / contract.CONTROL_FILE
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(contract.CONTROL_COLUMNS)
        writer.writerows(lines)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingestion.control",
                                     description="Write control.csv for delivery folders (<landing>/<YYYY-MM-DD>/).")
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--gbk", action="append", default=[], metavar="FILE",
                        help="a data file delivered in GBK, e.g. --gbk customers.csv (repeatable)")
    args = parser.parse_args(argv)
    for folder in args.folders:
        print(write_control(folder, {name: "gbk" for name in args.gbk}))  # noqa: T201 (command line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
