"""RM reports: one PDF per relationship manager and one per branch, in each configured language,
once the segments and the churn risk are built; one mapped task per RM and per branch, or per batch
of them above BANK_REPORT_TASKS_MAX (256) books."""

from __future__ import annotations

from airflow.sdk import dag, task

from warehouse.schedule import CHURN_RISK, CUSTOMER_SEGMENTS, RM_REPORTS, start_date, task_defaults

DOC = """
### Bank RM reports
Runs when both the segments (`bank_customer_segments`) and the churn risk (`bank_customer_value`)
have been built since its last run (reports/, from the report marts `marts.rm_report_books` and
`marts.rm_report_customers`):
1. `list_rm_reports`, `list_branch_reports`: the months of the run — `conf {"month": "YYYY-MM"}`
   if given, else the months the segments' asset events say were segmented (none on a night
   that segmented no new month), else the logical date's month — and their books;
2. `render_rm_report` (one mapped task per RM) and `render_branch_report` (one per branch, and one
   for the head-office summary of the whole bank): the PDF
   in each language of `BANK_REPORT_LANGUAGES`, replacing its file and its entry in
   `<reports>/<YYYY-MM>/manifest.json`; one book's failure does not stop the others. Above
   `BANK_REPORT_TASKS_MAX` (256) books a task renders a batch of consecutive books (Airflow maps no
   more than 1,024 tasks, and each costs its start-up), and fails, naming them, if any of its books failed;
3. `check_reports` (runs whatever happened above): fails, naming them, if any report of the run is
   missing from the manifest; emits the reports' asset when all are there.
"""


@dag(
    dag_id="bank_rm_reports",
    schedule=(CUSTOMER_SEGMENTS & CHURN_RISK),
    start_date=start_date(),
    catchup=False,
    max_active_runs=1,
    tags=["bank", "reports"],
    doc_md=DOC,
    default_args=task_defaults(),
)
def bank_rm_reports():
    @task
    def list_reports(levels: list[str], **context) -> list[dict]:
        import datetime as dt
        import logging

        from reports.books import list_books, months_of_run
        from reports.publish import batches
        from warehouse.db import connect
        from warehouse.settings import Settings

        try:
            events = list(context["triggering_asset_events"][CUSTOMER_SEGMENTS])
        except KeyError:
            events = []
        segmented = sorted({m for e in events for m in (e.extra or {}).get("months", [])}) if events else None
        logical_date = context.get("logical_date")
        months = months_of_run((context["dag_run"].conf or {}).get("month"), segmented,
                               logical_date.date() if logical_date else None)
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        settings = Settings.from_env(component="reports")
        with connect(settings) as conn:
            keys = [key for month in months for key in list_books(conn, month, tuple(levels))]
        logging.getLogger(__name__).info("%d %s reports for %s", len(keys), "/".join(levels),
                                         ", ".join(f"{m:%Y-%m}" for m in months) or "no month")
        return [{"books": [key.to_dict() for key in batch], "since": since}
                for batch in batches(keys, settings.report_tasks_max)]

    @task(map_index_template="{{ book_label }}")
    def render_report(batch: dict) -> list[str]:
        from airflow.sdk import get_current_context

        from reports.books import BookKey
        from reports.publish import publish_books
        from warehouse.db import connect
        from warehouse.settings import Settings

        keys = [BookKey.from_dict(book) for book in batch["books"]]
        get_current_context()["book_label"] = str(keys[0]) if len(keys) == 1 else \
            f"{keys[0]} … {keys[-1].portfolio_id} ({len(keys)} books)"
        settings = Settings.from_env(component="reports")
        with connect(settings) as conn:
            entries, failures = publish_books(conn, keys, settings.reports_dir, settings.report_languages,
                                              settings.currency)
        if failures:
            raise RuntimeError(f"{len(failures)} of {len(keys)} books failed (the others are built; each "
                               "error is in the log above): " + ", ".join(f"{k}: {e}" for k, e in failures))
        return [e["file"] for e in entries]

    @task(trigger_rule="all_done", outlets=[RM_REPORTS])
    def check_reports(*listed: list[dict]) -> int:
        from reports.books import BookKey
        from reports.publish import missing_reports
        from warehouse.settings import Settings

        settings = Settings.from_env()
        listed_batches = [batch for level in listed for batch in level]
        keys = [BookKey.from_dict(book) for batch in listed_batches for book in batch["books"]]
        since = min((batch["since"] for batch in listed_batches), default="")
        missing = missing_reports(settings.reports_dir, keys, settings.report_languages, since)
        if missing:
            raise RuntimeError(f"{len(missing)} of {len(keys) * len(settings.report_languages)} reports were not "
                               f"built (see their render task's log): {', '.join(missing)}")
        return len(keys)

    rms = list_reports.override(task_id="list_rm_reports")(["rm"])
    branches = list_reports.override(task_id="list_branch_reports")(["branch", "bank"])
    rendered = [render_report.override(task_id="render_rm_report").expand(batch=rms),
                render_report.override(task_id="render_branch_report").expand(batch=branches)]
    rendered >> check_reports(rms, branches)


bank_rm_reports()
