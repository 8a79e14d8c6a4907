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

Segments, for each month segmented: the adjusted Rand index of the segments against the hidden
archetypes, the contingency table (archetype x segment) of the latest month, and for each pair of
consecutive months the share of the simulator's ``steady`` customers (no planted life event) who
keep their segment id. Beside the baseline: the segmentation this product shipped before
(``BASELINE_SEGMENTS`` clusters of standardised raw features, a fresh fit each month).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ml.retention import SIGNALS, ranking_metrics
from warehouse.db import read_frame

log = logging.getLogger(__name__)

WORKING_LIST = 20
AIM_LIFT, AIM_AUC = 6.0, 0.85
AIM_ARI, AIM_KEPT = 0.8, 0.95
BASELINE_SEGMENTS = 6


def read_truth(path: Path) -> pd.DataFrame:
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"customer_id", "archetype", "life_event", "event_date", "churn_date"} - set(truth.columns)
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
    frame = read_frame(conn, query, None, {"customer_id": str, "month_start_date": "datetime64[ns]",
                                           "month_end_date": "datetime64[ns]", "rm_id": str, "churn_model_kind": str,
                                           "churn_risk_score": "float64", "rule_score": "float64"})
    if frame.empty:
        raise RuntimeError("marts.customer_retention_monthly has no churn scores: run the customer-value DAG first")
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


def _baseline_labels(conn, month: dt.date) -> pd.Series:
    """The earlier product's segmentation of the month: standardised raw features, k-means, k = 6."""
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    from ml.segmentation import FEATURES, read_features

    features = read_features(conn, month)
    scaled = StandardScaler().fit_transform(features[list(FEATURES)].to_numpy())
    labels = KMeans(n_clusters=BASELINE_SEGMENTS, n_init=10, random_state=42).fit_predict(scaled)
    return pd.Series(labels, index=features["customer_id"])


def segmentation_quality(conn, truth_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per month: ARI against the archetypes (segments and baseline); per month pair: steady customers
    keeping their segment id (segments and baseline); the latest month's archetype x segment table."""
    from sklearn.metrics import adjusted_rand_score

    truth = read_truth(truth_path)
    segments = read_frame(conn, """select month_start_date, customer_id, segment_id, segment_name
                                   from marts.customer_segments_monthly order by 1, 2""", None,
                          {"month_start_date": "datetime64[ns]", "customer_id": str, "segment_id": "int64",
                           "segment_name": str})
    if segments.empty:
        raise RuntimeError("marts.customer_segments_monthly is empty: run the bank_customer_segments DAG first")
    months, per_month, labels = sorted(segments["month_start_date"].unique()), [], {}
    for month in months:
        group = segments[segments["month_start_date"] == month].set_index("customer_id")
        baseline = _baseline_labels(conn, month.date()).reindex(group.index)
        archetypes = truth["archetype"].reindex(group.index)
        labels[month] = (group["segment_id"], baseline)
        per_month.append({"month": f"{month:%Y-%m}", "customers": len(group), "segments": group["segment_id"].nunique(),
                          "ari": adjusted_rand_score(archetypes, group["segment_id"]),
                          "baseline_ari": adjusted_rand_score(archetypes, baseline)})
    steady = set(truth.index[truth["life_event"] == "steady"])
    pairs = []
    for before, after in zip(months, months[1:], strict=False):
        (seg_before, base_before), (seg_after, base_after) = labels[before], labels[after]
        both = sorted(steady & set(seg_before.index) & set(seg_after.index))
        pairs.append({"pair": f"{before:%Y-%m} → {after:%Y-%m}", "steady_customers": len(both),
                      "kept": float((seg_before[both] == seg_after[both]).mean()) if both else float("nan"),
                      "baseline_kept": float((base_before[both] == base_after[both]).mean()) if both
                      else float("nan")})
    latest = segments[segments["month_start_date"] == months[-1]]
    table = pd.crosstab(truth["archetype"].reindex(latest["customer_id"]).to_numpy(),
                        (latest["segment_id"].astype(str) + " " + latest["segment_name"]).to_numpy(),
                        rownames=["archetype"], colnames=["segment"])
    return pd.DataFrame(per_month), pd.DataFrame(pairs), table


def segmentation_section(per_month: pd.DataFrame, pairs: pd.DataFrame, table: pd.DataFrame) -> str:
    lines = [
        "## Segments (ml/segmentation.py)",
        "",
        "Adjusted Rand index of each month's segments against the simulator's hidden archetypes (1 = the same "
        "partition, 0 = chance). Baseline: the segmentation shipped before, "
        f"k-means with k = {BASELINE_SEGMENTS} on standardised raw features, measured the same way. "
        f"Aim: ARI ≥ {AIM_ARI:g}.",
        "",
        "| month | customers | segments | ARI | baseline ARI | aim met |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in per_month.itertuples():
        lines.append(f"| {row.month} | {row.customers:,} | {row.segments} | {row.ari:.3f} | {row.baseline_ari:.3f} | "
                     f"{'yes' if row.ari >= AIM_ARI else 'no'} |")
    lines += ["", "Steady customers (no planted life event, in both months) who keep their segment id from one "
              f"month to the next. Aim: ≥ {AIM_KEPT:.0%}. The baseline fits afresh each month, so its ids are "
              "arbitrary labels.", "",
              "| months | steady customers | kept their segment id | baseline | aim met |",
              "| --- | ---: | ---: | ---: | --- |"]
    for row in pairs.itertuples():
        lines.append(f"| {row.pair} | {row.steady_customers:,} | {_fmt(row.kept * 100, 1)}% | "
                     f"{_fmt(row.baseline_kept * 100, 1)}% | {'yes' if row.kept >= AIM_KEPT else 'no'} |")
    lines += ["", f"Archetype × segment, {per_month['month'].iloc[-1]} (customers):", "",
              "| archetype | " + " | ".join(table.columns) + " |",
              "| --- |" + " ---: |" * len(table.columns)]
    for archetype, row in table.iterrows():
        lines.append(f"| {archetype} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_model_quality(conn, truth_path: Path, output: Path, *, source: str = "") -> Path:
    """Measure the models against ``truth_path`` and write the report to ``output``."""
    table = churn_quality(conn, truth_path)
    segments = segmentation_section(*segmentation_quality(conn, truth_path))
    header = ["# Model quality", "",
              f"Written by `python -m warehouse model-quality` on {dt.date.today():%Y-%m-%d}"
              + (f" from {source}" if source else "") + ". The simulator's ground truth measures the outcome "
              "here only; no model reads it.", ""]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(header) + "\n" + churn_section(table) + "\n" + segments, encoding="utf-8")
    log.info("model quality of %d month ends written to %s", len(table), output)
    return output
