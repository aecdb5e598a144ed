"""CLV bot: tiers by the analytics lab's predicted customer lifetime value.

``sim.analytics.clv.predict_clv`` fits Pareto/NBD and Gamma-Gamma (sBG for
members) to the observation and predicts each customer's CLV; its columns
(``p_alive``, ``expected_purchases``, ``predicted_clv``, ``horizon_value``)
become score columns that the tier rules name.
"""

import numpy as np

from sim import DISENGAGE, Decision, Tier
from sim.analytics.clv import predict_clv
from sim.analytics.fitting import DataError


class Bot:
    name = "clv"

    def reset(self, scenario, seed=None):
        self.scenario = scenario

    def decide(self, observation, truth=None):
        s = self.scenario
        try:
            value = predict_clv(observation)
        except DataError:
            # Too little history to fit the models: spread acquisition, serve no one.
            return Decision({c.name: s.budget.marketing / len(s.channels) for c in s.channels})
        clv = value.predicted_clv
        # One marketing budget: 60% for acquisition, the rest for service.
        # Acquisition: evenly over the channels whose customers have a
        # positive mean predicted CLV (all of them if none has).
        n = len(s.channels)
        channel = observation.channel.astype(int)
        mean = np.bincount(channel, clv, minlength=n) / np.maximum(np.bincount(channel, minlength=n), 1)
        chosen = mean > 0 if (mean > 0).any() else np.ones(n, bool)
        share = 0.6 * s.budget.marketing / chosen.sum()
        acquisition = {c.name: share for c, pick in zip(s.channels, chosen) if pick}
        # Service: turn away negative predicted CLV; serve the highest predicted
        # CLV whose next turn's value covers the service, within the budget.
        level = 2.0 * s.service.half_saturation
        tiers = [Tier("negative CLV", {"field": "predicted_clv", "op": "<", "value": 0.0}, DISENGAGE)]
        worth = (value.horizon_value >= level) & (clv > 0) & observation.active.astype(bool)
        count = min(int(worth.sum()), int(0.4 * s.budget.marketing // level))
        if count > 0:
            threshold = float(np.sort(clv[worth])[::-1][count - 1])
            if int((clv[worth] >= threshold).sum()) > count:
                # Ties at the threshold would push the tier over budget: serve above it only.
                threshold = float(np.nextafter(threshold, np.inf))
            rule = {"all": [{"field": "predicted_clv", "op": ">=", "value": threshold},
                            {"field": "horizon_value", "op": ">=", "value": level}]}
            tiers.append(Tier("highest CLV", rule, level))
        return Decision(acquisition, tuple(tiers), scores=value.columns())
