"""Churn risk: one logistic model per month end, learnt from the warehouse's own history.

Two steps, each its own Airflow task (docs/retention-model.md):

* ``train_churn_models`` fits, for every month whose signals are new since its last model, a
  scikit-learn logistic regression on the earlier month ends (at most ``TRAINING_MONTHS_MAX``, the
  latest) whose outcome the warehouse already holds: label 1 when the customer closed, or their
  assets collapsed below a tenth, in the month after. Only months whose following month is complete
  by the scored month's end are used, so a month's model (and therefore its scores) reads nothing
  the warehouse learnt after that month end: re-running an old month gives the same scores. With no
  labelled month yet (the first month of history) the model is a documented prior: fixed weights on
  the same features. Each model is written to ``ml.churn_models`` as JSON (scaler, coefficients, the
  month's BG/NBD parameters, training metrics measured on the warehouse's labels): readable, and
  reproducible without pickle.
* ``score_churn_risk`` applies each model without scores to its month and writes one row per
  customer to ``ml.churn_scores``: the score in [0, 1], the reasons behind it (the features that
  raise this customer's log-odds most, as codes the ``churn_reasons`` seed puts into words),
  P(active) and the transaction days expected in the next 30 days (ml.activity, BG/NBD).

The simulator's ground truth is read by nobody here; ``ml/quality.py`` uses it only to report.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

from ml import activity
from warehouse.db import read_frame, write_frame
from warehouse.schema import require_schema

log = logging.getLogger(__name__)

SIGNALS = "intermediate.int_customer_signals_monthly"

# feature -> the reason code it gives when it raises a customer's risk (None: never a reason)
FEATURES: dict[str, str | None] = {
    "month_end_balance_drop": "month_end_balance_drop",  # 1 - month-end assets / the month's daily average
    "current_account_week_drop": "current_account_emptying",  # log(balance 7 days before the end / at the end)
    "current_account_fortnight_drop": "current_account_emptying",  # the same over 14 days
    "late_month_activity_drop": "activity_drop",  # log(the month's transactions a day / the last 7 days')
    "balance_trend_drop": "balances_falling",  # log(prior 3-month average assets / this month's), damped
    "activity_drop": "activity_drop",  # log(prior transactions a day / this month's), damped
    "inactivity": "low_p_active",  # 1 - P(active), BG/NBD
    "days_since_last_transaction": "no_recent_activity",  # capped at 90
    "complaint_hours": "complaints",  # log(1 + hours the month's complaints stayed open)
    "time_deposit_run_off": "time_deposits_not_renewed",  # time deposits matured and closed, capped at 3
    "value_drop": "value_falling",  # fall of value against the prior 3-month average, relative
    "tenure_years": None,
    "accounts_held": None,
}
FEATURE_NAMES = tuple(FEATURES)
# The prior (no labelled month yet): log-odds weights on the raw features, set once by judgement of
# their scale (a current account down 10% in a week adds 1 to the log-odds; a month-end balance 10%
# under the month's average 0.5), never tuned on an outcome. The intercept puts a customer with no
# signal at about 1% a month.
PRIOR_INTERCEPT = -4.5
PRIOR_WEIGHTS = {"month_end_balance_drop": 5.0, "current_account_week_drop": 10.0,
                 "current_account_fortnight_drop": 5.0, "late_month_activity_drop": 0.5, "balance_trend_drop": 2.0,
                 "activity_drop": 0.5, "inactivity": 1.0, "days_since_last_transaction": 0.01, "complaint_hours": 0.3,
                 "time_deposit_run_off": 0.5, "value_drop": 0.3, "tenure_years": -0.02, "accounts_held": -0.1}
ASSET_COLLAPSE_SHARE = 0.10  # next month's assets below this share of this month's: the relationship emptied
MIN_COLLAPSE_ASSETS_CNY = 1_000.0
MIN_TRAINING_POSITIVES = 5
# A month's model learns from at most the six labelled month ends before it: the bank's recent
# behaviour, and a fit whose rows (customers x months) stop growing with the history's length. On a
# year of history at a million customers, every month end before would be 11 million rows a night.
TRAINING_MONTHS_MAX = 6
REASON_MIN_LOG_ODDS = 0.5  # a feature is a reason when it raises the log-odds by at least this much
MAX_REASONS = 3
ACTIVITY_HORIZON_DAYS = 30
# BG/NBD is fitted on a month's histories only when the oldest has been watched this many days. On a
# bank's first, partial month (a catch-up whose history starts on the 31st) every history is a day
# or two old: the likelihood is flat in the dropout parameters and the fit returns nonsense (r in the
# tens of thousands; expected transactions NaN, or a division by zero when a lands on 1). Such a month
# has no activity model: P(active) unknown, inactivity 0, as for a month of fewer than 10 histories.
ACTIVITY_MIN_AGE_DAYS = 28
Z_CLIP = 5.0
# L2 strengths tried; the one with the best cross-validated AUC on the warehouse's own labels is kept
REGULARISATION_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
CV_FOLDS = 5
CV_MAX_NEGATIVES = 100_000


@dataclass(frozen=True)
class ChurnModel:
    """A fitted (or prior) model in the form it is stored: applied by ``apply``."""
    kind: str  # logistic | prior
    intercept: float
    coefficients: dict[str, float]
    means: dict[str, float]
    scales: dict[str, float]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "intercept": self.intercept, "coefficients": self.coefficients,
                "means": self.means, "scales": self.scales}

    @classmethod
    def from_dict(cls, data: dict) -> ChurnModel:
        return cls(data["kind"], data["intercept"], data["coefficients"], data["means"], data["scales"])

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """Each feature's part of each customer's log-odds, relative to the training average."""
        z = np.empty((len(features), len(FEATURE_NAMES)))  # one customers x features array, worked in place
        for j, f in enumerate(FEATURE_NAMES):
            np.subtract(features[f].to_numpy(float), self.means[f], out=z[:, j])
            z[:, j] /= self.scales[f]
        if self.kind == "logistic":  # a feature far outside what the model was trained on counts as its edge
            np.clip(z, -Z_CLIP, Z_CLIP, out=z)
        z *= np.array([self.coefficients[f] for f in FEATURE_NAMES])
        return z

    def _scores(self, parts: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.intercept + parts.sum(axis=1))))

    def scores(self, features: pd.DataFrame) -> np.ndarray:
        """The customers' scores without their reasons (a training set's ranking metrics)."""
        return self._scores(self.contributions(features))

    def apply(self, features: pd.DataFrame) -> tuple[np.ndarray, list[list[str]]]:
        """Each customer's score and reasons: the codes of the features that raise the log-odds by at
        least REASON_MIN_LOG_ODDS, largest first, each code once, at most MAX_REASONS."""
        parts = self.contributions(features)
        scores = self._scores(parts)
        codes = list(dict.fromkeys(code for code in FEATURES.values() if code))
        code_of = np.array([codes.index(FEATURES[f]) if FEATURES[f] else -1 for f in FEATURE_NAMES])
        order = np.argsort(-parts, axis=1)  # each row largest first, as np.argsort(-row)
        ranked = code_of[order]
        eligible = (ranked >= 0) & (np.take_along_axis(parts, order, axis=1) >= REASON_MIN_LOG_ODDS)
        # the features in rank order, every customer at once: a code is taken the first time it is eligible
        customers = np.arange(len(parts))
        seen = np.zeros((len(parts), len(codes)), dtype=bool)
        chosen = np.full((len(parts), MAX_REASONS), -1)
        taken = np.zeros(len(parts), dtype=int)
        for rank in range(len(FEATURE_NAMES)):
            code = ranked[:, rank]
            take = eligible[:, rank] & (taken < MAX_REASONS)
            take[take] &= ~seen[customers[take], code[take]]
            chosen[customers[take], taken[take]] = code[take]
            seen[customers[take], code[take]] = True
            taken += take
        combinations, which = np.unique(chosen, axis=0, return_inverse=True)
        words = [[codes[c] for c in combination if c >= 0] for combination in combinations]
        return scores, [list(words[i]) for i in which.ravel()]


# The signals model's columns as read: dates as days since 1970-01-01 and flags as 0/1, so that Arrow's
# CSV reader parses every column to a number in native code (no Python object per value).
SIGNAL_DATES = ("month_start_date", "month_end_date", "first_transaction_date", "last_transaction_date")
SIGNAL_FLAGS = ("is_complete_month", "is_closed_in_month")
SIGNAL_TEXT = ("customer_id",)
SIGNAL_COLUMNS = ("customer_id", "month_start_date", "month_end_date", "is_complete_month", "is_closed_in_month",
                  "current_value_cny", "accounts_held", "tenure_days", "assets_under_management_cny",
                  "month_end_assets_cny", "current_account_month_end_cny", "current_account_7_days_before_cny",
                  "current_account_14_days_before_cny", "transaction_count", "transaction_days",
                  "transactions_last_7_days", "first_transaction_date", "last_transaction_date", "prior_months_held",
                  "prior_3_month_average_assets_cny", "prior_3_month_average_transactions",
                  "prior_3_month_average_value_cny", "complaint_hours_open", "time_deposits_run_off",
                  "built_from_batch_id")
SIGNAL_NUMBERS = tuple(c for c in SIGNAL_COLUMNS
                       if c not in (*SIGNAL_DATES, *SIGNAL_FLAGS, *SIGNAL_TEXT, "built_from_batch_id"))


def read_signals(conn, month: dt.date | None = None) -> pd.DataFrame:
    """The customer-months of the signals model of ``month`` (a month start; None: every month), oldest
    first.

    Read by COPY as CSV and parsed by Arrow: fetching rows built a Python object per value, and at
    100,000 customers x 13 months (1.3M rows) the churn stage peaked at 2.4 GB for a frame of 250 MB."""
    selected = ", ".join(f"{c} - date '1970-01-01'" if c in SIGNAL_DATES else f"{c}::int" if c in SIGNAL_FLAGS
                         else c for c in SIGNAL_COLUMNS)
    query = (f"select {selected} from {SIGNALS} {'where month_start_date = %s' if month else ''} "
             "order by month_start_date, customer_id")
    types = {**dict.fromkeys(SIGNAL_TEXT, str), **dict.fromkeys(SIGNAL_DATES + SIGNAL_NUMBERS, "float64"),
             **dict.fromkeys(SIGNAL_FLAGS, "int8"), "built_from_batch_id": "int64"}
    signals = read_frame(conn, query, (month,) if month else None,
                         {column: types[column] for column in SIGNAL_COLUMNS})
    if signals.empty:
        raise RuntimeError(f"{SIGNALS} has no rows{f' of {month:%Y-%m}' if month else ''}: "
                           "run the customer-value dbt build first")
    for column in SIGNAL_DATES:
        signals[column] = pd.to_datetime(signals[column], unit="D").astype("datetime64[s]")
    for column in SIGNAL_FLAGS:
        signals[column] = signals[column].astype(bool)
    return signals


def signal_months(conn) -> pd.DataFrame:
    """One row per month of the signals model, by month start: whether it is complete, and the batch
    its signals were last built from. Read before any signal, to choose the months a run reads."""
    with conn.cursor() as cur:
        cur.execute(f"""select month_start_date, bool_and(is_complete_month), max(built_from_batch_id)
                        from {SIGNALS} group by month_start_date order by month_start_date""")
        rows = cur.fetchall()
    if not rows:
        raise RuntimeError(f"{SIGNALS} is empty: run the customer-value dbt build first")
    return pd.DataFrame(rows, columns=["month_start_date", "is_complete_month", "built_from_batch_id"]).assign(
        month_start_date=lambda f: pd.to_datetime(f["month_start_date"])).set_index("month_start_date")


# A customer's BG/NBD history is the fold of these columns over the months with a transaction.
HISTORY_COLUMNS = ["customer_id", "first_transaction_date", "last_transaction_date", "transaction_days"]


def fold_histories(seen: pd.DataFrame) -> pd.DataFrame:
    """``seen`` (rows of HISTORY_COLUMNS) folded to one row per customer: first and last transaction
    date, transaction days. Folding folded rows again gives the same: a month's history is the fold
    of the months before a run's window (read as one row per customer) and the window's months."""
    return seen.groupby("customer_id").agg(
        first_transaction_date=("first_transaction_date", "min"),
        last_transaction_date=("last_transaction_date", "max"),
        transaction_days=("transaction_days", "sum")).reset_index()


def read_histories_before(conn, month: dt.date) -> pd.DataFrame:
    """The BG/NBD histories folded over the months before ``month``, one row per customer, folded in
    the database (``fold_histories`` in SQL): a run reads its window's months whole and no more."""
    query = (f"select customer_id, min(first_transaction_date) - date '1970-01-01', "
             f"max(last_transaction_date) - date '1970-01-01', sum(transaction_days) from {SIGNALS} "
             "where month_start_date < %s and transaction_days > 0 group by customer_id order by customer_id")
    before = read_frame(conn, query, (month,), dict(zip(HISTORY_COLUMNS, (str, "float64", "float64", "float64"),
                                                        strict=True)))
    for column in ("first_transaction_date", "last_transaction_date"):
        before[column] = pd.to_datetime(before[column], unit="D").astype("datetime64[s]")
    return before


