"""What the project's DAGs share, defined once: their Assets, task defaults, start date and the wait
for a late delivery. Read from the environment when a DAG file is parsed; nothing here touches the
warehouse or the landing folder.

- ``BANK_START_DATE`` (YYYY-MM-DD, default 2026-07-01, the demo bank's first day): the first business
  date the DAGs run for. Set it to the bank's first delivery; ``python -m warehouse run`` does.
- ``BANK_DELIVERY_WAIT_HOURS`` (default 6): how long ``bank_extract_load`` waits for the day's delivery.
- ``BANK_TASK_RETRIES`` / ``BANK_TASK_RETRY_DELAY_MINUTES`` (default 2, 5 minutes apart).
"""

from __future__ import annotations

import datetime as dt
import os

import pendulum
from airflow.sdk import Asset

# bank_extract_load -> RAW_DELIVERIES -> bank_customer_value -> CUSTOMER_VALUE_MARTS -> bank_customer_segments
# -> CUSTOMER_SEGMENTS; bank_customer_value -> CHURN_RISK; both -> bank_rm_reports -> RM_REPORTS
RAW_DELIVERIES = Asset("warehouse://raw/bank_deliveries")
CUSTOMER_VALUE_MARTS = Asset("warehouse://marts/customer_value")
CHURN_RISK = Asset("warehouse://marts/customer_retention")
CUSTOMER_SEGMENTS = Asset("warehouse://marts/customer_segments")
RM_REPORTS = Asset("file://reports/rm")
# the order a whole nightly run takes when the DAGs are run one after another (airflow dags test)
PIPELINE_DAGS = ("bank_extract_load", "bank_customer_value", "bank_customer_segments", "bank_rm_reports")
# bank_data_tests, every data test on every row (a night tests the rows it wrote): Sundays at 06:00 UTC,
# after the night's run
WEEKLY_DATA_TESTS = "0 6 * * 0"

DEFAULT_START_DATE = "2026-07-01"


def start_date(env: dict[str, str] | None = None) -> pendulum.DateTime:
    env = os.environ if env is None else env
    text = env.get("BANK_START_DATE", DEFAULT_START_DATE)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"BANK_START_DATE={text!r} is not a date: set it to the first business date delivered, "
                         "YYYY-MM-DD") from None
    return pendulum.datetime(day.year, day.month, day.day, tz="UTC")


def delivery_wait(env: dict[str, str] | None = None) -> dt.timedelta:
    env = os.environ if env is None else env
    return dt.timedelta(hours=float(env.get("BANK_DELIVERY_WAIT_HOURS", "6")))


def task_defaults(env: dict[str, str] | None = None) -> dict:
    """Airflow ``default_args`` for every task of the project's DAGs.

    Retries default to 2, five minutes apart. The in-process demo and tests set
    ``BANK_TASK_RETRIES=0`` so that a failure surfaces at once instead of after the retry delay.
    """
    env = os.environ if env is None else env
    return {
        "owner": "data-engineering",
        "retries": int(env.get("BANK_TASK_RETRIES", "2")),
        "retry_delay": dt.timedelta(minutes=float(env.get("BANK_TASK_RETRY_DELAY_MINUTES", "5"))),
    }
