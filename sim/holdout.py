"""Holdout tests: which of an experiment tier's customers are its control.

A tier with ``holdout`` > 0 is an experiment.  The engine holds that share of
the tier's customers out as a control: they get what the score's zero gives
them (no service, and a disengaged tier's control is kept, not turned away)
and cost nothing.  Who is held out is a keyed draw, fair in the tournament
sense:

* one uniform per prospect from the stream ``("holdout", turn 0, tier key)``
  of the game's root seed (``sim.rng``), drawn for every prospect whatever
  the decision, so a customer's draw depends only on the seed, the customer
  and the tier's name — never on what else the player does;
* the tier key is a stable 32-bit hash of the tier's name (CRC-32 of its
  UTF-8 bytes; Python's ``hash`` is salted per process).  Keyed by the name,
  not the turn: a test that runs for several turns under one name keeps the
  same control group (a customer held out stays held out, so the lift
  accumulates cleanly), while a test under another name draws afresh, so no
  customer is control in every experiment forever.

The player sees afterwards who was treated and who was control, per turn
(``Observation.experiment_arm``); nobody can know it before the turn (the
draw needs the seed).  So the budget is checked as though every customer of
the tier were served (a plan cannot depend on the draw); the books charge
only the treated.
"""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np

from .decisions import Assignment, Decision
from .rng import uniforms

#: ``experiment_arm`` of a customer in no experiment that turn.
NO_EXPERIMENT = 0


def tier_key(name: str) -> int:
    """A stable 32-bit key of a tier's name (the same in every process and version)."""
    return zlib.crc32(name.encode("utf-8"))


def holdout_arms(seed: int, prospects: int, decision: Decision, assignment: Assignment,
                 row_prospect: np.ndarray) -> np.ndarray | None:
    """Each customer row's arm this turn, or None when the decision has no experiment.

    Args:
        seed: the game's root seed.
        prospects: size of the prospect pool (the draw's length).
        decision: the turn's decision.
        assignment: its tiers resolved over the rows ``row_prospect``.
        row_prospect: prospect id of each customer row the tiers cover.

    Returns:
        int8 per row: ``i + 1`` if treated in experiment tier ``i``,
        ``-(i + 1)`` if held out of it, 0 (``NO_EXPERIMENT``) otherwise.
    """
    tests = [(i, t) for i, t in enumerate(decision.tiers) if t.holdout > 0]
    if not tests:
        return None
    arm = np.zeros(row_prospect.size, dtype=np.int8)
    for i, t in tests:
        members = assignment.tier == i
        if not members.any():
            continue
        u = uniforms(seed, "holdout", 0, prospects, tier_key(t.name))[row_prospect]
        arm[members] = np.where(u[members] < t.holdout, -(i + 1), i + 1)
    return arm


def without_control(assignment: Assignment, arm: np.ndarray | None) -> Assignment:
    """The assignment as played: control rows unserved, not turned away, free.

    Unchanged (the same object) when there is no experiment, so games
    without holdouts replay bit for bit.
    """
    if arm is None:
        return assignment
    control = arm < 0
    if not control.any():
        return assignment
    service = np.where(control, 0.0, assignment.service_per_customer)
    disengaged = assignment.disengaged & ~control
    return replace(assignment, service_per_customer=service, disengaged=disengaged,
                   service_cost=float(service.sum()))
