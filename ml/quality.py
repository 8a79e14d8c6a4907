"""Honest evaluation of the models against the simulator's hidden ground truth (docs/model-quality.md).

The ground truth (``customer_truth.csv``: archetype, planted life event and its date, churn date)
is read here and nowhere else: it measures the outcome and is never a feature, a label or a
criterion for choosing a model. Every figure is reported beside a trivial rule measured the same
way, good or bad.

Churn risk, for each month end the warehouse scored: customers live at the month's end, positives
are those the simulator closes in the following month. AUC, top-decile lift and the precision of
each RM's working list (their ``WORKING_LIST`` riskiest customers, averaged over RMs), for the
model's score and for the rule "month-end balance far below the month's average" (1 - month-end
assets / daily-average assets).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ml.retention import SIGNALS, ranking_metrics

log = logging.getLogger(__name__)

WORKING_LIST = 20
AIM_LIFT, AIM_AUC = 6.0, 0.85


def read_truth(path: Path) -> pd.DataFrame:
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"customer_id", "life_event", "event_date", "churn_date"} - set(truth.columns)
    if missing:
        raise ValueError(f"{path}: not a simulator ground-truth file (no column {', '.join(sorted(missing))}); "
                         "pass the ground_truth/customer_truth.csv the simulator wrote beside the landing folder")
    for column in ("event_date", "churn_date"):
        truth[column] = pd.to_datetime(truth[column].replace("", None))
    return truth.set_index("customer_id")


def _working_list_precision(frame: pd.DataFrame, score: str) -> float:
    tops = frame.sort_values([score, "customer_id"], ascending=[False, True]).groupby("rm_id").head(WORKING_LIST)
    return float(tops.groupby("rm_id")["closes_next_month"].mean().mean())


def churn_quality(conn, truth_path: Path) -> pd.DataFrame:
    """One row per scored month end: the model and the rule, measured on next month's closures."""
    truth = read_truth(truth_path)
    query = f"""select retention.customer_id, retention.month_start_date, retention.month_end_date,
                       retention.rm_id, retention.churn_model_kind, retention.churn_risk_score,
                       case when signals.assets_under_management_cny > 0
                            then 1 - signals.month_end_assets_cny / signals.assets_under_management_cny
                            else 0 end as rule_score
                from marts.customer_retention_monthly as retention
                inner join {SIGNALS} as signals using (customer_id, month_start_date)
                where retention.churn_risk_score is not null"""
    frame = pd.read_sql_query(query, conn)
    if frame.empty:
        raise RuntimeError("marts.customer_retention_monthly has no churn scores: run the customer-value DAG first")
    frame["month_end_date"] = pd.to_datetime(frame["month_end_date"])
    frame[["churn_risk_score", "rule_score"]] = frame[["churn_risk_score", "rule_score"]].astype(float)
    churn = truth["churn_date"].reindex(frame["customer_id"]).to_numpy()
    event = truth["event_date"].reindex(frame["customer_id"]).to_numpy()
    life_event = truth["life_event"].reindex(frame["customer_id"]).to_numpy()
    next_end = (frame["month_end_date"] + pd.offsets.MonthEnd(1)).to_numpy()
    frame["closes_next_month"] = ((churn > frame["month_end_date"].to_numpy()) & (churn <= next_end)).astype(int)
    frame["signalled"] = frame["closes_next_month"].astype(bool) & (life_event == "churn") & (
        event <= frame["month_end_date"].to_numpy())
    rows = []
    for month, group in frame.groupby("month_start_date"):
        labels = group["closes_next_month"].to_numpy()
        model = ranking_metrics(labels, group["churn_risk_score"].to_numpy())
        rule = ranking_metrics(labels, group["rule_score"].to_numpy())
        ceiling = ranking_metrics(labels, group["signalled"].to_numpy(float))
        rows.append({
            "month": f"{month:%Y-%m}", "model_kind": ", ".join(sorted(group["churn_model_kind"].unique())),
            "customers": len(group), "closures_next_month": int(labels.sum()),
            "closures_signalled_by_month_end": int(group["signalled"].sum()),
            "model_auc": model["auc"], "model_top_decile_lift": model["top_decile_lift"],
            "model_working_list_precision": _working_list_precision(group, "churn_risk_score"),
            "rule_auc": rule["auc"], "rule_top_decile_lift": rule["top_decile_lift"],
            "rule_working_list_precision": _working_list_precision(group, "rule_score"),
            "ceiling_auc": ceiling["auc"], "ceiling_top_decile_lift": ceiling["top_decile_lift"],
        })
    return pd.DataFrame(rows)


def _fmt(value, digits: int = 2) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def churn_section(table: pd.DataFrame) -> str:
    lines = [
        "## Churn risk (ml/retention.py)",
        "",
        "Per month end: customers live at the month's end; positives are those the simulator closes in the "
        "next month. *Signalled* counts the positives whose planted decline had begun by the month end — the "
        "rest give no sign in any delivered file before that date, which bounds what any score can reach: "
        "the *ceiling* is an oracle that ranks exactly the signalled positives first. "
        f"Working list: each RM's {WORKING_LIST} riskiest customers, precision averaged over RMs. Rule: "
        "month-end balance far below the month's average (1 − month-end assets / daily-average assets). "
        f"Aim: lift ≥ {AIM_LIFT:g} and AUC ≥ {AIM_AUC:g} every month, beating the rule.",
        "",
        "| month end | model | customers | closures next month | signalled | AUC | top-decile lift | "
        "working-list precision | rule AUC | rule lift | rule precision | ceiling AUC | ceiling lift | aim met |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in table.itertuples():
        met = (row.model_auc is not None and row.model_top_decile_lift is not None
               and row.model_auc >= AIM_AUC and row.model_top_decile_lift >= AIM_LIFT
               and row.model_auc > (row.rule_auc or 0))
        lines.append(
            f"| {row.month} | {row.model_kind} | {row.customers:,} | {row.closures_next_month} | "
            f"{row.closures_signalled_by_month_end} | {_fmt(row.model_auc, 3)} | "
            f"{_fmt(row.model_top_decile_lift, 1)} | "
            f"{_fmt(row.model_working_list_precision, 3)} | {_fmt(row.rule_auc, 3)} | "
            f"{_fmt(row.rule_top_decile_lift, 1)} | {_fmt(row.rule_working_list_precision, 3)} | "
            f"{_fmt(row.ceiling_auc, 3)} | {_fmt(row.ceiling_top_decile_lift, 1)} | "
            f"{'yes' if met else 'no'} |")
    lines += ["", "A month whose ceiling is below the aim cannot meet it with any score built from the deliveries: "
              "its positives' decline starts after the month end. The first month end has no labelled month "
              "before it and is scored by the documented prior (docs/retention-model.md)."]
    return "\n".join(lines) + "\n"


def write_model_quality(conn, truth_path: Path, output: Path, *, source: str = "") -> Path:
    """Measure the models against ``truth_path`` and write the report to ``output``."""
    table = churn_quality(conn, truth_path)
    header = ["# Model quality", "",
              f"Written by `python -m warehouse model-quality` on {dt.date.today():%Y-%m-%d}"
              + (f" from {source}" if source else "") + ". The simulator's ground truth measures the outcome "
              "here only; no model reads it.", ""]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(header) + "\n" + churn_section(table), encoding="utf-8")
    log.info("model quality of %d month ends written to %s", len(table), output)
    return output
