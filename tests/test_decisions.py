"""Decisions: rule evaluation, tiers, budget checks, JSON round trip, refusals in a game.

Rules run on small hand-built columns, so every expected mask can be read
off the table below.  Every refusal is a ``DecisionError`` whose message
names the entry at fault (``tiers[1].rule.field: ...``).
"""

from __future__ import annotations

import json
import math
import operator

import numpy as np
import pytest

from sim import DISENGAGE, Decision, DecisionError, Game, Tier, load_scenario
from sim.decisions import assign_tiers, check_acquisition, evaluate_rule

CHANNELS = ("office_cards", "social_ads", "coupon_app", "campus_flyers")
HOODS = ("business_district", "residential", "campus")
CATEGORIES = {"channel": CHANNELS, "neighbourhood": HOODS}

#                        row: 0    1    2    3    4    5    6    7
CHANNEL = np.array([0, 2, 2, 1, 3, 0, 2, 1])            # codes into CHANNELS
HOOD = np.array([0, 1, 2, 1, 0, 2, 1, 0])               # codes into HOODS
MONETARY = np.array([12.0, 3.0, 15.0, 8.0, 8.0, 20.0, 1.0, 8.0])
PURCHASES = np.array([5, 1, 2, 3, 3, 9, 1, 4])
N = CHANNEL.size


def columns() -> dict[str, np.ndarray]:
    return {"channel": CHANNEL.copy(), "neighbourhood": HOOD.copy(),
            "monetary": MONETARY.copy(), "purchases": PURCHASES.copy()}


def rows(mask: np.ndarray) -> list[int]:
    assert mask.dtype == bool and mask.shape == (N,)
    return np.flatnonzero(mask).tolist()


def match(rule) -> list[int]:
    return rows(evaluate_rule(rule, columns(), CATEGORIES))


def assign(*tiers: Tier, budget: float = 1e9, scores=None, servable=None):
    decision = Decision(tiers=tuple(tiers), scores=scores or {})
    return assign_tiers(decision, columns(), CATEGORIES, budget, servable=servable)


# ------------------------------------------------------------------ comparisons

OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
       ">": operator.gt, ">=": operator.ge}


@pytest.mark.parametrize("op", list(OPS), ids=list(OPS))
def test_numeric_comparison(op):
    expected = [i for i, m in enumerate(MONETARY) if OPS[op](m, 8.0)]
    assert match({"field": "monetary", "op": op, "value": 8}) == expected
    assert match({"field": "monetary", "op": op, "value": 8.0}) == expected


def test_numeric_in_and_not_in():
    assert match({"field": "purchases", "op": "in", "value": [1, 3]}) == [1, 3, 4, 6]
    assert match({"field": "purchases", "op": "not in", "value": [1, 3]}) == [0, 2, 5, 7]
    assert match({"field": "purchases", "op": "in", "value": []}) == []


def test_categorical_fields_by_value_name():
    assert match({"field": "channel", "op": "==", "value": "coupon_app"}) == [1, 2, 6]
    assert match({"field": "channel", "op": "!=", "value": "coupon_app"}) == [0, 3, 4, 5, 7]
    assert match({"field": "channel", "op": "in",
                  "value": ["office_cards", "campus_flyers"]}) == [0, 4, 5]
    assert match({"field": "channel", "op": "not in",
                  "value": ["office_cards", "campus_flyers"]}) == [1, 2, 3, 6, 7]
    assert match({"field": "neighbourhood", "op": "==", "value": "campus"}) == [2, 5]


def test_categorical_field_refuses_codes_and_ordering():
    with pytest.raises(DecisionError, match=r"^rule\.value: unknown value 2 \(known: office_cards"):
        match({"field": "channel", "op": "==", "value": 2})
    with pytest.raises(DecisionError, match=r"^rule\.op: 'channel' is categorical"):
        match({"field": "channel", "op": "<", "value": "coupon_app"})
    with pytest.raises(DecisionError, match=r"^rule\.value: must be a list of values for 'in'"):
        match({"field": "channel", "op": "in", "value": "coupon_app"})


# ------------------------------------------------------------------ quantiles

