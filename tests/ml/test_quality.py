"""The model-quality report (ml.quality): its measures by hand, and a clear error on a wrong file."""

from __future__ import annotations

import pandas as pd
import pytest

from ml import quality


def test_working_list_precision_by_hand(monkeypatch):
    monkeypatch.setattr(quality, "WORKING_LIST", 2)
    frame = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D", "E", "F"],
        "rm_id": ["R1", "R1", "R1", "R2", "R2", "R2"],
        "score": [0.9, 0.8, 0.1, 0.7, 0.6, 0.5],
        "closes_next_month": [1, 0, 1, 1, 1, 0],
    })
    # R1's two riskiest: A (closes), B (stays) = 1/2; R2's: D, E both close = 2/2; mean 0.75
    assert quality._working_list_precision(frame, "score") == pytest.approx(0.75)


def test_the_table_says_whether_the_aim_is_met():
    row = {"month": "2026-08", "model_kind": "logistic", "customers": 1894, "closures_next_month": 36,
           "closures_signalled_by_month_end": 29, "model_auc": 0.875, "model_top_decile_lift": 7.2,
           "model_working_list_precision": 0.085, "rule_auc": 0.819, "rule_top_decile_lift": 5.8,
           "rule_working_list_precision": 0.074, "ceiling_auc": 0.903, "ceiling_top_decile_lift": 8.1}
    weak = {**row, "month": "2026-07", "model_auc": 0.688, "model_top_decile_lift": 4.8}
    text = quality.churn_section(pd.DataFrame([row, weak]))
    lines = [line for line in text.splitlines() if line.startswith("| 2026-")]
    assert lines[0].endswith("| yes |") and "| 0.875 | 7.2 |" in lines[0]
    assert lines[1].endswith("| no |")


def test_a_file_that_is_not_the_ground_truth_is_refused(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name\nC1,x\n")
    with pytest.raises(ValueError, match="not a simulator ground-truth file"):
        quality.read_truth(path)


def test_segment_quality_by_hand(conn, tmp_path):
    """Twelve customers of two archetypes, segmented in July and August: the segments match the
    archetypes (ARI 1) in July; in August customer C05 (steady) moves, so 5 of the 6 steady customers
    keep their id (83.3%) and August's ARI is that of one customer misplaced."""
    from sklearn.metrics import adjusted_rand_score

    archetypes = ["saver"] * 6 + ["borrower"] * 6
    july = [1] * 6 + [2] * 6
    august = [1] * 5 + [2] + [2] * 6
    truth = tmp_path / "customer_truth.csv"
    truth.write_text("customer_id,archetype,life_event,event_date,churn_date\n" + "".join(
        f"C{i:02d},{a},{'steady' if i % 2 else 'growth'},,\n" for i, a in enumerate(archetypes)))
    with conn.cursor() as cur:
        cur.execute("create schema marts")
        cur.execute("""create table marts.customer_segments_monthly (month_start_date date, customer_id text,
                       segment_id int, segment_name text)""")
        cur.execute("""create table marts.customer_value_monthly (customer_id text, month_start_date date,
            is_closed_in_month boolean, daily_average_deposit_balance_cny numeric,
            daily_average_wealth_balance_cny numeric, daily_average_loan_balance_cny numeric, transaction_count int,
            digital_transaction_count int, accounts_held int, current_value_cny numeric)""")
        for month, labels in (("2026-07-01", july), ("2026-08-01", august)):
            for i, label in enumerate(labels):
                cur.execute("insert into marts.customer_segments_monthly values (%s, %s, %s, %s)",
                            (month, f"C{i:02d}", label, "savers" if label == 1 else "borrowers"))
                cur.execute("insert into marts.customer_value_monthly values (%s, %s, false, %s, 0, %s, %s, 0, 1, 0)",
                            (f"C{i:02d}", month, 1000 * (i + 1), 5000 * (i >= 6), i))
    per_month, pairs, table = quality.segmentation_quality(conn, truth)
    assert per_month["ari"].tolist() == pytest.approx([1.0, adjusted_rand_score(archetypes, august)])
    assert pairs["steady_customers"].tolist() == [6]
    assert pairs["kept"].tolist() == pytest.approx([5 / 6])
    assert table.loc["saver", "1 savers"] == 5 and table.loc["saver", "2 borrowers"] == 1
    text = quality.segmentation_section(per_month, pairs, table)
    assert "| 2026-07 | 12 | 2 | 1.000 |" in text and "| 83.3% |" in text
