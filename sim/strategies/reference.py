"""Reference strategies that use no customer data: do-nothing, mass-marketing, volume."""

from __future__ import annotations

import numpy as np

from ..decisions import Decision, Tier
from ..engine import Truth
from ..observation import Observation
from .base import BaseStrategy, even_acquisition, servable_count


def equal_service(observation: Observation) -> tuple[Tier, ...]:
    """Everyone gets the inherited per-customer service, capped by the budget."""
    s = observation.scenario
    n = servable_count(observation)
    per_customer = min(s.inherited.service, s.budget.service / n) if n else 0.0
    return (Tier("everyone", "all", per_customer),)


class DoNothing(BaseStrategy):
    """No acquisition, no service: the inherited base decays."""

    name = "do-nothing"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        return Decision()


class MassMarketing(BaseStrategy):
    """Acquisition budget spread evenly over channels; equal service to everyone."""

    name = "mass-marketing"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        return Decision(even_acquisition(observation.scenario), equal_service(observation))


class Volume(BaseStrategy):
    """Whole acquisition budget in the channel that buys the most customers per dollar."""

    name = "volume"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        s = observation.scenario
        budget = s.budget.acquisition
        counts = np.array([c.expected_acquisitions(budget) for c in s.channels])
        cheapest = s.channels[int(np.argmax(counts))].name
        return Decision({cheapest: budget}, equal_service(observation))
