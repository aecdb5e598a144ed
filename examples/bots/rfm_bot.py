"""RFM bot: tiers from recency, frequency and profit, all observable."""

import numpy as np

from sim import DISENGAGE, Decision, Tier


class Bot:
    name = "rfm"

    def reset(self, scenario, seed=None):
        self.scenario = scenario

    def decide(self, observation, truth=None):
        s, cols = self.scenario, observation.columns
        # One marketing budget: 60% for acquisition, the rest for service.
        # Acquisition: evenly over the channels whose past customers (two
        # turns old or more) made a profit; over all of them if none did.
        mature = cols["age"] >= 2
        channel = cols["channel"][mature].astype(int)
        n = len(s.channels)
        earned = np.bincount(channel, cols["profit_per_turn"][mature], minlength=n)
        mean = earned / np.maximum(np.bincount(channel, minlength=n), 1)
        chosen = mean > 0 if (mean > 0).any() else np.ones(n, bool)
        share = 0.6 * s.budget.marketing / chosen.sum()
        acquisition = {c.name: share for c, pick in zip(s.channels, chosen) if pick}
        # Service: turn away observed loss-makers; real service (twice the
        # half-saturation spend) to the recent buyers or members with the best
        # profit per turn, as many as the budget pays for.
        level = 2.0 * s.service.half_saturation
        losing = (cols["profit"] < 0) & mature
        current = (cols["active"] == 1) & ((cols["recency"] <= 1) | s.contractual)
        worth = current & ~losing & (cols["profit_per_turn"] >= level)
        rate = np.where(worth, cols["profit_per_turn"], -np.inf)
        count = min(int(worth.sum()), int(0.4 * s.budget.marketing // level))
        tier = np.where(losing, -1.0, 0.0)
        tier[np.argsort(-rate)[:count]] = 1.0
        tiers = (Tier("loss-makers", {"field": "rfm_tier", "op": "==", "value": -1}, DISENGAGE),
                 Tier("best", {"field": "rfm_tier", "op": "==", "value": 1}, level))
        return Decision(acquisition, tiers, scores={"rfm_tier": tier})
