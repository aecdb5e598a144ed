"""Predicted lift in value from service: whom to serve, and at what spend.

The firm's service response curve is public: spending e dollars on a
customer in a turn has the effect g(e) (``sim.response_curve.hill_response``),
and a customer whose response is θ then buys at λ(1 + φθg) and leaves at
μ·e^(−θg).  What the firm does not know is each customer's λ, μ and θ: the
lab's models give a posterior for the first two (``CustomerValue``: the
purchase rate and a posterior of the per-turn survival q = e^(−μ)), a test
estimates θ by segment (``sim.analytics.response_test``).

The scorer values the game's profit turn by turn and the customers left at
the end under a neutral policy (no service).  So the value of serving a
customer alive now, at e for the H turns left and neutrally after, is (per
turn discount v = 1/(1 + d); a the fee's contribution and c the purchases'
contribution per turn alive; w(q) the share of a turn a customer alive at
its start lives, 1 for members, who cancel at a turn's end)::

    V_H(e) = [(a + c·b_e)·w(q_e) − e]·Φ_H(q_e) + (v·q_e)^H · (a + c)·A(q)
    Φ_h(x) = v·(1 − (v·x)^h) / (1 − v·x),   A(q) = w(q)·v / (1 − v·q)

with b_e = 1 + φθg(e) and q_e = q^(e^(−θg(e))); V_0 = (a + c)·A(q) is the
neutral customer equity (``sim.valuation``).  Each turn's decision is
marginal: serving this turn (and on as planned) against skipping only this
turn is worth::

    M(e) = p·v·[(a + c·b_e)·w(q_e) − (a + c)·w(q) + (q_e − q)·V_{H−1}(e)] − v·e

where p is P(alive): a customer who has silently left costs the spend and
gives nothing back.  Every term is averaged over the posterior of q.
``tests/test_service_lift.py`` checks V_H against a long simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..response_curve import hill_response
from ..unique import unique_inverse

__all__ = ["LEVELS", "SurvivalPosterior", "ServiceOptions", "service_options",
           "neutral_annuity"]

#: Service spends tried, as multiples of the scenario's half-saturation spend.
LEVELS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)


@dataclass(frozen=True)
class SurvivalPosterior:
    """Posterior of each customer's per-turn survival probability q = e^(−μ), if alive.

    Customers share a handful of posteriors (one per age in the Pareto/NBD,
    one per channel and tenure for members), so it is held per group.

    Attributes:
        group: index of each customer's posterior (rows of ``nodes``).
        nodes: (groups, J) values of q, neutral policy (no service).
        weights: (groups, J) probability of each node; rows sum to 1.
    """

    group: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray

    def expect(self, values: np.ndarray) -> np.ndarray:
        """Posterior mean per group of ``values`` (an array shaped like ``nodes``)."""
        return np.sum(values * self.weights, axis=-1)


@dataclass(frozen=True)
class ServiceOptions:
    """Each customer's best service spend and what it is worth.

    Attributes:
        levels: the spends tried, dollars per customer per turn.
        best: index into ``levels`` of each customer's best spend.
        gain: one-turn marginal gain at the best spend, dollars net of the
            spend (M above): what a dollar of service buys this turn.
        cost: the best spend, dollars per customer this turn.
        program_gain: value of serving at the best spend for the rest of
            the game against never serving, dollars net of every turn's
            spend (p·(V_H − V_0) less a turn's spend on those gone).
        neutral_value: predicted CLV under the neutral policy, dollars
            (p·V_0): what the scorer counts for a customer left alone.
    """

    levels: np.ndarray
    best: np.ndarray
    gain: np.ndarray
    cost: np.ndarray
    program_gain: np.ndarray
    neutral_value: np.ndarray


def _exposure(mu: np.ndarray, contractual: bool) -> np.ndarray:
    if contractual:
        return np.ones_like(mu)
    safe = np.maximum(mu, 1e-12)
    return np.where(mu > 1e-12, -np.expm1(-safe) / safe, 1.0)


def neutral_annuity(q: np.ndarray, discount_rate: float, contractual: bool) -> np.ndarray:
    """A(q) = w(q)·v/(1 − v·q): expected discounted turns alive from now, neutral policy."""
    v = 1.0 / (1.0 + discount_rate)
    q = np.asarray(q, dtype=float)
    return _exposure(-np.log(q), contractual) * v / (1.0 - v * q)


def _tables(q: np.ndarray, weights: np.ndarray, theta: np.ndarray, scenario, turns_left: int,
            levels: np.ndarray) -> dict[str, np.ndarray]:
    """Posterior means per (posterior, θ) pair and level of the pieces of M and V_H.

    Args:
        q: (P, J) survival nodes; weights: (P, J); theta: (P,).

    Returns:
        name -> (P, L) array: the coefficients of a, c and e in M ("MA",
        "MB", "Me") and in p·(V_H − V_0) ("PA", "PB", "Pe"), and A(q) ("A").
    """
    s = scenario
    v = 1.0 / (1.0 + s.discount_rate)
    mu = -np.log(q)
    w0 = _exposure(mu, s.contractual)
    annuity = w0 * v / (1.0 - v * q)
    h = turns_left
    out = {k: np.empty((q.shape[0], levels.size)) for k in ("MA", "MB", "Me", "PA", "PB", "Pe")}
    out["A"] = np.sum(annuity * weights, axis=1)
    for j, g in enumerate(hill_response(levels, s.service)):
        effect = theta[:, None] * g
        mu_e = mu * np.exp(-effect)
        q_e = np.exp(-mu_e)
        w_e = _exposure(mu_e, s.contractual)
        boost = 1.0 + s.service.purchase_boost * effect
        growth = v * q_e
        phi_rest = v * (1.0 - growth ** (h - 1)) / (1.0 - growth)     # Φ_{H−1}(q_e)
        phi_all = v * (1.0 - growth ** h) / (1.0 - growth)            # Φ_H(q_e)
        tail_rest = growth ** (h - 1) * annuity
        tail_all = growth ** h * annuity
        kept = q_e - q
        pieces = {
            "MA": w_e - w0 + kept * (w_e * phi_rest + tail_rest),
            "MB": boost * w_e - w0 + kept * (boost * w_e * phi_rest + tail_rest),
            "Me": kept * phi_rest,
            "PA": w_e * phi_all + tail_all - annuity,
            "PB": boost * w_e * phi_all + tail_all - annuity,
            "Pe": phi_all,
        }
        for name, values in pieces.items():
            out[name][:, j] = np.sum(values * weights, axis=1)
    return out


def service_options(p_alive: np.ndarray, fee_value: np.ndarray, purchase_value: np.ndarray,
                    survival: SurvivalPosterior, theta: np.ndarray, scenario, turn: int,
                    levels: np.ndarray | None = None) -> ServiceOptions:
    """Each customer's best service spend this turn and its predicted lift in value.

    Args:
        p_alive: probability each customer is still a customer.
        fee_value: a, contribution of the membership fee per turn alive, dollars.
        purchase_value: c, contribution of purchases per turn alive, dollars
            (margin share × expected purchases per turn × expected spend).
        survival: posterior of the per-turn survival, neutral policy.
        theta: estimated service response of each customer (≥ 0).
        scenario: the public scenario (service curve, discount rate, turns).
        turn: the turn being decided (the game has ``scenario.turns - turn + 1`` left).
        levels: spends to try, dollars (default ``LEVELS`` × half-saturation).

    Returns:
        The best level per customer (the one with the largest M), M there,
        the program gain and the neutral value.
    """
    s = scenario
    if levels is None:
        levels = np.asarray(LEVELS) * s.service.half_saturation
    levels = np.asarray(levels, dtype=float)
    n = p_alive.size
    turns_left = max(int(s.turns - turn + 1), 1)
    v = 1.0 / (1.0 + s.discount_rate)
    # One table row per (posterior group, θ) pair: a game has a few hundred at most.
    theta_values, theta_index = unique_inverse(np.asarray(theta, dtype=float).reshape(-1))
    pair_code = survival.group.astype(np.int64) * theta_values.size + theta_index.reshape(-1)
    pairs, pair = unique_inverse(pair_code)
    groups = pairs // theta_values.size
    t = _tables(survival.nodes[groups], survival.weights[groups],
                theta_values[pairs % theta_values.size], s, turns_left, levels)
    a, c, p = fee_value, purchase_value, p_alive
    # The best level by M, one level at a time (no customers × levels temporaries).
    gain = np.full(n, -np.inf)
    best = np.zeros(n, dtype=np.int64)
    # Each level's table column made contiguous, and the arithmetic of
    # v·p·(a·MA + c·MB − e·Me) − v·e done in place in the same order (same bits).
    ma, mb, me = (np.ascontiguousarray(t[k].T) for k in ("MA", "MB", "Me"))
    vp = v * p
    m, term = np.empty(n), np.empty(n)
    better = np.empty(n, dtype=bool)
    for j, e in enumerate(levels):
        np.take(ma[j], pair, out=m)
        m *= a
        np.take(mb[j], pair, out=term)
        term *= c
        m += term
        np.take(me[j], pair, out=term)
        term *= e
        m -= term
        m *= vp
        m -= v * e
        np.greater(m, gain, out=better)
        np.copyto(gain, m, where=better)
        np.copyto(best, j, where=better)
    cost = levels[best]
    program = (p * (a * t["PA"][pair, best] + c * t["PB"][pair, best] - cost * t["Pe"][pair, best])
               - (1.0 - p) * v * cost)
    neutral = p * (a + c) * t["A"][pair]
    return ServiceOptions(levels, best, gain, cost, program, neutral)
