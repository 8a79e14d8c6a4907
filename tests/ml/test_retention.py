"""The churn model (ml.retention): point in time, what it trains on, its reasons. Synthetic signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml import retention

MONTHS = [pd.Timestamp("2026-07-01"), pd.Timestamp("2026-08-01"), pd.Timestamp("2026-09-01"),
          pd.Timestamp("2026-10-01")]


def synthetic_signals(customers: int = 400, months=MONTHS, complete=None, seed: int = 3) -> pd.DataFrame:
    """A bank whose leavers empty their current account in the last week of the month before they close."""
    rng = np.random.default_rng(seed)
    complete = complete or {m: True for m in months}
    rows, closed, closing = [], set(), set()
    for index, month in enumerate(months):
        end = month + pd.offsets.MonthEnd(0)
        last = index == len(months) - 1
        leaving = set() if last else set(rng.choice(customers, size=customers // 20, replace=False)) - closed - closing
        for c in range(customers):
            if c in closed:
                continue
            closes_now = c in closing
            balance = 10_000.0 * (1 + c % 7)
            leaves_next = c in leaving
            end_balance = balance * (0.5 if leaves_next else rng.uniform(0.95, 1.05))
            rows.append({
                "customer_id": f"C{c:04d}", "month_start_date": month, "month_end_date": end,
                "is_complete_month": complete[month], "is_closed_in_month": closes_now, "rm_id": f"RM{c % 4}",
                "current_value_cny": 50.0, "accounts_held": 1.0, "tenure_days": 400.0 + c,
                "assets_under_management_cny": balance, "month_end_assets_cny": end_balance,
                "current_account_month_end_cny": end_balance, "current_account_7_days_before_cny": balance,
                "current_account_14_days_before_cny": balance, "transaction_count": 20.0, "transaction_days": 12.0,
                "transactions_last_7_days": 2.0 if leaves_next else 5.0,
                "first_transaction_date": month + pd.Timedelta(days=1), "last_transaction_date": end,
                "prior_months_held": float(min(index, 3)),
                "prior_3_month_average_assets_cny": balance if index else np.nan,
                "prior_3_month_average_transactions": 20.0 if index else np.nan,
                "prior_3_month_average_value_cny": 50.0 if index else np.nan,
                "complaint_hours_open": 0.0, "time_deposits_run_off": 0.0, "built_from_batch_id": 1})
        closed |= closing
        closing = leaving
    return pd.DataFrame(rows)


def test_a_month_end_is_scored_only_from_what_was_known_at_that_end():
    signals = synthetic_signals()
    august = MONTHS[2 - 1]
    known_then = signals[signals["month_start_date"] <= pd.Timestamp("2026-08-01")]
    later = signals  # September and October are delivered since: re-running August must not change
    then = retention.fit_for_month(known_then, august)
    again = retention.fit_for_month(later, august)
    assert then.model == again.model and then.training_months == again.training_months == [MONTHS[0]]
    scores_then, reasons_then = then.model.apply(retention._MonthCache.of(known_then).features(august))
    scores_again, reasons_again = again.model.apply(retention._MonthCache.of(later).features(august))
    assert np.array_equal(scores_then, scores_again) and reasons_then == reasons_again


def test_it_trains_only_on_month_ends_whose_following_month_is_complete():
    complete = {MONTHS[0]: True, MONTHS[1]: True, MONTHS[2]: False, MONTHS[3]: False}
    signals = synthetic_signals(months=MONTHS[:3], complete=complete)
    # September is open: August's outcome (closures in September) is not known yet
    assert retention.training_months(retention.month_completeness(signals), MONTHS[2]) == [MONTHS[0]]
    assert retention.training_months(retention.month_completeness(signals), MONTHS[1]) == [MONTHS[0]]
    assert retention.training_months(retention.month_completeness(signals), MONTHS[0]) == []
    with pytest.raises(ValueError, match="no outcome for 2026-09 yet"):
        retention.outcomes(signals, MONTHS[2])


def test_the_first_month_end_has_the_documented_prior_and_its_reasons():
    signals = synthetic_signals()
    fitted = retention.fit_for_month(signals, MONTHS[0])
    assert fitted.model.kind == "prior" and fitted.training_rows == 0
    features = retention._MonthCache.of(signals).features(MONTHS[0])
    scores, reasons = fitted.model.apply(features)
    by_customer = dict(zip(features.index, zip(scores, reasons, strict=True), strict=True))
    leaver = features.index[features["current_account_week_drop"] > 0.5][0]
    steady = features.index[features["current_account_week_drop"].abs() < 0.01][0]
    # by hand: log((10,000 k + 100) / (5,000 k + 100)) ~ 0.69 a week, x 10 in the prior's log-odds
    assert by_customer[leaver][1][0] == "current_account_emptying"
    assert by_customer[leaver][0] > 0.5 > 0.05 > by_customer[steady][0]
    assert by_customer[steady][1] == []


def test_a_learnt_model_puts_the_leavers_first():
    signals = synthetic_signals()
    fitted = retention.fit_for_month(signals, MONTHS[2])
    assert fitted.model.kind == "logistic" and fitted.training_months == MONTHS[:2]
    assert fitted.training_positives == int(sum(retention.outcomes(signals, m).sum() for m in MONTHS[:2]))
    assert fitted.metrics["selection"]["regularisation_c"] in retention.REGULARISATION_GRID
    features = retention._MonthCache.of(signals).features(MONTHS[2])
    scores, _ = fitted.model.apply(features)
    labels = retention.outcomes(signals, MONTHS[2]).reindex(features.index)
    assert retention.ranking_metrics(labels.to_numpy(), scores)["auc"] > 0.95


def test_a_month_of_histories_a_day_old_has_no_activity_model():
    """A catch-up whose history starts on a month's last day: every history is 0 or 1 day old, on
    which BG/NBD's fit is degenerate (expected transactions NaN); the month gets no activity model."""
    first = pd.Timestamp("2026-07-31")
    signals = synthetic_signals(months=MONTHS[:2])
    july = signals["month_start_date"] == MONTHS[0]
    signals.loc[july, "first_transaction_date"] = first
    signals.loc[july, "last_transaction_date"] = first
    signals.loc[july, "transaction_days"] = 1.0
    cache = retention._MonthCache.of(signals)
    assert cache.activity_params(MONTHS[0]) is None
    features = cache.features(MONTHS[0])
    assert features["inactivity"].eq(0).all() and features["expected_transaction_days_30d"].isna().all()
    # a month later the histories are a month old: fitted, every customer's expectation a number
    assert cache.activity_params(MONTHS[1]) is not None
    assert cache.features(MONTHS[1])["expected_transaction_days_30d"].notna().all()


