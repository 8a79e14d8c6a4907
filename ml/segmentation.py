"""K-Means customer segmentation, one run per complete month, with segment ids kept month to month.

The steps, each a function (``segment_month`` runs them in order, ``segment_new_months`` for every
complete month not segmented yet):

1. ``read_features``: the seven behavioural features of every customer valued in the month and not
   closed in it (``marts.customer_value_monthly``). The months: every complete month not segmented
   yet (``months_to_segment``; before any month is complete, the latest month, provisionally).
2. ``choose_model``: the preprocessing and the number of segments, chosen by the data alone over
   ``PREPROCESSINGS`` x ``SEGMENT_COUNTS``: split-half stability (the adjusted Rand index between
   K-Means fitted on two disjoint halves of a sample, both predicting the whole sample, averaged over
   ``STABILITY_RESAMPLES`` splits; each half holds at most ``STABILITY_HALF`` customers, because the
   agreement of two fits grows with the customers they see, and a criterion that did would pick finer
   partitions the larger the bank; each half fitted with as many starts as the fit itself, so that the
   score says whether the data's partition reproduces, not whether a few random starts happen to find
   it), the silhouette and the smallest segment's share. The rule: among candidates whose smallest
   segment holds at least ``MIN_SEGMENT_SHARE`` of the customers, per preprocessing the largest k
   whose stability is at least ``STABILITY_MIN`` by more than its standard error over the resamples
   (the finest partition that reproduces beyond doubt: a k that grazes the line reproduces under some
   seeds and not others); across preprocessings, the pick whose candidates from the smallest k up to
   it are the more stable on average (the space that reproduces on the way, not by chance at one k).
   Last month's shape and scaling are kept while they still reproduce (stability >= ``KEEP_MIN``), so
   a segmentation changes shape only when the data says so. Every candidate's scores go into the run
   record. No ground truth is read here.
3. ``fit``: K-Means (scikit-learn's Lloyd, at every size: on these seven features it is faster than
   ``MiniBatchKMeans`` even at a million customers, docs/segmentation.md). When the shape is
   unchanged it starts from last month's centroids (one run, a few iterations: the monthly job costs
   about what a single k-means of the month costs); a fresh fit of a sample guards it, and replaces
   it when its centroids do more than ``WARM_START_TOLERANCE`` better on every customer. Distances
   come from ``pipeline.transform``.
4. ``match_segments``: the Hungarian assignment (scipy ``linear_sum_assignment``) of this month's
   centroids to last month's, in this month's scaled space. A pair further apart than
   ``MATCH_MAX_DISTANCE`` x the median distance between this month's centroids is no match: the
   segment gets a new id; last month's segments left unmatched are retired. Both are logged and kept.
   When last month's shape was kept, ``smooth_centroids`` then moves each matched centroid only part of
   the way to this month's (the largest weight under which ``ID_KEPT_MIN`` of the customers whose own
   features barely changed keep their id), so a segment's boundary does not drift under customers who
   did not change.
5. ``describe_segments``: names and one-line profiles in English and Chinese, read off the members'
   medians against all customers' (``NAMES``); outliers beyond each segment's far fence
   (Q3 + ``OUTLIER_FENCE`` x IQR of its members' distances).
6. ``write_run``: the run record, one row per customer and one per segment, replacing any earlier
   run of the month, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sklearn
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    pairwise_distances_argmin,
    pairwise_distances_argmin_min,
    silhouette_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, RobustScaler, StandardScaler
from threadpoolctl import threadpool_limits

from warehouse.db import read_frame, write_frame
from warehouse.progress import Progress
from warehouse.schema import require_schema

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
# Amounts and counts are heavy-tailed and mostly zero: they are clustered on a signed log scale.
LOG_FEATURES = (0, 1, 2, 3, 6)
PREPROCESSINGS = ("signed_log_robust", "signed_log_standard")
SEGMENT_COUNTS = range(4, 11)
STABILITY_MIN = 0.9
KEEP_MIN = 0.8
STABILITY_RESAMPLES = 20
# The keep check asks only whether last month's shape still reproduces (KEEP_MIN), not how well: it stops
# once at least KEEP_RESAMPLES_MIN splits put the mean stability KEEP_SETTLED standard errors above
# KEEP_MIN (a month that reproduces at 0.95 to 0.99 settles in five; a doubtful one runs all twenty).
KEEP_RESAMPLES_MIN = 5
KEEP_SETTLED = 3.0
STABILITY_HALF = 1_000
SELECTION_SAMPLE = 20_000
# The silhouette (a score in the run record, not a criterion of the choice) on a sample: its cost is the
# square of the sample; on 2,000 customers its standard error is about 0.005.
SILHOUETTE_SAMPLE = 2_000
MIN_SEGMENT_SHARE = 0.01  # a segment of a handful of unusual customers is outliers, not a customer type
WARM_START_TOLERANCE = 0.01
# The unchanged customers on whom the smoothing weights are tried: a sample estimates each weight's kept
# share to within about 0.1% (its standard error at 0.95), at a tenth of the cost at a million customers.
SMOOTHING_SAMPLE = 100_000
MATCH_MAX_DISTANCE = 0.5
# When last month's shape is kept, each matched centroid moves only part of the way to this month's
# k-means centroid: the largest weight in SMOOTHING_WEIGHTS under which at least ID_KEPT_MIN of the
# unchanged customers (features moved less than UNCHANGED_MOVE x the median centroid spacing) keep
# their segment id. Chosen on the warehouse's own data, never on any ground truth.
SMOOTHING_WEIGHTS = (1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.0)
ID_KEPT_MIN = 0.95
UNCHANGED_MOVE = 0.1
# A customer of last month stays in last month's segment (where it still exists) while its centroid
# is at most STICKY_MARGIN farther than the nearest one: a customer on the border between two
# segments does not flip back and forth with the noise of a month; one whose behaviour moved them
# well into another segment moves.
STICKY_MARGIN = 0.2
OUTLIER_FENCE = 3.0

# A segment is named after the features on which its members' median stands out from all customers':
# the median's percentile among all customers, high (>= HIGH) or low (<= LOW). English, Chinese.
HIGH, LOW = 0.75, 0.25
NAMES = {
    ("daily_average_deposit_balance_cny", "high"): ("high-balance savers", "高存款客户"),
    ("daily_average_wealth_balance_cny", "high"): ("wealth investors", "理财客户"),
    ("daily_average_loan_balance_cny", "high"): ("borrowers", "贷款客户"),
    ("transaction_count", "high"): ("busy transactors", "高频交易客户"),
    ("digital_transaction_share", "high"): ("digital-first", "数字渠道优先"),
    ("accounts_held", "high"): ("multi-product", "多产品客户"),
    ("current_value_cny", "high"): ("high value", "高价值客户"),
    ("daily_average_deposit_balance_cny", "low"): ("small balances", "小额存款"),
    ("transaction_count", "low"): ("low activity", "低活跃"),
    ("digital_transaction_share", "low"): ("branch and ATM", "网点及自助渠道"),
    ("current_value_cny", "low"): ("low value", "低价值"),
}
EVERYDAY_NAME = ("everyday banking", "日常银行客户")  # nothing stands out
# Told apart, when two segments stand out on the same features, by the one where they differ most.
RELATIVE = {
    "daily_average_deposit_balance_cny": (("more deposits", "存款较多"), ("fewer deposits", "存款较少")),
    "daily_average_wealth_balance_cny": (("more wealth", "理财较多"), ("less wealth", "理财较少")),
    "daily_average_loan_balance_cny": (("more borrowing", "贷款较多"), ("less borrowing", "贷款较少")),
    "transaction_count": (("more active", "交易较多"), ("less active", "交易较少")),
    "digital_transaction_share": (("more digital", "数字渠道较多"), ("less digital", "数字渠道较少")),
    "accounts_held": (("more products", "产品较多"), ("fewer products", "产品较少")),
    "current_value_cny": (("more value", "价值较高"), ("less value", "价值较低")),
}


@dataclass(frozen=True)
class Candidate:
    preprocessing: str
    clusters: int
    stability: float
    silhouette: float | None
    smallest_share: float = 1.0
    stability_error: float = 0.0  # the standard error of the stability's mean over the resamples
    resamples: int = STABILITY_RESAMPLES  # the splits scored (the keep check stops once it is settled)

    @property
    def reproduces(self) -> bool:
        """Stable beyond doubt: at least STABILITY_MIN by more than its standard error."""
        return self.stability - self.stability_error >= STABILITY_MIN


@dataclass
class Segment:
    segment_id: int
    label: int
    customers: int
    name: str
    name_zh: str
    profile: str
    profile_zh: str
    outlier_threshold: float
    centroid_log: dict[str, float]
    medians: dict[str, float]


@dataclass
class SegmentationResult:
    run_id: str
    month_start_date: dt.date
    customers: int
    clusters: int
    preprocessing: str
    inertia: float
    silhouette: float | None
    month_complete: bool = True
    segments: list[Segment] = field(default_factory=list)
    new_segment_ids: list[int] = field(default_factory=list)
    retired_segment_ids: list[int] = field(default_factory=list)


def _signed_log(values: np.ndarray) -> np.ndarray:
    values = np.array(values, dtype=float, copy=True)
    values[:, LOG_FEATURES] = np.sign(values[:, LOG_FEATURES]) * np.log1p(np.abs(values[:, LOG_FEATURES]))
    return values


def preprocessor(name: str) -> Pipeline:
    """The signed log, then robust (median and IQR; a feature with no spread keeps its log units, so
    holding a product or not separates customers) or standard scaling."""
    scaler = {"signed_log_robust": RobustScaler, "signed_log_standard": StandardScaler}[name]()
    return Pipeline([("log", FunctionTransformer(_signed_log)), ("scale", scaler)])


def fixed_preprocessor(center: list[float], scale: list[float]) -> Pipeline:
    """Last month's signed log and scaling, as they were fitted: the space the kept shape lives in."""
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_ = np.asarray(center, dtype=float), np.asarray(scale, dtype=float)
    scaler.var_, scaler.n_features_in_, scaler.n_samples_seen_ = scaler.scale_ ** 2, len(FEATURES), 1
    return Pipeline([("log", FunctionTransformer(_signed_log).fit(np.zeros((1, len(FEATURES))))), ("scale", scaler)])


