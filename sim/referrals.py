"""Referrals: customers who bring customers (docs/model.md section 2.6).

Only a scenario with a ``referrals`` block has them; for every other
scenario nothing here runs and no draw of the engine changes.

* Each prospect's latent referral rate rho (referrals per turn alive) is a
  Gamma per type, tied weakly to its mean spend by a Gaussian copula
  (``draw_referral_rates``).
* In a turn, an alive customer refers Poisson(rho' x exposure) friends,
  rho' = rho (1 + psi theta g(e)), 0 when turned away
  (``referral_counts``).
* Of a customer's n referrals, Binomial(n, like_share) bring its own type;
  the rest a prospect from the whole pool.  Who is brought is a race on one
  fixed exponential key per prospect, turn and race (``choose_referred``), so more
  referrals bring a superset of the prospects fewer would.

Every draw is an inverse CDF of a keyed uniform at the prospect's fixed
position (rng purposes 16-19), so a customer's referrals depend only on its
own uniforms and treatment.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .behaviour import binomial_inverse, poisson_inverse
from .response_curve import hill_response
from .rng import stream, uniforms
from .scenario import Scenario

#: Name of the channel referred customers join through (no acquisition cost).
REFERRAL_CHANNEL = "referral"


def draw_referral_rates(scenario: Scenario, seed: int, type_index: np.ndarray,
                        spend_rate: np.ndarray) -> np.ndarray:
    """Each prospect's latent referral rate rho, referrals per turn while alive.

    rho's quantile is Phi(c z_S + sqrt(1 - c^2) z), with z_S the normal score
    of the prospect's mean spend within its type (high spend, high score)
    and z an own normal draw: every type keeps its Gamma marginal.  Both
    transforms are read from per-type tables over normal scores (exact to
    ~1e-6 relative; see ``_log_gamma_quantiles``).

    Args:
        scenario: a scenario with ``referrals``.
        seed: root seed.
        type_index: latent type per prospect.
        spend_rate: nu per prospect (mean spend per purchase = p / nu).

    Returns:
        rho per prospect (0 for types without ``referral_rate``).
    """
    types = scenario.types
    link = scenario.referrals.spend_link
    z = special.ndtri(uniforms(seed, "referral_rate", 0, type_index.size))
    if link != 0.0:
        # nu * gamma ~ Gamma(q, 1): its CDF is the prospect's spend quantile, reversed.
        spend_score = np.zeros(type_index.size)
        for k, t in enumerate(types):
            mine = type_index == k
            scaled = np.log(spend_rate[mine] * t.spend.gamma)
            grid, score = _spend_score_table(t.spend.q)
            spend_score[mine] = np.interp(scaled, grid, score)
        z = link * spend_score + np.sqrt(1.0 - link * link) * z
    rho = np.zeros(type_index.size)
    for k, t in enumerate(types):
        if t.referral_rate is None:
            continue
        mine = type_index == k
        log_quantile = np.interp(z[mine], _Z_GRID, _log_gamma_quantiles(t.referral_rate.shape))
        rho[mine] = np.exp(log_quantile) / t.referral_rate.rate
    return rho


#: Normal scores where the quantile tables are exact; beyond them (odds 1e-16) the end value.
_Z_GRID = np.linspace(-8.2, 8.2, 4097)


def _log_gamma_quantiles(shape: float) -> np.ndarray:
    """ln of Gamma(shape, 1)'s quantile at Phi(z) over ``_Z_GRID``.

    ``gammaincinv`` costs about a microsecond a value (0.8 s for a million
    prospects); ln Q is smooth in z (about quadratic in the lower tail), so
    linear interpolation on this grid is exact to ~1e-6 relative.
    """
    return np.log(special.gammaincinv(shape, special.ndtr(_Z_GRID)))


def _spend_score_table(q: float) -> tuple[np.ndarray, np.ndarray]:
    """(ln x, -Phi^-1(F(x))) for Gamma(q, 1) on a grid of its quantiles: the spend score table."""
    x = special.gammaincinv(q, special.ndtr(_Z_GRID))
    return np.log(x), -_Z_GRID


def referral_counts(seed: int, turn: int, scenario: Scenario, prospect_ids: np.ndarray,
                    rho: np.ndarray, theta: np.ndarray, service: np.ndarray,
                    disengaged: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Referrals each alive customer makes this turn.

    Args:
        seed: root seed.
        turn: the turn.
        scenario: a scenario with ``referrals``.
        prospect_ids: the alive customers' prospect ids (their draw positions).
        rho: their latent referral rates, per turn.
        theta: their service response.
        service: service dollars each gets this turn.
        disengaged: True where turned away (no referrals).
        exposure: share of the turn each is alive (1 for a member).
    """
    g = hill_response(service, scenario.service)
    rate = rho * (1.0 + scenario.referrals.service_boost * theta * g)
    rate = np.where(disengaged, 0.0, rate) * exposure
    u = uniforms(seed, "referral_count", turn, scenario.prospects)[prospect_ids]
    return poisson_inverse(u, rate)


