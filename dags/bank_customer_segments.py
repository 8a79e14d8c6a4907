"""Customer segments: K-Means segmentation of every new complete month, then the segment marts."""

from __future__ import annotations

from airflow.sdk import dag, task

from warehouse.schedule import CUSTOMER_SEGMENTS, CUSTOMER_VALUE_MARTS, start_date, task_defaults

DOC = """
### Bank customer segments
Runs when `bank_customer_value` has built the value marts (their asset):
1. K-Means segmentation (ml/segmentation.py, docs/segmentation.md) of every complete month that
   has no run yet, one transaction per month: the preprocessing and k chosen by the data (or last
   month's kept while it still reproduces), segment ids matched to last month's, names, profiles
   and outlier thresholds, all in `ml`; a past month is re-run with `python -m warehouse segment`;
2. `dbt build` of the models that read `ml` (`customer_segments_monthly`, the migrations, segments
   against tiers, the outlier reason in retention, the report marts); emits the segments' asset,
   its extra `{"months": [...]}` the months segmented, on which (with the churn risk's)
   `bank_rm_reports` runs and builds those months' reports.
"""


@dag(
    dag_id="bank_customer_segments",
    schedule=[CUSTOMER_VALUE_MARTS],
    start_date=start_date(),
    catchup=False,
    max_active_runs=1,
    tags=["bank", "ml", "dbt"],
    doc_md=DOC,
    default_args=task_defaults(),
)
def bank_customer_segments():
    @task
    def segment_new_months() -> list[str]:
        from ml.segmentation import segment_new_months as segment
        from warehouse.db import connect
        from warehouse.settings import Settings

        with connect(Settings.from_env(component="ml")) as conn:
            return segment(conn)

    @task(outlets=[CUSTOMER_SEGMENTS])
    def dbt_build_segment_marts(run_ids: list[str], *, outlet_events=None) -> None:
        import logging

        from warehouse.transform import run_dbt

        logging.getLogger(__name__).info("new segmentation runs: %s", ", ".join(run_ids) or "none")
        run_dbt(["build", "--select", "source:ml+"])
        # the months segmented (a run id starts with its month): the reports DAG builds those
        outlet_events[CUSTOMER_SEGMENTS].extra = {"months": sorted({run_id[:7] for run_id in run_ids})}

    dbt_build_segment_marts(segment_new_months())


bank_customer_segments()
