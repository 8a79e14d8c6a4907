"""Delivery folders for tests: copied from the simulated bank, changed on purpose, counted in ``raw``."""

import csv
import hashlib
import re
import shutil
from decimal import Decimal

from ingestion import contract


def copy_days(tiny_bank, dest, days=3):
    dest.mkdir(parents=True)
    for folder in sorted(tiny_bank.iterdir())[:days]:
        shutil.copytree(folder, dest / folder.name)
    return dest


def rewrite_control(folder, keep_counts=False):
    """Recompute the control file after a test changed a data file on purpose (as a sender would)."""
    path = folder / contract.CONTROL_FILE
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    for row in rows:
        data = (folder / row["file_name"]).read_bytes()
        row["sha256"] = hashlib.sha256(data).hexdigest()
        if not keep_counts:
            row["row_count"] = str(len(data.splitlines()) - 1)
        source = contract.BY_FILE_NAME[row["file_name"]]
        if source.amount_column:
            idx = source.column_names.index(source.amount_column)
            rows_ = list(csv.reader(data.decode(row["encoding"], errors="replace").splitlines()))[1:]
            total = sum(Decimal(r[idx]) for r in rows_
                        if len(r) == len(source.columns) and re.fullmatch(r"-?\d+(\.\d{1,2})?", r[idx]))
            row["amount_total"] = f"{total:.2f}"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=contract.CONTROL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def raw_counts(conn):
    with conn.cursor() as cur:
        counts = {}
        for source in contract.SOURCE_FILES:
            cur.execute(f"select count(*) from raw.{source.name}")
            counts[source.name] = cur.fetchone()[0]
        return counts
