"""Closed-form referral value (CRV) from true latent traits (docs/model.md section 3).

A customer alive now with referral rate rho and dropout mu makes, in the
k-th turn from now, rho e^{-mu (k-1)} w(mu) referrals in expectation (the
same exposure as its purchases), and each friend joins at that turn's end.
So its expected discounted referrals are rho x annuity(mu)
(``sim.valuation.annuity_factor``), each worth the value W of a referred
prospect of its kind when it joins:

    CRV = rho annuity(mu) (l W_t + (1 - l) sum_s pi_s W_s)

with l the like share, t the customer's type and pi the pool's type mix.
Referred customers refer too, so W solves, over the types,

    W_t = f_t + g_t (l W_t + (1 - l) sum_s pi_s W_s)

with f_t the mean prospect value and g_t the mean rho annuity(mu) of type
t's prospects still in the pool.  The pool's depletion by future referrals
is ignored.
"""

from __future__ import annotations

import numpy as np

from .population import Population
from .referral_chain import referral_matrix
from .scenario import Scenario
from .valuation import annuity_factor, prospect_value, whole_pool


def expected_referrals(population: Population, ids: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Expected discounted referrals of each customer from the next turn on (neutral policy)."""
    return population.referral_rate[ids] * annuity_factor(
        population.dropout_rate[ids], scenario.discount_rate, scenario.contractual)


def referred_prospect_values(population: Population, in_pool: np.ndarray,
                             scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """W per type (dollars when a friend joins) and the pool's type mix pi.

    Types with nobody left in the pool have W = 0 and pi = 0 (a referral
    to them is lost).
    """
    k = len(scenario.types)
    pool = np.flatnonzero(in_pool)
    kind = population.type_index[pool]
    size = np.bincount(kind, minlength=k).astype(float)
    if pool.size == 0:
        return np.zeros(k), np.zeros(k)
    worth = whole_pool(population, scenario, "prospect_value", prospect_value)[pool]
    rate = whole_pool(population, scenario, "expected_referrals", expected_referrals)[pool]
    f = np.bincount(kind, weights=worth, minlength=k)
    g = np.bincount(kind, weights=rate, minlength=k)
    f, g = (np.divide(x, size, out=np.zeros(k), where=size > 0) for x in (f, g))
    mix = size / pool.size
    matrix = referral_matrix(scenario.referrals.like_share, g, mix)
    return np.linalg.solve(np.eye(k) - matrix, f), mix


def friend_values_by_type(population: Population, scenario: Scenario,
                          in_pool: np.ndarray) -> np.ndarray:
    """Expected value of one friend a customer of each type refers, dollars when it joins.

    l W_t + (1 - l) sum_s pi_s W_s per type t: one linear solve over the
    pool, so a caller valuing several groups of customers computes it once.
    """
    worth, mix = referred_prospect_values(population, in_pool, scenario)
    like = scenario.referrals.like_share
    return like * worth + (1.0 - like) * float(mix @ worth)


def friend_value(population: Population, ids: np.ndarray, scenario: Scenario,
                 in_pool: np.ndarray, by_type: np.ndarray | None = None) -> np.ndarray:
    """Expected value of one friend each customer in ``ids`` refers, dollars when it joins.

    ``by_type`` is :func:`friend_values_by_type` when the caller has it
    already; 0 for every customer without referrals.
    """
    if scenario.referrals is None:
        return np.zeros(np.asarray(ids).size)
    if by_type is None:
        by_type = friend_values_by_type(population, scenario, in_pool)
    return by_type[population.type_index[ids]]


def referral_equity(population: Population, ids: np.ndarray, scenario: Scenario,
                    in_pool: np.ndarray, by_type: np.ndarray | None = None) -> np.ndarray:
    """CRV of each alive customer in ``ids``, dollars at 'now' (0 without referrals)."""
    if scenario.referrals is None:
        return np.zeros(np.asarray(ids).size)
    return (expected_referrals(population, ids, scenario)
            * friend_value(population, ids, scenario, in_pool, by_type))


def pending_value(population: Population, pending: np.ndarray, scenario: Scenario,
                  in_pool: np.ndarray, by_type: np.ndarray | None = None) -> float:
    """Value of friends referred but not yet joined, dollars at 'now' (each W of its own)."""
    pending = np.asarray(pending, dtype=np.int64)
    if scenario.referrals is None or pending.size == 0:
        return 0.0
    return float((prospect_value(population, pending, scenario)
                  + referral_equity(population, pending, scenario, in_pool, by_type)).sum())
