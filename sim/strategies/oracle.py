"""The oracle: sees every customer's true traits and allocates greedily.

An upper bound for the scorer, not a player.  Each turn it values every
option per customer with the closed forms of ``sim.valuation`` (as if kept
up for the customer's life): service at a few spend levels, disengagement,
or nothing; dead customers get nothing.  One marketing budget is split
greedily: acquisition increments (the true value of the customers the next
dollars in a channel buy, from the remaining pool) and service candidates
(value gained per service dollar) are taken best first while they return
more than they cost.  Customers worth more turned away are disengaged.
With referrals, a customer's value includes its referral value (CRV,
``sim.referral_value``) under each option; a turned-away customer refers
no one.
Its decisions use the public tier mechanism with a score column.
"""

from __future__ import annotations

import numpy as np

from ..behaviour import served_rates
from ..response_curve import hill_response
from ..decisions import DISENGAGE, Decision, Tier
from ..engine import Truth
from ..errors import SimError
from ..observation import Observation
from ..referral_value import expected_referrals, friend_value, friend_values_by_type
from ..valuation import annuity_factor, disengaged_equity, margin_per_turn, prospect_value, whole_pool
from .base import BaseStrategy, split_marketing

#: Service levels tried, as multiples of the scenario's half-saturation spend.
_LEVELS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
_DISENGAGED = -2.0
_NOTHING = -1.0


class Oracle(BaseStrategy):
    """Greedy allocation by true marginal value per dollar."""

    name = "oracle"
    sees_truth = True

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        if truth is None:
            raise SimError("the oracle needs the truth; play it with sim.runner.play_game")
        s = truth.scenario
        # One solve over the pool values a friend for both the service and the channels.
        friend = (friend_values_by_type(truth.population, s, truth.in_pool)
                  if s.referrals is not None else None)
        rows, best, gain, cost, turn_away, lifetime_cost = self._service_options(
            observation, truth, friend)
        # Service is ranked by what it gains per dollar of all the service it commits to
        # (this turn's and every later turn's while the customer lives), not per dollar
        # of this turn's: serving a long-lived customer spends next turn's budget too.
        acquisition, chosen = split_marketing(s, self._channel_values(observation, truth, friend),
                                              gain / lifetime_cost, cost)
        level_of_row = np.full(observation.n_customers, _NOTHING)
        level_of_row[rows[turn_away]] = _DISENGAGED
        level_of_row[rows[chosen]] = best[chosen]
        levels = np.array(_LEVELS) * s.service.half_saturation
        tiers = [Tier("turn away", {"field": "oracle_level", "op": "==", "value": _DISENGAGED},
                      DISENGAGE)]
        tiers += [Tier(f"service ${e:,.2f}", {"field": "oracle_level", "op": "==", "value": float(j)},
                       float(e)) for j, e in enumerate(levels) if (level_of_row == j).any()]
        return Decision(acquisition, tuple(tiers), {"oracle_level": level_of_row})

    @staticmethod
    def _channel_values(observation: Observation, truth: Truth,
                        friend_by_type: np.ndarray | None = None) -> np.ndarray:
        """True value a channel's response curve buys per expected customer, dollars.

        ``friend_by_type``: ``sim.referral_value.friend_values_by_type`` if known.
        """
        s = truth.scenario
        pop = truth.population
        pool = np.flatnonzero(truth.in_pool)
        # A prospect's reach weight depends on its type only: sum by type, then
        # weight the few type totals (not a prospects x channels matrix).
        n_types = pop.affinity.shape[0]
        pool_types = pop.type_index[pool]
        value = whole_pool(pop, s, "prospect_value", prospect_value)[pool]
        if s.referrals is not None:
            # A customer is worth what it buys and whom it brings.
            rate = whole_pool(pop, s, "expected_referrals", expected_referrals)[pool]
            value = value + rate * friend_value(pop, pool, s, truth.in_pool, friend_by_type)
        worth = np.bincount(pool_types, value, n_types) @ pop.affinity
        reach = np.bincount(pool_types, minlength=n_types) @ pop.affinity
        full = np.bincount(pop.type_index, minlength=n_types) @ pop.affinity
        per_customer = np.divide(worth, reach, out=np.zeros(reach.size), where=reach > 0)
        # A channel buys ceiling x (1 - exp(-k A)) x the share of its reach left in
        # the pool: value per unit of the response curve.
        return per_customer * np.divide(reach, full, out=np.zeros(reach.size), where=full > 0)

    @staticmethod
    def _service_options(observation: Observation, truth: Truth,
                         friend_by_type: np.ndarray | None = None):
        """Each alive customer's best service level, its gain and cost, and who to turn away.

        ``friend_by_type``: ``sim.referral_value.friend_values_by_type`` if known.

        Returns:
            (rows of the alive customers, best level index, lifetime value
            gained at it net of its cost, its cost this turn, True where
            turning away is worth more than leaving alone and no service
            level gains anything, and the discounted cost of serving at the
            best level for the customer's expected life, dollars).
        """
        s = truth.scenario
        pop = truth.population
        ids = truth.row_prospect[: observation.n_customers]
        alive = truth.alive[ids] & observation.active.astype(bool)
        rows = np.flatnonzero(alive)
        ids_alive = ids[rows]
        lam, mu = pop.purchase_rate[ids_alive], pop.dropout_rate[ids_alive]
        theta = pop.service_response[ids_alive]
        d, contractual = s.discount_rate, s.contractual
        base = margin_per_turn(pop, ids_alive, s) * annuity_factor(mu, d, contractual)
        dis_value = disengaged_equity(pop, ids_alive, s)
        # Referrals (0 without): rho' annuity x a friend's value; turned away, none.
        rho = pop.referral_rate[ids_alive] if s.referrals is not None else np.zeros(rows.size)
        friend = friend_value(pop, ids_alive, s, truth.in_pool, friend_by_type)
        boost = s.referrals.service_boost if s.referrals is not None else 0.0
        base = base + rho * annuity_factor(mu, d, contractual) * friend

        spends = np.array(_LEVELS) * s.service.half_saturation
        gains = np.empty((spends.size, ids_alive.size))
        annuity = np.empty_like(gains)
        for j, e in enumerate(spends):
            g = hill_response(np.full(ids_alive.size, e), s.service)
            lam_e, mu_e = served_rates(lam, mu, theta, g, s.service.purchase_boost)
            per_turn = margin_per_turn(pop, ids_alive, s, purchase_rate=lam_e) - e
            referral = rho * (1.0 + boost * theta * g) * friend
            annuity[j] = annuity_factor(mu_e, d, contractual)
            gains[j] = (per_turn + referral) * annuity[j] - base
        best = np.argmax(gains, axis=0)
        columns = np.arange(ids_alive.size)
        best_gain = gains[best, columns]
        turn_away = (dis_value > base) & (best_gain <= 0)
        return (rows, best, np.maximum(best_gain, 0.0), spends[best], turn_away,
                spends[best] * annuity[best, columns])
