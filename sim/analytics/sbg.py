"""Shifted-beta-geometric (sBG) model of contract renewals.

Fader & Hardie (2007), "How to project customer retention", Journal of
Interactive Marketing 21(1); discounted expected residual lifetime from Fader
& Hardie (2010), "Customer-base valuation in a contractual setting: the
perils of ignoring heterogeneity", Marketing Science 29(1).

Story: at the end of each period a subscriber cancels with probability
θ ~ Beta(α, β), fixed for her, so the cohort's retention rate rises over
time as the likely churners leave. Periods are whatever the contract renews
on (years in the paper's data sets).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import betaln

from .fitting import (DataError, FitResult, as_float_array, check_integer, hyp2f1_stable,
                      maximise_likelihood, param_values)

__all__ = ["PARAM_NAMES", "log_likelihood", "fit", "fit_cohorts", "survival", "churn_probability",
           "retention_rate", "discounted_expected_residual_lifetime"]

PARAM_NAMES = ("alpha", "beta")

Params = Mapping[str, float] | FitResult


def _validate_survivors(survivors) -> np.ndarray:
    counts = as_float_array(survivors, "survivors")
    check_integer(counts, "survivors")
    if counts.size < 2:
        raise DataError("survivors needs the cohort size and at least one later count")
    if counts[0] <= 0:
        raise DataError("survivors[0] (the cohort size) must be > 0")
    if np.any(np.diff(counts) > 0):
        index = int(np.flatnonzero(np.diff(counts) > 0)[0]) + 1
        raise DataError(f"survivors must not increase "
                        f"(survivors[{index}] > survivors[{index - 1}])")
    return counts


def churn_probability(params: Params, t) -> np.ndarray:
    """P(T = t): probability a new subscriber cancels at the end of period t ≥ 1.

    P(T = t) = B(α+1, β+t−1)/B(α, β).
    """
    alpha, beta = param_values(params, PARAM_NAMES)
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(alpha + 1.0, beta + t - 1.0) - betaln(alpha, beta))


def survival(params: Params, t) -> np.ndarray:
    """S(t) = B(α, β+t)/B(α, β): share of a cohort still subscribed after t renewals."""
    alpha, beta = param_values(params, PARAM_NAMES)
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def retention_rate(params: Params, t) -> np.ndarray:
    """r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1), for periods t ≥ 1."""
    alpha, beta = param_values(params, PARAM_NAMES)
    t = np.asarray(t, dtype=float)
    return (beta + t - 1.0) / (alpha + beta + t - 1.0)


def log_likelihood(params: Params, survivors) -> float:
    """Log-likelihood of one cohort's survivor counts.

    Each of the survivors[t−1] − survivors[t] who left in period t contributes
    ln P(T = t); the survivors[-1] still subscribed contribute ln S(last).
    """
    counts = _validate_survivors(survivors)
    periods = np.arange(1, counts.size)
    churned = -np.diff(counts)
    return float(np.dot(churned, np.log(churn_probability(params, periods)))
                 + counts[-1] * np.log(survival(params, periods[-1])))


def fit(survivors) -> FitResult:
    """Maximum-likelihood sBG fit to one cohort.

    Args:
        survivors: survivors[0] = cohort size, survivors[t] = number still
            subscribed after t renewals (non-increasing whole numbers).

    Returns:
        FitResult with params alpha, beta; ``n`` is the cohort size.
    """
    counts = _validate_survivors(survivors)
    if counts[-1] == counts[0]:
        raise DataError("survivors never fall: no churn to fit")

    def total(theta: np.ndarray) -> float:
        return log_likelihood(dict(zip(PARAM_NAMES, theta)), counts)

    return maximise_likelihood(total, PARAM_NAMES, (1.0, 1.0), n=int(counts[0]))


def fit_cohorts(cohorts) -> FitResult:
    """Maximum-likelihood sBG fit to several cohorts observed for different lengths.

    A business that acquires every period has a cohort per period, each
    seen for fewer renewals than the one before; their log-likelihoods add
    up (Fader & Hardie 2007, section 4), so younger cohorts' right-censored
    counts still inform the fit.

    Args:
        cohorts: Sequence of survivor arrays, each like :func:`fit`'s
            ``survivors``; cohorts with no renewal observed yet (a single
            count) carry no information and are skipped.

    Returns:
        FitResult with params alpha, beta; ``n`` is the customers in the
        cohorts used.
    """
    usable = [_validate_survivors(counts) for counts in cohorts if np.size(counts) >= 2]
    if not usable:
        raise DataError("no cohort has been observed through a renewal yet: nothing to fit")
    if all(counts[-1] == counts[0] for counts in usable):
        raise DataError("survivors never fall in any cohort: no churn to fit")

    def total(theta: np.ndarray) -> float:
        params = dict(zip(PARAM_NAMES, theta))
        return sum(log_likelihood(params, counts) for counts in usable)

    return maximise_likelihood(total, PARAM_NAMES, (1.0, 1.0),
                               n=int(sum(counts[0] for counts in usable)))


def discounted_expected_residual_lifetime(params: Params, n, discount_rate: float) -> np.ndarray:
    """Discounted expected residual lifetime (DERL), in periods.

    DERL = (β+n−1)/(α+β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d))
         = Σ_{k≥0} S(n+k)/S(n−1) / (1+d)^k,

    for a subscriber who has made n−1 renewals (is in her n-th period),
    counting her next renewal undiscounted and each later one discounted a
    further period (Fader & Hardie 2010). Multiply by the payment per
    renewal to value her.

    Args:
        params: alpha, beta.
        n: Period the subscriber is in (n ≥ 1; n = 1 for a new subscriber).
        discount_rate: Discount rate d per period (> 0).
    """
    if not discount_rate > 0:
        raise DataError(f"discount_rate must be > 0, got {discount_rate!r:.40}")
    alpha, beta = param_values(params, PARAM_NAMES)
    n = np.asarray(n, dtype=float)
    if np.any(n < 1):
        raise DataError("n must be ≥ 1 (the period the subscriber is in)")
    # Customers share a handful of periods; ₂F₁ near z = 1 is slow, so once each.
    periods, which = np.unique(n, return_inverse=True)
    per_period = ((beta + periods - 1.0) / (alpha + beta + periods - 1.0)
                  * hyp2f1_stable(1.0, beta + periods, alpha + beta + periods,
                                  1.0 / (1.0 + discount_rate)))
    return per_period[which.reshape(n.shape)]
