"""CLV bot: the analytics lab's predictions decide where to acquire, whom to serve and whom to turn away.

``sim.analytics.clv.predict_clv`` fits Pareto/NBD and Gamma-Gamma (a
latent-class retention model for members) to the observation and predicts
each customer's CLV; its columns (``p_alive``, ``expected_purchases``,
``predicted_clv``, ``horizon_value``) become score columns that the tier
rules name.  Three uses of the predictions:

* where to acquire: a channel's new customer is worth what its recent
  cohorts made so far plus what the lab predicts they will still make (not
  their profit to date: young customers have not shown their value yet,
  and a promo cohort's early revenue flatters it); each channel's published
  response curve says how many customers the next dollars buy, so the
  money goes where the next dollar returns the most, while it returns more
  than a dollar;
* whom to serve: the customers with the highest expected contribution next
  turn (``horizon_value``), likely still customers (P(alive)), while it
  covers a few times the spend;
* whom to turn away: a negative predicted CLV (they cost more to serve than
  they bring).

In a game where customers bring friends, a customer is worth its CLV plus
its predicted referral value (``sim.analytics.referral_nbd.crv_columns``:
CRV), for turning away and for valuing each channel's customers; friends
who join through the unpaid ``referral`` channel are not a channel to buy.
"""

import numpy as np

from sim import DISENGAGE, Decision, Tier
from sim.analytics import referral_nbd
from sim.analytics.clv import predict_clv
from sim.analytics.fitting import DataError

ACQUISITION_SHARE = 0.65   # most of the budget for acquisition
STEP = 0.02                # acquisition is bought in steps of this share of the budget
SERVICE_LEVEL = 1.5        # service spend, in half-saturation spends (g is near 3/4 of its most)
COVER = 2.0                # a served customer's next turn must bring this many times the spend
SMOOTHING = 0.5            # weight of this turn's channel values against the earlier ones


class Bot:
    name = "clv"

    def reset(self, scenario, seed=None):
        self.scenario = scenario
        self.values = None

    def decide(self, observation, truth=None):
        s = self.scenario
        budget = s.budget.marketing
        try:
            value = predict_clv(observation)
        except DataError:
            # Too little history to fit the models: spread acquisition, serve no one.
            return Decision({c.name: ACQUISITION_SHARE * budget / len(s.channels) for c in s.channels})
        # With referrals: CLV + CRV columns (none in a game without them, or before any referral).
        referral = referral_nbd.crv_columns(observation, value)
        total = referral.get("predicted_clv_crv", value.predicted_clv)
        acquisition = self.acquire(observation, total, ACQUISITION_SHARE * budget)
        left = budget - sum(acquisition.values())
        level = SERVICE_LEVEL * s.service.half_saturation
        worth_field = "predicted_clv_crv" if referral else "predicted_clv"
        tiers = [Tier("negative value", {"field": worth_field, "op": "<", "value": 0.0}, DISENGAGE)]
        worth = ((value.horizon_value >= COVER * level) & (value.predicted_clv > 0)
                 & (value.p_alive >= 0.5) & observation.active.astype(bool))
        count = min(int(worth.sum()), int(left // level))
        if count > 0:
            threshold = float(np.sort(value.horizon_value[worth])[::-1][count - 1])
            if int((value.horizon_value[worth] >= threshold).sum()) > count:
                # Ties at the threshold would push the tier over budget: serve above it only.
                threshold = float(np.nextafter(threshold, np.inf))
            rule = {"all": [{"field": "horizon_value", "op": ">=", "value": threshold},
                            {"field": "p_alive", "op": ">=", "value": 0.5},
                            {"field": "predicted_clv", "op": ">", "value": 0.0}]}
            tiers.append(Tier("most valuable next turn", rule, level))
        return Decision(acquisition, tuple(tiers), scores={**value.columns(), **referral})

    def acquire(self, observation, predicted, money):
        """Dollars per channel, bought where the next step returns the most.

        ``predicted`` is each customer's predicted value from now on, dollars
        (CLV, plus CRV with referrals).
        """
        s = self.scenario
        cols = observation.columns
        n = len(s.channels)
        channel = cols["channel"].astype(int)
        # Recent cohorts (2-6 turns old): old enough to have been fitted, young enough
        # to say what the channel brings today.  Too few: all customers old enough.
        # Only the paid channels' cohorts (codes 0..n-1): referred friends cost nothing.
        worth = cols["profit"] + predicted
        paid = channel < n
        recent = paid & (cols["age"] >= 2) & (cols["age"] <= 6)
        if np.bincount(channel[recent], minlength=n).min() < 30:
            recent = paid & (cols["age"] >= 2)
        count = np.bincount(channel[recent], minlength=n)
        if (count == 0).any():
            return {c.name: money / n for c in s.channels}
        values = np.bincount(channel[recent], worth[recent], minlength=n) / count
        if self.values is not None:
            values = SMOOTHING * values + (1 - SMOOTHING) * self.values
        self.values = values
        spend = np.zeros(n)
        step = STEP * s.budget.marketing
        while spend.sum() + step <= money:
            more = np.array([c.expected_acquisitions(x + step) - c.expected_acquisitions(x)
                             for c, x in zip(s.channels, spend)])
            gain = more * values / step
            best = int(np.argmax(gain))
            if gain[best] <= 1.0:
                break
            spend[best] += step
        return {c.name: float(x) for c, x in zip(s.channels, spend) if x > 0}
