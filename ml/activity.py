"""Transaction activity: the BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Each customer transacts as a Poisson process with rate lambda ~ Gamma(r, alpha) while active, and
after every transaction becomes inactive for good with probability p ~ Beta(a, b). From a customer's
frequency ``x`` (repeat transactions), recency ``t_x`` (time of the last transaction) and age ``T``
(time since the first), all from the same origin, the model gives the probability that the customer
is still active and the transactions expected in the next ``t`` periods.

The parameters are fitted by maximum likelihood (equation 6 of the paper) with scipy; identical
``(x, t_x, T)`` triples are grouped first, so a million customers with daily data fit as fast as
the few thousand distinct histories they reduce to. ``tests/ml/test_activity.py`` reproduces the
paper's estimates on its CDNOW sample.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BetaGeoParameters:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b,
                "log_likelihood": self.log_likelihood, "customers": self.customers}


def _as_arrays(frequency, recency, age) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    t = np.asarray(age, dtype=float)
    if not (x.shape == t_x.shape == t.shape):
        raise ValueError("frequency, recency and age must have the same length")
    bad = (x < 0) | (t_x < 0) | (t_x > t) | ((x == 0) & (t_x != 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"activity history {i} is impossible (frequency {x[i]}, recency {t_x[i]}, age {t[i]}): "
                         "recency must lie in [0, age] and be 0 when there are no repeat transactions")
    return x, t_x, t


def _individual_log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, t: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
                      -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def log_likelihood(params: BetaGeoParameters | np.ndarray, frequency, recency, age) -> float:
    """The sample's log-likelihood (the paper's equation 6, summed)."""
    values = np.array([params.r, params.alpha, params.a, params.b]) if isinstance(params, BetaGeoParameters) \
        else np.asarray(params, dtype=float)
    return float(_individual_log_likelihood(values, *_as_arrays(frequency, recency, age)).sum())


def fit(frequency, recency, age, *, initial: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
        ) -> BetaGeoParameters:
    """Maximum-likelihood estimates of r, alpha, a, b (optimised on their logarithms)."""
    x, t_x, t = _as_arrays(frequency, recency, age)
    if len(x) == 0:
        raise ValueError("no activity histories to fit")
    histories = pd.DataFrame({"x": x, "t_x": t_x, "t": t}).value_counts().reset_index(name="weight")
    hx, htx, ht, weight = (histories[c].to_numpy(dtype=float) for c in ("x", "t_x", "t", "weight"))
    scale = max(float(np.max(t)), 1.0)  # work in units of the longest age: keeps alpha near 1

    def negative(log_params: np.ndarray) -> float:
        return -float(weight @ _individual_log_likelihood(np.exp(log_params), hx, htx / scale, ht / scale))

    result = minimize(negative, np.log(np.array(initial)), method="L-BFGS-B", bounds=[(-12, 12)] * 4,
                      options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000})
    # an abnormal line-search end means no step improves the likelihood at double precision: converged
    if not np.isfinite(result.fun) or (not result.success and "ABNORMAL" not in str(result.message)):
        raise RuntimeError(f"BG/NBD maximum likelihood did not converge on {len(x)} histories: {result.message}")
    r, alpha_scaled, a, b = np.exp(result.x)
    alpha = alpha_scaled * scale
    ll = log_likelihood(np.array([r, alpha, a, b]), x, t_x, t)
    log.info("BG/NBD fitted on %d customers (%d distinct histories): r=%.4f alpha=%.4f a=%.4f b=%.4f, LL %.1f",
             len(x), len(histories), r, alpha, a, b, ll)
    return BetaGeoParameters(float(r), float(alpha), float(a), float(b), ll, len(x))


def _dropout_odds(params: BetaGeoParameters, x: np.ndarray, t_x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) for x > 0, else 0."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_odds = (np.log(params.a) - np.log(np.maximum(params.b + x - 1, 1e-300))
                    + (params.r + x) * (np.log(params.alpha + t) - np.log(params.alpha + t_x)))
        return np.where(x > 0, np.exp(np.minimum(log_odds, 700)), 0.0)


def probability_active(params: BetaGeoParameters, frequency, recency, age) -> np.ndarray:
    """P(still active | x, t_x, T) (the paper's equation 11)."""
    x, t_x, t = _as_arrays(frequency, recency, age)
    return 1.0 / (1.0 + _dropout_odds(params, x, t_x, t))


def expected_transactions(params: BetaGeoParameters, horizon: float, frequency, recency, age) -> np.ndarray:
    """E[transactions in (T, T + horizon] | x, t_x, T] (the paper's equation 10)."""
    x, t_x, t = _as_arrays(frequency, recency, age)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = horizon / (alpha + t + horizon)
    bracket = 1.0 - ((alpha + t) / (alpha + t + horizon)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket / (1.0 + _dropout_odds(params, x, t_x, t))