def test_top_and_bottom_quantiles_exact_counts():
    assert match({"top": 0.25, "by": "monetary"}) == [2, 5]
    assert match({"bottom": 0.25, "by": "monetary"}) == [1, 6]
    assert match({"top": 0.0, "by": "monetary"}) == []
    assert match({"top": 1.0, "by": "monetary"}) == list(range(N))
    assert match({"bottom": 1, "by": "monetary"}) == list(range(N))
    for share in (0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9):
        assert len(match({"top": share, "by": "purchases"})) == round(share * N)
        assert len(match({"bottom": share, "by": "purchases"})) == round(share * N)


def test_quantile_ties_are_broken_by_row_order():
    # Three customers tie at 8.0 (rows 3, 4, 7): the earlier rows win, every time.
    assert match({"top": 0.5, "by": "monetary"}) == [0, 2, 3, 5]
    assert match({"bottom": 0.5, "by": "monetary"}) == [1, 3, 4, 6]
    flat = {"x": np.zeros(N)}
    for _ in range(3):
        assert rows(evaluate_rule({"top": 0.25, "by": "x"}, flat)) == [0, 1]
        assert rows(evaluate_rule({"bottom": 0.375, "by": "x"}, flat)) == [0, 1, 2]


def test_quantile_puts_missing_scores_last():
    clv = np.array([np.nan, 5.0, 1.0, np.nan, 9.0, 2.0, 7.0, 3.0])
    fields = {"clv": clv}
    assert rows(evaluate_rule({"top": 0.5, "by": "clv"}, fields)) == [1, 4, 6, 7]
    assert rows(evaluate_rule({"bottom": 0.5, "by": "clv"}, fields)) == [1, 2, 5, 7]
    assert rows(evaluate_rule({"top": 1.0, "by": "clv"}, fields)) == list(range(N))


# ------------------------------------------------------------------ combinators

def test_all_any_not():
    office = {"field": "channel", "op": "==", "value": "office_cards"}
    big = {"field": "monetary", "op": ">", "value": 10}
    campus = {"field": "neighbourhood", "op": "==", "value": "campus"}
    loyal = {"field": "purchases", "op": ">=", "value": 4}
    assert match({"all": [office, big]}) == [0, 5]
    assert match({"any": [campus, loyal]}) == [0, 2, 5, 7]
    assert match({"not": office}) == [1, 2, 3, 4, 6, 7]
    assert match({"not": {"any": [campus, loyal]}}) == [1, 3, 4, 6]
    assert match({"all": [{"any": [campus, loyal]}, {"not": office}]}) == [2, 7]
    assert match({"all": [office]}) == match(office)
    assert match("all") == list(range(N))
    assert match(True) == list(range(N))


# ------------------------------------------------------------------ tiers

def test_first_match_wins_and_disengage():
    a = assign(
        Tier("vip", {"top": 0.25, "by": "monetary"}, 30),
        Tier("coupon", {"field": "channel", "op": "==", "value": "coupon_app"}, DISENGAGE),
        Tier("rest", "all", 2.5),
    )
    # Row 2 is a coupon customer but among the top spenders: the first tier takes it.
    assert a.tier.tolist() == [2, 1, 0, 2, 2, 0, 1, 2]
    assert a.counts == (2, 2, 4)
    assert a.disengaged.tolist() == [False, True, False, False, False, False, True, False]
    assert a.service_per_customer.tolist() == [2.5, 0, 30, 2.5, 2.5, 30, 0, 2.5]
    assert a.service_cost == pytest.approx(70.0)


def test_customers_in_no_tier_get_nothing():
    a = assign(Tier("big", {"field": "monetary", "op": ">=", "value": 12}, 10.0))
    assert a.tier.tolist() == [0, -1, 0, -1, -1, 0, -1, -1]
    assert a.counts == (3,)
    assert a.service_cost == 30.0
    assert not a.disengaged.any()
    empty = assign()
    assert empty.counts == () and empty.service_cost == 0.0 and (empty.tier == -1).all()


def test_servable_mask_keeps_customers_out_of_every_tier():
    servable = np.array([True, True, True, False, True, False, True, True])
    a = assign(
        Tier("office", {"field": "channel", "op": "==", "value": "office_cards"}, 5.0),
        Tier("rest", "all", DISENGAGE),
        servable=servable,
    )
    assert a.tier.tolist() == [0, 1, 1, -1, 1, -1, 1, 1]
    assert a.counts == (1, 5)
    assert a.service_cost == 5.0
    assert not a.disengaged[~servable].any()
    assert servable.tolist() == [True, True, True, False, True, False, True, True]  # not mutated