def activity_histories(signals: pd.DataFrame, month: pd.Timestamp) -> pd.DataFrame:
    """Each customer's BG/NBD history at ``month``'s end from every month of ``signals`` up to it (a run
    folds month by month instead: ``_MonthCache.take``)."""
    month_end = signals.loc[signals["month_start_date"] == month, "month_end_date"].max()
    seen = signals.loc[(signals["month_start_date"] <= month) & (signals["transaction_days"] > 0), HISTORY_COLUMNS]
    return histories_at(fold_histories(seen), month_end)


def histories_at(folded: pd.DataFrame, month_end: pd.Timestamp) -> pd.DataFrame:
    """The BG/NBD histories at ``month_end`` of ``folded`` (``fold_histories``), by customer."""
    seen = folded.set_index("customer_id")
    return pd.DataFrame({
        "frequency": seen["transaction_days"] - 1,
        "recency": (seen["last_transaction_date"] - seen["first_transaction_date"]).dt.days,
        "age": (month_end - seen["first_transaction_date"]).dt.days,
        "last_transaction_date": seen["last_transaction_date"],
    })


def month_features(signals: pd.DataFrame, month: pd.Timestamp, activity_params: activity.BetaGeoParameters | None,
                   histories: pd.DataFrame) -> pd.DataFrame:
    """The model's features for the customers live at ``month``'s end (not closed in it), by customer.

    Worked on positions, the customer ids put on at the end: numpy's look-ups on a Series indexed by
    text made pandas hash the index into a Python string per customer, kept with each cached month."""
    rows = signals[(signals["month_start_date"] == month) & ~signals["is_closed_in_month"]].reset_index(drop=True)
    days = ((rows["month_end_date"] - rows["month_start_date"]).dt.days + 1).astype(float)
    aum = rows["assets_under_management_cny"]
    prior_aum = rows["prior_3_month_average_assets_cny"]
    has_prior = rows["prior_months_held"] > 0
    f = pd.DataFrame(index=rows.index)
    f["month_end_balance_drop"] = np.where(aum > 0, (1 - rows["month_end_assets_cny"] / aum.where(aum > 0)).clip(-1, 1),
                                           0.0)
    f["balance_trend_drop"] = np.where(has_prior, np.log((prior_aum.clip(lower=0) + 1000) / (aum.clip(lower=0) + 1000)),
                                       0.0).clip(-3, 3)
    current_end = rows["current_account_month_end_cny"].clip(lower=0) + 100
    for feature, before in (("current_account_week_drop", "current_account_7_days_before_cny"),
                            ("current_account_fortnight_drop", "current_account_14_days_before_cny")):
        f[feature] = np.log((rows[before].clip(lower=0) + 100) / current_end).fillna(0.0).clip(-3, 3)
    tx_rate = rows["transaction_count"] / days
    f["late_month_activity_drop"] = np.log((tx_rate + 0.1) / (rows["transactions_last_7_days"] / 7 + 0.1))
    prior_rate = rows["prior_3_month_average_transactions"].fillna(0) / 30.4
    f["activity_drop"] = np.where(has_prior, np.log((prior_rate + 0.1) / (tx_rate + 0.1)), 0.0)
    h = histories.reindex(rows["customer_id"]).set_axis(rows.index)
    known = h["frequency"].notna()
    p_active = pd.Series(np.nan, index=rows.index)
    expected = pd.Series(np.nan, index=rows.index)
    if activity_params is not None and known.any():
        args = (h.loc[known, "frequency"].to_numpy(), h.loc[known, "recency"].to_numpy(),
                h.loc[known, "age"].to_numpy())
        p_active[known] = activity.probability_active(activity_params, *args)
        expected[known] = activity.expected_transactions(activity_params, ACTIVITY_HORIZON_DAYS, *args)
    f["inactivity"] = (1 - p_active).fillna(0.0)
    since = (rows["month_end_date"] - h["last_transaction_date"]).dt.days
    f["days_since_last_transaction"] = since.fillna(days).clip(upper=90).astype(float)
    f["complaint_hours"] = np.log1p(rows["complaint_hours_open"].clip(lower=0))
    f["time_deposit_run_off"] = rows["time_deposits_run_off"].clip(upper=3).astype(float)
    prior_value = rows["prior_3_month_average_value_cny"]
    f["value_drop"] = np.where(has_prior, ((prior_value - rows["current_value_cny"]) / (prior_value.abs() + 50)),
                               0.0).clip(-3, 3)
    f["tenure_years"] = (rows["tenure_days"] / 365.25).clip(0, 20).astype(float)
    f["accounts_held"] = rows["accounts_held"].astype(float)
    f["p_active"] = p_active
    f["expected_transaction_days_30d"] = expected
    return f.set_axis(pd.Index(rows["customer_id"], name="customer_id"))