def scaling_parameters(pipeline: Pipeline) -> dict[str, list[float]]:
    scaler = pipeline.named_steps["scale"]
    center = scaler.center_ if isinstance(scaler, RobustScaler) else scaler.mean_
    return {"center": [float(v) for v in center], "scale": [float(v) for v in scaler.scale_]}


def _kmeans(clusters: int, random_state: int, init="k-means++", n_init=10) -> KMeans:
    return KMeans(n_clusters=clusters, random_state=random_state, init=init,
                  n_init=n_init if isinstance(init, str) else 1)


# -- 1. features -------------------------------------------------------------------------------------

def valued_months(conn) -> dict[dt.date, bool]:
    """Every month of the value mart and whether all its days are delivered."""
    with conn.cursor() as cur:
        cur.execute("""select month_start_date, bool_and(is_complete_month) from marts.customer_value_monthly
                       group by 1 order by 1""")
        return dict(cur.fetchall())


def is_complete_month(conn, month: dt.date) -> bool:
    with conn.cursor() as cur:
        cur.execute("""select coalesce(bool_and(is_complete_month), false) from marts.customer_value_monthly
                       where month_start_date = %s""", (month,))
        return cur.fetchone()[0]


def months_to_segment(conn) -> list[dt.date]:
    """The complete months with no run of the complete month yet; while no month is complete (a bank's
    first weeks), the latest month if it has no run: provisional, segmented again once complete."""
    months = valued_months(conn)
    with conn.cursor() as cur:
        cur.execute("""select month_start_date, bool_or(coalesce((selection ->> 'month_complete')::boolean, true))
                       from ml.segmentation_runs group by 1""")
        runs = dict(cur.fetchall())
    complete = [m for m, is_complete in months.items() if is_complete and not runs.get(m, False)]
    if complete or any(months.values()) or not months:
        return complete
    latest = max(months)
    return [] if latest in runs else [latest]


