"""Holdout tests: a tier's control group is a keyed, fair draw; controls get nothing and cost nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import small
from sim import Decision, Game, Tier
from sim.decision_limits import DecisionLimits
from sim.decisions import DISENGAGE, DecisionError
from sim.holdout import tier_key, without_control
from sim.records import decode_decision, encode_decision

TEST_RULE = {"top": 0.6, "by": "profit"}


def _play(tiers, seed=5, acquisition=None, turns=1, name="direct_seller"):
    s = small(name, 20000)
    game = Game(s)
    obs = game.reset(seed)
    results = []
    for _ in range(turns):
        decision = Decision(dict(s.inherited.acquisition) if acquisition is None else acquisition,
                            tuple(tiers))
        obs, result = game.step(decision)
        results.append(result)
    return game, obs, results


def test_control_is_unserved_and_free():
    s = small("direct_seller", 20000)
    game = Game(s)
    before = game.reset(5)
    history = game.truth.service_received.copy()  # the inherited perk of the warm-up turns
    obs, result = game.step(Decision(dict(s.inherited.acquisition),
                                     (Tier("test", TEST_RULE, 12.0, 0.25),)))
    arm = obs.experiment_arm[:, -1]
    treated, control = int((arm == 1).sum()), int((arm == -1).sum())
    assert result.tier_counts == (treated + control,)
    # The books charge only the treated; the truth's service ledger agrees.
    assert result.books.service_spend == pytest.approx(12.0 * treated)
    received = game.truth.service_received[: before.n_customers] - history
    arm = arm[: before.n_customers]
    assert np.all(received[arm == -1] == 0.0) and np.all(received[arm == 1] == 12.0)
    # About a quarter held out (binomial sd about 0.02 at this size).
    assert 0.18 < control / (treated + control) < 0.32
    assert np.all(obs.experiment_arm[:, :-1] == 0)


def test_control_lives_as_if_in_no_tier():
    """Common random numbers: a control customer's turn is exactly an unserved one's."""
    _, tested, _ = _play([Tier("test", TEST_RULE, 12.0, 0.25)])
    _, untreated, _ = _play([])
    control = tested.experiment_arm[:, -1] == -1
    assert control.sum() > 100
    for field in ("purchases", "spend", "cost_to_serve"):
        a, b = getattr(tested, field)[:, -1], getattr(untreated, field)[:, -1]
        assert np.array_equal(a[control], b[control])
    # ...while the treated differ (service changes their turn).
    treated = tested.experiment_arm[:, -1] == 1
    assert not np.array_equal(tested.spend[treated, -1], untreated.spend[treated, -1])


def test_disengaged_tier_control_is_kept():
    _, tested, _ = _play([Tier("away", TEST_RULE, DISENGAGE, 0.5)])
    _, kept, _ = _play([])
    control = tested.experiment_arm[:, -1] == -1
    assert control.sum() > 300
    assert np.array_equal(tested.purchases[control, -1], kept.purchases[control, -1])
    assert tested.purchases[tested.experiment_arm[:, -1] == 1, -1].mean() \
        < 0.7 * kept.purchases[tested.experiment_arm[:, -1] == 1, -1].mean()


def test_same_customers_held_out_whatever_else_the_player_does():
    _, a, _ = _play([Tier("test", TEST_RULE, 12.0, 0.25)])
    # More acquisition, a different spend and another tier after it: the same control.
    s = small("direct_seller", 20000)
    more = {c: 2 * v for c, v in s.inherited.acquisition.items()}
    _, b, _ = _play([Tier("test", TEST_RULE, 5.0, 0.25), Tier("rest", "all", 1.0)], acquisition=more)
    n = a.n_customers  # b's rows start with a's (same history before the turn)
    assert np.array_equal(a.experiment_arm[:n, -1] == -1, b.experiment_arm[:n, -1] == -1)


def test_a_test_keeps_its_control_across_turns_and_another_name_draws_afresh():
    _, obs, _ = _play([Tier("test", "all", 2.0, 0.3)], turns=2)
    first, second = obs.experiment_arm[:, -2], obs.experiment_arm[:, -1]
    both = (first != 0) & (second != 0)
    assert np.array_equal(first[both] < 0, second[both] < 0)
    _, other, _ = _play([Tier("another test", "all", 2.0, 0.3)])
    n = min(other.n_customers, obs.n_customers)
    in_test = first[:n] != 0
    same = ((other.experiment_arm[:n, -1] < 0) == (first[:n] < 0))[in_test]
    # Independent draws at 30%: they agree on 0.7^2 + 0.3^2 = 58% of customers.
    assert 0.52 < same.mean() < 0.64
    assert tier_key("test") == 0xD87F7E0C  # CRC-32: stable across processes and versions


def test_no_holdout_leaves_the_assignment_untouched():
    from sim.decisions import assign_tiers
    cols = {"x": np.arange(10.0)}
    a = assign_tiers(Decision({}, (Tier("t", "all", 1.0),)), cols, {}, 1e9)
    assert without_control(a, None) is a
    assert without_control(a, np.zeros(10, dtype=np.int8)) is a


def test_budget_is_checked_at_full_cost():
    """Who is held out is unknown when the plan is made: the tier must fit whole."""
    s = small("direct_seller", 20000)
    game = Game(s)
    obs = game.reset(5)
    n = int(obs.active.sum())
    per_head = 1.01 * s.budget.marketing / n
    with pytest.raises(DecisionError, match="budget"):
        game.step(Decision({}, (Tier("test", "all", per_head, 0.5),)))


@pytest.mark.parametrize("holdout, message", [
    (0.95, r"decision.tiers\[0\].holdout: must be <= 0.9, got 0.95"),
    (-0.1, r"decision.tiers\[0\].holdout: must be >= 0, got -0.1"),
    ("half", r"decision.tiers\[0\].holdout: must be a share of the tier"),
    (True, r"decision.tiers\[0\].holdout: must be a share of the tier"),
    (float("nan"), r"decision.tiers\[0\].holdout: must be a share of the tier"),
])
def test_bad_holdout_is_refused_by_field_path(holdout, message):
    with pytest.raises(DecisionError, match=message):
        Decision.from_dict({"tiers": [{"name": "t", "rule": "all", "service": 1.0, "holdout": holdout}]})
    game = Game(small("coffee", 2000))
    game.reset(1)
    if isinstance(holdout, float) and holdout == holdout:
        with pytest.raises(DecisionError, match=r"tiers\[0\].holdout"):
            game.step(Decision({}, (Tier("t", "all", 0.0, holdout),)))


def test_holdout_round_trips_through_json_and_records():
    d = Decision({"a": 1.0}, (Tier("t", "all", 3.0, 0.2), Tier("u", "all", 1.0)))
    out = d.to_dict()
    assert out["tiers"][0]["holdout"] == 0.2 and "holdout" not in out["tiers"][1]
    assert Decision.from_dict(json.loads(json.dumps(out))) == d
    assert decode_decision(json.loads(json.dumps(encode_decision(d))), "d") == d


def test_each_holdout_tier_costs_limit_units():
    limits = DecisionLimits.of_market(10_000, 10_000)  # the floor: 256 units
    plain = tuple(Tier(f"t{i}", "all", 1.0) for i in range(17))
    limits.check(plain, 0)
    with pytest.raises(DecisionError, match="17 holdout tiers"):
        limits.check(tuple(Tier(f"t{i}", "all", 1.0, 0.1) for i in range(17)), 0)
