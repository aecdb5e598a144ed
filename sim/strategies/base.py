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

    def reset(self, scenario: Scenario, seed: int | None = None) -> None:
        """Forget any previous game.

        Args:
            scenario: the business about to be played (its public view).
            seed: the game's root seed where the caller trusts the strategy
                with it (the reference strategies in the scorer's own
                process); ``None`` for bots, in tournaments and in class
                play, where knowing the seed would let a strategy rebuild the
                market and read its truth.
        """

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        """The decision for ``observation.turn``."""


class BaseStrategy:
    """Convenience base: stateless, blind to the truth."""

    name = "base"
    sees_truth = False

    def reset(self, scenario: Scenario, seed: int | None = None) -> None:
        return None

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        raise NotImplementedError


def inherited_acquisition(scenario: Scenario) -> dict[str, float]:
    """The previous management's acquisition dollars per channel (per turn).

    Scaled down in proportion where they add up to more than the marketing
    budget (a scenario may give the player less than the old management had).
    """
    scale = acquisition_money(scenario) / max(sum(scenario.inherited.acquisition.values()), 1e-300)
    return {c: float(x) * scale for c, x in scenario.inherited.acquisition.items() if x > 0}


def acquisition_money(scenario: Scenario) -> float:
    """What the previous management spent on acquisition per turn, within the budget, dollars."""
    return float(min(sum(scenario.inherited.acquisition.values()), scenario.budget.marketing))


def even_acquisition(scenario: Scenario) -> dict[str, float]:
    """The previous management's acquisition money split evenly across channels, dollars."""
    share = acquisition_money(scenario) / len(scenario.channels)
    return {c.name: share for c in scenario.channels}


def servable_count(observation: Observation) -> int:
    """Customers the firm could serve this turn (all known, or active members)."""
    return int(np.count_nonzero(observation.active))


def acquisition_steps(scenario: Scenario, value_per_customer: np.ndarray, budget: float,
                      steps: int = 200) -> tuple[np.ndarray, np.ndarray, float]:
    """The greedy sequence of acquisition increments, best first.

    Splits ``budget`` into ``steps`` equal increments; each goes to the
    channel whose next increment buys the most value (exactly, not the
    derivative).  Each channel's response is concave, so the gains per
    dollar come out non-increasing.

    Returns:
        (channel index of each increment, value per dollar of each, the
        increment in dollars).
    """
    ceiling = np.array([c.ceiling for c in scenario.channels])
    k = np.array([c.efficiency for c in scenario.channels])
    spend = np.zeros(len(scenario.channels))
    step = budget / steps if steps else 0.0
    channel, ratio = np.empty(steps, dtype=np.int64), np.empty(steps)
    for i in range(steps):
        gain = value_per_customer * ceiling * (np.exp(-k * spend) - np.exp(-k * (spend + step)))
        best = int(np.argmax(gain))
        channel[i], ratio[i] = best, gain[best] / step if step > 0 else 0.0
        spend[best] += step
    return channel, ratio, step


def greedy_acquisition(scenario: Scenario, value_per_customer: np.ndarray,
                       budget: float | None = None, hurdle: float = 1.0) -> dict[str, float]:
    """Spend up to ``budget`` where the next dollar buys the most value.

    Stops when no channel's next increment returns at least ``hurdle``
    dollars of customer value per dollar.

    Args:
        scenario: channels' response curves and the marketing budget.
        value_per_customer: estimated value of one customer from each
            channel, dollars.
        budget: most to spend, dollars (default the whole marketing budget).
    """
    budget = scenario.budget.marketing if budget is None else budget
    channel, ratio, step = acquisition_steps(scenario, value_per_customer, budget)
    taken = channel[ratio >= hurdle]
    spend = np.bincount(taken, minlength=len(scenario.channels)) * step
    return {c.name: float(x) for c, x in zip(scenario.channels, spend) if x > 0}


def split_marketing(scenario: Scenario, value_per_customer: np.ndarray, service_net_ratio: np.ndarray,
                    service_cost: np.ndarray,
                    budget: float | None = None) -> tuple[dict[str, float], np.ndarray]:
    """Split one marketing budget between channels and customers' service, greedily.

    Acquisition increments (net value per dollar = value per dollar - 1)
    and service candidates (net value gained per service dollar this turn)
    are taken in one order, best first, while the net return is positive
    and the budget lasts.

    Args:
        budget: dollars to split (default the whole marketing budget).

    Returns:
        (acquisition dollars per channel, True for each service candidate
        taken).
    """
    budget = scenario.budget.marketing if budget is None else budget
    channel, ratio, step = acquisition_steps(scenario, value_per_customer, budget)
    acq_net = ratio - 1.0
    # Only candidates with a positive net can be taken: sort those alone (a stable
    # sort keeps their order among themselves, so the same ones are taken).
    positive = np.flatnonzero(service_net_ratio > 0)
    order = positive[np.argsort(-service_net_ratio[positive], kind="stable")]
    svc_net = service_net_ratio[order]
    svc_cost = service_cost[order]
    # Merge two lists sorted best first; take items while both positive and affordable.
    kinds = np.concatenate([np.zeros(acq_net.size, dtype=bool), np.ones(svc_net.size, dtype=bool)])
    nets = np.concatenate([acq_net, svc_net])
    costs = np.concatenate([np.full(acq_net.size, step), svc_cost])
    position = np.concatenate([np.arange(acq_net.size), np.arange(svc_net.size)])
    merged = np.argsort(-nets, kind="stable")
    merged = merged[nets[merged] > 0]
    within = np.cumsum(costs[merged]) <= budget * (1 - 1e-9)
    merged = merged[within]
    acq_taken = position[merged[~kinds[merged]]]
    svc_taken = position[merged[kinds[merged]]]
    spend = np.bincount(channel[acq_taken], minlength=len(scenario.channels)) * step
    chosen = np.zeros(service_net_ratio.size, dtype=bool)
    chosen[order[svc_taken]] = True
    return {c.name: float(x) for c, x in zip(scenario.channels, spend) if x > 0}, chosen