def test_score_columns_can_be_used_by_rules():
    clv = np.arange(N, dtype=float)[::-1]  # row 0 is worth most
    a = assign(Tier("best", {"top": 0.25, "by": "clv"}, 1.0),
               Tier("good", {"field": "clv", "op": ">=", "value": 4}, 0.5),
               scores={"clv": clv})
    assert a.tier.tolist() == [0, 0, 1, 1, -1, -1, -1, -1]


def test_service_at_exactly_the_budget_is_allowed():
    a = assign(Tier("all", "all", 10.0), budget=80.0)
    assert a.service_cost == 80.0


# ------------------------------------------------------------------ refusals

def refused(*tiers: Tier, budget: float = 1e9, scores=None) -> str:
    with pytest.raises(DecisionError) as info:
        assign(*tiers, budget=budget, scores=scores)
    return str(info.value)


OK = Tier("ok", "all", 1.0)


@pytest.mark.parametrize("rule, message", [
    ({"field": "nope", "op": "==", "value": 1},
     r"^tiers\[1\]\.rule\.field: unknown field 'nope' \(known: channel, monetary"),
    ({"field": ["monetary"], "op": "==", "value": 1}, r"^tiers\[1\]\.rule\.field: unknown field"),
    ({"top": 0.2, "by": "nope"}, r"^tiers\[1\]\.rule\.by: unknown field 'nope'"),
    ({"top": 0.2, "by": {"x": 1}}, r"^tiers\[1\]\.rule\.by: unknown field"),
    ({"field": "monetary", "op": "=~", "value": 1}, r"^tiers\[1\]\.rule\.op: unknown operator '=~'"),
    ({"field": "channel", "op": "==", "value": "billboards"},
     r"^tiers\[1\]\.rule\.value: unknown value 'billboards' \(known: office_cards"),
    ({"field": "channel", "op": "in", "value": ["coupon_app", "tv"]},
     r"^tiers\[1\]\.rule\.value: unknown value 'tv'"),
    ({"top": 1.5, "by": "monetary"}, r"^tiers\[1\]\.rule\.top: must be a share between 0 and 1"),
    ({"bottom": -0.1, "by": "monetary"}, r"^tiers\[1\]\.rule\.bottom: must be a share"),
    ({"top": "20%", "by": "monetary"}, r"^tiers\[1\]\.rule\.top: must be a share"),
    ({"top": True, "by": "monetary"}, r"^tiers\[1\]\.rule\.top: must be a share"),
    ({"top": math.nan, "by": "monetary"}, r"^tiers\[1\]\.rule\.top: must be a share"),
    ({"field": "monetary", "op": ">", "value": "10"},
     r"^tiers\[1\]\.rule\.value: must be a number for field 'monetary', got '10'"),
    ({"field": "monetary", "op": ">", "value": None}, r"^tiers\[1\]\.rule\.value: must be a number"),
    ({"field": "monetary", "op": ">", "value": math.inf}, r"^tiers\[1\]\.rule\.value: must be a number"),
    ({"field": "purchases", "op": "in", "value": [1, "two"]},
     r"^tiers\[1\]\.rule\.value: must be a list of numbers for 'in'"),
    ({"all": []}, r"^tiers\[1\]\.rule\.all: must be a non-empty list of rules"),
    ({"any": "all"}, r"^tiers\[1\]\.rule\.any: must be a non-empty list of rules"),
    ({"all": ["all", {"field": "nope", "op": "==", "value": 1}]},
     r"^tiers\[1\]\.rule\.all\[1\]\.field: unknown field 'nope'"),
    ({"not": {"any": [{"top": 2, "by": "monetary"}]}}, r"^tiers\[1\]\.rule\.not\.any\[0\]\.top: must be"),
    ({"field": "monetary", "op": ">"}, r"^tiers\[1\]\.rule: unknown rule form with keys \['field', 'op'\]"),
    ("everyone", r"^tiers\[1\]\.rule: must be 'all' or a mapping, got 'everyone'"),
    (["all"], r"^tiers\[1\]\.rule: must be 'all' or a mapping"),
])
def test_bad_rule_is_refused_with_its_path(rule, message):
    with pytest.raises(DecisionError, match=message):
        assign(OK, Tier("bad", rule, 1.0))


