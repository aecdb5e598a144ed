"""Closed-form customer value from true latent traits (pure functions).

The engine discounts a turn's profit at the turn's end, by (1 + d)^-t.  For
a customer alive now with known rates lambda, mu (per turn) the expected
number of purchases in the k-th turn from now is lambda e^{-mu (k-1)}
(1 - e^{-mu}) / mu (non-contractual: death at any time) or lambda
e^{-mu (k-1)} (contractual: cancellation only at a turn's end), so the
expected discounted sum over all future turns is a geometric series:

    annuity(mu) = w(mu) * v / (1 - v e^{-mu}),   v = 1 / (1 + d),
    w(mu) = (1 - e^{-mu}) / mu  (non-contractual),  1  (contractual).

As turns shrink this tends to the continuous Pareto/NBD result
lambda / (mu + delta) with delta = ln(1 + d).

Cost to serve is random per purchase (each purchase, and a member's box,
needs serving with probability kappa at a random cost whose mean is the
turn's average ticket), so its expectation given a turn's revenue is
exactly kappa x revenue, and a turn's expected contribution is
(margin - kappa) x expected revenue.
"""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from .population import Population
from .scenario import Scenario


def exposure_per_turn(dropout_rate: np.ndarray, contractual: bool) -> np.ndarray:
    """Expected share of the next turn a customer alive now stays alive."""
    mu = np.asarray(dropout_rate, dtype=float)
    if contractual:
        return np.ones_like(mu)
    # -expm1(-mu)/mu -> 1 as mu -> 0; guard the division.
    return np.where(mu > 1e-12, -np.expm1(-mu) / np.where(mu > 1e-12, mu, 1.0), 1.0)


def annuity_factor(dropout_rate: np.ndarray, discount_rate: float, contractual: bool) -> np.ndarray:
    """Expected discounted turns of activity from now on (multiply by value per turn)."""
    mu = np.asarray(dropout_rate, dtype=float)
    v = 1.0 / (1.0 + discount_rate)
    return exposure_per_turn(mu, contractual) * v / (1.0 - v * np.exp(-mu))


def margin_per_turn(population: Population, ids: np.ndarray, scenario: Scenario,
                    purchase_rate: np.ndarray | None = None,
                    cost_to_serve: np.ndarray | None = None) -> np.ndarray:
    """Expected contribution per turn alive, dollars: (margin - kappa) x (lambda x E[spend] + fee).

    ``purchase_rate`` and ``cost_to_serve`` override the neutral traits
    (e.g. under service or disengagement).
    """
    lam = population.purchase_rate[ids] if purchase_rate is None else purchase_rate
    kappa = population.cost_to_serve[ids] if cost_to_serve is None else cost_to_serve
    revenue = lam * population.mean_spend[ids] + (scenario.membership_fee if scenario.contractual else 0.0)
    return (scenario.gross_margin - kappa) * revenue


def customer_equity(population: Population, ids: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Expected discounted future contribution of each alive customer, dollars at 'now'.

    Neutral maintenance policy: no service, not disengaged, from the next
    turn on.  Use for terminal customer equity at the end of a game.
    """
    return margin_per_turn(population, ids, scenario) * annuity_factor(
        population.dropout_rate[ids], scenario.discount_rate, scenario.contractual)


def disengaged_equity(population: Population, ids: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Customer equity if the firm turns each customer away for good, dollars at 'now'.

    Purchase rate x purchase_multiplier, dropout x dropout_multiplier and
    cost-to-serve probability x cost_to_serve_factor, from the next turn on.
    """
    dis = scenario.disengage
    margin = margin_per_turn(population, ids, scenario,
                             purchase_rate=population.purchase_rate[ids] * dis.purchase_multiplier,
                             cost_to_serve=population.cost_to_serve[ids] * dis.cost_to_serve_factor)
    return margin * annuity_factor(population.dropout_rate[ids] * dis.dropout_multiplier,
                                   scenario.discount_rate, scenario.contractual)


def prospect_value(population: Population, ids: np.ndarray, scenario: Scenario) -> np.ndarray:
    """True value of acquiring each prospect now, dollars: first purchase plus equity.

    The first purchase happens at acquisition, inside the turn, so it is
    discounted to the turn's end like the rest of the turn.
    """
    v = 1.0 / (1.0 + scenario.discount_rate)
    first = (scenario.gross_margin - population.cost_to_serve[ids]) * population.mean_spend[ids] * v
    return first + customer_equity(population, ids, scenario)


#: Whole-pool arrays of the last (population, scenario) valued: {name: array}.
_pool_arrays: tuple | None = None
_pool_lock = threading.Lock()


def whole_pool(population: Population, scenario: Scenario, name: str,
               compute: Callable[[Population, np.ndarray, Scenario], np.ndarray]) -> np.ndarray:
    """``compute(population, every prospect id, scenario)``, read-only, once per population.

    For a value that depends on a prospect's latent traits alone (such as
    ``prospect_value``): a strategy that reads it for the pool left every
    turn (the oracle) indexes one array instead of recomputing a million
    values a turn.  Keyed by the population object itself (the engine keeps
    one per market) and the scenario; only the last population's arrays are
    kept (and with them that population, until another is valued).
    """
    global _pool_arrays
    with _pool_lock:
        cached = _pool_arrays
    if cached is None or cached[0] is not population or cached[1] != scenario:
        cached = (population, scenario, {})
    values = cached[2].get(name)
    if values is None:
        values = compute(population, np.arange(population.size), scenario)
        values.flags.writeable = False
        with _pool_lock:
            cached[2][name] = values
            _pool_arrays = cached
    return values