def outcomes(signals: pd.DataFrame, month: pd.Timestamp) -> pd.Series:
    """1 where a customer live at ``month``'s end closed, or their assets collapsed, in the month after."""
    this = signals[(signals["month_start_date"] == month) & ~signals["is_closed_in_month"]].set_index("customer_id")
    following = signals[signals["month_start_date"] == month + pd.DateOffset(months=1)].set_index("customer_id")
    if following.empty:
        raise ValueError(f"no outcome for {month:%Y-%m} yet: the warehouse holds no month after it")
    following = following.reindex(this.index)
    closed = following["is_closed_in_month"].fillna(False).astype(bool)
    collapsed = (this["assets_under_management_cny"] >= MIN_COLLAPSE_ASSETS_CNY) & (
        following["assets_under_management_cny"].fillna(0) < ASSET_COLLAPSE_SHARE * this["assets_under_management_cny"])
    return (closed | collapsed).astype(int)


def month_completeness(signals: pd.DataFrame) -> pd.Series:
    """Whether each month of ``signals`` is complete, by month start (``signal_months`` in memory)."""
    return signals.groupby("month_start_date")["is_complete_month"].all()


def training_months(complete: pd.Series, month: pd.Timestamp) -> list[pd.Timestamp]:
    """The latest TRAINING_MONTHS_MAX month ends before ``month`` whose following month is complete
    and no later than ``month`` (``complete``: by month start, as ``month_completeness`` gives)."""
    labelled = [m for m in complete.index if m < month and complete.get(m + pd.DateOffset(months=1), False)]
    return labelled[-TRAINING_MONTHS_MAX:]


