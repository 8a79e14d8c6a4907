"""Weekly: every data test of the warehouse on every row, not only the rows the nights wrote."""

from __future__ import annotations

from airflow.sdk import dag, task

from warehouse.schedule import WEEKLY_DATA_TESTS, start_date, task_defaults

DOC = """
### Bank data tests, every row
A night's `dbt build` tests the rows that night wrote: the row tests of the facts and monthly models
read the rows of their last build, the reconciliations to the control files the dates it wrote
(dbt_project/macros/overrides/get_where_subquery.sql), so that a night does not grow with the
history. Once a week this DAG runs every data test on every row and every business date
(`dbt test --vars '{test_every_row: true}'`): what a night leaves out, a row an earlier night wrote
and something changed since, is found within a week. Run it by hand after a correction of the
warehouse. A failing test fails the task, naming the test; `dbt test --select <test> --store-failures`
keeps the failing rows to read.
"""


@dag(
    dag_id="bank_data_tests",
    schedule=WEEKLY_DATA_TESTS,
    start_date=start_date(),
    catchup=False,
    max_active_runs=1,
    tags=["bank", "dbt", "data quality"],
    doc_md=DOC,
    default_args=task_defaults(),
)
def bank_data_tests():
    @task
    def dbt_test_every_row() -> None:
        from warehouse.transform import run_dbt

        run_dbt(["test", "--vars", '{"test_every_row": true}'])

    dbt_test_every_row()


bank_data_tests()
