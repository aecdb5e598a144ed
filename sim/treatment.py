"""What the firm did to each customer each turn: its service dollars and whether it was turned away.

The player's own decisions, resolved over its own customers: observable to
the player (and to a bot) though not part of the observation.  The
analytics lab's equity estimate (``sim.analytics.equity``) needs it to take
the effect of the player's service out of what the models see, as the
scorer values customers under a neutral policy.
"""

from __future__ import annotations

import math

import numpy as np

from .response_curve import hill_response
from .decisions import Assignment, Decision, assign_tiers
from .observation import Observation


class TreatmentLog:
    """Each played turn's service dollars and turning away per customer row.

    Usage: ``log.record(observation, decision)`` before each turn is played
    (or ``log.record_assignment(turn, assignment)`` when the tiers are
    already resolved), then ``log.matrices(observation)``.
    """

    def __init__(self):
        self._turns: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._tiers: dict[int, tuple[np.ndarray, tuple[str, ...]]] = {}

    def record(self, observation: Observation, decision: Decision) -> None:
        """Resolve ``decision``'s tiers over ``observation``'s customers and keep them."""
        assignment = assign_tiers(decision, dict(observation.columns), observation.categories,
                                  math.inf, servable=observation.active)
        self.record_assignment(observation.turn, assignment, decision)

    def record_assignment(self, turn: int, assignment: Assignment, decision: Decision) -> None:
        """Keep a turn's resolved tiers (``assignment`` of ``decision`` at the turn's start)."""
        self._turns[int(turn)] = (np.array(assignment.service_per_customer, dtype=float),
                                  np.array(assignment.disengaged, dtype=bool))
        self._tiers[int(turn)] = (np.array(assignment.tier, dtype=np.int32),
                                  tuple(t.name for t in decision.tiers))

    @property
    def turns(self) -> list[int]:
        """The played turns recorded, in order."""
        return sorted(self._turns)

    def tiers(self, turn: int) -> tuple[np.ndarray, tuple[str, ...]]:
        """(tier index per customer row at the turn's start, -1 for none; the tiers' names)."""
        return self._tiers[int(turn)]

    def service(self, turn: int) -> tuple[np.ndarray, np.ndarray]:
        """(service dollars, turned away) per customer row at the turn's start."""
        return self._turns[int(turn)]

    def matrices(self, observation: Observation) -> tuple[np.ndarray, np.ndarray]:
        """(service dollars, turned away) per customer row and turn column of ``observation``.

        Warm-up turns carry the previous management's perk for every customer
        it had at the turn's start (its one tier, "everyone").
        """
        public = observation.scenario
        n, columns = observation.n_customers, observation.turn_columns
        service = np.zeros((n, columns.size))
        away = np.zeros((n, columns.size), dtype=bool)
        acquired = observation.acquisition_turn
        for k, turn in enumerate(columns):
            if turn <= 0:
                seen = acquired < turn
                if public.contractual:
                    seen &= observation.cancel_turn >= turn
                service[seen, k] = public.inherited.service
            elif int(turn) in self._turns:
                spend, off = self._turns[int(turn)]
                service[: spend.size, k] = spend
                away[: off.size, k] = off
        # A holdout tier's control was served nothing and kept (sim.holdout).
        control = observation.experiment_arm < 0
        if control.any():
            service[control] = 0.0
            away[control] = False
        return service, away

    def effect(self, observation: Observation) -> tuple[np.ndarray, np.ndarray]:
        """(service effect g(e) of the published curve, turned away), as ``matrices``."""
        service, away = self.matrices(observation)
        return hill_response(service, observation.scenario.service), away
