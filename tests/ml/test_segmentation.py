import numpy as np
import pandas as pd
import pytest

from ml.segmentation import FEATURES, LOW_ACTIVITY_NAME, build_pipeline, name_segments, segment_customers


def _customers(seed=0, n=300):
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 3, size=n)
    frame = pd.DataFrame({
        "daily_average_deposit_balance_cny": np.where(groups == 0, 500_000, 5_000) * rng.lognormal(0, 0.2, n),
        "daily_average_wealth_balance_cny": np.where(groups == 0, 200_000, 0.0),
        "daily_average_loan_balance_cny": np.where(groups == 1, 300_000, 0.0) * rng.lognormal(0, 0.2, n),
        "transaction_count": np.where(groups == 2, 60, 5) + rng.integers(0, 3, n),
        "digital_transaction_share": np.where(groups == 2, 0.9, 0.3),
        "accounts_held": np.where(groups == 0, 3, 1),
        "current_value_cny": np.where(groups == 0, 3000, -50) + rng.normal(0, 10, n),
    })
    return frame, groups


def test_pipeline_is_deterministic_and_finds_planted_groups():
    frame, groups = _customers()
    first = build_pipeline(3, random_state=42).fit_predict(frame[list(FEATURES)].to_numpy())
    second = build_pipeline(3, random_state=42).fit_predict(frame[list(FEATURES)].to_numpy())
    assert (first == second).all()
    # each planted group lands in exactly one cluster
    for g in range(3):
        assert len(set(first[groups == g])) == 1


def test_segment_names_come_from_centroids_and_are_unique():
    centroids = np.zeros((4, len(FEATURES))) - 1
    centroids[0, FEATURES.index("daily_average_loan_balance_cny")] = 2.0
    centroids[1, FEATURES.index("daily_average_loan_balance_cny")] = 1.5
    centroids[2, FEATURES.index("transaction_count")] = 1.0
    names = name_segments(centroids)
    assert names == {0: "borrowers", 1: "borrowers (2)", 2: "busy transactors", 3: LOW_ACTIVITY_NAME}


def test_a_run_is_written_to_ml_in_one_transaction(conn):
    frame, _ = _customers(n=120)
    with conn.cursor() as cur:
        cur.execute("create schema marts")
        cur.execute("""create table marts.customer_value_monthly (customer_id text, month_start_date date,
            is_complete_month boolean, daily_average_deposit_balance_cny numeric, daily_average_wealth_balance_cny
            numeric, daily_average_loan_balance_cny numeric, transaction_count int, digital_transaction_count int,
            accounts_held int, current_value_cny numeric)""")
        for i, row in frame.iterrows():
            values = (f"C{i:04d}", float(row.iloc[0]), float(row.iloc[1]), float(row.iloc[2]), int(row.iloc[3]),
                      int(row.iloc[3] * row.iloc[4]), int(row.iloc[5]), float(row.iloc[6]))
            cur.execute("insert into marts.customer_value_monthly values "
                        "(%s, '2026-09-01', true, %s, %s, %s, %s, %s, %s, %s)", values)
    result = segment_customers(conn, clusters=3)
    conn.commit()
    assert result.customers == 120 and result.silhouette > 0.5
    with conn.cursor() as cur:
        cur.execute("select count(*), count(distinct segment_id), sum(is_outlier::int) from ml.customer_segments")
        rows, segments, outliers = cur.fetchone()
        assert (rows, segments) == (120, 3) and 0 < outliers <= 2
        cur.execute("select library_versions ? 'scikit-learn', month_start_date from ml.segmentation_runs")
        assert cur.fetchone()[0] is True


def test_an_empty_month_fails_with_a_message(conn):
    with conn.cursor() as cur:
        cur.execute("create schema marts")
        cur.execute("create table marts.customer_value_monthly (customer_id text, month_start_date date, "
                    "is_complete_month boolean)")
    with pytest.raises(RuntimeError, match="empty: run the extract-load DAG"):
        segment_customers(conn)
