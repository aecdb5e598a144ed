"""The customer-centric reference strategy: observable data only.

Service first, then acquisition with what is left of the one marketing
budget.  Acquisition: estimate what a customer from each channel is worth
from the channel's past cohorts (their observed profit in the first turns,
with a geometric tail from the cohort's observed repeat-buying retention),
scale it by the share of the channel's response curve still delivering
(customers brought last turn against the public curve's promise: the pool
saturates) and buy where the next dollar returns the most, while it
returns at least a dollar.  Service (at most half the budget): tiers by predicted
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
#: Fewest customers a channel's recent cohorts need to be valued on their own.
_MIN_COHORT = 30
#: Weight of the newest channel-value estimate in the running average.
_SMOOTHING = 0.4
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


def channel_yield(scenario, acquired: dict[str, int], spend: dict[str, float],
                  previous: np.ndarray) -> np.ndarray:
    """Share of each channel's response curve still delivering (the pool saturates).

    The public response curve promises ceiling x (1 - exp(-k A)) customers
    for A dollars in a fresh market; the customers a channel actually
    brought last turn over that promise estimates the share of its reach
    left.  Channels with no spend last turn keep their ``previous`` estimate.
    """
    out = previous.copy()
    for i, c in enumerate(scenario.channels):
        dollars = float(spend.get(c.name, 0.0))
        promised = float(c.expected_acquisitions(dollars))
        # Too few promised customers to measure anything: keep the old estimate.
        if promised >= 20.0:
            out[i] = min(1.0, acquired.get(c.name, 0) / promised)
    return out


def channel_values_from_clv(observation: Observation, value: CustomerValue,
                            min_age: int = 2, max_age: int = 6) -> np.ndarray | None:
    """Estimated value of one new customer from each channel, dollars (None if too few).

    For the cohorts acquired ``min_age`` to ``max_age`` turns ago: the
    profit each customer has brought so far (gross margin less cost to
    serve) plus the lab's predicted CLV from now on, averaged per channel.
    Older cohorts say more about a customer, younger ones about today's
    market; this window holds a few of each.
    """
    s = observation.scenario
    age = observation.turn - observation.acquisition_turn.astype(np.int64)
    worth = observation.columns["profit"] + value.predicted_clv
    channel = observation.channel.astype(np.int64)
    n = len(s.channels)
    mature = age >= min_age
    window = mature & (age <= max_age)
    count = np.bincount(channel[window], minlength=n)
    total = np.bincount(channel[window], weights=worth[window], minlength=n)
    # A channel left unused lately is valued on all its mature customers.
    count_all = np.bincount(channel[mature], minlength=n)
    total_all = np.bincount(channel[mature], weights=worth[mature], minlength=n)
    few = count < _MIN_COHORT
    count = np.where(few, count_all, count)
    total = np.where(few, total_all, total)
    if (count == 0).any():
        return None
    return total / count


class CustomerCentric(BaseStrategy):
    """Focus acquisition on valuable channels and service on valuable customers."""

    name = "customer-centric"

    def reset(self, scenario, seed: int) -> None:
        self._last_spend: dict[str, float] | None = None
        self._yield = np.ones(len(scenario.channels))
        self._values: np.ndarray | None = None
        self._fits: dict | None = None

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        s = observation.scenario
        if not hasattr(self, "_yield"):
            self.reset(s, 0)
        if observation.books:
            # Last turn's spend: ours, or the previous management's before turn 1.
            spend = self._last_spend if self._last_spend is not None else s.inherited.acquisition
            self._yield = channel_yield(s, observation.books[-1].acquired_by_channel, spend,
                                        self._yield)
        cap = _SERVICE_SHARE * s.budget.marketing
        try:
            # Last turn's fits start this turn's search: the base changes little in a turn.
            value = predict_clv(observation, warm_start=self._fits)
        except DataError:
            tiers, cost = self.rfm_tiers(observation, cap)
            scores = {}
            values = channel_values(observation)
        else:
            self._fits = value.fits
            tiers, cost = self.clv_tiers(observation, value, cap)
            scores = value.columns()
            values = channel_values(observation)
            if not s.contractual:
                # Two estimates with different errors: the cohorts' observed profit with a
                # geometric tail, and the lab's CLV of a window of cohorts.
                from_clv = channel_values_from_clv(observation, value)
                if values is None or from_clv is None:
                    values = from_clv if values is None else values
                else:
                    values = 0.5 * (values + from_clv)
        # Acquisition gets what service leaves of the marketing budget.
        left = max(0.0, s.budget.marketing - cost)
        if values is not None and self._values is not None:
            # Each turn's estimate rests on few cohorts: average it with the earlier ones.
            values = _SMOOTHING * values + (1.0 - _SMOOTHING) * self._values
        self._values = values
        if values is None:
            acquisition = even_acquisition(s)
            scale = min(1.0, left / max(sum(acquisition.values()), 1e-9))
            acquisition = {c: x * scale for c, x in acquisition.items()}
        else:
            acquisition = greedy_acquisition(s, values * self._yield, budget=left)
        self._last_spend = dict(acquisition)
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