def test_ranking_metrics_by_hand():
    # 10 customers, 2 leavers ranked 1st and 4th: AUC = (8 + 6) / 16; the top decile (1) holds one of 2
    labels = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    scores = np.linspace(1, 0, 10)
    metrics = retention.ranking_metrics(labels, scores)
    assert metrics["auc"] == pytest.approx(14 / 16)
    assert metrics["top_decile_lift"] == pytest.approx((1 / 1) / (2 / 10))


def test_a_model_learns_from_at_most_the_latest_labelled_months(monkeypatch):
    months = [pd.Timestamp(2026, m, 1) for m in range(1, 6)]
    signals = synthetic_signals(customers=40, months=months)
    # April is scored from January, February and March; with a window of two, February and March
    assert retention.training_months(retention.month_completeness(signals), months[3]) == months[:3]
    monkeypatch.setattr(retention, "TRAINING_MONTHS_MAX", 2)
    assert retention.training_months(retention.month_completeness(signals), months[3]) == months[1:3]


def test_a_window_of_months_with_the_earlier_histories_folded_gives_the_same_features(monkeypatch):
    """A run holds its training window, not the whole history: the months before it are folded to one
    BG/NBD history per customer. The features must be those of a run that read every month."""
    months = [pd.Timestamp(2026, m, 1) for m in range(1, 6)]
    signals = synthetic_signals(customers=60, months=months)
    # some customers transact only in the months the window leaves out, or never
    quiet = signals["customer_id"].isin(["C0001", "C0002"]) & (signals["month_start_date"] >= months[2])
    signals.loc[quiet, ["transaction_days", "first_transaction_date", "last_transaction_date"]] = (0.0, pd.NaT, pd.NaT)
    never = signals["customer_id"] == "C0003"
    signals.loc[never, ["transaction_days", "first_transaction_date", "last_transaction_date"]] = (0.0, pd.NaT, pd.NaT)
    everything = retention._MonthCache.of(signals)
    earlier = signals["month_start_date"] < months[2]
    folded = retention.fold_histories(signals.loc[earlier & (signals["transaction_days"] > 0),
                                                  retention.HISTORY_COLUMNS])
    window = retention._MonthCache.of(signals[~earlier], folded)
    slid = retention._MonthCache.of(signals).advance(None, months[2], months[4])  # reads nothing: all held
    for month in months[2:]:
        expected = everything.features(month)
        assert expected.loc["C0001", "days_since_last_transaction"] >= 31  # its last transaction is a fold's
        pd.testing.assert_frame_equal(window.features(month), expected)
        pd.testing.assert_frame_equal(slid.features(month), expected)
    assert slid.signals["month_start_date"].min() == months[2]
    # a window from the first training month learns the same model as a run that read every month
    monkeypatch.setattr(retention, "TRAINING_MONTHS_MAX", 2)
    assert retention.training_months(retention.month_completeness(signals), months[4]) == months[2:4]
    assert retention.fit_for_month(window.signals, months[4], window).model == \
        retention.fit_for_month(signals, months[4]).model


def test_reasons_by_hand_largest_first_each_code_once_at_most_three():
    """Log-odds parts set by hand (a model of unit weights, no centring): the reasons are the codes of
    the parts of at least 0.5, largest first; two features with one code give it once."""
    names = retention.FEATURE_NAMES
    model = retention.ChurnModel("prior", 0.0, dict.fromkeys(names, 1.0), dict.fromkeys(names, 0.0),
                                 dict.fromkeys(names, 1.0))
    rows = pd.DataFrame(0.0, index=["A", "B", "C"], columns=list(retention.FEATURE_NAMES))
    rows.loc["A", ["current_account_week_drop", "current_account_fortnight_drop", "activity_drop",
                   "late_month_activity_drop", "inactivity", "complaint_hours"]] = [2.0, 1.5, 1.0, 0.9, 0.8, 0.7]
    rows.loc["B", ["tenure_years", "value_drop"]] = [5.0, 0.4]  # tenure is never a reason; 0.4 is under the line
    rows.loc["C", ["complaint_hours", "balance_trend_drop"]] = [0.6, 0.5]
    scores, reasons = model.apply(rows)
    assert reasons == [["current_account_emptying", "activity_drop", "low_p_active"], [],
                       ["complaints", "balances_falling"]]
    # by hand: A's log-odds 2.0 + 1.5 + 1.0 + 0.9 + 0.8 + 0.7 = 6.9
    assert scores[0] == pytest.approx(1 / (1 + np.exp(-6.9)))
    assert np.array_equal(model.scores(rows), scores)
