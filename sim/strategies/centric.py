"""The customer-centric reference strategy: observable data only.

Service first, then acquisition with what is left of the one marketing
budget.  Acquisition: estimate what a customer from each channel is worth
from the channel's past cohorts (their observed profit in the first turns,
with a geometric tail from the cohort's observed repeat-buying retention)
and buy where the next dollar returns the most, while it returns at least
a dollar.  Service (at most half the budget): tiers by predicted
customer lifetime value (``sim.analytics.clv``: Pareto/NBD and Gamma–Gamma
in the shops, sBG for members) — turn away customers whose predicted value
is negative (they cost more to serve than they bring), give real service
(twice the half-saturation spend) to the customers with the highest
predicted value whose next turn's expected contribution covers that spend,
as many as the budget pays for, and nothing to the rest.  Should the models
have too little history to fit, RFM-style tiers on observed profit stand in.
"""

from __future__ import annotations

import numpy as np

from ..analytics.clv import CustomerValue, predict_clv
from ..analytics.fitting import DataError
from ..decisions import DISENGAGE, Decision, Tier, evaluate_rule
from ..engine import Truth
from ..observation import Observation
from .base import BaseStrategy, even_acquisition, greedy_acquisition

#: Turns of cohort history used to value a channel's customers.
_HISTORY_TURNS = 4
#: Most of the marketing budget the reference spends on service.
_SERVICE_SHARE = 0.5
#: Per-turn retention assumed at most, so a short history never implies immortality.
_MAX_RETENTION = 0.95


def channel_values(observation: Observation) -> np.ndarray | None:
    """Estimated value of one new customer from each channel, dollars (None if no history).

    Uses each mature customer's first ``h`` turns (h = up to four): profit
    per turn of the channel's cohorts, plus a geometric tail at the
    retention seen between the last two of those turns.
    """
    s = observation.scenario
    if observation.n_customers == 0:
        return None
    acquired = observation.acquisition_turn
    h = min(_HISTORY_TURNS, int(observation.turn - acquired.min()))
    if h < 2:
        return None
    n_channels = len(s.channels)
    # Per channel and turn of age: summed profit, and customers still current.
    per_turn = np.zeros(n_channels * h)
    active = np.zeros(n_channels * h)
    cohort = np.zeros(n_channels)
    # Rows are in acquisition order, so each mature cohort is one block of
    # rows whose first h turns are one block of columns: views, no gathers.
    first_turn = int(observation.turn_columns[0])
    for turn in range(int(acquired.min()), observation.turn - h + 1):
        start, stop = np.searchsorted(acquired, [turn, turn + 1])
        if start == stop:
            continue
        rows, cols = slice(start, stop), slice(turn - first_turn, turn - first_turn + h)
        revenue = observation.spend[rows, cols]
        if s.contractual:
            # Who is still a customer: members in a contractual business, buyers otherwise.
            current = observation.turn_columns[cols] <= observation.cancel_turn[rows, None]
            revenue = revenue + s.membership_fee * current
        else:
            current = observation.purchases[rows, cols] > 0
        profit = s.gross_margin * revenue - observation.cost_to_serve[rows, cols]
        channel = observation.channel[rows].astype(np.int64)
        cell = (channel[:, None] * h + np.arange(h)).ravel()
        per_turn += np.bincount(cell, profit.ravel(), n_channels * h)
        active += np.bincount(cell, current.ravel(), n_channels * h)
        cohort += np.bincount(channel, minlength=n_channels)
    per_turn, active = per_turn.reshape(n_channels, h), active.reshape(n_channels, h)
    per_turn = np.divide(per_turn, cohort[:, None], out=np.zeros_like(per_turn),
                         where=cohort[:, None] > 0)
    retention = np.divide(active[:, -1], active[:, -2], out=np.zeros(n_channels),
                          where=active[:, -2] > 0)
    retention = np.minimum(retention, _MAX_RETENTION)
    v = 1.0 / (1.0 + s.discount_rate)
    head = per_turn @ v ** np.arange(1, h + 1)
    tail = per_turn[:, -1] * retention * v / (1.0 - retention * v) * v ** h
    return head + tail


