"""BG/NBD (ml.activity) against the paper: Fader, Hardie & Lee (2005) fit on the CDNOW sample."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pandas as pd
import pytest

from ml import activity


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The paper's 2,357 CDNOW customers (39-week calibration period, in weeks), shipped by `lifetimes`."""
    path = importlib.metadata.distribution("lifetimes").locate_file("lifetimes/datasets/cdnow_customers_summary.csv")
    return pd.read_csv(path)


def test_reproduces_the_published_estimates(cdnow):
    params = activity.fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    # the paper, section 5: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    assert (round(params.r, 3), round(params.alpha, 3), round(params.a, 3), round(params.b, 3)) == \
        (0.243, 4.414, 0.793, 2.426)
    assert round(params.log_likelihood, 1) == -9582.4
    assert params.customers == 2357


def test_log_likelihood_at_the_published_estimates(cdnow):
    published = np.array([0.243, 4.414, 0.793, 2.426])
    assert activity.log_likelihood(published, cdnow["frequency"], cdnow["recency"], cdnow["T"]) == \
        pytest.approx(-9582.4, abs=0.1)


def test_conditional_expectations_by_hand():
    params = activity.BetaGeoParameters(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0.0, customers=0)
    # no repeat purchase: P(active) is 1 (the model lets a customer drop out only after a purchase)
    assert activity.probability_active(params, [0], [0], [38.86])[0] == 1.0
    # x = 2, t_x = 30.43, T = 38.86 (the paper's customer 1 of the sample):
    # odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    odds = 0.793 / (2.426 + 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** (0.243 + 2)
    assert activity.probability_active(params, [2], [30.43], [38.86])[0] == pytest.approx(1 / (1 + odds), rel=1e-12)
    # the longer the silence since the last purchase, the likelier the customer has left
    p = activity.probability_active(params, [2, 2, 2], [38.0, 20.0, 5.0], [38.86] * 3)
    assert p[0] > p[1] > p[2]


def test_conditional_expectations_agree_with_an_independent_implementation(cdnow):
    from lifetimes import BetaGeoFitter  # the package the sample ships in: its own BG/NBD

    theirs = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    ours = activity.fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    x, t_x, t = cdnow["frequency"][:200], cdnow["recency"][:200], cdnow["T"][:200]
    assert activity.probability_active(ours, x, t_x, t) == pytest.approx(
        theirs.conditional_probability_alive(x, t_x, t), rel=1e-3)
    assert activity.expected_transactions(ours, 39, x, t_x, t) == pytest.approx(
        theirs.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, t), rel=1e-3)


def test_an_impossible_history_is_refused():
    with pytest.raises(ValueError, match="recency must lie in"):
        activity.fit([1, 2], [5.0, 9.0], [4.0, 10.0])
