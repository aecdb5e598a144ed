"""Gamma–Gamma model of spend per purchase.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer
base analysis", JMR 42(4), building on Colombo & Jiang (1999); see also
Fader & Hardie (2013), "The Gamma-Gamma model of monetary value".

Story: each purchase's spend is z ~ Gamma(p, ν) (shape p, rate ν), so a
customer's mean spend is p/ν; across customers ν ~ Gamma(q, γ) (γ in dollars).
The model assumes spend is independent of purchase frequency: check that
with :func:`spend_frequency_correlation` before multiplying its predictions
with a transaction model's.

Data per customer: x repeat purchases and z̄, their mean spend in dollars.
Customers with x = 0 carry no repeat spend and are left out of the fit (the
papers fit on repeat buyers only; their spend enters predictions through the
prior mean).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import digamma, gammaln

from .fitting import (DataError, FitResult, as_float_array, check_integer, check_same_length,
                      maximise_likelihood, param_values)

__all__ = ["PARAM_NAMES", "log_likelihood_terms", "fit", "expected_spend", "mean_spend",
           "spend_frequency_correlation"]

PARAM_NAMES = ("p", "q", "gamma")

Params = Mapping[str, float] | FitResult


def _repeat_buyers(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
    """(x, z̄) of customers with x > 0, validated."""
    x = as_float_array(frequency, "frequency")
    zbar = as_float_array(monetary_value, "monetary_value")
    check_same_length(frequency=x, monetary_value=zbar)
    check_integer(x, "frequency")
    repeat = x > 0
    if not np.any(repeat):
        raise DataError("frequency is zero for every customer: no repeat spend to fit")
    if np.any(zbar[repeat] <= 0):
        index = int(np.flatnonzero(repeat & (zbar <= 0))[0])
        raise DataError(f"monetary_value must be > 0 where frequency > 0 (index {index})")
    return x[repeat], zbar[repeat]


def log_likelihood_terms(params: Params, x, zbar) -> np.ndarray:
    """Log density of each repeat buyer's mean spend z̄ over x purchases.

    f(z̄ | p, q, γ; x) = Γ(px+q)/(Γ(px)Γ(q)) · γ^q x^(px) z̄^(px−1) / (γ + x z̄)^(px+q),
    in 1/dollars.
    """
    p, q, gamma = param_values(params, PARAM_NAMES)
    x, zbar = np.asarray(x, dtype=float), np.asarray(zbar, dtype=float)
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
            + px * np.log(x) + (px - 1.0) * np.log(zbar) - (px + q) * np.log(gamma + x * zbar))


def fit(frequency, monetary_value) -> FitResult:
    """Maximum-likelihood Gamma–Gamma fit on repeat buyers.

    Args:
        frequency: Repeat purchases x per customer; x = 0 rows are ignored.
        monetary_value: Mean spend per repeat purchase z̄, dollars.

    Returns:
        FitResult with params p, q, gamma (gamma in dollars); ``n`` counts
        the repeat buyers used.
    """
    x, zbar = _repeat_buyers(frequency, monetary_value)

    # Data-only logs, computed once for every evaluation.
    log_x, log_zbar = np.log(x), np.log(zbar)

    def total(theta: np.ndarray) -> float:
        return float(np.sum(log_likelihood_terms(dict(zip(PARAM_NAMES, theta)), x, zbar)))

    def total_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = theta
        px = p * x
        log_scale = np.log(gamma + x * zbar)
        terms = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
                 + px * log_x + (px - 1.0) * log_zbar - (px + q) * log_scale)
        digamma_all = digamma(px + q)
        gradient = np.array([
            np.dot(x, digamma_all - digamma(px) + log_x + log_zbar - log_scale),
            np.sum(digamma_all - log_scale) + x.size * (np.log(gamma) - digamma(q)),
            x.size * q / gamma - np.sum((px + q) / (gamma + x * zbar)),
        ])
        return float(terms.sum()), gradient

    # Method-of-moments flavoured start: p = 1, q = 2 puts E[z] = γ.
    start = (1.0, 2.0, float(np.mean(zbar)))
    return maximise_likelihood(total, PARAM_NAMES, start, n=x.size, gradient=total_and_gradient)


def expected_spend(params: Params, x, zbar) -> np.ndarray:
    """Expected spend per future purchase given a customer's history, dollars.

    E[Z | x, z̄] = p(γ + x z̄)/(px + q − 1): a weighted average of the
    population mean pγ/(q−1) and the customer's own z̄, trusting z̄ more the
    more purchases it averages. With x = 0 it is the population mean.

    Args:
        params: p, q, gamma.
        x: Repeat purchases per customer.
        zbar: Mean spend per repeat purchase, dollars (ignored where x = 0).
    """
    p, q, gamma = param_values(params, PARAM_NAMES)
    x, zbar = np.asarray(x, dtype=float), np.asarray(zbar, dtype=float)
    return p * (gamma + x * np.where(x > 0, zbar, 0.0)) / (p * x + q - 1.0)


def mean_spend(params: Params) -> float:
    """Population mean spend per purchase pγ/(q−1), dollars (infinite if q ≤ 1)."""
    p, q, gamma = param_values(params, PARAM_NAMES)
    return p * gamma / (q - 1.0) if q > 1.0 else float("inf")


def spend_frequency_correlation(frequency, monetary_value) -> float:
    """Pearson correlation of x and z̄ among repeat buyers.

    The Gamma–Gamma model assumes spend is independent of frequency; a
    correlation near 0 (CDNOW: 0.11) supports using it alongside BG/NBD or
    Pareto/NBD. NaN if either variable is constant.
    """
    x, zbar = _repeat_buyers(frequency, monetary_value)
    if x.size < 2 or np.all(x == x[0]) or np.all(zbar == zbar[0]):
        return float("nan")
    return float(np.corrcoef(x, zbar)[0, 1])
