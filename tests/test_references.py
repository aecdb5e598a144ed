"""The reference games: played once per scenario and seed, shared by every caller."""

from __future__ import annotations

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
