"""A well-behaved test bot: half the budget spread over the channels, service for the best."""

from sim.decisions import Decision, Tier


class Bot:
    name = "steady"

    def reset(self, scenario, seed=None):
        self.scenario = scenario

    def decide(self, observation, truth=None):
        channels = self.scenario.channels
        share = 0.3 * self.scenario.budget.marketing / len(channels)
        return Decision({c.name: share for c in channels},
                        (Tier("best", {"top": 0.05, "by": "profit_per_turn"}, 1.0),))