@pytest.mark.parametrize("service, message", [
    (-1.0, r"^tiers\[1\]\.service: must be >= 0 dollars, got -1"),
    (-0.01, r"^tiers\[1\]\.service: must be >= 0 dollars"),
    ("lots", r"^tiers\[1\]\.service: must be dollars per customer or 'disengage', got 'lots'"),
    (math.nan, r"^tiers\[1\]\.service: must be dollars per customer"),
    (math.inf, r"^tiers\[1\]\.service: must be dollars per customer"),
    (True, r"^tiers\[1\]\.service: must be dollars per customer"),
    (None, r"^tiers\[1\]\.service: must be dollars per customer"),
])
def test_bad_service_is_refused(service, message):
    with pytest.raises(DecisionError, match=message):
        assign(Tier("vip", {"top": 0.25, "by": "monetary"}, 5.0), Tier("bad", "all", service))


def test_service_over_budget_names_the_amounts():
    message = refused(Tier("vip", {"top": 0.25, "by": "monetary"}, 30.0),
                      Tier("rest", "all", 10.0), budget=100.0)
    assert message.startswith("tiers: service costs $120, over the budget of $100 per turn")
    assert "vip: 2 x $30.00" in message and "rest: 6 x $10.00" in message


def test_bad_score_columns_are_refused():
    assert refused(OK, scores={"clv": np.ones(N - 1)}).startswith(
        f"scores.clv: must have one value per customer ({N}), got shape ({N - 1},)")
    assert refused(OK, scores={"clv": np.ones((N, 2))}).startswith("scores.clv: must have one value")
    assert refused(OK, scores={"monetary": np.ones(N)}).startswith(
        "scores.monetary: clashes with an observable field")
    assert refused(OK, scores={"clv": ["high"] * N}).startswith("scores.clv: must be a list of numbers")


# ------------------------------------------------------------------ acquisition

def acquisition(**dollars) -> Decision:
    return Decision(acquisition=dollars)


def test_check_acquisition_accepts_spend_within_budget():
    check_acquisition(acquisition(office_cards=600, coupon_app=400.0), CHANNELS, 1000.0)
    check_acquisition(acquisition(office_cards=0), CHANNELS, 0.0)
    check_acquisition(Decision(), CHANNELS, 0.0)


@pytest.mark.parametrize("dollars, message", [
    ({"billboards": 10.0}, r"^acquisition\.billboards: unknown channel \(known: office_cards, "),
    ({"office_cards": -5.0}, r"^acquisition\.office_cards: must be >= 0 dollars, got -5"),
    ({"office_cards": math.nan}, r"^acquisition\.office_cards: must be a number of dollars, got nan"),
    ({"office_cards": math.inf}, r"^acquisition\.office_cards: must be a number of dollars"),
    ({"office_cards": "100"}, r"^acquisition\.office_cards: must be a number of dollars, got '100'"),
    ({"office_cards": True}, r"^acquisition\.office_cards: must be a number of dollars"),
    ({"office_cards": 700.0, "social_ads": 800.0},
     r"^acquisition: total \$1,500 is over the budget of \$1,000 per turn"),
])
def test_check_acquisition_refuses(dollars, message):
    with pytest.raises(DecisionError, match=message):
        check_acquisition(Decision(acquisition=dollars), CHANNELS, 1000.0)


# ------------------------------------------------------------------ plain data

def sample_decision() -> Decision:
    return Decision(
        acquisition={"office_cards": 1500.0, "social_ads": 500},
        tiers=(
            Tier("vip", {"all": [{"top": 0.2, "by": "clv"},
                                 {"field": "channel", "op": "in", "value": ["office_cards"]}]}, 25.0),
            Tier("coupon", {"not": {"field": "monetary", "op": ">", "value": 4.5}}, DISENGAGE),
            Tier("rest", "all", 1.5),
        ),
        scores={"clv": np.linspace(0.0, 70.0, N)},
    )


def test_decision_round_trips_through_json():
    decision = sample_decision()
    data = decision.to_dict()
    text = json.dumps(data)
    back = Decision.from_dict(json.loads(text))
    assert back.to_dict() == data
    assert json.dumps(back.to_dict()) == text
    assert back.tiers == decision.tiers
    assert back.acquisition == {"office_cards": 1500.0, "social_ads": 500.0}
    np.testing.assert_array_equal(back.scores["clv"], decision.scores["clv"])
    # The copy decides exactly as the original does.
    a = assign_tiers(decision, columns(), CATEGORIES, 1e9)
    b = assign_tiers(back, columns(), CATEGORIES, 1e9)
    assert a.tier.tolist() == b.tier.tolist() and a.service_cost == b.service_cost


