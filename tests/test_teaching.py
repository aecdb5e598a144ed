"""Teaching validity: the shipped scenarios teach what they claim, on every seed."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small
from sim.runner import play_game, score
from sim.strategies import get_strategy

SEEDS = range(1, 11)




def _cards(name: str):
    s = small(name, 20_000)
    return [score(s, get_strategy("customer-centric"), seed) for seed in SEEDS]


def test_strategies_rank_as_the_lesson_says(scenario_name):
    cards = _cards(scenario_name)
    value = {name: np.array([c.baselines[name].firm_value for c in cards])
             for name in ("do-nothing", "mass-marketing", "customer-centric", "oracle")}
    ordered = (value["oracle"] >= value["customer-centric"]) & (
        value["customer-centric"] > value["mass-marketing"])
    assert ordered.sum() >= 9, {k: (v / 1e3).round() for k, v in value.items()}
    assert (value["do-nothing"] < value["mass-marketing"]).all()
    scores = np.array([c.centricity_score for c in cards])
    assert np.all((scores > 0) & (scores <= 100)) or ordered.sum() < 10
    # Whale curve: profit is concentrated and some customers lose money.
    mass = [c.baselines["mass-marketing"] for c in cards]
    for v in mass:
        assert 0.55 <= v.top20_profit_share <= 0.85, v.top20_profit_share
        assert v.unprofitable_share >= 0.05, v.unprofitable_share


def test_oracle_focuses_service_where_mass_marketing_spreads_it(scenario_name):
    s = small(scenario_name, 20_000)
    oracle = play_game(s, get_strategy("oracle"), 1).value
    mass = play_game(s, get_strategy("mass-marketing"), 1).value

    def top3(shares):
        return sum(sorted(shares, reverse=True)[:3])

    # Mass-marketing's service follows how long customers stay on the books;
    # the oracle's follows where service changes behaviour, in fewer deciles.
    assert top3(oracle.service_by_value_decile) > 0.65
    assert top3(oracle.service_by_value_decile) > top3(mass.service_by_value_decile) + 0.15
    assert sum(oracle.service_by_value_decile) == pytest.approx(1.0)
