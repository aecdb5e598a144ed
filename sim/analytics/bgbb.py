"""BG/BB: repeat buying with discrete transaction opportunities.

Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time
noncontractual setting", Marketing Science 29(6).

Story: at each of n opportunities (annual fund drives, events, ...) an alive
customer transacts with probability p ~ Beta(α, β); at the start of each
opportunity (before transacting) she dies with probability θ ~ Beta(γ, δ).
Data per customer: x transactions in n opportunities, recency t_x (the
opportunity of the last transaction, 0 if x = 0), so 0 ≤ x ≤ t_x ≤ n.
Many customers share a pattern, so every function takes optional weights.

The likelihood of one history sums over the n − t_x opportunities after the
last transaction at which the customer may have died unseen, so its cost
grows with n.  It is computed once per distinct (x, t_x, n) history, term by
term with no customers × opportunities grid, and the total number of terms
is capped (:data:`MAX_LIKELIHOOD_TERMS`, refused with a message before
anything is allocated): n is opportunities, a handful in the papers (six
annual fund drives), not a count a typo can make a billion.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import betaln, digamma, gammaln

from .fitting import (DataError, FitResult, as_float_array, check_integer, check_same_length,
                      maximise_likelihood, merge_identical_rows, param_values,
                      require_some_repeaters, validate_weights, weighted_total)

__all__ = ["PARAM_NAMES", "MAX_LIKELIHOOD_TERMS", "likelihood_size", "log_likelihood_terms",
           "log_likelihood", "fit", "p_alive", "expected_purchases",
           "conditional_expected_purchases", "compress_rows"]

PARAM_NAMES = ("alpha", "beta", "gamma", "delta")
#: Most terms the likelihood may sum over all distinct histories together
#: (each history (x, t_x, n) adds n − t_x).  A fit evaluates the likelihood a
#: few hundred times, about 0.15 µs a term each: at this cap, under a minute
#: on one core.  The papers' data (6 opportunities) need a few dozen terms.
MAX_LIKELIHOOD_TERMS = 500_000

Params = Mapping[str, float] | FitResult


def _validate(frequency, recency, n, weights):
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    opportunities = as_float_array(n, "n")
    if opportunities.size == 1 and x.size > 1:
        opportunities = np.full(x.size, opportunities[0])
    check_same_length(frequency=x, recency=t_x, n=opportunities)
    for array, name in ((x, "frequency"), (t_x, "recency"), (opportunities, "n")):
        check_integer(array, name)
    if np.any(t_x > opportunities):
        index = int(np.flatnonzero(t_x > opportunities)[0])
        raise DataError(f"recency exceeds n at index {index}")
    if np.any(x > t_x):
        index = int(np.flatnonzero(x > t_x)[0])
        raise DataError(f"frequency exceeds recency at index {index}: x transactions "
                        f"need at least x opportunities")
    if np.any((x == 0) != (t_x == 0)):
        index = int(np.flatnonzero((x == 0) != (t_x == 0))[0])
        raise DataError(f"recency must be 0 exactly where frequency is 0 (index {index})")
    return x, t_x, opportunities, validate_weights(weights, x.size)


def compress_rows(frequency, recency, n, weights=None):
    """Merge identical (x, t_x, n) rows, adding up their weights.

    Returns:
        (frequency, recency, n, weights) of the distinct rows.
    """
    return merge_identical_rows(*_validate(frequency, recency, n, weights))


def _rows(x, t_x, n):
    """Broadcast histories to flat float arrays, remembering their common shape."""
    x, t_x, n = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, n)))
    return x.ravel(), t_x.ravel(), n.ravel(), x.shape


def _log_alive_part(alpha, beta, gamma, delta, x, n, survived):
    """ln of B(α+x, β+n−x)/B(α,β) · B(γ, δ+survived)/B(γ,δ)."""
    return (betaln(alpha + x, beta + n - x) - betaln(alpha, beta)
            + betaln(gamma, delta + survived) - betaln(gamma, delta))


def _distinct_histories(x, t_x, n):
    """(x, t_x, n) of each distinct history, the gaps n − t_x, and each row's history."""
    keys = np.stack([x, t_x, n], axis=1) if x.size else np.zeros((0, 3))
    distinct, inverse = np.unique(keys, axis=0, return_inverse=True)
    ux, ut, un = distinct.T if distinct.size else (np.zeros(0),) * 3
    return ux, ut, un, (un - ut).astype(np.int64), inverse.reshape(-1)


