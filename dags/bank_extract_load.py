"""Extract-load: the bank's daily deliveries into the warehouse's ``raw`` schema."""

from __future__ import annotations

from airflow.sdk import dag, task

from warehouse.schedule import RAW_DELIVERIES, delivery_wait, start_date, task_defaults

DELIVERY_WAIT = delivery_wait()

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
deliveries that did arrive are still loaded, and `check_delivery_arrived` then fails the run, so
that someone looks. The first business date is `BANK_START_DATE`.
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
    start_date=start_date(),
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

        from ingestion.load import pending_deliveries
        from warehouse.db import connect
        from warehouse.schema import ensure_schema
        from warehouse.settings import Settings

        with connect(Settings.from_env()) as conn:  # the set-up login creates or upgrades the schema
            ensure_schema(conn)
        settings = Settings.from_env(component="loader")
        with connect(settings) as conn:
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

        results = load_folders(Settings.from_env(component="loader"), [Path(f) for f in folders])
        totals = {"deliveries": len(results), "rows_read": sum(r.rows_read for r in results),
                  "rows_loaded": sum(r.rows_loaded for r in results),
                  "rows_quarantined": sum(r.rows_quarantined for r in results)}
        logging.getLogger(__name__).info("load summary: %s", totals)
        return totals

    @task(trigger_rule="all_done")  # the run's last word: failed while its own delivery is missing
    def check_delivery_arrived(ds: str | None = None) -> None:
        import logging

        from airflow.sdk.exceptions import AirflowFailException

        from ingestion import quarantine
        from ingestion.contract import CONTROL_FILE
        from warehouse.db import connect
        from warehouse.settings import Settings

        settings = Settings.from_env(component="loader")
        with connect(settings) as conn, conn.cursor() as cur:
            waiting = [row for row in quarantine.summary(cur) if row[2] == quarantine.WAITING]
        for file_name, rule, _, count, first, last in waiting:
            logging.getLogger(__name__).info("quarantine: %d lines of %s wait under rule %s (%s to %s)",
                                             count, file_name, rule, first, last)
        if waiting:
            logging.getLogger(__name__).info("list them with: python -m warehouse quarantine list --lines")
        if not (settings.landing_dir / ds / CONTROL_FILE).exists():
            raise AirflowFailException(f"LATE DELIVERY: the delivery for {ds} has not arrived in "
                                       f"{settings.landing_dir}; the run is failed so that someone looks")

    pending = find_pending_deliveries()
    waited = wait_for_delivery()
    waited >> pending
    [waited, load_deliveries(pending)] >> check_delivery_arrived()


bank_extract_load()
