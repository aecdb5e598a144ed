"""The reference games: played once per scenario and seed, shared by every caller."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small
from sim import references
from sim.references import REFERENCES, play_reference, reference_values
from sim.runner import play_game, score
from sim.strategies import get_strategy, strategy_names


def test_the_references_are_the_built_in_strategies():
    assert set(REFERENCES) == set(strategy_names())


def test_a_reference_is_played_once_then_shared():
    scenario = small("direct_seller", 2000)
    references.clear_cache()
    first = play_reference(scenario, "mass-marketing", 3)
    again = reference_values(scenario, 3, ("mass-marketing",))["mass-marketing"]
    assert again is first
    assert first.firm_value == play_game(scenario, get_strategy("mass-marketing"), 3).value.firm_value
    # Another seed or another size is another market.
    assert play_reference(scenario, "mass-marketing", 4).firm_value != first.firm_value
    assert play_reference(small("direct_seller", 2500), "mass-marketing", 3).firm_value \
        != first.firm_value


def test_score_uses_the_same_values_in_any_order_and_with_workers():
    scenario = small("coffee", 2000)
    references.clear_cache()
    alone = score(scenario, get_strategy("customer-centric"), 2)
    references.clear_cache()
    workers = score(scenario, get_strategy("volume"), 2, workers=2)
    assert {n: v.firm_value for n, v in alone.baselines.items()} == \
        {n: v.firm_value for n, v in workers.baselines.items()}
    # The built-in played as the strategy is the reference's own game.
    assert alone.baselines["customer-centric"] is alone.player.value


def test_an_unknown_reference_is_refused():
    with pytest.raises(ValueError, match="not a reference strategy"):
        reference_values(small("coffee", 2000), 1, ("genius",))


def test_references_started_in_the_background_are_the_same_games():
    scenario = small("department_store", 2500)
    references.clear_cache()
    expected = {n: play_game(scenario, get_strategy(n), 4).value.firm_value for n in REFERENCES}
    references.clear_cache()
    references.start_in_background(scenario, 4)
    assert any(references.pending(scenario, n, 4) for n in REFERENCES)
    seen = []
    got = reference_values(scenario, 4, progress=seen.append)
    assert {n: v.firm_value for n, v in got.items()} == expected
    # Collected once, then served from the cache: asking again plays nothing.
    again = []
    reference_values(scenario, 4, progress=again.append)
    assert again == [] and not any(references.pending(scenario, n, 4) for n in REFERENCES)


@pytest.mark.parametrize("scenario_name", ["coffee", "meal_kit"])
def test_a_lever_swapped_with_itself_is_the_same_game(scenario_name):
    """Mass-marketing's decisions composed with mass-marketing's other lever: its own game, exactly."""
    from sim.references import Composition, composed_values

    scenario = small(scenario_name, 2000)
    mass = play_game(scenario, get_strategy("mass-marketing"), 3)
    centric = play_game(scenario, get_strategy("customer-centric"), 3)
    values = composed_values(scenario, 3, mass.decisions,
                             [Composition("acquisition", "mass-marketing"),
                              Composition("service", "mass-marketing")])
    assert {c.keep: v.firm_value for c, v in values.items()} == \
        {"acquisition": mass.value.firm_value, "service": mass.value.firm_value}
    # The customer-centric reference's acquisition with its own service: its own game.
    again = composed_values(scenario, 3, centric.decisions, [Composition("acquisition", "customer-centric")])
    assert next(iter(again.values())).firm_value == centric.value.firm_value


def test_the_oracles_part_alone_sees_the_truth():
    from sim.references import ComposedStrategy, Composition

    decisions = play_game(small("coffee", 2000), get_strategy("mass-marketing"), 1).decisions
    assert ComposedStrategy(Composition("acquisition", "oracle"), decisions).sees_truth
    assert not ComposedStrategy(Composition("service", "customer-centric"), decisions).sees_truth


def test_your_service_is_not_measured_with_score_columns_of_your_own():
    from sim.decisions import Decision, Tier
    from sim.references import Composition, composed_values, own_score_columns

    scenario = small("coffee", 2000)
    played = play_game(scenario, get_strategy("mass-marketing"), 1)
    mine = [Decision(d.acquisition, (Tier("best", {"field": "my_score", "op": ">", "value": 0.5}, 5.0),),
                     {"my_score": np.linspace(0, 1, n)})
            for d, n in zip(played.decisions, _customers_per_turn(scenario, played))]
    assert own_score_columns(mine) == ("my_score",)
    values = composed_values(scenario, 1, mine, [Composition("service", "oracle"),
                                                  Composition("acquisition", "oracle")])
    assert values[Composition("service", "oracle")] is None
    assert values[Composition("acquisition", "oracle")] is not None


def _customers_per_turn(scenario, played):
    from sim.engine import Game

    game = Game(scenario)
    observation = game.reset(played.seed)
    counts = []
    for decision in played.decisions:
        counts.append(observation.n_customers)
        observation, _ = game.step(decision)
    return counts


FORKED_SCORE = """
import sys
sys.path.insert(0, {root!r})
import sim._blas_threads
from sim import references
from sim.runner import score
from sim.scenario import load_scenario
from sim.strategies import get_strategy
assert references._can_fork(), "a fresh ccsim process should fork its workers"
card = score(load_scenario("fitness_studio").with_prospects(2500), get_strategy("customer-centric"),
             6, workers=2)
print(repr(sorted((n, repr(v)) for n, v in card.baselines.items())))
"""


def test_forked_workers_play_the_same_games_as_spawned_ones_and_as_one_process(monkeypatch):
    """Workers forked from a fresh process (inheriting its market and warm-up) play the same games."""
    import multiprocessing
    import subprocess
    import sys

    from conftest import ROOT

    scenario = small("fitness_studio", 2500)
    references.clear_cache()
    alone = score(scenario, get_strategy("customer-centric"), 6)
    expected = repr(sorted((n, repr(v)) for n, v in alone.baselines.items()))
    references.clear_cache()
    monkeypatch.setattr(references, "_can_fork", lambda: False)
    spawned = score(scenario, get_strategy("customer-centric"), 6, workers=2)
    assert repr(sorted((n, repr(v)) for n, v in spawned.baselines.items())) == expected
    if "fork" in multiprocessing.get_all_start_methods():
        out = subprocess.run([sys.executable, "-c", FORKED_SCORE.format(root=str(ROOT))],
                             capture_output=True, text=True, check=True, timeout=300)
        assert out.stdout.strip() == expected


def test_workers_are_forked_only_from_a_lone_thread_with_one_blas_thread(monkeypatch):
    import multiprocessing
    import threading

    from sim._blas_threads import BLAS_THREAD_VARS

    if "fork" not in multiprocessing.get_all_start_methods():
        assert not references._can_fork()
        return
    for var in BLAS_THREAD_VARS:
        monkeypatch.setenv(var, "1")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert references._can_fork()
    monkeypatch.setattr(threading, "active_count", lambda: 2)   # a lock could be held in a fork
    assert not references._can_fork()
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setenv(BLAS_THREAD_VARS[0], "4")                # siblings would oversubscribe
    assert not references._can_fork()
