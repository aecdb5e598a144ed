"""A test bot that spends far more than any budget on turn 1."""

from sim.decisions import Decision


class Bot:
    name = "spender"

    def reset(self, scenario, seed=None):
        self.channel = scenario.channels[0].name

    def decide(self, observation, truth=None):
        return Decision({self.channel: 1e15})
