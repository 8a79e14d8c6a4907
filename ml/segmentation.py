"""K-Means customer segmentation: features from the value mart, labels written back to ``ml``.

One scikit-learn ``Pipeline`` (signed-log transform -> standard scaling -> K-Means with an integer
``random_state``). Each run writes, in one transaction, a run record (parameters, scores, library
versions, the month the features describe), one row per customer (segment, distance to its
centroid, outlier flag) and one row per segment (a name read off its centroid). dbt reads them
as the ``ml`` source.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from warehouse.schema import ensure_schema

log = logging.getLogger(__name__)

FEATURES = (
    "daily_average_deposit_balance_cny",
    "daily_average_wealth_balance_cny",
    "daily_average_loan_balance_cny",
    "transaction_count",
    "digital_transaction_share",
    "accounts_held",
    "current_value_cny",
)
# How a segment is named from the feature its centroid stands highest on (in scaled units).
FEATURE_SEGMENT_NAMES = {
    "daily_average_deposit_balance_cny": "high-balance savers",
    "daily_average_wealth_balance_cny": "wealth investors",
    "daily_average_loan_balance_cny": "borrowers",
    "transaction_count": "busy transactors",
    "digital_transaction_share": "digital-first",
    "accounts_held": "multi-product",
    "current_value_cny": "high value",
}
LOW_ACTIVITY_NAME = "low activity"
OUTLIER_PERCENTILE = 99.0

@dataclass(frozen=True)
class SegmentationResult:
    run_id: str
    month_start_date: dt.date
    customers: int
    clusters: int
    inertia: float
    silhouette: float | None
    segment_names: dict[int, str]


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def build_pipeline(clusters: int, random_state: int) -> Pipeline:
    return Pipeline([
        ("log", FunctionTransformer(_signed_log)),
        ("scale", StandardScaler()),
        ("kmeans", KMeans(n_clusters=clusters, random_state=random_state, n_init=10)),
    ])


def latest_month(conn) -> dt.date:
    """The latest complete month in the value mart, or the latest month if none is complete."""
    with conn.cursor() as cur:
        cur.execute("""select coalesce(max(month_start_date) filter (where is_complete_month), max(month_start_date))
                       from marts.customer_value_monthly""")
        month = cur.fetchone()[0]
    if month is None:
        raise RuntimeError("marts.customer_value_monthly is empty: run the extract-load DAG and dbt build first")
    return month


def read_features(conn, month: dt.date) -> pd.DataFrame:
    """Features of every customer active in ``month``, read with a server-side cursor."""
    query = """select customer_id, daily_average_deposit_balance_cny, daily_average_wealth_balance_cny,
                      daily_average_loan_balance_cny, transaction_count,
                      case when transaction_count > 0
                           then digital_transaction_count::float / transaction_count else 0 end
                           as digital_transaction_share,
                      accounts_held, current_value_cny
               from marts.customer_value_monthly where month_start_date = %s order by customer_id"""
    frames = []
    with conn.cursor(name="segmentation_features") as cur:
        cur.itersize = 50_000
        cur.execute(query, (month,))
        while rows := cur.fetchmany(50_000):
            frames.append(pd.DataFrame(rows, columns=["customer_id", *FEATURES]))
    if not frames:
        raise RuntimeError(f"no customers in marts.customer_value_monthly for {month}")
    features = pd.concat(frames, ignore_index=True)
    features[list(FEATURES)] = features[list(FEATURES)].astype(float)
    return features


def name_segments(centroids_scaled: np.ndarray) -> dict[int, str]:
    """Name each segment after the feature its centroid stands highest on; unique names."""
    names: dict[int, str] = {}
    used: dict[str, int] = {}
    for segment, centroid in enumerate(centroids_scaled):
        top = int(np.argmax(centroid))
        name = LOW_ACTIVITY_NAME if centroid[top] < 0.25 else FEATURE_SEGMENT_NAMES[FEATURES[top]]
        used[name] = used.get(name, 0) + 1
        names[segment] = name if used[name] == 1 else f"{name} ({used[name]})"
    return names


def segment_customers(conn, *, month: dt.date | None = None, clusters: int = 6,
                      random_state: int = 42) -> SegmentationResult:
    """Fit the pipeline on one month's features and write the run to ``ml`` (caller commits)."""
    month = month or latest_month(conn)
    features = read_features(conn, month)
    clusters = min(clusters, len(features))
    log.info("segmenting %d customers of %s into %d clusters", len(features), month, clusters)
    pipeline = build_pipeline(clusters, random_state)
    matrix = features[list(FEATURES)].to_numpy()
    labels = pipeline.fit_predict(matrix)
    kmeans: KMeans = pipeline.named_steps["kmeans"]
    scaled = pipeline[:-1].transform(matrix)
    distances = np.linalg.norm(scaled - kmeans.cluster_centers_[labels], axis=1)
    threshold = float(np.percentile(distances, OUTLIER_PERCENTILE))
    silhouette = None
    if 1 < clusters < len(features):
        silhouette = float(silhouette_score(scaled, labels, sample_size=min(len(features), 5000),
                                            random_state=random_state))
    names = name_segments(kmeans.cluster_centers_)
    run_id = f"{month:%Y-%m}-{uuid.uuid4().hex[:12]}"
    versions = {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__}

    ensure_schema(conn)
    with conn.cursor() as cur:
        cur.execute(
            """insert into ml.segmentation_runs (run_id, created_at, month_start_date, customers, clusters,
                   random_state, inertia, silhouette, features, library_versions)
               values (%s, now(), %s, %s, %s, %s, %s, %s, %s, %s)""",
            (run_id, month, len(features), clusters, random_state, float(kmeans.inertia_), silhouette,
             json.dumps(list(FEATURES)), json.dumps(versions)))
        buffer = io.StringIO()
        for customer_id, label, distance in zip(features["customer_id"], labels, distances, strict=True):
            buffer.write(f"{run_id}\t{customer_id}\t{int(label)}\t{distance:.6f}\t{distance > threshold}\n")
        buffer.seek(0)
        cur.copy_expert("copy ml.customer_segments (run_id, customer_id, segment_id, distance_to_centroid, "
                        "is_outlier) from stdin", buffer)
        counts = np.bincount(labels, minlength=clusters)
        for segment, name in names.items():
            centroid = dict(zip(FEATURES, (round(float(v), 4) for v in kmeans.cluster_centers_[segment]),
                                strict=True))
            cur.execute("insert into ml.segment_profiles values (%s, %s, %s, %s, %s)",
                        (run_id, segment, name, int(counts[segment]), json.dumps(centroid)))
    log.info("run %s: inertia %.1f, silhouette %s, segments %s", run_id, kmeans.inertia_,
             f"{silhouette:.3f}" if silhouette is not None else "n/a",
             ", ".join(f"{names[s]} ({counts[s]})" for s in range(clusters)))
    return SegmentationResult(run_id, month, len(features), clusters, float(kmeans.inertia_), silhouette, names)
