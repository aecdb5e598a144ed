"""Pareto/NBD: the classic model of "counting your customers".

Schmittlein, Morrison & Colombo (1987), Management Science 33(1); the
likelihood and conditional expressions follow Fader & Hardie (2005), "A note
on deriving the Pareto/NBD model and related expressions"; DERT follows Fader,
Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
analysis", JMR 42(4).

Story: while alive a customer buys as a Poisson process with rate
λ ~ Gamma(r, α); she dies at an exponential time with rate μ ~ Gamma(s, β)
(α, β are rates in 1/time units). Data per customer: x repeat purchases,
recency t_x (0 if x = 0) and age T, all in one time unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import digamma, gammaln, hyperu

from ..unique import unique_inverse
from .fitting import (DataError, FitResult, compress_rows, hyp2f1_stable, maximise_likelihood,
                      param_values, require_some_repeaters, weighted_total,
                      weighted_total_and_gradient)

__all__ = ["PARAM_NAMES", "log_likelihood_terms", "log_likelihood", "log_likelihood_gradient",
           "fit", "expected_purchases", "p_alive", "conditional_expected_purchases",
           "expected_purchases_if_alive", "dert", "dert_if_alive"]

PARAM_NAMES = ("r", "alpha", "s", "beta")

Params = Mapping[str, float] | FitResult


# scipy's hyp2f1 is accurate for 0 <= z < ~0.8 in our parameter range but
# returns NaN or wrong values closer to 1 for large or near-integer
# parameters (checked against mpmath); beyond this we integrate numerically.
_HYP2F1_SAFE_Z = 0.7
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
# Above this dropout shape DERT's E[1/(μ+δ)] is integrated, not taken from U.
_HYPERU_MAX_S = 10.0
_LAGUERRE_NODES, _LAGUERRE_WEIGHTS = np.polynomial.laguerre.laggauss(64)
# Integrand values below exp(-40) of the peak change nothing in float64.
_TRUNCATE_LOG = 40.0


def _log_integral_term(r: float, alpha: float, s: float, beta: float,
                       x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """ln A₀ with A₀ = (r+s+x) · ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ.

    Fader & Hardie's closed form: for α ≥ β,
    A₀ = F(z(t_x))/(α+t_x)^(r+s+x) − F(z(T))/(α+T)^(r+s+x), F = ₂F₁(r+s+x,
    s+1; r+s+x+1; ·), z(t) = (α−β)/(α+t); for α < β swap α and β and use r+x
    as F's second argument. F is evaluated through Euler's transformation,
    F(z) = (1−z)^(1−b₂) ₂F₁(1, c−b₂; c; z), and the difference taken in log
    space. Where z(t_x) is close to 1 (one rate much smaller than the other,
    t_x small) the stretch of the integral with z ≥ 0.7 is integrated by
    Gauss–Legendre quadrature instead (see :func:`_log_integral_near_one`).
    """
    abc = r + s + x                       # A = r+s+x; c = A + 1
    if alpha >= beta:
        larger, gap, small_exponent = alpha, alpha - beta, s + 1.0
    else:
        larger, gap, small_exponent = beta, beta - alpha, r + x
    small_exponent = np.broadcast_to(small_exponent, x.shape)

    def log_term(t: np.ndarray) -> np.ndarray:
        z = np.minimum(gap / (larger + t), _HYP2F1_SAFE_Z)
        log_f = ((1.0 - small_exponent) * np.log1p(-z)
                 + np.log(hyp2f1_stable(1.0, abc + 1.0 - small_exponent, abc + 1.0, z)))
        return log_f - abc * np.log(larger + t)

    z_recency = gap / (larger + t_x)
    # Split the integral at the time where z falls to the safe threshold.
    split_time = np.clip(gap / _HYP2F1_SAFE_Z - larger, t_x, T) if gap > 0 else t_x
    at_split, at_age = log_term(split_time), log_term(T)
    with np.errstate(divide="ignore"):
        # The integrand is positive, so at_split ≥ at_age up to round-off.
        log_closed_form = at_split + np.log(-np.expm1(np.minimum(at_age - at_split, 0.0)))
    near_one = z_recency > _HYP2F1_SAFE_Z
    if not np.any(near_one):
        return log_closed_form
    # w = 1 − z = (smaller+t)/(larger+t), formed without cancellation.
    smaller = min(alpha, beta)
    w_low = (smaller + t_x[near_one]) / (larger + t_x[near_one])
    w_high = np.minimum((smaller + T[near_one]) / (larger + T[near_one]), 1.0 - _HYP2F1_SAFE_Z)
    log_quadrature = (np.log(abc[near_one]) - abc[near_one] * np.log(gap)
                      + _log_integral_near_one(abc[near_one], small_exponent[near_one],
                                               w_low, w_high))
    result = log_closed_form.copy()
    result[near_one] = np.logaddexp(log_closed_form[near_one], log_quadrature)
    return result


def _log_integral_near_one(abc: np.ndarray, small_exponent: np.ndarray,
                           w_low: np.ndarray, w_high: np.ndarray) -> np.ndarray:
    """ln ∫_{w_low}^{w_high} w^−e (1−w)^(A−1) dw for 0 < w_low ≤ w_high ≤ 0.3.

    This is the A₀ integral in the variable w = 1 − (larger−smaller)/(larger+τ),
    without the factor A·gap^−A; e is the exponent of the smaller rate's
    factor. In y = ln w the log-integrand ψ(y) = (1−e)y + (A−1)ln(1−e^y) is
    concave (A ≥ 1) or nearly linear (A < 1) and analytic up to y = 0, so
    after trimming the range to where ψ is within 40 of its peak, 64-point
    Gauss–Legendre is accurate to round-off.
    """
    y_low, y_high = np.log(w_low), np.log(w_high)

    def psi(y):
        # Parameters are per row; y is per row or per row and node.
        shape = (-1,) + (1,) * (np.ndim(y) - 1)
        return ((1.0 - small_exponent.reshape(shape)) * y
                + (abc.reshape(shape) - 1.0) * np.log1p(-np.exp(y)))

    # Peak of a concave ψ: ψ'(y) = 0 at e^y = (1−e)/(A−e) when e < 1.
    with np.errstate(divide="ignore", invalid="ignore"):
        stationary = np.log((1.0 - small_exponent) / (abc - small_exponent))
    peak_y = np.where((small_exponent < 1.0) & (abc > 1.0),
                      np.clip(np.nan_to_num(stationary, nan=y_low), y_low, y_high),
                      np.where(psi(y_low) >= psi(y_high), y_low, y_high))
    floor = psi(peak_y) - _TRUNCATE_LOG
    concave = abc >= 1.0
    lower = np.where(concave, _bisect_level(psi, floor, y_low, peak_y, rising=True), y_low)
    upper = np.where(concave, _bisect_level(psi, floor, peak_y, y_high, rising=False), y_high)
    half_width = 0.5 * (upper - lower)
    nodes = 0.5 * (upper + lower)[:, None] + half_width[:, None] * _NODES[None, :]
    log_values = psi(nodes) + np.log(_WEIGHTS)[None, :]
    peak = log_values.max(axis=1)
    with np.errstate(divide="ignore"):  # zero width (t_x = T): integral 0
        return peak + np.log(np.exp(log_values - peak[:, None]).sum(axis=1)) + np.log(half_width)


def _bisect_level(psi, level: np.ndarray, left: np.ndarray, right: np.ndarray,
                  rising: bool) -> np.ndarray:
    """Where a monotone stretch of ψ crosses ``level`` (the end if it never does)."""
    outer = left if rising else right
    if_never = psi(outer) >= level
    left, right = left.copy(), right.copy()
    for _ in range(60):
        middle = 0.5 * (left + right)
        above = psi(middle) >= level
        # Rising: the crossing is left of an above-level midpoint.
        if rising:
            right = np.where(above, middle, right)
            left = np.where(above, left, middle)
        else:
            left = np.where(above, middle, left)
            right = np.where(above, right, middle)
    crossing = 0.5 * (left + right)
    return np.where(if_never, outer, crossing)


def _log_parts(params: Params, x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    """(ln of the alive-at-T part of L, ln L) per customer, by quadrature.

    The quadrature form agrees with the closed form to ~1e-12 in ln L
    (tests check) and costs a fraction of it on large bases, where the
    closed form's near-z = 1 stretches need their own quadrature anyway.
    """
    theta = param_values(params, PARAM_NAMES)
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    blocks = _in_blocks(theta, x.ravel(), t_x.ravel(), T.ravel(), with_gradient=False)
    log_alive = np.concatenate([block[0] for block in blocks]).reshape(x.shape)
    log_total = np.concatenate([block[1] for block in blocks]).reshape(x.shape)
    return log_alive, log_total


def log_likelihood_terms(params: Params, x, t_x, T) -> np.ndarray:
    """Log-likelihood per customer, ln L(r, α, s, β | x, t_x, T), in closed form.

    Fader & Hardie's expression with the Gaussian hypergeometric function
    (see :func:`_log_integral_term`); fits report this value.
    """
    r, alpha, s, beta = param_values(params, PARAM_NAMES)
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    shape = x.shape
    x, t_x, T = (v.ravel() for v in (x, t_x, T))   # row-wise work on 1-D arrays
    log_front = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_alive = log_front - (r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_died = (log_front + np.log(s) - np.log(r + s + x)
                + _log_integral_term(r, alpha, s, beta, x, t_x, T))
    return np.logaddexp(log_alive, log_died).reshape(shape)


def log_likelihood(params: Params, frequency, recency, T, weights=None) -> float:
    """Total log-likelihood of a customer base (weighted sum over rows)."""
    x, t_x, T, weights = compress_rows(frequency, recency, T, weights)
    return float(np.dot(weights, log_likelihood_terms(params, x, t_x, T)))


def fit(frequency, recency, T, weights=None, start: Params | None = None) -> FitResult:
    """Maximum-likelihood Pareto/NBD fit.

    Args:
        frequency: Repeat purchases x per customer (whole numbers).
        recency: Time of the last repeat purchase t_x (0 if x = 0).
        T: Time since first purchase (scalar or per customer), same unit.
        weights: Optional whole-number counts of identical rows.
        start: Parameters to start the search from (e.g. last turn's fit
            of a slowly changing base); None starts from moment guesses.

    Returns:
        FitResult with params r, alpha, s, beta (alpha, beta per time unit).
    """
    x, t_x, T, weights = compress_rows(frequency, recency, T, weights)
    require_some_repeaters(x, weights)
    if start is not None:
        # Near the optimum already: the full data only polishes.
        return _maximise(x, t_x, T, weights, tuple(param_values(start, PARAM_NAMES)))
    # Prior means matching the observed purchase rate and a lifetime about as
    # long as the observation window.
    mean_age = np.average(T, weights=weights)
    mean_rate = max(np.average(x, weights=weights), 1e-3) / mean_age
    start = (1.0, 1.0 / mean_rate, 1.0, mean_age)
    sample = slice(None, None, -(-x.size // _WARM_START_ROWS))
    if x.size > _WARM_START_ROWS and np.any(x[sample] > 0):
        # Most of the search happens far from the optimum, where a systematic
        # sample of the rows (sorted by x, t_x, T) points the same way; the
        # full data then only polishes.
        warm = _maximise(x[sample], t_x[sample], T[sample], weights[sample], start,
                         standard_errors=False)
        if warm.converged:
            start = tuple(warm.params.values())
    return _maximise(x, t_x, T, weights, start)


#: Distinct summary rows above which a fit first runs on a sample of them.
_WARM_START_ROWS = 4000


def _maximise(x, t_x, T, weights, start, standard_errors: bool = True) -> FitResult:
    total = weighted_total(log_likelihood_terms, PARAM_NAMES, weights, x, t_x, T)
    total_and_gradient = weighted_total_and_gradient(log_likelihood_gradient, weights, x, t_x, T)
    return maximise_likelihood(total, PARAM_NAMES, start, n=int(weights.sum()),
                               gradient=total_and_gradient, standard_errors=standard_errors,
                               coordinates=_RIDGE_COORDINATES)


# The search runs over (ln r, ln α, ln s, ln s/β): without dropout
# heterogeneity the likelihood keeps rising as s, β → ∞ at a fixed mean
# dropout rate s/β, which is then one axis (ln β = ln s − ln s/β).
_RIDGE_COORDINATES = np.array([[1.0, 0.0, 0.0, 0.0],
                               [0.0, 1.0, 0.0, 0.0],
                               [0.0, 0.0, 1.0, 0.0],
                               [0.0, 0.0, 1.0, -1.0]])


# Gauss–Legendre nodes for the dropout integral: 20 for the fit (log_likelihood_gradient),
# which agree with the closed form to ~1e-12 in ln L; 16 for P(alive) and ln L alone,
# within 1e-10 of the 20 (relative, P(alive) on a million-prospect base) for a fifth
# less time. Tests check 1e-9 in ln L against the closed form.
_QUADRATURE_NODES, _QUADRATURE_WEIGHTS = np.polynomial.legendre.leggauss(20)
_VALUE_NODES, _VALUE_WEIGHTS = np.polynomial.legendre.leggauss(16)
#: The integrand is cut where it falls this far (in ln) below its largest end.
_QUADRATURE_CUT = 36.0


def log_likelihood_gradient(theta, x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
    """ln L per customer and its gradient in (r, α, s, β), shape (4, customers).

    L = Γ(r+x)/Γ(r) α^r β^s [A(T) + s ∫_{t_x}^T A(τ)/(β+τ) dτ] with
    A(τ) = (α+τ)^−(r+x) (β+τ)^−s, the same likelihood as the closed form in
    :func:`log_likelihood_terms` written as "alive at T" plus "died at τ".
    The integral is done by Gauss–Legendre quadrature in z = ln(c+τ),
    c = min(α, β): there ln of the integrand is concave and its slope is
    bounded, so after cutting the tail where it has fallen by
    ``_QUADRATURE_CUT`` (Newton steps from the right end, which stay on the
    safe side of the cut for a concave function) a fixed 20-node rule is
    accurate to round-off. Differentiating under the integral then gives the
    gradient as the weighted mean, over "alive at T" and the quadrature
    nodes, of the derivatives of their logs: no special functions beyond
    digamma, one pass over the data.
    """
    theta = tuple(float(value) for value in theta)
    x, t_x, T = (np.asarray(v, dtype=float).ravel() for v in (x, t_x, T))
    blocks = _in_blocks(theta, x, t_x, T, with_gradient=True)
    return (np.concatenate([block[1] for block in blocks]),
            np.concatenate([block[2] for block in blocks], axis=1))


_BLOCK = 4096


def _in_blocks(theta, x, t_x, T, with_gradient: bool) -> list[tuple]:
    # Blocks of rows keep the (rows, nodes) temporaries in cache: ~1.5x faster.
    return [_quadrature_block(theta, x[i:i + _BLOCK], t_x[i:i + _BLOCK], T[i:i + _BLOCK],
                              with_gradient) for i in range(0, x.size, _BLOCK)]


def _quadrature_block(theta, x, t_x, T, with_gradient: bool) -> tuple:
    """(ln alive part, ln L, gradient or None) for 1-D rows; see log_likelihood_gradient."""
    r, alpha, s, beta = (float(value) for value in theta)
    c = min(alpha, beta)
    alpha_gap, beta_gap = alpha - c, beta - c
    r_x, s_1 = r + x, s + 1.0

    def log_integrand(z, e, r_x):    # ln of A(τ)/(β+τ) dτ/dz, s aside; e = exp(z)
        return z - r_x * np.log(alpha_gap + e) - s_1 * np.log(beta_gap + e)

    def slope(e, r_x):
        return 1.0 - r_x * e / (alpha_gap + e) - s_1 * e / (beta_gap + e)

    low, high = np.log(c + t_x), np.log(c + T)
    e_high = np.exp(high)
    at_high = log_integrand(high, e_high, r_x)
    level = np.maximum(log_integrand(low, np.exp(low), r_x), at_high) - _QUADRATURE_CUT
    # Newton steps on the rows still moving: a row whose step is 0 would take
    # the same 0 step again (most rows need no cut at all).
    moving = np.arange(high.size)
    z, e, a, level_m, low_m, r_m = high, e_high, at_high, level, low, r_x
    for step_number in range(4):
        if step_number:
            z, level_m, low_m, r_m = high[moving], level[moving], low[moving], r_x[moving]
            e = np.exp(z)
            a = log_integrand(z, e, r_m)
        below = a - level_m
        falling = slope(e, r_m)
        steps = (below < 0) & (falling < 0)
        step = np.where(steps, below / np.where(falling < 0, falling, -1.0), 0)
        high[moving] = np.maximum(z - step, low_m)
        moving = moving[steps]
        if moving.size == 0:
            break
    half = 0.5 * (high - low)
    # Nodes down the rows, customers along them: the sums over the nodes then add
    # whole rows (vectorised across customers), not 20 numbers at a time.
    nodes, weights = ((_QUADRATURE_NODES, _QUADRATURE_WEIGHTS) if with_gradient
                      else (_VALUE_NODES, _VALUE_WEIGHTS))
    z = (0.5 * (high + low)) + half * nodes[:, None]
    e = np.exp(z)
    # ln(α+τ), ln(β+τ) at the nodes; the smaller rate's is z itself.
    log_alpha_node = z if alpha_gap == 0 else np.log(alpha_gap + e)
    log_beta_node = z if beta_gap == 0 else np.log(beta_gap + e)
    with np.errstate(divide="ignore"):   # t_x = T: zero width, no dying term
        log_nodes = (np.log(s) + np.log(half) + np.log(weights)[:, None] + z
                     - r_x * log_alpha_node - s_1 * log_beta_node)
    log_alpha_T, log_beta_T = np.log(alpha + T), np.log(beta + T)
    log_alive = -r_x * log_alpha_T - s * log_beta_T
    peak = np.maximum(log_alive, log_nodes.max(axis=0))
    alive_share = np.exp(log_alive - peak)
    node_share = np.exp(log_nodes - peak)
    mass = alive_share + node_share.sum(axis=0)
    log_front = _at_counts(gammaln, r, x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_total = log_front + peak + np.log(mass)
    if not with_gradient:
        return log_front + log_alive, log_total, None
    alive_share /= mass
    node_share /= mass
    died_share = 1.0 - alive_share
    gradient = np.stack([
        _at_counts(digamma, r, x) - digamma(r) + np.log(alpha)
        - alive_share * log_alpha_T - (node_share * log_alpha_node).sum(axis=0),
        r / alpha - r_x * (alive_share / (alpha + T)
                           + (node_share / (alpha_gap + e)).sum(axis=0)),
        np.log(beta) + died_share / s
        - alive_share * log_beta_T - (node_share * log_beta_node).sum(axis=0),
        s / beta - alive_share * s / (beta + T) - s_1 * (node_share / (beta_gap + e)).sum(axis=0),
    ])
    return log_front + log_alive, log_total, gradient


def _at_counts(function, r: float, x: np.ndarray) -> np.ndarray:
    """``function(r + x)`` for repeat-purchase counts ``x``, from a table over 0..max(x).

    A base has a few dozen distinct counts, so the special function is
    evaluated that many times, not once per customer; same values.
    """
    top = x.max(initial=0.0)
    if not (0 <= x.min(initial=0.0) and top <= _COUNT_TABLE_MAX):
        return function(r + x)
    counts = x.astype(np.int64)
    if not np.array_equal(counts, x):
        return function(r + x)
    return function(r + np.arange(int(top) + 1, dtype=float))[counts]


#: Largest repeat-purchase count looked up in a table (beyond it: evaluated directly).
_COUNT_TABLE_MAX = 100_000


def _power_difference_over(exponent, log_base) -> np.ndarray:
    """(1 − e^(−k·L)) / k, tending to L as k → 0 (the s = 1 case)."""
    exponent = np.asarray(exponent, dtype=float)
    safe = np.where(np.abs(exponent) < 1e-10, 1.0, exponent)
    return np.where(np.abs(exponent) < 1e-10, log_base, -np.expm1(-safe * log_base) / safe)


def expected_purchases(params: Params, t) -> np.ndarray:
    """Expected repeat purchases in (0, t] of a customer just acquired.

    E[X(t)] = rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)]  (rβ/α · ln(1+t/β) at s = 1).

    Args:
        params: r, alpha, s, beta.
        t: Time since the first purchase (scalar or array).

    Returns:
        Expected purchase count per t.
    """
    r, alpha, s, beta = param_values(params, PARAM_NAMES)
    t = np.asarray(t, dtype=float)
    return r * beta / alpha * _power_difference_over(s - 1.0, np.log1p(t / beta))


def p_alive(params: Params, x, t_x, T) -> np.ndarray:
    """Probability each customer is still alive at T, given (x, t_x, T).

    Customers with no repeat purchase (x = 0, t_x = 0) differ only by T, and
    a base holds few distinct ages: their integral is computed once per age.
    """
    x, t_x, T = (a.astype(float, copy=False) for a in np.broadcast_arrays(x, t_x, T))
    once = (x == 0) & (t_x == 0)
    out = np.empty(x.shape)
    if once.any():
        ages, which = unique_inverse(T[once])
        zeros = np.zeros(ages.size)
        log_alive, log_total = _log_parts(params, zeros, zeros, ages)
        out[once] = np.exp(log_alive - log_total)[which]
    rest = ~once
    if rest.any():
        log_alive, log_total = _log_parts(params, x[rest], t_x[rest], T[rest])
        out[rest] = np.exp(log_alive - log_total)
    return out


def conditional_expected_purchases(params: Params, t, x, t_x, T) -> np.ndarray:
    """Expected repeat purchases in (T, T+t] given (x, t_x, T).

    E[Y(t)|x,t_x,T] = P(alive) · (r+x)(β+T)/((α+T)(s−1))
                      · [1 − ((β+T)/(β+T+t))^(s−1)].

    Args:
        params: r, alpha, s, beta.
        t: Length of the forecast window, unit of T.
        x, t_x, T: The customer's summary (arrays broadcast together).
    """
    return p_alive(params, x, t_x, T) * expected_purchases_if_alive(params, t, x, T)


def expected_purchases_if_alive(params: Params, t, x, T) -> np.ndarray:
    """E[Y(t) | alive at T]: conditional_expected_purchases without P(alive).

    Recency does not enter: given alive, λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T).
    """
    r, alpha, s, beta = param_values(params, PARAM_NAMES)
    t, x, T = (np.asarray(v, dtype=float) for v in (t, x, T))
    return ((r + x) * (beta + T) / (alpha + T)
            * _power_difference_over(s - 1.0, np.log1p(t / (beta + T))))


def dert(params: Params, x, t_x, T, discount_rate: float) -> np.ndarray:
    """Discounted expected residual transactions from T on, per customer.

    DERT = α^r β^s δ^(s−1) Γ(r+x+1) U(s, s; δ(β+T)) / [Γ(r) (α+T)^(r+x+1) L],
    i.e. P(alive) · E[λ|alive] · E[1/(μ+δ)|alive] with U Tricomi's function
    (Fader, Hardie & Lee 2005, JMR, eq. 2). Multiply by margin per purchase
    to get a residual CLV.

    Args:
        params: r, alpha, s, beta.
        x, t_x, T: The customer's summary.
        discount_rate: Simple discount rate d per time unit of T (e.g. per
            week for CDNOW); the continuous rate is δ = ln(1 + d).

    Returns:
        Expected discounted number of future purchases per customer.
    """
    return p_alive(params, x, t_x, T) * dert_if_alive(params, x, T, discount_rate)


def dert_if_alive(params: Params, x, T, discount_rate: float) -> np.ndarray:
    """DERT given alive at T: E[λ|alive] · E[1/(μ+δ)|alive], see :func:`dert`.

    E[1/(μ+δ)] for μ ~ Gamma(s, β+T) is δ^(s−1) (β+T)^s U(s, s; δ(β+T)); it
    depends on T alone, so it is evaluated once per distinct age (a game's
    customers have a handful) rather than once per customer.
    """
    if not discount_rate > 0:
        raise DataError(f"discount_rate must be > 0, got {discount_rate!r:.40}")
    r, alpha, s, beta = param_values(params, PARAM_NAMES)
    x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, T)))
    delta = np.log1p(discount_rate)
    ages, which = unique_inverse(T.reshape(-1))
    factor = np.full(ages.shape, np.nan)
    if s < _HYPERU_MAX_S:
        with np.errstate(all="ignore"):
            factor = np.exp((s - 1.0) * np.log(delta) + s * np.log(beta + ages)
                            + np.log(hyperu(s, s, delta * (beta + ages))))
    bad = ~np.isfinite(factor)
    if bad.any():
        factor[bad] = _discounted_lifetime(s, beta + ages[bad], delta)
    return (r + x) / (alpha + T) * factor[which.reshape(T.shape)]


def _discounted_lifetime(s: float, rate: np.ndarray, delta: float) -> np.ndarray:
    """E[1/(μ+δ)] for μ ~ Gamma(s, rate), by Gauss–Laguerre quadrature.

    E[1/(μ+δ)] = ∫ e^(−δt) E[e^(−μt)] dt = ∫ e^(−δt) (1 + t/rate)^(−s) dt.
    scipy's U(s, s; z) is slow (0.1 s a call from s ~ 100) and overflows
    already at s ~ 20 in the shipped markets' range, where the old fallback,
    1/(E[μ]+δ), is up to 1/s too low.  The integrand is close to
    e^(−(δ+s/rate)t) there, so 64 Laguerre nodes scaled by that rate give it
    to 1e-9 for s ≥ 10 (checked against adaptive quadrature).

    Args:
        s: the dropout rate's Gamma shape.
        rate: the Gamma's rate (β + T) per distinct age, 1/time unit.
        delta: the continuous discount rate per time unit.

    Returns:
        E[1/(μ+δ)] per entry of ``rate``, in time units.
    """
    scale = delta + s / rate
    t = _LAGUERRE_NODES[:, None] / scale
    g = np.exp(_LAGUERRE_NODES[:, None] - delta * t - s * np.log1p(t / rate))
    return (_LAGUERRE_WEIGHTS @ g) / scale
