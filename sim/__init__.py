"""Customer Centricity Simulator: the headless engine, scorer and analytics.

``import sim`` never imports pygame; the UI lives in ``sim.ui``.
"""

from .decisions import DISENGAGE, Decision, DecisionError, Tier
from .errors import DataError, SimError
from .engine import Game, Truth, TurnResult
from .observation import Observation, TurnBooks
from .scenario import Scenario, ScenarioError, load_scenario, shipped_scenario_names

__all__ = [
    "DISENGAGE", "DataError", "Decision", "DecisionError", "Game", "Observation", "Scenario",
    "ScenarioError", "SimError", "Tier", "Truth", "TurnBooks", "TurnResult", "load_scenario",
    "shipped_scenario_names",
]