def test_decision_without_scores_round_trips():
    decision = Decision(acquisition={}, tiers=(Tier("all", "all", DISENGAGE),))
    data = json.loads(json.dumps(decision.to_dict()))
    assert "scores" not in data
    assert Decision.from_dict(data) == decision


@pytest.mark.parametrize("data, message", [
    ([1, 2], r"^decision: must be a mapping"),
    ({"acquisition": {}, "budget": 3}, r"^decision\.budget: unknown entry"),
    ({"acquisition": [100]}, r"^decision\.acquisition: must map channel names to dollars"),
    ({"tiers": {"name": "x"}}, r"^decision\.tiers: must be a list"),
    ({"tiers": [{"name": "x", "rule": "all", "spend": 3}]}, r"^decision\.tiers\[0\]: must have only"),
    ({"tiers": ["all"]}, r"^decision\.tiers\[0\]: must have only"),
    ({"scores": [1, 2]}, r"^decision\.scores: must map score names"),
    ({"scores": {"clv": ["a", "b"]}}, r"^decision\.scores\.clv: must be a list of numbers"),
])
def test_from_dict_refuses_malformed_entries(data, message):
    with pytest.raises(DecisionError, match=message):
        Decision.from_dict(data)


# ------------------------------------------------------------------ in a game

SEED = 3


def coffee_game() -> Game:
    game = Game(load_scenario("coffee").with_prospects(5000))
    game.reset(SEED)
    return game


def good_decision(game: Game) -> Decision:
    s = game.scenario
    return Decision(
        acquisition={"office_cards": 0.3 * s.budget.marketing, "social_ads": 0.2 * s.budget.marketing},
        tiers=(
            Tier("best", {"top": 0.2, "by": "monetary"}, 15.0),
            Tier("campus", {"field": "neighbourhood", "op": "==", "value": "campus"}, DISENGAGE),
        ),
    )


def bad_decisions(game: Game) -> dict[str, Decision]:
    s = game.scenario
    good = good_decision(game)
    return {
        "acquisition over budget": Decision({"office_cards": 2 * s.budget.marketing}, good.tiers),
        "service over budget": Decision(good.acquisition, (Tier("everyone", "all", 1000.0),)),
        "unknown channel": Decision({"billboards": 10.0}, good.tiers),
        "unknown field": Decision(good.acquisition,
                                  (Tier("x", {"field": "type", "op": "==", "value": 1}, 5.0),)),
    }


def snapshot(game: Game) -> dict:
    obs = game.observation
    truth = game.truth
    out = {"turn": game.turn, "books": tuple(game.books), "results": tuple(game.results),
           "alive": truth.alive.copy(), "in_pool": truth.in_pool.copy(),
           "service_received": truth.service_received.copy()}
    for name in ("customer_id", "channel", "acquisition_turn", "purchases", "spend", "cost_to_serve",
                 "first_spend", "fees_paid", "last_purchase_time", "cancel_turn", "active"):
        out[name] = np.array(getattr(obs, name), copy=True)
    for name, codes in obs.tags.items():
        out[f"tag:{name}"] = np.array(codes, copy=True)
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


def test_refused_decision_leaves_the_game_unchanged():
    game = coffee_game()
    s = game.scenario
    before = snapshot(game)
    observation = game.observation
    for label, bad in bad_decisions(game).items():
        with pytest.raises(DecisionError) as info:
            game.step(bad)
        if label == "acquisition over budget":
            assert f"over the budget of ${s.budget.marketing:,.0f}" in str(info.value)
        if label == "service over budget":
            message = str(info.value)
            assert message.startswith("budget: acquisition $")
            assert f"over the marketing budget of ${s.budget.marketing:,.0f} per turn" in message
            assert "everyone: " in message
        assert game.observation is observation
        assert_same(snapshot(game), before)

    # The next valid turns play exactly as on a game that never saw a bad decision.
    fresh = coffee_game()
    for _ in range(2):
        obs_a, result_a = game.step(good_decision(game))
        obs_b, result_b = fresh.step(good_decision(fresh))
        assert result_a == result_b
        assert result_a.tier_counts[0] > 0
        assert_same(snapshot(game), snapshot(fresh))
    # And a refusal after a valid turn changes nothing either.
    before = snapshot(game)
    with pytest.raises(DecisionError):
        game.step(bad_decisions(game)["service over budget"])
    assert_same(snapshot(game), before)
