"""Rules of thumb with tuned numbers: the yardsticks the customer-centric reference must meet.

A class that plays a scenario a few times can tune a simple heuristic by
trial and error.  Three families of such strategies, each a handful of
numbers (``benchmarks/tune_heuristics.py`` tunes them on seeds the tests
and the benchmark never use, and writes the tables below):

* ``weights``: a fixed acquisition plan (a share of the budget split over
  the channels by tuned weights: what replaying the scenario teaches about
  its channels), observed loss-makers turned away, and one VIP tier by
  observed profit per turn.  The strongest no-model heuristic: the
  reference must come within a few points of it.
* ``observed``: no knowledge carried from other games: each turn's
  acquisition is bought greedily on the channels' cohorts' observed profit
  so far (``sim.strategies.centric.channel_values``, scaled by a tuned
  factor), and the tiers use observed totals only (profit, profit per
  turn, recency, age).  The best of this family is what the analytics lab
  has to beat.
* ``lab``: the same shape, but on the lab's predictions: acquisition on the
  channels' recent cohorts' profit so far plus predicted CLV, customers
  with a negative predicted CLV turned away, and a VIP tier by predicted
  CLV among those likely still customers (P(alive)).

Every family spends whole multiples of the scenario's half-saturation
service spend, as the heuristics students try do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analytics.clv import predict_clv
from ..analytics.fitting import DataError
from ..decisions import DISENGAGE, Decision, Tier
from ..engine import Truth
from ..observation import Observation
from .base import BaseStrategy, greedy_acquisition
from .centric import channel_values, cohort_values

__all__ = ["HeuristicParams", "TunedHeuristic", "FAMILIES", "TUNED", "tuned"]

#: The families of heuristics, by the information they use.
FAMILIES = ("weights", "observed", "lab")


@dataclass(frozen=True)
class HeuristicParams:
    """The numbers of one heuristic.

    Attributes:
        family: "weights", "observed" or "lab" (see the module docstring).
        acquisition_share: most of the marketing budget spent on acquisition.
        weights: per channel, the share weight of a fixed plan ("weights").
        value_scale: factor on each channel's estimated value per customer
            before buying greedily ("observed", "lab").
        turn_away: turn away customers with observed profit < 0 (or, for
            "lab", predicted CLV < 0).
        turn_away_age: ...of at least this age, turns.
        vip_threshold: VIP needs profit per turn ("lab": predicted CLV)
            of at least this many half-saturation spends.
        vip_level: VIP service spend, in half-saturation spends.
        vip_recency: VIP needs a purchase within this many turns ("lab":
            P(alive) of at least ``vip_alive``).
        vip_alive: the least P(alive) for the VIP tier ("lab").
        vip_age: VIP needs at least this age, turns.
    """

    family: str = "weights"
    acquisition_share: float = 0.5
    weights: tuple[float, ...] = ()
    value_scale: float = 1.0
    turn_away: bool = True
    turn_away_age: float = 2.0
    vip_threshold: float = 2.0
    vip_level: float = 1.75
    vip_recency: float = 99.0
    vip_alive: float = 0.5
    vip_age: float = 1.0

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict) -> "HeuristicParams":
        data = dict(data)
        if "weights" in data:
            data["weights"] = tuple(float(x) for x in data["weights"])
        return cls(**data)


class TunedHeuristic(BaseStrategy):
    """A rule-of-thumb strategy with the numbers of ``params``."""

    def __init__(self, params: HeuristicParams, name: str | None = None):
        self.params = params
        self.name = name or f"tuned heuristic ({params.family})"

    def reset(self, scenario, seed: int | None = None) -> None:
        self._values = None

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        p = self.params
        s = observation.scenario
        value = None
        if p.family == "lab":
            try:
                value = predict_clv(observation)
            except DataError:
                value = None
        acquisition = self._acquisition(observation, value)
        left = s.budget.marketing - sum(acquisition.values())
        tiers, scores = self._tiers(observation, value, left)
        return Decision(acquisition, tiers, scores)

    def _acquisition(self, observation: Observation, value) -> dict[str, float]:
        p = self.params
        s = observation.scenario
        money = p.acquisition_share * s.budget.marketing
        if p.family == "weights":
            w = np.asarray(p.weights or (1.0,) * len(s.channels), dtype=float)
            w = w / w.sum()
            return {c.name: float(money * x) for c, x in zip(s.channels, w) if x > 0}
        if p.family == "lab" and value is not None:
            worth = observation.columns["profit"] + value.predicted_clv
            values = cohort_values(observation, worth)
        else:
            values = channel_values(observation)
        if values is None:
            share = money / len(s.channels)
            return {c.name: share for c in s.channels}
        return greedy_acquisition(s, p.value_scale * values, budget=money)

    def _tiers(self, observation: Observation, value, left: float):
        p = self.params
        s = observation.scenario
        cols = observation.columns
        e50 = s.service.half_saturation
        n = observation.n_customers
        lab = p.family == "lab" and value is not None
        old_enough = cols["age"] >= p.turn_away_age
        if lab:
            losing = (value.predicted_clv < 0) & old_enough
            score = value.predicted_clv
            likely = value.p_alive >= p.vip_alive
        else:
            losing = (cols["profit"] < 0) & old_enough
            score = cols["profit_per_turn"]
            likely = cols["recency"] <= p.vip_recency
        if not p.turn_away:
            losing = np.zeros(n, dtype=bool)
        level = p.vip_level * e50
        eligible = (~losing & (cols["active"] == 1) & likely & (cols["age"] >= p.vip_age)
                    & (score >= p.vip_threshold * e50))
        count = int(min(eligible.sum(), max(left, 0.0) // level))
        plan = np.where(losing, -1.0, 0.0)
        if count > 0:
            ranked = np.where(eligible, score, -np.inf)
            plan[np.argpartition(-ranked, count - 1)[:count]] = 1.0
        tiers = (Tier("loses money", {"field": "heuristic_plan", "op": "==", "value": -1.0},
                      DISENGAGE),
                 Tier("VIP", {"field": "heuristic_plan", "op": "==", "value": 1.0}, level))
        return tiers, {"heuristic_plan": plan}


#: Tuned numbers per scenario and family (``benchmarks/tune_heuristics.py``,
#: tuned on seeds 401-405 at 50,000 prospects; the tests and the benchmark
#: never play those seeds).
TUNED: dict[str, dict[str, dict]] = {'bike_shop': {'lab': {'acquisition_share': 0.7,
                       'turn_away': True,
                       'turn_away_age': 3.0,
                       'value_scale': 1.0,
                       'vip_age': 1.0,
                       'vip_alive': 0.0,
                       'vip_level': 1.75,
                       'vip_recency': 99.0,
                       'vip_threshold': 10.0},
               'observed': {'acquisition_share': 0.7,
                            'turn_away': True,
                            'turn_away_age': 3.0,
                            'value_scale': 1.0,
                            'vip_age': 1.0,
                            'vip_alive': 0.5,
                            'vip_level': 1.75,
                            'vip_recency': 1.0,
                            'vip_threshold': 3.0},
               'weights': {'acquisition_share': 0.7,
                           'turn_away': True,
                           'turn_away_age': 3.0,
                           'value_scale': 1.0,
                           'vip_age': 1.0,
                           'vip_alive': 0.5,
                           'vip_level': 1.75,
                           'vip_recency': 1.0,
                           'vip_threshold': 4.0,
                           'weights': [2.0, 2.0, 0.0, 0.25]}},
 'coffee': {'observed': {'acquisition_share': 0.5,
                         'turn_away': True,
                         'turn_away_age': 2.0,
                         'value_scale': 1.0,
                         'vip_age': 1.0,
                         'vip_alive': 0.5,
                         'vip_level': 1.5,
                         'vip_recency': 0.5,
                         'vip_threshold': 4.0},
            'weights': {'acquisition_share': 0.5,
                        'turn_away': True,
                        'turn_away_age': 2.0,
                        'value_scale': 1.0,
                        'vip_age': 1.0,
                        'vip_alive': 0.5,
                        'vip_level': 1.75,
                        'vip_recency': 0.5,
                        'vip_threshold': 4.0,
                        'weights': [4.0, 1.0, 0.0, 0.0]}},
 'department_store': {'observed': {'acquisition_share': 0.7,
                                   'turn_away': True,
                                   'turn_away_age': 4.0,
                                   'value_scale': 1.5,
                                   'vip_age': 1.0,
                                   'vip_alive': 0.5,
                                   'vip_level': 1.75,
                                   'vip_recency': 1.0,
                                   'vip_threshold': 6.0},
                      'weights': {'acquisition_share': 0.7,
                                  'turn_away': True,
                                  'turn_away_age': 3.0,
                                  'vip_age': 1.0,
                                  'vip_level': 1.5,
                                  'vip_recency': 1.0,
                                  'vip_threshold': 6.0,
                                  'weights': [2.0, 2.0, 1.0, 0.0]}},
 'direct_seller': {'observed': {'acquisition_share': 0.7,
                                'turn_away': True,
                                'turn_away_age': 2.0,
                                'value_scale': 1.0,
                                'vip_age': 1.0,
                                'vip_alive': 0.5,
                                'vip_level': 1.75,
                                'vip_recency': 1.5,
                                'vip_threshold': 4.0},
                   'weights': {'acquisition_share': 0.7,
                               'turn_away': True,
                               'turn_away_age': 3.0,
                               'vip_age': 1.0,
                               'vip_level': 1.75,
                               'vip_recency': 1.5,
                               'vip_threshold': 4.0,
                               'weights': [2.0, 2.0, 0.0, 0.25]}},
 'fitness_studio': {'lab': {'acquisition_share': 0.9,
                            'turn_away': False,
                            'turn_away_age': 2.0,
                            'value_scale': 1.0,
                            'vip_age': 1.0,
                            'vip_alive': 0.5,
                            'vip_level': 1.5,
                            'vip_recency': 99.0,
                            'vip_threshold': 10.0},
                    'observed': {'acquisition_share': 0.9,
                                 'turn_away': False,
                                 'turn_away_age': 2.0,
                                 'value_scale': 2.0,
                                 'vip_age': 1.0,
                                 'vip_alive': 0.5,
                                 'vip_level': 1.5,
                                 'vip_recency': 3.0,
                                 'vip_threshold': 6.0},
                    'weights': {'acquisition_share': 0.9,
                                'turn_away': False,
                                'turn_away_age': 2.0,
                                'value_scale': 1.0,
                                'vip_age': 1.0,
                                'vip_alive': 0.5,
                                'vip_level': 1.5,
                                'vip_recency': 3.0,
                                'vip_threshold': 1.5,
                                'weights': [2.0, 2.0, 1.0, 1.0]}},
 'meal_kit': {'observed': {'acquisition_share': 0.6,
                           'turn_away': True,
                           'turn_away_age': 4.0,
                           'value_scale': 1.0,
                           'vip_age': 1.0,
                           'vip_alive': 0.5,
                           'vip_level': 1.25,
                           'vip_recency': 99.0,
                           'vip_threshold': 4.0},
              'weights': {'acquisition_share': 0.6,
                          'turn_away': True,
                          'turn_away_age': 4.0,
                          'vip_age': 1.0,
                          'vip_level': 1.25,
                          'vip_recency': 99.0,
                          'vip_threshold': 4.0,
                          'weights': [1.0, 0.5, 0.0, 2.0]}}}


def tuned(key: str, family: str) -> TunedHeuristic:
    """The tuned heuristic of ``family`` for the shipped scenario ``key``.

    Raises:
        KeyError: no tuned numbers for that scenario and family.
    """
    try:
        params = HeuristicParams.from_dict({"family": family, **TUNED[key][family]})
    except KeyError:
        raise KeyError(f"no tuned {family!r} heuristic for scenario {key!r}") from None
    return TunedHeuristic(params, name=f"tuned heuristic ({family})")