def likelihood_size(frequency, recency, n) -> int:
    """Terms the likelihood sums over: n − t_x over the distinct histories."""
    x, t_x, opportunities, _ = _rows(frequency, recency, n)
    return int(_distinct_histories(x, t_x, opportunities)[3].sum())


def _check_size(gaps: np.ndarray, ut: np.ndarray, un: np.ndarray) -> None:
    total = int(gaps.sum())
    if total > MAX_LIKELIHOOD_TERMS:
        widest = int(np.argmax(gaps))
        raise DataError(f"periods: the BG/BB likelihood sums over every opportunity after a "
                        f"customer's last transaction (periods - recency, once per distinct "
                        f"frequency/recency/periods row): {total:,} terms here, at most "
                        f"{MAX_LIKELIHOOD_TERMS:,} (the widest row has periods {un[widest]:g} "
                        f"and recency {ut[widest]:g}); BG/BB is for a few discrete "
                        f"opportunities, not a count of days")


def log_likelihood_terms(params: Params, x, t_x, n) -> np.ndarray:
    """Log-likelihood per customer (FHS 2010, eq. 5).

    L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
        + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ),
    the sum over the opportunity t_x+i after which she died unseen.

    Raises:
        DataError: the distinct histories need more than
            :data:`MAX_LIKELIHOOD_TERMS` terms (checked before allocating them).
    """
    alpha, beta, gamma, delta = param_values(params, PARAM_NAMES)
    x, t_x, n, shape = _rows(x, t_x, n)
    ux, ut, un, gaps, history = _distinct_histories(x, t_x, n)
    _check_size(gaps, ut, un)
    alive = _log_alive_part(alpha, beta, gamma, delta, ux, un, un)
    # Every (history, i) term in one flat array, history by history.  Term 0
    # of a history is two beta functions; each next one is the last times
    # (β+t_x−x+i)/(α+β+t_x+i) · (δ+t_x+i)/(γ+1+δ+t_x+i), so one log a term
    # (a running sum) instead of six gamma functions.
    total = int(gaps.sum())
    row = np.repeat(np.arange(ux.size), gaps)
    starts = np.cumsum(gaps) - gaps
    i = np.arange(total) - starts[row]
    first = (betaln(alpha + ux, beta + ut - ux) - betaln(alpha, beta)
             + betaln(gamma + 1.0, delta + ut) - betaln(gamma, delta))
    b, d = beta + ut[row] - ux[row] + i, delta + ut[row] + i
    step = np.log((b * d) / ((alpha + beta + ut[row] + i) * (gamma + 1.0 + d)))
    before = np.concatenate([[0.0], np.cumsum(step)])
    died = first[row] + before[:-1] - before[starts[row]]
    # ln(e^alive + Σ e^died) per history, scaled by each history's largest term.
    peak = alive.copy()
    some = gaps > 0
    if total:
        peak[some] = np.maximum(peak[some], np.maximum.reduceat(died, starts[some]))
    summed = np.exp(alive - peak)
    if total:
        summed[some] += np.add.reduceat(np.exp(died - peak[row]), starts[some])
    return (peak + np.log(summed))[history].reshape(shape)


def log_likelihood(params: Params, frequency, recency, n, weights=None) -> float:
    """Total log-likelihood (weighted sum over rows)."""
    x, t_x, n, weights = compress_rows(frequency, recency, n, weights)
    return float(np.dot(weights, log_likelihood_terms(params, x, t_x, n)))


