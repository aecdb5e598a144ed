"""A test bot that raises on turn 2."""

from sim.decisions import Decision


class Bot:
    name = "crasher"

    def reset(self, scenario, seed=None):
        pass

    def decide(self, observation, truth=None):
        if observation.turn == 2:
            raise ZeroDivisionError("division by zero on purpose")
        return Decision()
