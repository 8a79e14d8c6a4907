"""Customer value: dbt builds the star schema and value marts, K-Means segments, churn risk, RM reports."""

from __future__ import annotations

from airflow.sdk import dag, task

from warehouse.schedule import CUSTOMER_VALUE_MARTS, RAW_DELIVERIES, RM_REPORTS, start_date, task_defaults

DOC = """
### Bank customer value
Runs when `bank_extract_load` has loaded new deliveries (the `raw` asset):
1. the history snapshots (customers, accounts, customer → RM and sub-branch) replay each newly
   delivered business date in order, so every change is dated on the day it was delivered;
2. `dbt build` of everything that does not depend on the segmentation (staging, star schema,
   value marts, with their tests);
3. K-Means segmentation of the latest complete month, written to the `ml` schema in one transaction;
4. the churn model: one model trained per month end with new signals (`ml.churn_models`), then
   scored (`ml.churn_scores`), as two tasks;
5. `dbt build` of the models that read `ml` (segments, retention, the managers' portfolio);
6. one PDF per relationship manager, from the marts.
"""


@dag(
    dag_id="bank_customer_value",
    schedule=[RAW_DELIVERIES],
    start_date=start_date(),
    catchup=False,
    max_active_runs=1,
    tags=["bank", "dbt", "ml", "reports"],
    doc_md=DOC,
    default_args=task_defaults(),
)
def bank_customer_value():
    @task
    def replay_history_snapshots() -> list[str]:
        from warehouse.transform import replay_snapshots

        return [day.isoformat() for day in replay_snapshots()]

    @task
    def dbt_build_warehouse() -> None:
        from warehouse.transform import run_dbt

        run_dbt(["build", "--exclude", "source:ml+"])

    @task
    def segment_customers() -> str:
        from ml.segmentation import segment_customers as run_segmentation
        from warehouse.db import connect

        with connect() as conn:
            return run_segmentation(conn).run_id

    @task
    def train_churn_models() -> list[str]:
        from ml.retention import train_churn_models as train
        from warehouse.db import connect

        with connect() as conn:
            return train(conn)

    @task
    def score_churn_risk(model_ids: list[str]) -> int:
        from ml.retention import score_churn_risk as score
        from warehouse.db import connect

        with connect() as conn:
            return score(conn, model_ids or None)  # none new: any model a failed run left unscored

    @task(outlets=[CUSTOMER_VALUE_MARTS])
    def dbt_build_ml_marts(segmentation_run_id: str, churn_scores: int) -> str:
        import logging

        from warehouse.transform import run_dbt

        logging.getLogger(__name__).info("segmentation run %s, %d churn scores", segmentation_run_id, churn_scores)
        run_dbt(["build", "--select", "source:ml+"])
        return segmentation_run_id

    @task(outlets=[RM_REPORTS])
    def render_rm_reports(segmentation_run_id: str) -> list[str]:
        import logging

        from reports.rm_report import render_all
        from warehouse.db import connect
        from warehouse.settings import Settings

        settings = Settings.from_env()
        with connect(settings) as conn:
            paths = render_all(conn, settings.reports_dir, settings.currency)
        logging.getLogger(__name__).info("segmentation run %s: %d RM reports in %s",
                                         segmentation_run_id, len(paths),
                                         settings.reports_dir)
        return [str(p) for p in paths]

    warehouse_built = replay_history_snapshots() >> dbt_build_warehouse()
    segmentation_run_id = segment_customers()
    model_ids = train_churn_models()
    warehouse_built >> [segmentation_run_id, model_ids]
    render_rm_reports(dbt_build_ml_marts(segmentation_run_id, score_churn_risk(model_ids)))


bank_customer_value()
