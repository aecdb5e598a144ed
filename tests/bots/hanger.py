"""A test bot that never answers on turn 3."""

from sim.decisions import Decision


class Bot:
    name = "hanger"

    def reset(self, scenario, seed=None):
        pass

    def decide(self, observation, truth=None):
        while observation.turn == 3:
            pass
        return Decision()
