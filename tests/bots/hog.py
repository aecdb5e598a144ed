"""A test bot that tries to hold 8 GB on turn 1."""

import numpy as np

from sim.decisions import Decision


class Bot:
    name = "hog"

    def reset(self, scenario, seed=None):
        self.kept = []

    def decide(self, observation, truth=None):
        self.kept.append(np.ones(1 << 30))  # 8 GiB of float64
        return Decision()
