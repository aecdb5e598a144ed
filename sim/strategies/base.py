"""The Strategy protocol: anything that turns an observation into a decision."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..decisions import Decision
from ..engine import Truth
from ..observation import Observation
from ..scenario import Scenario


@runtime_checkable
class Strategy(Protocol):
    """A source of decisions: a bot, a team's script, or the UI's player.

    Attributes:
        name: shown on leaderboards.
        sees_truth: True only for the oracle; the runner then passes the
            latent state to ``decide``.  Everyone else gets ``None``.
    """

    name: str
    sees_truth: bool

    def reset(self, scenario: Scenario, seed: int) -> None:
        """Forget any previous game."""

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        """The decision for ``observation.turn``."""


class BaseStrategy:
    """Convenience base: stateless, blind to the truth."""

    name = "base"
    sees_truth = False

    def reset(self, scenario: Scenario, seed: int) -> None:
        return None

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        raise NotImplementedError


def even_acquisition(scenario: Scenario) -> dict[str, float]:
    """The whole acquisition budget split evenly across channels, dollars."""
    share = scenario.budget.acquisition / len(scenario.channels)
    return {c.name: share for c in scenario.channels}


def servable_count(observation: Observation) -> int:
    """Customers the firm could serve this turn (all known, or active members)."""
    return int(np.count_nonzero(observation.active))


def greedy_acquisition(scenario: Scenario, value_per_customer: np.ndarray,
                       steps: int = 200) -> dict[str, float]:
    """Spend the acquisition budget where the next dollar buys the most value.

    Allocates the budget in ``steps`` equal increments, each to the channel
    whose marginal value per dollar, value_c x d(expected customers)/dA, is
    highest, and stops when no channel returns at least a dollar per dollar.

    Args:
        scenario: channels' response curves and the budget.
        value_per_customer: estimated value of one customer from each
            channel, dollars.
    """
    ceiling = np.array([c.ceiling for c in scenario.channels])
    k = np.array([c.efficiency for c in scenario.channels])
    spend = np.zeros(len(scenario.channels))
    step = scenario.budget.acquisition / steps
    for _ in range(steps):
        # Marginal value of the next increment, exactly (not the derivative).
        gain = value_per_customer * ceiling * (np.exp(-k * spend) - np.exp(-k * (spend + step)))
        best = int(np.argmax(gain))
        if gain[best] < step:
            break
        spend[best] += step
    return {c.name: float(x) for c, x in zip(scenario.channels, spend) if x > 0}
