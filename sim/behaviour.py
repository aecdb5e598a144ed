"""How customers behave within one turn: pure, vectorised functions.

Each alive customer lives the turn in continuous time: death at an
exponential time with rate mu', purchases as a Poisson process with rate
lambda' while alive, and Gamma–Gamma spend per purchase.  Every random input
arrives as pre-drawn uniforms (one per customer), and each function is an
inverse-CDF transform of them, so a customer's outcome depends only on its
own uniforms and rates (common random numbers; DESIGN.md section 1).
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from .scenario import ServiceResponse

#: Above this mean the sequential Poisson search would take too many steps.
_POISSON_SEARCH_LIMIT = 200.0


def hill_response(spend_per_customer: np.ndarray, service: ServiceResponse) -> np.ndarray:
    """S-shaped service effect g(e) = g_max e^h / (e^h + e50^h), e in dollars per turn."""
    e = np.asarray(spend_per_customer, dtype=float)
    ratio = (e / service.half_saturation) ** service.hill
    return service.g_max * ratio / (1.0 + ratio)


def served_rates(purchase_rate: np.ndarray, dropout_rate: np.ndarray, theta: np.ndarray,
                 g: np.ndarray, purchase_boost: float) -> tuple[np.ndarray, np.ndarray]:
    """Rates per turn under service effect g: lambda (1 + phi theta g), mu exp(-theta g)."""
    return purchase_rate * (1.0 + purchase_boost * theta * g), dropout_rate * np.exp(-theta * g)


def poisson_inverse(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Smallest n with P(N <= n) >= u for N ~ Poisson(mean), elementwise.

    A vectorised sequential search: each pass advances only the customers
    whose count is not settled yet, so the cost is about the largest count.
    Very large means (never reached in shipped scenarios) use scipy's ppf.
    """
    u = np.asarray(u, dtype=float)
    mean = np.asarray(mean, dtype=float)
    counts = np.zeros(u.shape, dtype=np.int64)
    big = mean > _POISSON_SEARCH_LIMIT
    if big.any():
        counts[big] = stats.poisson.ppf(u[big], mean[big]).astype(np.int64)
    small = np.flatnonzero(~big)
    pmf = np.exp(-mean[small])
    cdf = pmf.copy()
    active = np.flatnonzero(u[small] > cdf)
    k = 0
    while active.size:
        k += 1
        pmf[active] *= mean[small][active] / k
        cdf[active] += pmf[active]
        counts[small[active]] = k
        # Rounding can leave cdf a hair below u near 1; the pmf then vanishes.
        active = active[(u[small][active] > cdf[active]) & (pmf[active] > 0)]
    return counts


def gamma_total_spend(u: np.ndarray, purchases: np.ndarray, shape: np.ndarray,
                      rate: np.ndarray) -> np.ndarray:
    """Total spend of n purchases, each Gamma(p, nu): the u-quantile of Gamma(n p, nu), dollars."""
    total = np.zeros(np.shape(u))
    buying = purchases > 0
    if buying.any():
        total[buying] = special.gammaincinv(purchases[buying] * shape[buying], u[buying]) / rate[buying]
    return total


def last_purchase_offset(u: np.ndarray, purchases: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Time of the last of n uniform purchase times on [0, exposure): exposure * u^(1/n).

    Given n Poisson arrivals in an interval their times are uniform, and the
    largest of n uniforms is distributed as u^(1/n).  NaN where n = 0.
    """
    out = np.full(np.shape(u), np.nan)
    buying = purchases > 0
    out[buying] = exposure[buying] * u[buying] ** (1.0 / purchases[buying])
    return out
