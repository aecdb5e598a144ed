"""The public/truth boundary: a player sees observable data only; the truth is sealed."""

from __future__ import annotations

import pickle
import struct
from dataclasses import fields

import numpy as np
import pytest

from conftest import small
from sim import Game
from sim.public import PublicScenario
from sim.runner import play_game
from sim.strategies import get_strategy


def _latent_floats(scenario) -> set[float]:
    """Every number in the latent types that appears nowhere in the public view."""
    def numbers(value):
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            yield float(value)
        elif isinstance(value, dict):
            for v in value.values():
                yield from numbers(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from numbers(v)

    content = scenario.to_dict()
    public = set(numbers({k: v for k, v in content.items() if k not in ("types", "disengage")}))
    latent = set(numbers(content["types"])) | set(numbers(content["disengage"]))
    # Whole numbers and halves turn up in any books (counts, round dollars); the
    # distinctive parameters must not leak.
    return {x for x in latent - public if x * 2 != round(x * 2)}


def _played_to_turn_three(name: str):
    scenario = small(name, 3000)
    game = Game(scenario)
    observation = game.reset(3)
    strategy = get_strategy("customer-centric")
    strategy.reset(game.public, 3)
    result = None
    for _ in range(3):
        observation, result = game.step(strategy.decide(observation))
    return scenario, observation, result


def test_pickled_observation_and_step_result_hold_nothing_latent(scenario_name):
    scenario, observation, result = _played_to_turn_three(scenario_name)
    # A briefing may tell the story in the types' words ("coupon hunters"); the labels
    # themselves must come from nowhere else.
    story = " ".join((scenario.name, scenario.business, scenario.briefing, scenario.lesson)).lower()
    hidden_names = [t.name for t in scenario.types if t.name.lower() not in story]
    assert hidden_names or len(scenario.types) < 3
    for what in (observation, result, observation.scenario):
        blob = pickle.dumps(what)
        for name in hidden_names:
            assert name.encode() not in blob, f"type name {name!r} in a pickled {type(what).__name__}"
        for word in (b"CustomerType", b"types", b"Disengagement", b"dropout_multiplier", b"Truth",
                     b"Population", b"service_response", b"channel_affinity"):
            assert word not in blob, f"{word!r} in a pickled {type(what).__name__}"
        for x in _latent_floats(scenario):
            # Pickle writes a float as BINFLOAT: b'G' then 8 big-endian bytes.
            assert b"G" + struct.pack(">d", x) not in blob, f"latent number {x} leaked"


def test_the_observation_carries_only_the_public_scenario(scenario_name):
    scenario, observation, result = _played_to_turn_three(scenario_name)
    public = observation.scenario
    assert isinstance(public, PublicScenario)
    assert not hasattr(public, "types") and not hasattr(public, "disengage")
    for f in fields(PublicScenario):
        assert getattr(public, f.name) == getattr(scenario, f.name)
    # The step result is the books and the tier sizes: no true customer counts.
    assert {f.name for f in fields(result)} == {"books", "tier_counts"}
    books = result.books
    if scenario.contractual:
        assert books.members == int(observation.active.sum())
    else:
        assert books.members is None


def test_strategies_are_reset_with_the_public_scenario():
    seen = []

    class Spy:
        name, sees_truth = "spy", False

        def reset(self, scenario, seed):
            seen.append(scenario)

        def decide(self, observation, truth=None):
            assert truth is None
            return get_strategy("do-nothing").decide(observation)

    play_game(small("coffee", 2000), Spy(), 1)
    assert isinstance(seen[0], PublicScenario)


def test_the_truth_is_read_only_and_does_not_follow_the_game():
    game = Game(small("direct_seller", 3000))
    observation = game.reset(2)
    truth = game.truth
    alive_then = truth.alive.copy()
    for name in ("alive", "in_pool", "row_prospect", "service_received"):
        with pytest.raises(ValueError):
            getattr(truth, name)[0] = 0
    with pytest.raises(ValueError):
        truth.population.purchase_rate[0] = 99.0
    with pytest.raises(ValueError):
        next(iter(truth.population.tags.values()))[0] = 1
    game.step(get_strategy("mass-marketing").decide(observation))
    assert np.array_equal(truth.alive, alive_then), "a Truth taken earlier changed with the game"
    assert not np.array_equal(game.truth.alive, alive_then)


def test_true_counts_are_revealed_only_after_the_game():
    played = play_game(small("coffee", 3000), get_strategy("mass-marketing"), 4)
    truth = played.game.truth
    rows = played.to_rows()
    assert [r["turn"] for r in rows] == list(range(1, 13))
    warmup = [t for t in truth.turns if t.turn <= 0]
    assert len(warmup) == played.scenario.warmup_turns
    # Alive at the end of the game is what the truth says, and alive + lost adds up turn to turn.
    assert rows[-1]["alive"] == int(truth.alive.sum())
    for before, after, row in zip(truth.turns[played.scenario.warmup_turns - 1:], truth.turns[
            played.scenario.warmup_turns:], rows):
        assert after.alive + after.lost == before.alive + row["acquired"]