def prior_model() -> ChurnModel:
    return ChurnModel("prior", PRIOR_INTERCEPT, dict(PRIOR_WEIGHTS), dict.fromkeys(FEATURE_NAMES, 0.0),
                      dict.fromkeys(FEATURE_NAMES, 1.0))


def fit_model(features: pd.DataFrame, labels: pd.Series, strength: float | None = None) -> tuple[ChurnModel, dict]:
    """Standardise, clip, and fit an L2 logistic regression; its strength (unless given) chosen by
    cross-validated AUC, on every positive and at most CV_MAX_NEGATIVES negatives (a fixed sample)."""
    z = features[list(FEATURE_NAMES)].to_numpy(float, copy=True)
    scaler = StandardScaler().fit(z)
    scales = np.where(scaler.scale_ > 1e-6, scaler.scale_, 1.0)
    z -= scaler.mean_  # in place: the training matrix is the stage's largest array (docs/scaling.md)
    z /= scales
    np.clip(z, -Z_CLIP, Z_CLIP, out=z)
    y = labels.to_numpy()
    selection: dict = {}
    if strength is None:
        negatives = np.flatnonzero(y == 0)
        if len(negatives) > CV_MAX_NEGATIVES:
            negatives = np.sort(np.random.default_rng(0).choice(negatives, CV_MAX_NEGATIVES, replace=False))
        sample = np.sort(np.concatenate([np.flatnonzero(y == 1), negatives]))
        folds = min(CV_FOLDS, int(y.sum()))
        cv_auc = {c: float(np.mean(cross_val_score(
            LogisticRegression(C=c, max_iter=2000), z[sample], y[sample], scoring="roc_auc",
            cv=StratifiedKFold(n_splits=folds)))) if folds >= 2 else 0.0 for c in REGULARISATION_GRID}
        strength = max(REGULARISATION_GRID, key=lambda c: (round(cv_auc[c], 4), -c))
        selection = {"cross_validated_auc": {str(c): a for c, a in cv_auc.items()}, "cv_rows": len(sample)}
    # scikit-learn fits a C-ordered copy of the matrix; made here, it replaces pandas' column-ordered one
    # rather than sitting beside it for the whole fit (0.6 GB at 1M customers)
    z = np.ascontiguousarray(z)
    regression = LogisticRegression(C=strength, max_iter=2000).fit(z, y)
    model = ChurnModel("logistic", float(regression.intercept_[0]),
                       dict(zip(FEATURE_NAMES, map(float, regression.coef_[0]), strict=True)),
                       dict(zip(FEATURE_NAMES, map(float, scaler.mean_), strict=True)),
                       dict(zip(FEATURE_NAMES, map(float, scales), strict=True)))
    return model, {"regularisation_c": strength, **selection}


