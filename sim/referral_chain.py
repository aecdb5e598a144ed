"""Do chains of referrals die out?  A scenario-level check on the type means.

A referred customer of type t brings, in discounted expectation, g_t
friends: its mean referral rate times its mean annuity (expected
discounted turns alive, ``sim.valuation.annuity_factor``; the formula is
repeated here because the scenario reader, which calls this, sits below
the engine).  A friend is of the referrer's type with probability l, else
drawn by the market's mix pi, so the friends each type brings are the
matrix diag(g) (l I + (1 - l) 1 pi^T).  Its largest eigenvalue below 1
means chains die out and the referral value (``sim.referral_value``) is
finite; ``validate`` refuses one above ``limits.DERIVED_LIMITS["referral chain"]``.
"""

from __future__ import annotations

import numpy as np

#: Quantiles per type for the mean annuity (midpoint rule).
_QUANTILES = 512


def referral_matrix(like_share: float, g: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """diag(g) (l I + (1 - l) 1 pi^T): friends of each type a referred prospect brings."""
    k = g.size
    return g[:, None] * (like_share * np.eye(k) + (1.0 - like_share) * mix[None, :])


def _annuity(mu: np.ndarray, discount_rate: float, contractual: bool) -> np.ndarray:
    v = 1.0 / (1.0 + discount_rate)
    exposure = np.ones_like(mu) if contractual else np.where(
        mu > 1e-12, -np.expm1(-mu) / np.where(mu > 1e-12, mu, 1.0), 1.0)
    return exposure * v / (1.0 - v * np.exp(-mu))


def chain_growth(scenario) -> float:
    """Largest eigenvalue of the referral matrix for the type means (< 1: chains die out)."""
    from scipy import special  # only for scenarios with referrals

    u = (np.arange(_QUANTILES) + 0.5) / _QUANTILES
    g = []
    for t in scenario.types:
        if t.referral_rate is None:
            g.append(0.0)
            continue
        if t.dropout_rate is not None:
            mu = special.gammaincinv(t.dropout_rate.shape, u) / t.dropout_rate.rate
        else:
            churn = special.betaincinv(t.churn_probability.a, t.churn_probability.b, u)
            mu = -np.log1p(-np.minimum(churn, 1.0 - 1e-12))
        g.append(t.referral_rate.mean * float(np.mean(
            _annuity(mu, scenario.discount_rate, scenario.contractual))))
    mix = np.array([t.weight for t in scenario.types])
    matrix = referral_matrix(scenario.referrals.like_share, np.array(g), mix)
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))
