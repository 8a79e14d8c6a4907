"""Customer value: dbt builds the star schema and value marts, then the churn model and the retention marts."""

from __future__ import annotations

from airflow.sdk import dag, task

from warehouse.schedule import CHURN_RISK, CUSTOMER_VALUE_MARTS, RAW_DELIVERIES, start_date, task_defaults

DOC = """
### Bank customer value
Runs when `bank_extract_load` has loaded new deliveries (the `raw` asset):
1. the history snapshots (customers, accounts, customer → RM and sub-branch) replay the newly
   delivered business dates in order (warehouse/history.py), so every change is dated on the day it
   was delivered;
2. `dbt build` of everything that does not read the `ml` schema (staging, star schema, value
   marts, with their tests); emits the value marts' asset, on which `bank_customer_segments` runs;
   then the BI logins of every RM and branch manager follow the RM master (`security.bi_logins`,
   warehouse/access.py);
3. the churn model: one model trained per month end with new signals (`ml.churn_models`), then
   scored (`ml.churn_scores`), as two tasks;
4. `dbt build` of the models that read `ml` (retention, the managers' portfolio, the segments);
   emits the churn-risk asset, on which (with the segments') `bank_rm_reports` runs.
"""


@dag(
    dag_id="bank_customer_value",
    schedule=[RAW_DELIVERIES],
    start_date=start_date(),
    catchup=False,
    max_active_runs=1,
    tags=["bank", "dbt", "ml"],
    doc_md=DOC,
    default_args=task_defaults(),
)
def bank_customer_value():
    @task
    def replay_history_snapshots() -> list[str]:
        from warehouse.history import replay_snapshots

        return [day.isoformat() for day in replay_snapshots()]

    @task(outlets=[CUSTOMER_VALUE_MARTS])
    def dbt_build_warehouse() -> None:
        from warehouse.transform import run_dbt

        run_dbt(["build", "--exclude", "source:ml+"])

    @task
    def train_churn_models() -> list[str]:
        from ml.retention import train_churn_models as train
        from warehouse.db import connect
        from warehouse.settings import Settings

        with connect(Settings.from_env(component="ml")) as conn:
            return train(conn)

    @task
    def score_churn_risk(model_ids: list[str]) -> int:
        from ml.retention import score_churn_risk as score
        from warehouse.db import connect
        from warehouse.settings import Settings

        with connect(Settings.from_env(component="ml")) as conn:
            return score(conn, model_ids or None)  # none new: any model a failed run left unscored

    @task(outlets=[CHURN_RISK])
    def dbt_build_ml_marts(churn_scores: int) -> None:
        import logging

        from warehouse.transform import run_dbt

        logging.getLogger(__name__).info("%d churn scores written", churn_scores)
        run_dbt(["build", "--select", "source:ml+"])

    @task
    def sync_bi_logins() -> dict[str, int]:
        from warehouse.access import sync_logins
        from warehouse.db import connect

        with connect() as conn:  # the set-up login: it creates and retires the BI logins
            return sync_logins(conn)

    model_ids = train_churn_models()
    built = dbt_build_warehouse()
    replay_history_snapshots() >> built >> model_ids
    built >> sync_bi_logins()
    dbt_build_ml_marts(score_churn_risk(model_ids))


bank_customer_value()
