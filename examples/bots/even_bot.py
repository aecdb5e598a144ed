"""The smallest bot: the whole marketing budget split evenly over the channels, no service."""

from sim import Decision


class Bot:
    name = "even"

    def reset(self, scenario, seed=None):
        self.scenario = scenario

    def decide(self, observation, truth=None):
        channels = self.scenario.channels
        share = self.scenario.budget.marketing / len(channels)
        return Decision(acquisition={c.name: share for c in channels})
