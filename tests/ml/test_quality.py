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
