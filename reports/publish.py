"""Where the reports are written and what records them.

``<reports_dir>/<YYYY-MM>/<rm_id>.<lang>.pdf`` for an RM, ``branch-<branch_id>.<lang>.pdf`` for a
branch, ``head-office.<lang>.pdf`` for the bank, and beside them ``manifest.json``: one entry per
file (the book, the language, its SHA-256, pages and customers, the runs its figures come from,
when it was built). A report is written to a temporary file and moved into place, and its manifest
entry replaces the one of the same file under a lock, so re-running a month replaces its reports
and never duplicates them, and reports built at the same time (one Airflow task per RM) do not
lose each other's entries.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from pypdf import PdfReader

from reports.books import LEVELS, BookKey, list_books, read_book
from reports.document import render
from warehouse.progress import Progress

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def report_path(reports_dir: Path, key: BookKey, lang: str) -> Path:
    """The report's file, never outside ``reports_dir`` whatever the book's id holds (the contract
    already quarantines an id that is not a plain code)."""
    root = Path(reports_dir).resolve()
    name = {"rm": f"{key.portfolio_id}.{lang}.pdf", "branch": f"branch-{key.portfolio_id}.{lang}.pdf",
            "bank": f"head-office.{lang}.pdf"}[key.level]
    path = (root / f"{key.month:%Y-%m}" / name).resolve()
    if path.parent.parent != root:
        raise ValueError(f"{key.level} id {key.portfolio_id!r} (marts.rm_report_books) would write its report outside "
                         f"{root}; an id must be a plain code (docs/data-contract.md): correct it in the master data")
    return path


def read_manifest(month_dir: Path) -> dict:
    path = Path(month_dir) / MANIFEST
    if not path.exists():
        return {"month": Path(month_dir).name, "reports": []}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise RuntimeError(f"{path} line {error.lineno}: not valid JSON ({error.msg}); delete it and build the "
                           "month's reports again (python -m reports --month ... --all)") from error


@contextmanager
def _locked(month_dir: Path):
    month_dir.mkdir(parents=True, exist_ok=True)
    with open(month_dir / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def record(month_dir: Path, entries: Iterable[dict]) -> None:
    """Put ``entries`` in the month's manifest, each replacing the entry of the same file."""
    entries = list(entries)
    with _locked(month_dir):
        manifest = read_manifest(month_dir)
        replaced = {e["file"] for e in entries}
        manifest["reports"] = sorted([e for e in manifest["reports"] if e["file"] not in replaced] + entries,
                                     key=lambda e: e["file"])
        temporary = month_dir / f".{MANIFEST}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        os.replace(temporary, month_dir / MANIFEST)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(conn, key: BookKey, reports_dir: Path, languages: Iterable[str], currency: str = "CNY",
            today: dt.date | None = None, manifest: bool = True) -> list[dict]:
    """Build the report of ``key`` in each language, replace its files and (unless ``manifest`` is
    false: the caller records them) its manifest entries; the entries."""
    book = read_book(conn, key)
    entries = []
    for lang in languages:
        path = report_path(reports_dir, key, lang)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            render(book, lang, temporary, currency, today)
            pages = len(PdfReader(temporary).pages)
            checksum = _sha256(temporary)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        entries.append({
            "file": path.name, "month": f"{key.month:%Y-%m}", "level": key.level, "portfolio_id": key.portfolio_id,
            "language": lang, "sha256": checksum, "pages": pages, "customers": book.summary["customers"],
            "segmentation_run_id": book.summary["segmentation_run_id"],
            "churn_model_id": book.summary["churn_model_id"],
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        })
        log.info("%s (%s): %s, %d pages", key, lang, path, pages)
    if manifest:
        record(path.parent, entries)
    return entries


def publish_month(conn, month: dt.date, reports_dir: Path, languages: Iterable[str], currency: str = "CNY",
                  levels: tuple[str, ...] = LEVELS) -> tuple[list[dict], list[tuple[BookKey, Exception]]]:
    """Every book's reports for ``month``, one after another: (entries, failures). A book that fails is
    logged and the others are still built."""
    languages = list(languages)
    keys = list_books(conn, month, levels)
    if not keys:
        raise LookupError(f"marts.rm_report_books has no book in {month:%Y-%m}: load the month's deliveries and "
                          "run the bank_customer_value DAG first")
    return publish_books(conn, keys, reports_dir, languages, currency, f"reports of {month:%Y-%m}")


def batches(books: list, most: int) -> list[list]:
    """``books`` in at most ``most`` batches of consecutive books, as even as they come: one book per
    batch while there are no more than ``most`` (each its own task, with its own retry); above that,
    a batch of books per task, since Airflow refuses to map more than ``[core] max_map_length``
    (1,024) tasks and each task costs its start-up: a million customers are 8,000 RM books."""
    if most < 1:
        raise ValueError(f"at most {most} report tasks: give at least one")
    size = -(-len(books) // most) if books else 1
    return [books[i:i + size] for i in range(0, len(books), size)]


def publish_books(conn, keys: Iterable[BookKey], reports_dir: Path, languages: Iterable[str], currency: str = "CNY",
                  what: str = "reports") -> tuple[list[dict], list[tuple[BookKey, Exception]]]:
    """Each book's reports, one after another: (entries, failures). A book that fails is logged and
    the others are still built. The manifest is written once, at the end, for the books built: each
    write reads and rewrites the month's whole manifest, which per book would grow with the square of
    the books (8,000 RMs at a million customers)."""
    keys, languages = list(keys), list(languages)
    entries, failures = [], []
    progress = Progress(what, len(keys), "books", log, every=15)
    try:
        for key in keys:
            try:
                entries += publish(conn, key, reports_dir, languages, currency, manifest=False)
            except Exception as error:  # one book's failure must not lose the others
                conn.rollback()
                log.exception("%s: report failed", key)
                failures.append((key, error))
            progress.advance()
    finally:  # what was built is recorded, even when the run is stopped part-way
        for month in sorted({e["month"] for e in entries}):
            record(Path(reports_dir).resolve() / month, [e for e in entries if e["month"] == month])
    if failures:
        log.warning("%d of %d books failed: %s", len(failures), len(keys), ", ".join(str(k) for k, _ in failures))
    return entries, failures


def missing_reports(reports_dir: Path, keys: Iterable[BookKey], languages: Iterable[str], since: str) -> list[str]:
    """The reports of ``keys`` × ``languages`` with no manifest entry built at or after ``since``
    (ISO time): the ones a run meant to build and did not."""
    languages = list(languages)
    built: dict[str, set[str]] = {}
    missing = []
    for key in keys:
        month = f"{key.month:%Y-%m}"
        if month not in built:
            entries = read_manifest(Path(reports_dir).resolve() / month)["reports"]
            built[month] = {e["file"] for e in entries if e["built_at"] >= since}
        files = [report_path(reports_dir, key, lang).name for lang in languages]
        missing += [f"{month}/{name}" for name in files if name not in built[month]]
    return missing
