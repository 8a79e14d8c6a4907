"""Extract-load: the bank's daily deliveries into the warehouse's ``raw`` schema."""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task

from warehouse.settings import task_defaults

RAW_DELIVERIES = Asset("warehouse://raw/bank_deliveries")

DOC = """
### Bank extract-load
Loads every delivery folder (`<landing>/<YYYY-MM-DD>/`, see `docs/data-contract.md`) dated on or
before the run's logical date that is new or corrected since it was last loaded, in date order,
one transaction per delivery, with `COPY`. Bad rows go to `audit.quarantined_rows`; an unusable
delivery fails the task with the file, line and rule and leaves the warehouse unchanged.
History loads in one run: the first run finds every pending date. Emits the `raw` asset that
starts `bank_customer_value`.
"""


@dag(
    dag_id="bank_extract_load",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 7, 1, tz="UTC"),
    catchup=False,  # each run loads every pending delivery up to its date, so missed days are caught up anyway
    max_active_runs=1,
    tags=["bank", "extract-load", "raw"],
    doc_md=DOC,
    default_args=task_defaults(),
)
def bank_extract_load():
    @task
    def find_pending_deliveries(ds: str | None = None) -> list[str]:
        import datetime as dt
        import logging

        from ingestion.load import ensure_schema, pending_deliveries
        from warehouse.db import connect
        from warehouse.settings import Settings

        settings = Settings.from_env()
        with connect(settings) as conn:
            ensure_schema(conn)
            folders = pending_deliveries(conn, settings.landing_dir, dt.date.fromisoformat(ds))
        logging.getLogger(__name__).info("%d pending deliveries up to %s: %s", len(folders), ds,
                                         ", ".join(f.name for f in folders) or "none")
        return [str(f) for f in folders]

    @task(outlets=[RAW_DELIVERIES])
    def load_deliveries(folders: list[str]) -> dict:
        import logging
        from pathlib import Path

        from ingestion.load import load_delivery
        from warehouse.db import connect
        from warehouse.settings import Settings

        log = logging.getLogger(__name__)
        settings = Settings.from_env()
        totals = {"deliveries": 0, "rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0, "skipped": 0}
        for number, folder in enumerate(folders, start=1):
            with connect(settings) as conn:
                result = load_delivery(conn, Path(folder))
            totals["deliveries"] += result.status != "skipped"
            totals["skipped"] += result.status == "skipped"
            totals["rows_read"] += result.rows_read
            totals["rows_loaded"] += result.rows_loaded
            totals["rows_quarantined"] += result.rows_quarantined
            log.info("progress: %d of %d deliveries (%s %s)", number, len(folders), result.business_date,
                     result.status)
        log.info("load summary: %s", totals)
        return totals

    load_deliveries(find_pending_deliveries())


bank_extract_load()
