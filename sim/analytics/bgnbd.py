"""BG/NBD: the beta-geometric / negative binomial model of repeat buying.

Fader, Hardie & Lee (2005), "'Counting your customers' the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2).

Story: while alive a customer buys as a Poisson process with rate
λ ~ Gamma(r, α) (α a rate, in 1/time units); after each *repeat* purchase she
drops out with probability p ~ Beta(a, b). Data per customer: x repeat
purchases, recency t_x (time of the last repeat purchase, measured from the
first purchase; 0 if x = 0) and age T (time since the first purchase), all
in one time unit (weeks for CDNOW). Predictions come out in the same unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import betaln, digamma, gammaln

from .fitting import (FitResult, compress_rows, hyp2f1_stable, maximise_likelihood,
                      param_values, require_some_repeaters, validate_frequency_recency_age,
                      weighted_total, weighted_total_and_gradient)

__all__ = ["PARAM_NAMES", "log_likelihood", "compress_rows", "fit", "expected_purchases",
           "p_alive", "conditional_expected_purchases"]

PARAM_NAMES = ("r", "alpha", "a", "b")

Params = Mapping[str, float] | FitResult


def log_likelihood_terms(params: Params, x, t_x, T) -> np.ndarray:
    """Log-likelihood of each customer (eq. 6 of the paper, in log space).

    Args:
        params: r, alpha, a, b.
        x: Repeat purchases per customer.
        t_x: Recency per customer (time units of T).
        T: Age per customer.

    Returns:
        ln L per customer.
    """
    r, alpha, a, b = param_values(params, PARAM_NAMES)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
              + betaln(a, b + x) - betaln(a, b))
    survived = -(r + x) * np.log(alpha + T)
    # Died right after the last repeat purchase (only possible with x > 0).
    with np.errstate(divide="ignore", invalid="ignore"):
        died = np.where(x > 0,
                        np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0))
                        - (r + x) * np.log(alpha + t_x),
                        -np.inf)
    return common + np.logaddexp(survived, died)


def log_likelihood(params: Params, frequency, recency, T, weights=None) -> float:
    """Total log-likelihood of a customer base (weighted sum over rows)."""
    x, t_x, T, weights = validate_frequency_recency_age(frequency, recency, T, weights)
    return float(np.dot(weights, log_likelihood_terms(params, x, t_x, T)))


def fit(frequency, recency, T, weights=None) -> FitResult:
    """Maximum-likelihood BG/NBD fit.

    Args:
        frequency: Repeat purchases x per customer (whole numbers).
        recency: Time of the last repeat purchase t_x (0 if x = 0).
        T: Time since first purchase (scalar or per customer), same unit.
        weights: Optional whole-number counts of identical rows.

    Returns:
        FitResult with params r, alpha (per time unit), a, b.
    """
    x, t_x, T, weights = compress_rows(frequency, recency, T, weights)
    require_some_repeaters(x, weights)

    total = weighted_total(log_likelihood_terms, PARAM_NAMES, weights, x, t_x, T)
    total_and_gradient = weighted_total_and_gradient(log_likelihood_gradient, weights, x, t_x, T)

    # α starts at the mean age over the mean count, so λ's prior mean is the
    # observed purchase rate; a, b start at a moderate dropout rate.
    mean_rate = max(np.average(x, weights=weights), 1e-3) / np.average(T, weights=weights)
    start = (1.0, 1.0 / mean_rate, 1.0, 2.0)
    return maximise_likelihood(total, PARAM_NAMES, start, n=int(weights.sum()),
                               gradient=total_and_gradient)


def log_likelihood_gradient(theta, x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    """ln L per customer and its gradient in (r, α, a, b), shape (4, customers).

    ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b) + ln(A + D)
    with A = (α+T)^−(r+x) (alive at T) and D = a/(b+x−1) (α+t_x)^−(r+x)
    (died after the last purchase, x > 0 only); the derivative of ln(A + D)
    is the A- and D-weighted mean of the derivatives of ln A and ln D.
    """
    r, alpha, a, b = (float(value) for value in theta)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    repeat = x > 0
    log_age, log_recency = np.log(alpha + T), np.log(alpha + t_x)
    log_alive = -(r + x) * log_age
    with np.errstate(divide="ignore"):
        log_died = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0))
                            - (r + x) * log_recency, -np.inf)
    log_mix = np.logaddexp(log_alive, log_died)
    died_share = np.exp(log_died - log_mix)   # D / (A + D)
    alive_share = 1.0 - died_share
    terms = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
             + betaln(a, b + x) - betaln(a, b) + log_mix)
    digamma_ab, digamma_abx = digamma(a + b), digamma(a + b + x)
    gradient = np.stack([
        digamma(r + x) - digamma(r) + np.log(alpha)
        - alive_share * log_age - died_share * log_recency,
        r / alpha - (r + x) * (alive_share / (alpha + T) + died_share / (alpha + t_x)),
        digamma_ab - digamma_abx + died_share / a,
        digamma(b + x) - digamma(b) + digamma_ab - digamma_abx
        - died_share / np.where(repeat, b + x - 1.0, 1.0),
    ])
    return terms, gradient


def _alive_weighted_hyp2f1(r: float, a: float, b: float, x, z) -> np.ndarray:
    """(1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z), via Euler's transformation.

    The two factors over- and underflow separately as z → 1 with many
    purchases (₂F₁ grows like (1−z)^(a−1−r−x)); Euler's transformation
    cancels them exactly, leaving (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z),
    which scipy evaluates to ~1e-12 across 0 ≤ z < 1 (checked against mpmath).
    """
    return np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1_stable(a + b - 1.0 - r, a - 1.0,
                                                            a + b + x - 1.0, z)


def expected_purchases(params: Params, t) -> np.ndarray:
    """Expected repeat purchases in (0, t] of a customer just acquired (eq. 9).

    E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))].
    (Undefined at exactly a = 1, where the paper's expression is 0/0.)

    Args:
        params: r, alpha, a, b.
        t: Time since the first purchase (scalar or array), unit of alpha.

    Returns:
        Expected purchase count per t.
    """
    r, alpha, a, b = param_values(params, PARAM_NAMES)
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    return (a + b - 1.0) / (a - 1.0) * (1.0 - _alive_weighted_hyp2f1(r, a, b, 0.0, z))


def p_alive(params: Params, x, t_x, T) -> np.ndarray:
    """Probability each customer is still alive at T (eq. 11).

    P = 1 / [1 + 1{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)].
    A customer with no repeat purchase has not had a chance to die.
    """
    r, alpha, a, b = param_values(params, PARAM_NAMES)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_odds_dead = (np.log(a) - np.log(np.where(x > 0, b + x - 1.0, 1.0))
                         + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    # 1/(1+e^u) = expit(-u), computed without overflow.
    return np.where(x > 0, 0.5 * (1.0 - np.tanh(0.5 * log_odds_dead)), 1.0)


def conditional_expected_purchases(params: Params, t, x, t_x, T) -> np.ndarray:
    """Expected repeat purchases in (T, T+t] given a customer's (x, t_x, T) (eq. 10).

    E[Y(t)|x,t_x,T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x)
                      ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
                      / [1 + 1{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x)].

    Args:
        params: r, alpha, a, b.
        t: Length of the forecast window, unit of T.
        x, t_x, T: The customer's summary (arrays broadcast together).

    Returns:
        Expected purchases per customer.
    """
    r, alpha, a, b = param_values(params, PARAM_NAMES)
    t, x, t_x, T = (np.asarray(v, dtype=float) for v in (t, x, t_x, T))
    # (α+T)/(α+T+t) = 1 − z, so the paper's power times ₂F₁ is one factor.
    z = t / (alpha + T + t)
    alive_forecast = ((a + b + x - 1.0) / (a - 1.0)
                      * (1.0 - _alive_weighted_hyp2f1(r, a, b, x, z)))
    return alive_forecast * p_alive(params, x, t_x, T)