class CustomerCentric(BaseStrategy):
    """Focus acquisition on valuable channels and service on valuable customers."""

    name = "customer-centric"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        s = observation.scenario
        cap = _SERVICE_SHARE * s.budget.marketing
        try:
            value = predict_clv(observation)
        except DataError:
            tiers, cost = self.rfm_tiers(observation, cap)
            scores = {}
        else:
            tiers, cost = self.clv_tiers(observation, value, cap)
            scores = value.columns()
        # Acquisition gets what service leaves of the marketing budget.
        left = max(0.0, s.budget.marketing - cost)
        values = channel_values(observation)
        if values is None:
            acquisition = even_acquisition(s)
            scale = min(1.0, left / max(sum(acquisition.values()), 1e-9))
            acquisition = {c: x * scale for c, x in acquisition.items()}
        else:
            acquisition = greedy_acquisition(s, values, budget=left)
        return Decision(acquisition, tiers, scores)

    @staticmethod
    def clv_tiers(observation: Observation, value: CustomerValue,
                  budget: float) -> tuple[tuple[Tier, ...], float]:
        """Turn away negative predicted CLV; serve the highest predicted CLV within ``budget``.

        Returns:
            (the tiers, their service cost in dollars this turn).
        """
        s = observation.scenario
        level = 2.0 * s.service.half_saturation
        tiers = [Tier("negative value", {"field": "predicted_clv", "op": "<", "value": 0.0},
                      DISENGAGE)]
        clv = value.predicted_clv
        # Service pays back only where next turn's contribution covers it.
        worth_serving = (value.horizon_value >= level) & (clv > 0) & observation.active
        count = min(int(worth_serving.sum()), int(budget // level))
        cost = 0.0
        if count > 0:
            ranked = np.where(worth_serving, clv, -np.inf)
            threshold = float(np.partition(ranked, ranked.size - count)[ranked.size - count])
            rule = {"all": [{"field": "predicted_clv", "op": ">=", "value": threshold},
                            {"field": "horizon_value", "op": ">=", "value": level}]}
            served = int((ranked >= threshold).sum())
            # Ties at the threshold could push the tier over budget; skip it then.
            if served * level <= budget:
                tiers.append(Tier("most valuable", rule, level))
                cost = served * level
        return tuple(tiers), cost

    @staticmethod
    def rfm_tiers(observation: Observation, budget: float) -> tuple[tuple[Tier, ...], float]:
        """Turn away observed losses; serve recent buyers with the best profit per turn.

        Returns:
            (the tiers, their service cost in dollars this turn).
        """
        s = observation.scenario
        cols = observation.columns
        level = 2.0 * s.service.half_saturation
        unprofitable = {"all": [{"field": "profit", "op": "<", "value": 0.0},
                                {"field": "age", "op": ">=", "value": 2.0}]}
        tiers = [Tier("unprofitable", unprofitable, DISENGAGE)]
        # Likely still a customer: a member (contractual) or a recent buyer.
        if s.contractual:
            current = {"field": "active", "op": "==", "value": 1}
        else:
            current = {"field": "recency", "op": "<=", "value": 1.0}
        is_current = evaluate_rule(current, cols)
        turned_away = (cols["profit"] < 0) & (cols["age"] >= 2.0)
        rate = np.where(is_current & ~turned_away & (cols["active"] == 1),
                        cols["profit_per_turn"], -np.inf)
        # Service pays back only where the customer brings enough margin.
        worth_serving = rate >= level
        count = min(int(worth_serving.sum()), int(budget // level))
        cost = 0.0
        if count > 0:
            threshold = float(np.partition(rate, rate.size - count)[rate.size - count])
            best = {"all": [current, {"field": "profit_per_turn", "op": ">=", "value": threshold}]}
            served = is_current & (cols["profit_per_turn"] >= threshold) & ~turned_away \
                & (cols["active"] == 1)
            # Ties at the threshold could push the tier over budget; skip it then.
            if int(served.sum()) * level <= budget:
                tiers.append(Tier("best", best, level))
                cost = int(served.sum()) * level
        return tuple(tiers), cost