def fit(frequency, recency, n, weights=None) -> FitResult:
    """Maximum-likelihood BG/BB fit.

    Args:
        frequency: Transactions x per customer (whole numbers).
        recency: Opportunity of the last transaction t_x (0 if x = 0).
        n: Opportunities per customer (scalar or array).
        weights: Optional whole-number counts of identical rows (the papers
            publish data as a recency/frequency table of counts).

    Returns:
        FitResult with params alpha, beta, gamma, delta.
    """
    x, t_x, n, weights = compress_rows(frequency, recency, n, weights)
    require_some_repeaters(x, weights)
    _, ut, un, gaps, _ = _distinct_histories(x, t_x, n)
    _check_size(gaps, ut, un)

    total = weighted_total(log_likelihood_terms, PARAM_NAMES, weights, x, t_x, n)
    return maximise_likelihood(total, PARAM_NAMES, (1.0, 1.0, 1.0, 1.0), n=int(weights.sum()))


def p_alive(params: Params, x, t_x, n) -> np.ndarray:
    """Probability a customer is alive at opportunity n+1 (FHS 2010, eq. 11).

    P = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n+1)/B(γ,δ) / L: alive through the n
    observed opportunities and surviving into the next.
    """
    alpha, beta, gamma, delta = param_values(params, PARAM_NAMES)
    x, t_x, n, shape = _rows(x, t_x, n)
    log_numerator = _log_alive_part(alpha, beta, gamma, delta, x, n, n + 1.0)
    return np.exp(log_numerator - log_likelihood_terms(params, x, t_x, n)).reshape(shape)


def _sum_of_survival(gamma: float, delta: float, start, count) -> np.ndarray:
    """Σ_{k=1}^{count} B(γ, δ+start+k)/B(γ, δ) = E[Σ_k (1−θ)^(start+k)].

    Closed form δ/(γ−1) · Γ(γ+δ)/Γ(1+δ) · [R(start) − R(start+count)] with
    R(m) = Γ(1+δ+m)/Γ(γ+δ+m);
    at γ = 1 the closed form is 0/0; there B(1, δ+m)/B(1, δ) = δ/(δ+m), whose
    sum is δ·[ψ(δ+start+count+1) − ψ(δ+start+1)] (no per-opportunity array,
    whose size would grow with the horizon).
    """
    start, count = np.broadcast_arrays(np.asarray(start, dtype=float),
                                       np.asarray(count, dtype=float))
    if abs(gamma - 1.0) > 1e-6:
        def ratio(m):
            return np.exp(gammaln(1.0 + delta + m) - gammaln(gamma + delta + m))
        scale = np.exp(gammaln(gamma + delta) - gammaln(1.0 + delta)) * delta / (gamma - 1.0)
        # A sum of positive terms: round-off in the difference must not make it negative.
        return np.maximum(scale * (ratio(start) - ratio(start + count)), 0.0)
    return delta * (digamma(delta + start + count + 1.0) - digamma(delta + start + 1.0))


def expected_purchases(params: Params, n) -> np.ndarray:
    """Expected transactions in the first n opportunities of a new customer (eq. 7).

    E[X(n)] = α/(α+β) · δ/(γ−1) · [1 − Γ(γ+δ)Γ(1+δ+n)/(Γ(γ+δ+n)Γ(1+δ))].
    """
    alpha, beta, gamma, delta = param_values(params, PARAM_NAMES)
    return alpha / (alpha + beta) * _sum_of_survival(gamma, delta, 0.0, n)


def conditional_expected_purchases(params: Params, n_star, x, t_x, n) -> np.ndarray:
    """Expected transactions in the next n* opportunities given (x, t_x, n) (eq. 13).

    E = B(α+x+1, β+n−x)/B(α,β) · Σ_{k=1}^{n*} B(γ, δ+n+k)/B(γ,δ) / L.

    Args:
        params: alpha, beta, gamma, delta.
        n_star: Opportunities ahead (whole number).
        x, t_x, n: The customer's history.
    """
    alpha, beta, gamma, delta = param_values(params, PARAM_NAMES)
    x, t_x, n, shape = _rows(x, t_x, n)
    log_buy = betaln(alpha + x + 1.0, beta + n - x) - betaln(alpha, beta)
    log_total = log_likelihood_terms(params, x, t_x, n)
    return (np.exp(log_buy - log_total) * _sum_of_survival(gamma, delta, n, n_star)).reshape(shape)
