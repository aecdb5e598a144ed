"""Editing a plan: strict amounts, undo and redo of every change, where new tiers go, tier warnings,
and the lab's projection of a plan's profit and of the customer value it buys."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import small

from sim.decisions import MAX_TIERS, evaluate_rule
from sim.errors import SimError
from sim.planning import AmountError, PlanEditor, insertion_index, parse_amount
from sim.session import Plan, PlayerSession, TierPlan, tier_warnings


@pytest.mark.parametrize("text, value", [("1250", 1250.0), ("12.50", 12.5), (" 7 ", 7.0), ("$1,250.5", 1250.5),
                                         (".5", 0.5), ("0", 0.0), ("1000000000", 1e9)])
def test_amounts_that_are_numbers(text, value):
    assert parse_amount(text) == value


@pytest.mark.parametrize("text, words", [("1.2.3", "is not a number"), ("12abc", "is not a number"),
                                         ("1e999", "is not a number"), ("1e3", "is not a number"),
                                         ("nan", "is not a number"), ("inf", "is not a number"),
                                         ("-inf", "is not a number"), ("1,25", "is not a number"),
                                         ("12.", "is not a number"), ("$", "is not a number"),
                                         ("١٢", "is not a number"), ("1_000", "is not a number"),
                                         ("", "type an amount"), ("-3", "cannot be negative"),
                                         ("2000000000", "too large")])
def test_amounts_that_are_not_are_refused_with_a_sentence(text, words):
    with pytest.raises(AmountError, match=words):
        parse_amount(text)
    assert isinstance(AmountError("x"), SimError)


def test_rule_values_may_be_negative():
    assert parse_amount("-10", allow_negative=True) == -10.0


def plan() -> Plan:
    return Plan({"a": 100.0, "b": 50.0}, [TierPlan("everyone", "all", 2.0)])


def test_every_change_undoes_and_redoes_and_a_slider_drag_is_one_step():
    editor = PlanEditor(plan())
    start = editor.plan.copy()
    for dollars in (110, 120, 130):                  # one drag of one slider
        editor.set_channel("a", dollars)
    editor.set_channel("b", 0)
    assert editor.undo() == "b dollars" and editor.plan.acquisition["b"] == 50
    assert editor.undo() == "a dollars" and editor.plan == start
    assert editor.undo() is None and not editor.edited
    assert editor.redo() == "a dollars" and editor.plan.acquisition["a"] == 130
    at = editor.add_tier(TierPlan("top", {"top": 0.1, "by": "profit"}, 5.0))
    assert at == 0                                   # before the catch-all "everyone"
    editor.toggle_disengaged(at)
    editor.set_service(1, 3.0)
    editor.move_tier(1, -1)
    assert [t.name for t in editor.plan.tiers] == ["everyone", "top"]
    editor.remove_tier(0)
    editor.reset(start)
    assert editor.plan == start
    for _ in range(6):
        assert editor.undo() is not None
    assert editor.plan.acquisition["a"] == 130 and [t.name for t in editor.plan.tiers] == ["everyone"]
    assert not editor.can_redo or editor.redo() is not None


def test_a_field_confirmed_ends_the_step():
    editor = PlanEditor(plan())
    editor.set_service(0, 3.0)
    editor.end_gesture()
    editor.set_service(0, 4.0)
    editor.undo()
    assert editor.plan.tiers[0].service == 3.0


def test_new_tiers_go_last_but_before_the_catch_all_tiers():
    p = Plan({}, [TierPlan("x", {"top": 0.1, "by": "profit"}), TierPlan("all1", "all"), TierPlan("all2", True)])
    assert insertion_index(p) == 1
    editor = PlanEditor(p)
    for share in (0.02, 0.05, 0.1):
        editor.add_tier(TierPlan(f"top {share}", {"top": share, "by": "profit"}))
    assert [t.name for t in editor.plan.tiers] == ["x", "top 0.02", "top 0.05", "top 0.1", "all1", "all2"]
    assert insertion_index(Plan({}, [])) == 0


def test_one_cap_on_tiers_enforced_for_every_way_of_adding_one():
    editor = PlanEditor(Plan({}, [TierPlan(f"t{i}", {"top": 0.01, "by": "profit"}) for i in range(MAX_TIERS)]))
    with pytest.raises(SimError, match=f"at most {MAX_TIERS} tiers"):
        editor.add_tier(TierPlan("one more", "all"))
    assert len(editor.plan.tiers) == MAX_TIERS


def test_tier_warnings_name_duplicates_unreachable_tiers_and_empty_rules():
    p = Plan({}, [TierPlan("top 40", {"top": 0.4, "by": "profit"}), TierPlan("top 20", {"top": 0.2, "by": "profit"}),
                  TierPlan("again", {"top": 0.4, "by": "profit"}), TierPlan("nobody", {"field": "age", "op": "<", "value": -1}),
                  TierPlan("everyone", "all")])
    warnings = tier_warnings(p, (40, 0, 0, 0, 60), (40, 20, 40, 0, 100))
    assert warnings[0] == "" and warnings[4] == ""
    assert "no customer reaches it" in warnings[1] and "tiers above take all 20" in warnings[1]
    assert warnings[2].startswith("duplicate of tier 1")
    assert warnings[3] == "its rule matches no customer"


@pytest.fixture(scope="module", params=["coffee", "department_store", "direct_seller", "meal_kit"])
def session(request, tmp_path_factory):
    return PlayerSession.new(small(request.param, 3000), seed=6,
                             autosave=tmp_path_factory.mktemp("s") / "autosave.json")


def test_the_preview_counts_what_each_rule_matches_on_its_own(session):
    p = session.default_plan()
    tag = session.public.profile[0]
    p.tiers = [TierPlan("top", {"top": 0.3, "by": "predicted_clv"}, 1.0),
               TierPlan("tag", {"field": tag.name, "op": "in", "value": list(tag.values[:2])}, 1.0),
               TierPlan("everyone", "all", 0.0)]
    pv = session.preview(p)
    obs = session.observation
    active = np.asarray(obs.active, dtype=bool)
    with_tag = np.isin(obs.tags[tag.name], [0, 1]) & active
    assert pv.tier_matches[1] == int(with_tag.sum())
    top = evaluate_rule(p.tiers[0].rule, {**obs.columns, **session.lab.columns()}) & active
    assert pv.tier_counts[1] == int((with_tag & ~top).sum())
    assert pv.tier_matches[2] == int(active.sum())


def test_the_projection_is_the_labs_estimate_as_documented(session):
    p = session.default_plan()
    pv = session.preview(p)
    pj = pv.projection
    assert pj is not None
    obs, value = session.observation, session.lab.value
    active = np.asarray(obs.active, dtype=bool)
    assert pj.current == pytest.approx(float(value.horizon_value[active].sum()))
    assert pj.marketing == pytest.approx(pv.acquisition_cost + pv.service_cost)
    assert pj.fixed_cost == session.public.fixed_cost
    assert pj.profit == pytest.approx(pj.current + pj.newcomers - pj.marketing - pj.fixed_cost)
    # A channel's customer is worth what its recent customers brought so far plus their predicted CLV.
    channel = session.public.channel_names[0]
    mine = obs.columns["channel"] == 0
    recent = mine & (obs.acquisition_turn > obs.acquisition_turn.max() - 4)
    pick = recent if recent.sum() >= 20 else mine
    worth = obs.columns["profit"][pick] + value.predicted_clv[pick]
    assert pj.value_per_customer[channel] == pytest.approx(float(worth.mean()))
    assert pj.value_bought == pytest.approx(sum(
        pv.expected_acquired[c] * v for c, v in pj.value_per_customer.items() if math.isfinite(v)))
    # More money in a channel buys more customer value (the response curve is increasing).
    richer = p.copy()
    richer.acquisition[channel] += 1000
    assert session.preview(richer).projection.value_bought > pj.value_bought


def test_no_projection_without_the_labs_predictions(tmp_path):
    s = PlayerSession.new(small("coffee", 3000), seed=6)
    s.lab.value = None
    assert s.preview(s.default_plan()).projection is None


def test_the_projection_follows_a_refit_of_the_lab(tmp_path):
    s = PlayerSession.new(small("coffee", 3000), seed=6)
    plan = s.default_plan()
    s.preview(plan)
    s.end_turn(plan)
    s.preview(s.default_plan())                       # estimates cached for the lab as it was
    s.refit()
    fresh = float(s.lab.value.horizon_value[np.asarray(s.observation.active, dtype=bool)].sum())
    assert s.preview(s.default_plan()).projection.current == pytest.approx(fresh)
