"""RM reports: one PDF per relationship manager, once the segments and the churn risk are built."""

from __future__ import annotations

from airflow.sdk import dag, task

from warehouse.schedule import CHURN_RISK, CUSTOMER_SEGMENTS, RM_REPORTS, start_date, task_defaults

DOC = """
### Bank RM reports
Runs when both the segments (`bank_customer_segments`) and the churn risk (`bank_customer_value`)
have been built since its last run: one PDF per relationship manager about their own customers
(reports/rm_report.py), from `marts.customer_segments`, written to the reports folder.
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
    @task(outlets=[RM_REPORTS])
    def render_rm_reports() -> list[str]:
        import logging

        from reports.rm_report import render_all
        from warehouse.db import connect
        from warehouse.settings import Settings

        settings = Settings.from_env()
        with connect(settings) as conn:
            paths = render_all(conn, settings.reports_dir, settings.currency)
        logging.getLogger(__name__).info("%d RM reports in %s", len(paths), settings.reports_dir)
        return [str(p) for p in paths]

    render_rm_reports()


bank_rm_reports()