def choose_referred(seed: int, turn: int, scenario: Scenario, referrers: np.ndarray,
                    counts: np.ndarray, in_pool: np.ndarray,
                    type_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The prospects this turn's referrals bring, and who brought each.

    Own-type referrals to type t take the smallest keys among type t's
    prospects in the pool, then the mixed referrals the smallest of a second,
    independent set of keys among all prospects left (so the mixed friends
    are a uniform draw from the pool whatever the own-type ones took).  Referrals are matched to prospects in key order and
    referrer order (prospect id), so the pairing is fixed by the draws.  A
    referral with nobody left to bring is lost.

    Args:
        seed: root seed.
        turn: the turn the referrals were made.
        scenario: a scenario with ``referrals``.
        referrers: prospect ids of the customers who referred (count > 0).
        counts: referrals each made.
        in_pool: True for prospects not yet acquired (not modified).
        type_index: latent type per prospect.

    Returns:
        (prospect ids brought, the referrer's prospect id of each).
    """
    empty = np.empty(0, dtype=np.int64)
    if referrers.size == 0:
        return empty, empty
    order = np.argsort(referrers, kind="stable")
    referrers, counts = referrers[order], counts[order]
    u = uniforms(seed, "referral_kind", turn, scenario.prospects)[referrers]
    own = binomial_inverse(u, counts, np.full(counts.size, scenario.referrals.like_share))
    # Two independent key sets: had the mixed race reused the own-type keys, it
    # would find each type's smallest keys already taken and under-draw the
    # types in demand (measured: a quarter fewer friends of the connectors' kind).
    keys = stream(seed, "referral_key", turn, 0).standard_exponential(scenario.prospects)
    free = in_pool.copy()
    free_by_type = np.bincount(type_index[free], minlength=len(scenario.types))
    brought, by = [], []
    referrer_type = type_index[referrers]
    for t in np.unique(referrer_type[own > 0]):
        mine = referrer_type == t
        slots = np.repeat(referrers[mine], own[mine])
        won = _smallest_keys(keys, free, slots.size, int(free_by_type[t]), type_index, t)
        free[won] = False
        free_by_type[t] -= won.size
        brought.append(won)
        by.append(slots[: won.size])
    slots = np.repeat(referrers, counts - own)
    if slots.size:
        # Into the first set's array (no longer needed): a fresh one costs its page faults.
        stream(seed, "referral_key", turn, 1).standard_exponential(out=keys)
        won = _smallest_keys(keys, free, slots.size, int(free_by_type.sum()))
        brought.append(won)
        by.append(slots[: won.size])
    if not brought:
        return empty, empty
    return np.concatenate(brought).astype(np.int64), np.concatenate(by).astype(np.int64)


def _smallest_keys(keys: np.ndarray, free: np.ndarray, count: int, eligible: int,
                   type_index: np.ndarray | None = None, kind: int = 0) -> np.ndarray:
    """The ``count`` eligible prospects with the smallest keys, in key order (all if fewer).

    Eligible: free, and of type ``kind`` if ``type_index`` is given;
    ``eligible`` is how many there are.  The keys are Exp(1): a share s of
    the eligible lies below -ln(1 - s), so a cut-off that should hold about
    twice ``count`` narrows the search to a few thousand prospects; it is
    widened until it holds ``count`` (or all), so the result is exactly the
    smallest keys of all the eligible.
    """
    if count <= 0 or eligible <= 0:
        return np.empty(0, dtype=np.int64)
    share = (2.0 * count + 10.0) / eligible
    while True:
        cutoff = np.inf if share >= 1.0 else -np.log1p(-share)
        near = np.flatnonzero(keys <= cutoff)
        near = near[free[near] if type_index is None else free[near] & (type_index[near] == kind)]
        if near.size >= count or share >= 1.0:
            break
        share *= 4.0
    return near[np.argsort(keys[near], kind="stable")[:count]]