def read_features(conn, month: dt.date) -> pd.DataFrame:
    """Features of every customer valued in ``month`` and not closed in it."""
    return _features_frame(_require_rows(read_frame(
        conn, f"""select {', '.join(MART_COLUMNS)} from marts.customer_value_monthly
                  where month_start_date = %s and not is_closed_in_month order by customer_id""",
        (month,), MART_TYPES), month))


def _require_rows(frame: pd.DataFrame, month: dt.date) -> pd.DataFrame:
    if frame.empty:
        raise RuntimeError(f"no customers valued in {month:%Y-%m} in marts.customer_value_monthly: "
                           "run the customer-value DAG (dbt build) for that month first")
    return frame


# The mart's columns as stored (numeric amounts, integer counts): the conversion to floats is Arrow's,
# not the server's, whose numeric-to-float8 cast goes through text and took half of the read's time.
MART_COLUMNS = ("customer_id", "daily_average_deposit_balance_cny", "daily_average_wealth_balance_cny",
                "daily_average_loan_balance_cny", "transaction_count", "digital_transaction_count",
                "accounts_held", "current_value_cny")
MART_TYPES = {"customer_id": str, **dict.fromkeys(MART_COLUMNS[1:], "float64")}


def _features_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The mart's columns as FEATURES: the digital share of the month's transactions (0 without any)."""
    counts, digital = frame["transaction_count"].to_numpy(), frame.pop("digital_transaction_count").to_numpy()
    share = np.divide(digital, counts, out=np.zeros(len(frame)), where=counts > 0)
    frame.insert(FEATURES.index("digital_transaction_share") + 1, "digital_transaction_share", share)
    return frame


# -- 2. the model's shape, chosen by the data ----------------------------------------------------------

def small_fits():
    """One thread for the fits of a sample (the choice's and the keep check's hundreds of fits of at most
    SELECTION_SAMPLE customers): on so few rows OpenMP's threads cost more than they save, and on a
    machine busy with other work (an Airflow worker) their waiting made each fit about fifty times
    slower (docs/benchmarks.md). The month's own fit, on every customer, keeps the threads."""
    return threadpool_limits(1)