def ranking_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float | None]:
    """AUC and top-decile lift of ``scores`` for ``labels`` (None when a class is missing)."""
    labels = np.asarray(labels)
    if labels.min(initial=0) == labels.max(initial=0):
        return {"auc": None, "top_decile_lift": None}
    top = np.argsort(-np.asarray(scores), kind="stable")[: max(1, len(labels) // 10)]
    return {"auc": float(roc_auc_score(labels, scores)), "top_decile_lift": float(labels[top].mean() / labels.mean())}


# What a month keeps of its rows once its features exist: what its outcome (``outcomes``), the training
# months (``month_completeness``) and its model's record read.
KEPT_COLUMNS = ["customer_id", "month_start_date", "month_end_date", "is_complete_month", "is_closed_in_month",
                "assets_under_management_cny", "built_from_batch_id"]


class _MonthCache:
    """The months a run holds. Each month is read whole once, in order, and then kept as three things:
    its features, with its own BG/NBD fit (or the scored model's); the columns of its rows that
    outcomes read (``signals``: KEPT_COLUMNS); and the customers' BG/NBD histories folded through it
    (``before``, the fold of the months before the first one read, read from Postgres).

    ``advance`` moves the window forward as a run goes from month to month. The night's model holds
    its window of at most 8 months this way, never the whole history nor every column of the window:
    at 1M customers after a year it peaks at 4.4 GB, against 8.4 GB holding all 13 months' signals
    (docs/benchmarks.md)."""

    def __init__(self, before: pd.DataFrame | None = None, months: list[pd.Timestamp] | None = None):
        self.before = before  # histories folded through the last month read (None: no month before it)
        self.months = months or []  # the months there are to read, oldest first
        self.signals = pd.DataFrame(columns=KEPT_COLUMNS)
        self.first: pd.Timestamp | None = None
        self.last: pd.Timestamp | None = None
        self._features: dict[pd.Timestamp, pd.DataFrame] = {}
        self._activity: dict[pd.Timestamp, activity.BetaGeoParameters | None] = {}

    @classmethod
    def of(cls, signals: pd.DataFrame, before: pd.DataFrame | None = None) -> _MonthCache:
        """Every month of ``signals`` (in memory), read in order."""
        cache = cls(before)
        for _, rows in signals.groupby("month_start_date", sort=True):
            cache.take(rows)
        return cache

    @classmethod
    def read(cls, conn, months: list[pd.Timestamp], since: pd.Timestamp, through: pd.Timestamp,
             params: activity.BetaGeoParameters | None = None) -> _MonthCache:
        """The months from ``since`` to ``through`` of the signals model, each read by itself."""
        return cls(read_histories_before(conn, since.date()), months).advance(conn, since, through, params)

    def advance(self, conn, since: pd.Timestamp, through: pd.Timestamp,
                params: activity.BetaGeoParameters | None = None) -> _MonthCache:
        """Hold the months from ``since`` to ``through``: read each month after the last one read, up
        to ``through`` (with ``params``: the scored model's BG/NBD fit), and forget those before
        ``since``. A window that moves back, or a month to score with other parameters, is read again."""
        if self.last is not None and (since < self.first or (
                params is not None and through <= self.last and self._activity.get(through) != params)):
            return _MonthCache.read(conn, self.months, since, through, params)
        start = since if self.last is None else self.last + pd.DateOffset(months=1)
        for month in [m for m in self.months if start <= m <= through]:
            self.take(read_signals(conn, month.date()), params)
        if through not in self._activity:
            raise RuntimeError(f"{SIGNALS} has no month {through:%Y-%m}: run the customer-value dbt build first, "
                               "or name a month it holds")
        self.forget_before(since)
        return self

    def take(self, rows: pd.DataFrame, params: activity.BetaGeoParameters | None = None) -> None:
        """One month's signals, the month after the last one taken: fold, fit, features, kept columns."""
        month = rows["month_start_date"].iloc[0]
        seen = rows.loc[rows["transaction_days"] > 0, HISTORY_COLUMNS]
        self.before = fold_histories(pd.concat([self.before, seen]) if self.before is not None and len(self.before)
                                     else seen)
        histories = histories_at(self.before, rows["month_end_date"].max())
        self._activity[month] = params if params is not None else self._fit_activity(month, histories)
        self._features[month] = month_features(rows, month, self._activity[month], histories)
        kept = rows[KEPT_COLUMNS].reset_index(drop=True)
        self.signals = pd.concat([self.signals, kept], ignore_index=True) if len(self.signals) else kept
        self.first = self.first if self.first is not None else month
        self.last = month

    @staticmethod
    def _fit_activity(month: pd.Timestamp, histories: pd.DataFrame) -> activity.BetaGeoParameters | None:
        watched = int(histories["age"].max()) if len(histories) else 0
        if len(histories) >= 10 and watched >= ACTIVITY_MIN_AGE_DAYS:
            return activity.fit(histories["frequency"], histories["recency"], histories["age"])
        log.info("%s: no BG/NBD fit (%d histories, the oldest %d days; at least 10 and %d days needed)",
                 f"{month:%Y-%m}", len(histories), watched, ACTIVITY_MIN_AGE_DAYS)
        return None

    def activity_params(self, month: pd.Timestamp) -> activity.BetaGeoParameters | None:
        return self._activity[month]

    def features(self, month: pd.Timestamp) -> pd.DataFrame:
        return self._features[month]

    def forget_before(self, month: pd.Timestamp) -> None:
        """Let go of the months before ``month``."""
        for kept in (self._features, self._activity):
            for old in [m for m in kept if m < month]:
                del kept[old]
        if len(self.signals) and self.signals["month_start_date"].min() < month:
            self.signals = self.signals[self.signals["month_start_date"] >= month].reset_index(drop=True)
        if self.first is not None:
            self.first = max(self.first, month)


def _months_to_model(conn, months: pd.DataFrame) -> list[pd.Timestamp]:
    """Months whose signals were built from a batch no model of that month was trained on."""
    with conn.cursor() as cur:
        cur.execute("select month_start_date, signals_batch_id from ml.churn_models")
        modelled = {(pd.Timestamp(m), b) for m, b in cur.fetchall()}
    return [m for m, batch in months["built_from_batch_id"].items() if (m, batch) not in modelled]


@dataclass(frozen=True)
class MonthModel:
    month: pd.Timestamp
    model: ChurnModel
    training_months: list[pd.Timestamp]
    training_rows: int
    training_positives: int
    metrics: dict
    activity_params: activity.BetaGeoParameters | None


def fit_for_month(signals: pd.DataFrame, month: pd.Timestamp, cache: _MonthCache | None = None) -> MonthModel:
    """The model that scores ``month``'s end, from the month ends before it whose outcome it already knew.
    ``signals`` holds those month ends and ``month`` at least (``cache``'s, when given)."""
    cache = cache or _MonthCache.of(signals)
    history = training_months(month_completeness(signals), month)
    frames = [(cache.features(m), outcomes(signals, m)) for m in history]  # concatenated once, no copy each
    features = pd.concat([f for f, _ in frames]) if frames else pd.DataFrame(columns=FEATURE_NAMES)
    labels = pd.concat([y for _, y in frames]) if frames else pd.Series(dtype=int)
    positives = int(labels.sum())
    metrics: dict = {}
    if positives >= MIN_TRAINING_POSITIVES:
        model, metrics["selection"] = fit_model(features, labels)
        metrics["training"] = ranking_metrics(labels.to_numpy(), model.scores(features))
        earlier = len(labels) - len(frames[-1][1])  # the latest labelled month is the training set's last rows
        if int(labels.iloc[:earlier].sum()) >= MIN_TRAINING_POSITIVES:
            # held out of a model fit on the months before it
            check, _ = fit_model(features.iloc[:earlier], labels.iloc[:earlier],
                                 metrics["selection"]["regularisation_c"])
            metrics["holdout"] = {"month": f"{history[-1]:%Y-%m}", **ranking_metrics(
                frames[-1][1].to_numpy(), check.scores(frames[-1][0]))}
    else:
        model = prior_model()
    return MonthModel(month, model, history, len(labels), positives, metrics, cache.activity_params(month))


def train_churn_models(conn, months: list[dt.date] | None = None) -> list[str]:
    """Fit a model for each month that needs one (or those given) and write them (caller commits)."""
    require_schema(conn)
    held = signal_months(conn)
    targets = sorted(pd.Timestamp(m) for m in months) if months else _months_to_model(conn, held)
    cache = None
    versions = {"scikit-learn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
                "pandas": pd.__version__}
    model_ids = []
    months = list(held.index)
    for month in targets:
        # the window: the month's training months and the month (histories before it folded in SQL)
        since = min(training_months(held["is_complete_month"], month), default=month)
        cache = cache.advance(conn, since, month) if cache else _MonthCache.read(conn, months, since, month)
        fitted = fit_for_month(cache.signals, month, cache)
        month_rows = cache.signals[cache.signals["month_start_date"] == month]
        model_id = f"churn-{month:%Y-%m}-{uuid.uuid4().hex[:12]}"
        history = [f"{m:%Y-%m}" for m in fitted.training_months]
        with conn.cursor() as cur:
            cur.execute(
                """insert into ml.churn_models (model_id, created_at, month_start_date, scored_through_date,
                       signals_batch_id, model_kind, training_months, training_rows, training_positives,
                       parameters, activity_model, metrics, library_versions)
                   values (%s, now(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (model_id, month.date(), month_rows["month_end_date"].max().date(),
                 int(month_rows["built_from_batch_id"].max()), fitted.model.kind, json.dumps(history),
                 fitted.training_rows, fitted.training_positives, json.dumps(fitted.model.as_dict()),
                 json.dumps(fitted.activity_params.as_dict() if fitted.activity_params else None),
                 json.dumps(fitted.metrics), json.dumps(versions)))
        log.info("churn model %s for %s: %s on %d customer-months of %s (%d positives) %s", model_id,
                 f"{month:%Y-%m}", fitted.model.kind, fitted.training_rows, ", ".join(history) or "none",
                 fitted.training_positives, json.dumps(fitted.metrics))
        model_ids.append(model_id)
    return model_ids


def score_churn_risk(conn, model_ids: list[str] | None = None) -> int:
    """Score each model's month with it (the models without scores, or those given); returns rows written."""
    require_schema(conn)
    with conn.cursor() as cur:
        cur.execute("""select model_id, month_start_date, parameters, activity_model from ml.churn_models m
                       where (%(ids)s::text[] is null and not exists (
                                  select 1 from ml.churn_scores s where s.model_id = m.model_id))
                          or m.model_id = any(%(ids)s::text[])
                       order by month_start_date, created_at""", {"ids": model_ids})
        todo = cur.fetchall()
    if not todo:
        log.info("no churn model waits for scores")
        return 0
    months = list(signal_months(conn).index)
    cache = None
    written = 0
    for model_id, month, parameters, activity_model in todo:
        month = pd.Timestamp(month)
        params = activity.BetaGeoParameters(**activity_model) if activity_model else None
        cache = cache.advance(conn, month, month, params) if cache else _MonthCache.read(conn, months, month, month,
                                                                                         params)
        features = cache.features(month)
        scores, reasons = ChurnModel.from_dict(parameters).apply(features)
        with conn.cursor() as cur:
            cur.execute("delete from ml.churn_scores where model_id = %s", (model_id,))
        write_frame(conn, "ml.churn_scores", pd.DataFrame({
            "model_id": model_id, "customer_id": features.index.to_numpy(), "month_start_date": month.date(),
            "churn_risk_score": np.asarray(scores, dtype=float),
            "churn_risk_reasons": ["{" + ",".join(why) + "}" for why in reasons],
            "p_active": features["p_active"].to_numpy(dtype=float),
            "expected_transaction_days_30d": features["expected_transaction_days_30d"].to_numpy(dtype=float)}))
        log.info("churn scores of %s: %d customers, %d at risk >= 0.5", model_id, len(scores),
                 int((scores >= 0.5).sum()))
        written += len(scores)
    return written

