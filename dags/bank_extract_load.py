"""Extract-load: the bank's daily deliveries into the warehouse's ``raw`` schema."""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.sdk import Asset, dag, task

from warehouse.settings import task_defaults

RAW_DELIVERIES = Asset("warehouse://raw/bank_deliveries")

DELIVERY_WAIT = dt.timedelta(hours=float(os.environ.get("BANK_DELIVERY_WAIT_HOURS", "6")))

DOC = """
### Bank extract-load
Loads every delivery folder (`<landing>/<YYYY-MM-DD>/`, see `docs/data-contract.md`) dated on or
before the run's logical date that is new or corrected since it was last loaded, in date order,
one transaction per delivery, with `COPY`. Bad rows go to `audit.quarantined_rows`; an unusable
delivery fails the task with the file, line and rule and leaves the warehouse unchanged.
History loads in one run: the first run finds every pending date. Emits the `raw` asset that
starts `bank_customer_value`.

`wait_for_delivery` waits for the run's own delivery (its control file) for up to
`BANK_DELIVERY_WAIT_HOURS` (default 6), rescheduling itself between checks. When the delivery is
late it fails and logs `LATE DELIVERY` (wire an Airflow notifier to it for e-mail or chat); the
deliveries that did arrive are still loaded, and the run is marked failed so that someone looks.
"""


def _alert_late_delivery(context) -> None:
    import logging

    logging.getLogger("bank.alerts").error(
        "LATE DELIVERY: no control file for business date %s in the landing folder after %s; the load ran "
        "for the deliveries that did arrive. Ask the source system, then clear this task.",
        context["ds"], DELIVERY_WAIT)


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
    @task.sensor(poke_interval=max(1.0, min(300.0, DELIVERY_WAIT.total_seconds() / 10)),
                 timeout=DELIVERY_WAIT.total_seconds(), mode="reschedule",
                 on_failure_callback=_alert_late_delivery)
    def wait_for_delivery(ds: str | None = None) -> bool:
        from ingestion.contract import CONTROL_FILE
        from warehouse.settings import Settings

        return (Settings.from_env().landing_dir / ds / CONTROL_FILE).exists()

    @task(trigger_rule="all_done")  # a late delivery must not hold back the ones that arrived
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

        from ingestion.load import load_folders
        from warehouse.settings import Settings

        results = load_folders(Settings.from_env(), [Path(f) for f in folders])
        totals = {"deliveries": len(results), "rows_read": sum(r.rows_read for r in results),
                  "rows_loaded": sum(r.rows_loaded for r in results),
                  "rows_quarantined": sum(r.rows_quarantined for r in results)}
        logging.getLogger(__name__).info("load summary: %s", totals)
        return totals

    pending = find_pending_deliveries()
    wait_for_delivery() >> pending
    load_deliveries(pending)


bank_extract_load()