def _stability(scaled: np.ndarray, clusters: int, rng: np.random.Generator, settled_above: float | None = None
               ) -> tuple[float, float, int]:
    """The mean split-half agreement over STABILITY_RESAMPLES splits, its standard error and the splits
    scored. With ``settled_above``, it stops as soon as KEEP_RESAMPLES_MIN splits or more put the mean
    KEEP_SETTLED standard errors above that line."""
    scores: list[float] = []

    def error() -> float:
        return float(np.std(scores, ddof=1) / np.sqrt(len(scores)))

    with small_fits():
        for resample in range(STABILITY_RESAMPLES):
            order = rng.permutation(len(scaled))
            half = min(len(scaled) // 2, STABILITY_HALF)
            left = _kmeans(clusters, resample).fit(scaled[order[:half]])
            right = _kmeans(clusters, 1000 + resample).fit(scaled[order[half:2 * half]])
            scores.append(adjusted_rand_score(left.predict(scaled), right.predict(scaled)))
            if settled_above is not None and len(scores) >= KEEP_RESAMPLES_MIN \
                    and np.mean(scores) - KEEP_SETTLED * error() >= settled_above:
                break
    return float(np.mean(scores)), error(), len(scores)


def _silhouette(scaled: np.ndarray, labels: np.ndarray, random_state: int) -> float:
    if len(np.unique(labels)) < 2:
        return -1.0
    return float(silhouette_score(scaled, labels, sample_size=min(len(scaled), SILHOUETTE_SAMPLE),
                                  random_state=random_state))


def score_candidates(matrix: np.ndarray, random_state: int = 42) -> list[Candidate]:
    """Stability and silhouette of every (preprocessing, k) on a sample of at most SELECTION_SAMPLE rows."""
    rng = np.random.default_rng(random_state)
    if len(matrix) > SELECTION_SAMPLE:
        matrix = matrix[rng.choice(len(matrix), SELECTION_SAMPLE, replace=False)]
    candidates = []
    for name in PREPROCESSINGS:
        scaled = preprocessor(name).fit_transform(matrix)
        for clusters in SEGMENT_COUNTS:
            if clusters >= len(matrix) // 2:
                break
            # the smallest segment as the fit of the whole sample makes it (a half may miss an outlier)
            with small_fits():
                labels = _kmeans(clusters, random_state).fit_predict(scaled)
            stability, error, _ = _stability(scaled, clusters, rng)
            silhouette = _silhouette(scaled, labels, random_state)
            smallest = float(np.bincount(labels, minlength=clusters).min() / len(labels))
            candidates.append(Candidate(name, clusters, stability, silhouette, smallest, error))
            log.info("candidate %s k=%d: stability %.3f ± %.3f, silhouette %.3f, smallest segment %.1f%%", name,
                     clusters, stability, error, silhouette, 100 * smallest)
    return candidates


def choose_model(candidates: list[Candidate]) -> Candidate:
    """Per preprocessing, the largest k whose stability reaches STABILITY_MIN by more than its standard
    error (``Candidate.reproduces``: a k whose mean only grazes the line reproduces in some resamplings
    and not in others, and would make the choice a coin flip on the seed) among the candidates whose
    smallest segment holds at least MIN_SEGMENT_SHARE of the customers (the finest partition that
    reproduces); across preprocessings, the pick whose space reproduces best on the way to it:
    the mean stability of its candidates from the smallest k up to the pick (a space with real groups
    in it reproduces at every k below its pick, one that does not only by chance at some).
    Split-half agreement is comparable across preprocessings; silhouettes of differently scaled spaces
    are not. The most stable candidate when none reaches the minimum."""
    if not candidates:
        raise ValueError("no candidate segmentation: too few customers to segment")
    picks = []
    for name in dict.fromkeys(c.preprocessing for c in candidates):
        own = [c for c in candidates if c.preprocessing == name]
        stable = [c for c in own if c.reproduces and c.smallest_share >= MIN_SEGMENT_SHARE]
        if stable:
            pick = max(stable, key=lambda c: c.clusters)
            picks.append((float(np.mean([c.stability for c in own if c.clusters <= pick.clusters])), pick))
    if not picks:
        usable = [c for c in candidates if c.smallest_share >= MIN_SEGMENT_SHARE] or candidates
        return max(usable, key=lambda c: (c.stability, c.clusters))
    return max(picks, key=lambda scored: scored[0])[1]


# -- 3. the fit ---------------------------------------------------------------------------------------

@dataclass
class Fit:
    pipeline: Pipeline
    labels: np.ndarray
    distances: np.ndarray
    inertia: float
    warm_started: bool
    scaled: np.ndarray  # this month's customers in the fit's scaled space, computed once per run


def _inertia(scaled: np.ndarray, centres: np.ndarray) -> float:
    return float(np.sum(pairwise_distances_argmin_min(scaled, centres)[1] ** 2))


def fit(matrix: np.ndarray, scaling: Pipeline, clusters: int, previous_centroids_log: np.ndarray | None = None,
        random_state: int = 42) -> Fit:
    """K-Means in the (fitted) ``scaling``'s space. With last month's centroids (the same count), one
    run started from them, kept unless the centroids of a fresh fit of a sample (at most
    SELECTION_SAMPLE customers) are more than WARM_START_TOLERANCE better on that sample (the fresh
    fit's own: the comparison leans to it, so it errs toward refitting); then one run started from
    those. Without, a fresh fit of every customer."""
    scaled = scaling.transform(matrix)
    warm = previous_centroids_log is not None and len(previous_centroids_log) == clusters
    if not warm:
        model = _kmeans(clusters, random_state).fit(scaled)
    else:
        model = _kmeans(clusters, random_state,
                        init=scaling.named_steps["scale"].transform(previous_centroids_log)).fit(scaled)
        rng = np.random.default_rng(random_state)
        sample = scaled[rng.choice(len(scaled), SELECTION_SAMPLE, replace=False)] \
            if len(scaled) > SELECTION_SAMPLE else scaled
        fresh = _kmeans(clusters, random_state).fit(sample).cluster_centers_
        warm_inertia, fresh_inertia = _inertia(sample, model.cluster_centers_), _inertia(sample, fresh)
        if warm_inertia > fresh_inertia * (1 + WARM_START_TOLERANCE):
            log.info("the warm start's inertia %.0f is above a fresh fit's %.0f: fitting from the fresh centroids",
                     warm_inertia, fresh_inertia)
            model, warm = _kmeans(clusters, random_state, init=fresh).fit(scaled), False
    return assign(Pipeline([*scaling.steps, ("kmeans", model)]), scaled, warm)


def centroids_log(pipeline: Pipeline) -> np.ndarray:
    """Centroids in signed-log feature units: comparable from month to month, whatever the scaling."""
    return pipeline.named_steps["scale"].inverse_transform(pipeline.named_steps["kmeans"].cluster_centers_)


# -- 4. ids kept month to month ------------------------------------------------------------------------

def match_segments(pipeline: Pipeline, previous: dict[int, np.ndarray], next_id: int
                   ) -> tuple[dict[int, int], list[int], list[int]]:
    """Label -> segment id by Hungarian assignment to last month's centroids (signed-log units);
    returns the mapping, the new ids and the retired ones."""
    current = pipeline.named_steps["kmeans"].cluster_centers_
    labels = list(range(len(current)))
    mapping: dict[int, int] = {}
    if previous:
        previous_ids = sorted(previous)
        before = pipeline.named_steps["scale"].transform(np.array([previous[i] for i in previous_ids]))
        cost = np.linalg.norm(current[:, None, :] - before[None, :, :], axis=2)
        spacing = np.linalg.norm(current[:, None, :] - current[None, :, :], axis=2)
        limit = MATCH_MAX_DISTANCE * float(np.median(spacing[np.triu_indices(len(current), 1)])) \
            if len(current) > 1 else np.inf
        for row, col in zip(*linear_sum_assignment(cost), strict=True):
            if cost[row, col] <= limit:
                mapping[row] = previous_ids[col]
    new_ids = []
    for label in labels:
        if label not in mapping:
            mapping[label] = next_id
            new_ids.append(next_id)
            next_id += 1
    retired = sorted(set(previous) - set(mapping.values()))
    return mapping, new_ids, retired


def assign(pipeline: Pipeline, scaled: np.ndarray, warm_started: bool = False) -> Fit:
    """Each customer (``scaled``: already in the pipeline's scaled space) to the nearest centroid."""
    all_distances = pipeline.named_steps["kmeans"].transform(scaled)
    labels = all_distances.argmin(axis=1)
    distances = all_distances[np.arange(len(labels)), labels]
    return Fit(pipeline, labels, distances, float(np.sum(distances ** 2)), warm_started, scaled)


def scaled_space(pipeline: Pipeline, matrix: np.ndarray) -> np.ndarray:
    """``matrix`` through the fitted pipeline's signed log and scaling (not its k-means)."""
    return Pipeline(pipeline.steps[:-1]).transform(matrix)


def smooth_centroids(fitted: Fit, mapping: dict[int, int], previous: dict[int, np.ndarray], before: pd.DataFrame,
                     random_state: int = 42) -> tuple[Fit, float, dict[str, float]]:
    """Move each matched centroid a weight w of the way from last month's to this month's: the largest
    w in SMOOTHING_WEIGHTS under which ID_KEPT_MIN of the customers whose features barely changed keep
    their segment id (``before``: row for row with this month's customers, last month's segment_id and
    features, missing for a customer not segmented then), tried on at most SMOOTHING_SAMPLE of them.
    Returns the fit with the smoothed centroids, w, and each w's share of unchanged customers kept."""
    scale, kmeans = fitted.pipeline.named_steps["scale"], fitted.pipeline.named_steps["kmeans"]
    fresh = kmeans.cluster_centers_.copy()
    last = {label: scale.transform(previous[sid][None, :])[0] for label, sid in mapping.items() if sid in previous}
    rows = np.flatnonzero(before["segment_id"].notna().to_numpy())
    if not last or not len(rows):
        return fitted, 1.0, {}
    now = fitted.scaled[rows]
    moved = np.linalg.norm(now - scaled_space(fitted.pipeline, before[list(FEATURES)].to_numpy()[rows]), axis=1)
    spacing = np.linalg.norm(fresh[:, None, :] - fresh[None, :, :], axis=2)
    unchanged = moved < UNCHANGED_MOVE * float(np.median(spacing[np.triu_indices(len(fresh), 1)]))
    if not unchanged.any():
        return fitted, 1.0, {}
    ids = np.array([mapping[label] for label in range(len(fresh))])
    kept_ids = before["segment_id"].to_numpy()[rows][unchanged]

    def centres(weight: float) -> np.ndarray:
        blended = fresh.copy()
        for label, before_centre in last.items():
            blended[label] = weight * fresh[label] + (1 - weight) * before_centre
        return blended

    scores = {}
    steady = now[unchanged]
    if len(steady) > SMOOTHING_SAMPLE:
        tried = np.random.default_rng(random_state).choice(len(steady), SMOOTHING_SAMPLE, replace=False)
        steady, kept_ids = steady[tried], kept_ids[tried]
    for weight in SMOOTHING_WEIGHTS:  # the nearest centre, in chunks: no customers x centres x features array
        nearest = pairwise_distances_argmin(steady, centres(weight))
        scores[f"{weight:g}"] = float(np.mean(ids[nearest] == kept_ids))
    weight = next((w for w in SMOOTHING_WEIGHTS if scores[f"{w:g}"] >= ID_KEPT_MIN), SMOOTHING_WEIGHTS[-1])
    kmeans.cluster_centers_ = centres(weight)
    smoothed = assign(fitted.pipeline, fitted.scaled, fitted.warm_started)
    log.info("centroid smoothing: weight %g on this month's centroids (%d unchanged customers; kept share by "
             "weight: %s)", weight, int(unchanged.sum()), ", ".join(f"{w} {v:.3f}" for w, v in scores.items()))
    return smoothed, weight, {"unchanged_customers": int(unchanged.sum()), **scores}


def stick_to_previous(fitted: Fit, mapping: dict[int, int], previous_segment_ids: np.ndarray) -> tuple[Fit, int]:
    """Keep last month's customers in last month's segment while its centroid is at most STICKY_MARGIN
    farther than the nearest (``previous_segment_ids``: row for row, last month's segment id, NaN for
    a customer not segmented then). Returns the fit with those labels and distances, and how many
    customers it kept from moving."""
    label_of = {segment_id: label for label, segment_id in mapping.items()}
    previous = pd.Series(previous_segment_ids).map(label_of).to_numpy()  # NaN: new, or a retired segment
    rows = np.flatnonzero(~np.isnan(previous))
    if not len(rows):
        return fitted, 0
    labels, distances = fitted.labels.copy(), fitted.distances.copy()
    last_label = previous[rows].astype(int)
    centres = fitted.pipeline.named_steps["kmeans"].cluster_centers_
    to_last = np.linalg.norm(fitted.scaled[rows] - centres[last_label], axis=1)
    stay = to_last <= (1 + STICKY_MARGIN) * distances[rows]
    held = int(np.sum(stay & (last_label != labels[rows])))
    labels[rows[stay]], distances[rows[stay]] = last_label[stay], to_last[stay]
    return Fit(fitted.pipeline, labels, distances, float(np.sum(distances ** 2)), fitted.warm_started,
               fitted.scaled), held


def read_with_previous(conn, month: dt.date, previous: PreviousRun) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``read_features`` of ``month`` and, row for row, each customer's segment in last month's run and
    features that month (missing for a customer not segmented then), in one query: one pass over the
    month's rows instead of two reads and a join of a million customer ids in pandas."""
    before_types = {f"previous_{name}": kind for name, kind in MART_TYPES.items() if name != "customer_id"}
    both = _require_rows(read_frame(
        conn, f"""select {', '.join(f'v.{c}' for c in MART_COLUMNS)}, s.segment_id,
                         {', '.join(f'p.{c}' for c in MART_COLUMNS[1:])}
                  from marts.customer_value_monthly as v
                  left join ml.customer_segments as s on s.run_id = %s and s.customer_id = v.customer_id
                  left join marts.customer_value_monthly as p
                    on p.customer_id = s.customer_id and p.month_start_date = %s and not p.is_closed_in_month
                  where v.month_start_date = %s and not v.is_closed_in_month order by v.customer_id""",
        (previous.run_id, previous.month_start_date, month),
        {**MART_TYPES, "segment_id": "float64", **before_types}), month)
    before = both[["segment_id", *before_types]].rename(columns=lambda c: c.removeprefix("previous_"))
    # a customer of last month's run whose month is no longer in the mart counts as not segmented then
    before.loc[before[FEATURES[0]].isna(), "segment_id"] = np.nan
    return _features_frame(both[list(MART_TYPES)].copy()), _features_frame(before)


# -- 5. names, profiles, outliers ----------------------------------------------------------------------

def _percentile_of(values: np.ndarray, x: float) -> float:
    """Share of ``values`` below ``x``, ties counted half: where ``x`` stands among all customers."""
    return float((np.sum(values < x) + 0.5 * np.sum(values == x)) / len(values))


def standing(features: pd.DataFrame, members: np.ndarray) -> dict[str, float]:
    """Each feature's member median as a percentile of all customers' values."""
    return {f: _percentile_of(features[f].to_numpy(), float(np.median(features[f].to_numpy()[members])))
            for f in FEATURES}


def name_segments(standings: list[dict[str, float]]) -> list[tuple[str, str]]:
    """A unique (English, Chinese) name per segment from its standout features, most striking first.
    Segments that share a name take their next standout features; those still alike are told apart by
    the feature on which they differ most (``RELATIVE``: "more ..." for the higher, "less ..." else)."""
    ranked = []
    for stand in standings:
        marks = []
        for feature, pct in stand.items():
            if (feature, "high") in NAMES and pct >= HIGH:
                marks.append((pct - 0.5, NAMES[(feature, "high")]))
            elif (feature, "low") in NAMES and pct <= LOW:
                marks.append((0.5 - pct, NAMES[(feature, "low")]))
        ranked.append([name for _, name in sorted(marks, key=lambda m: -m[0])] or [EVERYDAY_NAME])
    parts = [1] * len(ranked)
    while True:  # grow clashing names by their next standout feature while they have one
        keys = [tuple(ranked[i][:parts[i]]) for i in range(len(ranked))]
        clashing = [i for i, key in enumerate(keys) if keys.count(key) > 1 and parts[i] < len(ranked[i])]
        if not clashing:
            break
        for i in clashing:
            parts[i] += 1
    names = [list(key) for key in keys]
    for key in set(keys):
        _tell_apart([i for i, k in enumerate(keys) if k == key], standings, names, list(FEATURES))
    return [(" · ".join(n[0] for n in name), "·".join(n[1] for n in name)) for name in names]


def _tell_apart(group: list[int], standings: list[dict[str, float]], names: list[list], features: list[str]) -> None:
    """Suffix "more ..." to the highest and "less ..." to the lowest of ``group`` on the feature where its
    members differ most; the ones between are told apart on the remaining features (ordinals when none is
    left)."""
    if len(group) < 2:
        return
    if not features:
        for rank, i in enumerate(group[1:], start=2):
            names[i].append((f"({rank})", f"({rank})"))
        return
    feature = max(features, key=lambda f: max(standings[i][f] for i in group) - min(standings[i][f] for i in group))
    group = sorted(group, key=lambda i: -standings[i][feature])
    more, less = RELATIVE[feature]
    names[group[0]].append(more)
    names[group[-1]].append(less)
    _tell_apart(group[1:-1], standings, names, [f for f in features if f != feature])


def _profile(customers: int, medians: dict[str, float]) -> tuple[str, str]:
    m = medians
    en = (f"{customers:,} customers; median deposits {m['daily_average_deposit_balance_cny']:,.0f}, wealth "
          f"{m['daily_average_wealth_balance_cny']:,.0f}, loans {m['daily_average_loan_balance_cny']:,.0f} CNY; "
          f"{m['transaction_count']:.0f} transactions a month, {m['digital_transaction_share']:.0%} digital; "
          f"{m['accounts_held']:.0f} product{'' if round(m['accounts_held']) == 1 else 's'}; "
          f"value {m['current_value_cny']:,.0f} CNY a month")
    zh = (f"{customers:,}位客户；存款中位数{m['daily_average_deposit_balance_cny']:,.0f}元，理财"
          f"{m['daily_average_wealth_balance_cny']:,.0f}元，贷款{m['daily_average_loan_balance_cny']:,.0f}元；"
          f"每月交易{m['transaction_count']:.0f}笔，数字渠道占{m['digital_transaction_share']:.0%}；"
          f"持有{m['accounts_held']:.0f}个产品；月价值{m['current_value_cny']:,.0f}元")
    return en, zh


def outlier_threshold(distances: np.ndarray) -> float:
    q1, q3 = np.percentile(distances, [25, 75])
    return float(q3 + OUTLIER_FENCE * (q3 - q1))


def describe_segments(features: pd.DataFrame, result: Fit, mapping: dict[int, int]) -> list[Segment]:
    labels = sorted(mapping)
    stands = [standing(features, result.labels == label) for label in labels]
    names = name_segments(stands)
    centres = centroids_log(result.pipeline)
    segments = []
    for label, (name, name_zh) in zip(labels, names, strict=True):
        members = result.labels == label
        medians = {f: float(np.median(features[f].to_numpy()[members])) for f in FEATURES}
        en, zh = _profile(int(members.sum()), medians)
        segments.append(Segment(mapping[label], label, int(members.sum()), name, name_zh, en, zh,
                                outlier_threshold(result.distances[members]),
                                dict(zip(FEATURES, (round(float(v), 6) for v in centres[label]), strict=True)),
                                medians))
    return sorted(segments, key=lambda s: s.segment_id)


# -- 6. the run ---------------------------------------------------------------------------------------

@dataclass
class PreviousRun:
    run_id: str
    month_start_date: dt.date
    preprocessing: str
    clusters: int
    scaling: dict[str, list[float]] | None
    centroids_log: dict[int, np.ndarray]


def previous_run(conn, month: dt.date) -> tuple[PreviousRun | None, int]:
    """The latest run of a month before ``month`` (its shape, scaling and centroids in signed-log
    units) and the next segment id never used."""
    with conn.cursor() as cur:
        cur.execute("select coalesce(max(segment_id) + 1, 1) from ml.segment_profiles")
        next_id = cur.fetchone()[0]
        cur.execute("""select run_id, preprocessing, clusters, selection -> 'scaling', month_start_date
                       from ml.segmentation_runs
                       where month_start_date < %s order by month_start_date desc, created_at desc limit 1""",
                    (month,))
        row = cur.fetchone()
        if row is None or row[1] is None:
            return None, next_id
        cur.execute("select segment_id, centroid from ml.segment_profiles where run_id = %s", (row[0],))
        centroids = {sid: np.array([centroid[f] for f in FEATURES]) for sid, centroid in cur.fetchall()}
    return PreviousRun(row[0], row[4], row[1], row[2], row[3], centroids), next_id


def _keep_previous_shape(matrix: np.ndarray, previous: PreviousRun | None, random_state: int
                         ) -> tuple[Candidate, Pipeline] | None:
    """Last month's shape and scaling, if it still reproduces on this month (stability >= KEEP_MIN)."""
    if previous is None or previous.scaling is None or previous.clusters < 2 \
            or previous.clusters >= len(matrix) // 2:
        return None
    scaling = fixed_preprocessor(previous.scaling["center"], previous.scaling["scale"])
    rng = np.random.default_rng(random_state)
    sample = matrix[rng.choice(len(matrix), SELECTION_SAMPLE, replace=False)] if len(matrix) > SELECTION_SAMPLE \
        else matrix
    stability, error, resamples = _stability(scaling.transform(sample), previous.clusters, rng, KEEP_MIN)
    if stability < KEEP_MIN:
        log.warning("last month's %s k=%d no longer reproduces (stability %.3f < %.2f): choosing again",
                    previous.preprocessing, previous.clusters, stability, KEEP_MIN)
        return None
    return Candidate(previous.preprocessing, previous.clusters, stability, None, stability_error=error,
                     resamples=resamples), scaling


def write_run(conn, result: SegmentationResult, features: pd.DataFrame, fitted: Fit, mapping: dict[int, int],
              candidates: list[Candidate], random_state: int, kept_shape: bool, smoothing: dict) -> None:
    """Replace the month's run: run record, one row per customer, one per segment (caller commits)."""
    thresholds = {s.label: s.outlier_threshold for s in result.segments}
    versions = {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__}
    selection = {"rule": f"last month's shape and scaling while its stability >= {KEEP_MIN}; else per "
                         f"preprocessing the largest k with stability >= {STABILITY_MIN} by more than its "
                         "standard error, across them the higher mean stability of the candidates up to that k",
                 "stability_half": STABILITY_HALF, "stability_resamples": STABILITY_RESAMPLES,
                 "month_complete": result.month_complete, "kept_last_months_shape": kept_shape,
                 "scaling": scaling_parameters(fitted.pipeline),
                 "candidates": [c.__dict__ for c in candidates], "warm_started": fitted.warm_started,
                 "centroid_smoothing": smoothing,
                 "new_segment_ids": result.new_segment_ids, "retired_segment_ids": result.retired_segment_ids}
    with conn.cursor() as cur:
        cur.execute("select run_id from ml.segmentation_runs where month_start_date = %s", (result.month_start_date,))
        replaced = [row[0] for row in cur.fetchall()]
        for table in ("customer_segments", "segment_profiles", "segmentation_runs"):
            cur.execute(f"delete from ml.{table} where run_id = any(%s)", (replaced,))
        if replaced:
            log.info("%s: replacing run(s) %s", f"{result.month_start_date:%Y-%m}", ", ".join(replaced))
        cur.execute(
            """insert into ml.segmentation_runs (run_id, created_at, month_start_date, customers, clusters,
                   random_state, inertia, silhouette, features, library_versions, preprocessing, selection)
               values (%s, now(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            (result.run_id, result.month_start_date, result.customers, result.clusters, random_state,
             result.inertia, result.silhouette, json.dumps(list(FEATURES)), json.dumps(versions),
             result.preprocessing, json.dumps(selection)))
        labels, labelled = fitted.labels, range(len(mapping))  # label -> segment id, outlier threshold
        segment_ids = np.array([mapping[label] for label in labelled])[labels]
        outliers = fitted.distances > np.array([thresholds.get(label, np.inf) for label in labelled])[labels]
        write_frame(conn, "ml.customer_segments", pd.DataFrame({
            "run_id": result.run_id, "customer_id": features["customer_id"].to_numpy(), "segment_id": segment_ids,
            "distance_to_centroid": fitted.distances, "is_outlier": outliers}))
        # next month's run reads these labels back joined to the mart: without statistics on them the
        # planner expects one row and looks the mart up a million times (3.4 s against 2.1 s at 1M)
        cur.execute("analyze ml.customer_segments")
        for s in result.segments:
            cur.execute("""insert into ml.segment_profiles (run_id, segment_id, segment_name, customers, centroid,
                               segment_name_zh, profile, profile_zh, outlier_threshold, medians)
                           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                        (result.run_id, s.segment_id, s.name, s.customers, json.dumps(s.centroid_log), s.name_zh,
                         s.profile, s.profile_zh, s.outlier_threshold, json.dumps(s.medians)))


def segment_month(conn, month: dt.date, *, random_state: int = 42) -> SegmentationResult:
    """Segment one month's customers and write the run to ``ml`` (caller commits)."""
    require_schema(conn)
    previous, next_id = previous_run(conn, month)
    features, before = read_with_previous(conn, month, previous) if previous else (read_features(conn, month), None)
    matrix = features[list(FEATURES)].to_numpy()
    kept = _keep_previous_shape(matrix, previous, random_state)
    if kept is not None:
        choice, scaling = kept
        candidates = [choice]
    else:
        log.info("%s: choosing the segmentation of %d customers over %s x k %d-%d", f"{month:%Y-%m}",
                 len(features), ", ".join(PREPROCESSINGS), SEGMENT_COUNTS[0], SEGMENT_COUNTS[-1])
        candidates = score_candidates(matrix, random_state)
        if candidates:
            choice = choose_model(candidates)
        else:  # fewer than twice the smallest k: nothing to choose from, one segment
            log.warning("%s: only %d customers, too few to choose among %d to %d segments: one segment",
                        f"{month:%Y-%m}", len(features), SEGMENT_COUNTS[0], SEGMENT_COUNTS[-1])
            choice = Candidate(PREPROCESSINGS[0], 1, 1.0, None)
        scaling = preprocessor(choice.preprocessing).fit(matrix)
    centroids = previous.centroids_log if previous else {}
    fitted = fit(matrix, scaling, choice.clusters,
                 np.array([centroids[i] for i in sorted(centroids)]) if centroids else None, random_state)
    mapping, new_ids, retired = match_segments(fitted.pipeline, centroids, next_id)
    smoothing: dict = {"weight": 1.0}
    if before is not None:
        if kept is not None:
            fitted, weight, scores = smooth_centroids(fitted, mapping, centroids, before, random_state)
            smoothing = {"weight": weight, "kept_share_by_weight": scores}
        fitted, held = stick_to_previous(fitted, mapping, before["segment_id"].to_numpy())
        smoothing.update({"sticky_margin": STICKY_MARGIN, "customers_held_in_last_months_segment": held})
        log.info("%s: %d customers stay in last month's segment (within %.0f%% of the nearest centroid)",
                 f"{month:%Y-%m}", held, STICKY_MARGIN * 100)
    # the silhouette of the labels written (on SILHOUETTE_SAMPLE customers), whichever path made them
    silhouette = None if len(np.unique(fitted.labels)) < 2 else _silhouette(fitted.scaled, fitted.labels,
                                                                             random_state)
    result = SegmentationResult(f"{month:%Y-%m}-{uuid.uuid4().hex[:12]}", month, len(features), choice.clusters,
                                choice.preprocessing, fitted.inertia, silhouette,
                                month_complete=is_complete_month(conn, month), new_segment_ids=new_ids,
                                retired_segment_ids=retired)
    result.segments = describe_segments(features, fitted, mapping)
    write_run(conn, result, features, fitted, mapping, candidates, random_state, kept is not None, smoothing)
    if new_ids and centroids:
        log.warning("%s: new segment id(s) %s (no match in last month's)", f"{month:%Y-%m}", new_ids)
    if retired:
        log.warning("%s: segment id(s) %s retired (no match this month)", f"{month:%Y-%m}", retired)
    log.info("run %s: %s k=%d (%s; stability %.3f, silhouette %s, %s), segments %s", result.run_id,
             choice.preprocessing, choice.clusters, "last month's shape" if kept else "chosen", choice.stability,
             "n/a" if silhouette is None else f"{silhouette:.3f}",
             "warm start" if fitted.warm_started else "fresh fit",
             "; ".join(f"{s.segment_id} {s.name} ({s.customers})" for s in result.segments))
    return result


def segment_new_months(conn, *, months: list[dt.date] | None = None, random_state: int = 42) -> list[str]:
    """Segment, in order, each given month (default: ``months_to_segment``); one transaction per month,
    so a failure keeps the months before it. Returns the run ids."""
    require_schema(conn)
    conn.commit()
    if months is None:
        months = months_to_segment(conn)
    if not months:
        log.info("no complete month without a segmentation run: nothing to segment")
    run_ids = []
    with Progress("segmenting", len(months), "months", log, every=0) as progress:
        for month in sorted(months):
            run_ids.append(segment_month(conn, month, random_state=random_state).run_id)
            conn.commit()
            progress.advance()
    return run_ids
