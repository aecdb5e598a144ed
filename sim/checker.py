"""``check_game``: the engine's contract, checked on any scenario.

Like Gymnasium's env checker: reset with a seed, play, reset and replay the
same decisions (also after a JSON round trip), and demand bit-identical
observations and books; check that observations are read-only, hold no
latent trait, and that the game ends when it should.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields

import numpy as np

from .decisions import Decision
from .engine import Game
from .observation import Observation
from .runner import play_game
from .scenario import Scenario

#: Names of latent traits that must never appear in an observation.
LATENT = ("type_index", "purchase_rate", "dropout_rate", "spend_rate", "service_response",
          "alive", "lam", "mu", "nu", "theta", "kappa")


class GameContractError(AssertionError):
    """The engine broke its contract; the message says how."""


def observation_digest(observation: Observation) -> str:
    """SHA-256 over every array and number a player can see."""
    h = hashlib.sha256()
    for f in fields(observation):
        value = getattr(observation, f.name)
        if f.name == "scenario":
            continue
        if isinstance(value, np.ndarray):
            h.update(f.name.encode() + str(value.dtype).encode() + str(value.shape).encode())
            h.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, dict):
            for k in sorted(value):
                h.update(k.encode() + np.ascontiguousarray(value[k]).tobytes())
        elif isinstance(value, tuple):
            h.update(json.dumps([b.to_dict() for b in value], sort_keys=True).encode())
        else:
            h.update(repr(value).encode())
    return h.hexdigest()


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise GameContractError(message)


def check_game(scenario: Scenario, strategy=None, seed: int = 11) -> list[str]:
    """Play, replay and compare; raise ``GameContractError`` on any breach.

    Args:
        scenario: the scenario to check (shrink it with ``with_prospects``).
        strategy: decision source; defaults to the customer-centric bot.
        seed: root seed.

    Returns:
        The observation digest after each turn (for cross-process checks).
    """
    if strategy is None:
        from .strategies import CustomerCentric

        strategy = CustomerCentric()
    first = Game(scenario).reset(seed)
    _require(first.turn == 1, f"reset must return turn 1's observation, got turn {first.turn}")
    _require(first.n_customers > 0, "the game must start with an inherited customer base")
    _require(first.purchases.shape[1] == scenario.warmup_turns,
             "turn 1 must show every warm-up turn's history")
    _check_observation(first)
    again = Game(scenario).reset(seed)
    _require(observation_digest(first) == observation_digest(again),
             "two resets with the same seed gave different observations")

    digests = []

    def after_turn(game: Game, decision: Decision, result) -> None:
        observation = game.observation
        _check_observation(observation)
        digests.append(observation_digest(observation))
        _require(result.books.turn == observation.turn - 1, "books must be for the turn just played")

    played = play_game(scenario, strategy, seed, on_turn=after_turn)
    game, decisions = played.game, played.decisions
    _require(len(decisions) == scenario.turns, f"a game must last {scenario.turns} turns")
    try:
        game.step(Decision())
    except RuntimeError:
        pass
    else:
        raise GameContractError("step() after the last turn must raise RuntimeError")

    replay = Game(scenario)
    replay.reset(seed)
    for turn, decision in enumerate(decisions, start=1):
        as_json = json.loads(json.dumps(decision.to_dict()))
        observation, _ = replay.step(Decision.from_dict(as_json))
        _require(observation_digest(observation) == digests[turn - 1],
                 f"replaying the recorded decisions diverged at turn {turn}")
    return digests


def _check_observation(observation: Observation) -> None:
    names = {f.name for f in fields(observation)} | set(observation.columns)
    leaked = names.intersection(LATENT)
    _require(not leaked, f"the observation exposes latent traits: {sorted(leaked)}")
    _require(not hasattr(observation.scenario, "types"),
             "the observation's scenario exposes the latent customer types")
    for f in fields(observation):
        value = getattr(observation, f.name)
        if isinstance(value, np.ndarray) and value.flags.writeable and f.name in (
                "customer_id", "channel", "acquisition_turn", "purchases", "spend",
                "cost_to_serve", "first_spend"):
            raise GameContractError(f"observation.{f.name} must be read-only")
    n = observation.n_customers
    for name, column in observation.columns.items():
        _require(len(column) == n, f"column {name} has {len(column)} rows, expected {n}")
