"""Reference strategies that use no customer data: do-nothing, mass-marketing, volume."""

from __future__ import annotations

import numpy as np

from ..decisions import Decision, Tier
from ..engine import Truth
from ..observation import Observation
from .base import BaseStrategy, acquisition_money, even_acquisition, servable_count


def equal_service(observation: Observation, acquisition: dict[str, float]) -> tuple[Tier, ...]:
    """Everyone gets the inherited per-customer service, capped by what is left of the budget."""
    s = observation.scenario
    n = servable_count(observation)
    left = max(0.0, s.budget.marketing - sum(acquisition.values()))
    per_customer = min(s.inherited.service, left / n) if n else 0.0
    return (Tier("everyone", "all", per_customer),)


class DoNothing(BaseStrategy):
    """No acquisition, no service: the inherited base decays."""

    name = "do-nothing"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        return Decision()


class MassMarketing(BaseStrategy):
    """The previous management's acquisition money spread evenly over channels; equal service."""

    name = "mass-marketing"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        acquisition = even_acquisition(observation.scenario)
        return Decision(acquisition, equal_service(observation, acquisition))


class Volume(BaseStrategy):
    """The acquisition money in the channel that buys the most customers per dollar; equal service."""

    name = "volume"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        s = observation.scenario
        money = acquisition_money(s)
        counts = np.array([c.expected_acquisitions(money) for c in s.channels])
        acquisition = {s.channels[int(np.argmax(counts))].name: money}
        return Decision(acquisition, equal_service(observation, acquisition))
