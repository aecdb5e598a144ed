"""Common random numbers: same inputs, same results; one customer's fate is his own."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from conftest import ROOT, small
from sim import Decision, Game, Tier
from sim.checker import check_game, observation_digest

DIGEST_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from sim.checker import check_game
from sim.scenario import load_scenario
print(check_game(load_scenario({name!r}).with_prospects(4000), seed=21)[-1])
"""


def test_contract(scenario_name):
    check_game(small(scenario_name, 6000), seed=3)


def test_bit_identical_across_processes(scenario_name):
    here = check_game(small(scenario_name, 4000), seed=21)[-1]
    out = subprocess.run([sys.executable, "-c", DIGEST_SCRIPT.format(root=str(ROOT), name=scenario_name)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == here


def test_different_seeds_differ():
    s = small("coffee", 4000)
    assert observation_digest(Game(s).reset(1)) != observation_digest(Game(s).reset(2))


def _cutoff(obs) -> float:
    return float(np.quantile(obs.customer_id, 0.1))


def _step_with_tier_service(s, service: float):
    game = Game(s)
    obs = game.reset(8)
    tiers = (Tier("picked", {"field": "customer_id", "op": "<", "value": _cutoff(obs)}, service),
             Tier("rest", "all", 0.5))
    new_obs, _ = game.step(Decision({s.channels[0].name: s.budget.marketing / 2}, tiers))
    return obs, new_obs


def test_service_in_one_tier_does_not_touch_other_customers(scenario_name):
    s = small(scenario_name, 8000)
    before, low = _step_with_tier_service(s, 0.0)
    picked = before.customer_id < _cutoff(before)
    affordable = (s.budget.marketing / 2 - 0.5 * before.n_customers) / picked.sum()
    _, high = _step_with_tier_service(s, min(3 * s.service.half_saturation, affordable))
    n = before.n_customers
    others = np.flatnonzero(~picked)
    # The same newcomers, and every customer outside the tier lives the same turn.
    assert np.array_equal(low.customer_id, high.customer_id)
    for name in ("purchases", "spend", "cost_to_serve"):
        assert np.array_equal(getattr(low, name)[others, -1], getattr(high, name)[others, -1])
        assert np.array_equal(getattr(low, name)[n:], getattr(high, name)[n:])
    assert np.array_equal(low.last_purchase_time[others], high.last_purchase_time[others])
    # ... while service did change the served tier's turn.
    served = np.flatnonzero(picked)
    assert not np.array_equal(low.purchases[served, -1], high.purchases[served, -1])


def _acquired(s, spend: dict[str, float]) -> set[int]:
    game = Game(s)
    game.reset(4)
    obs, result = game.step(Decision(spend))
    return set(obs.customer_id[obs.acquisition_turn == 1].tolist())


def test_more_budget_buys_a_superset(scenario_name):
    s = small(scenario_name, 10_000)
    budget = s.budget.marketing / 2
    first, second = s.channels[0].name, s.channels[-1].name
    previous: set[int] = set()
    for share in (0.05, 0.2, 0.4):
        got = _acquired(s, {first: budget * share, second: budget * 0.3})
        assert got >= previous and len(got) > len(previous)
        previous = got
    # Raising the other channel's budget keeps the first channel's picks too.
    more = _acquired(s, {first: budget * 0.4, second: budget * 0.6})
    assert more >= previous


def test_decision_json_is_plain_data():
    s = small("coffee", 3000)
    from sim.strategies import CustomerCentric

    obs = Game(s).reset(1)
    d = CustomerCentric().decide(obs)
    text = json.dumps(d.to_dict())
    assert Decision.from_dict(json.loads(text)).to_dict() == d.to_dict()


def test_a_warm_up_played_once_is_restored_bit_for_bit(scenario_name, monkeypatch):
    """Game.reset keeps the last warm-up (a function of scenario and seed): games that restore
    its copy play exactly as one that plays it, truth and score included."""
    import sim.engine as engine
    from sim.runner import play_game
    from sim.strategies import get_strategy

    s = small(scenario_name, 3000)
    played = []
    original = Game._play_warmup
    monkeypatch.setattr(Game, "_play_warmup", lambda game: (played.append(1), original(game))[1])
    monkeypatch.setattr(engine, "_last_warmup", None)
    first = check_game(s, seed=8)         # plays the warm-up, then restores it (the replay)
    oracle = repr(play_game(s, get_strategy("oracle"), 8).value)
    second = check_game(s, seed=8)        # restores it only, after games that played on from it
    assert played == [1]
    monkeypatch.setattr(engine, "_last_warmup", None)
    assert repr(play_game(s, get_strategy("oracle"), 8).value) == oracle
    assert check_game(s, seed=8) == first == second and played == [1, 1]
