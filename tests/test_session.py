"""The player's session without a screen: budget, plan preview, refusal, autosave, debrief."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import small

from sim.decisions import DecisionError
from sim.session import (AutosaveError, PlayerSession, TierPlan, budget_problem, describe_rule,
                         marketing_budget, read_autosave)


def _public(**budget):
    return SimpleNamespace(budget=SimpleNamespace(**budget))


def test_marketing_budget_is_the_one_budget():
    assert marketing_budget(_public(marketing=120.0)) == 120.0


def test_budget_problem_adds_acquisition_and_service():
    one = _public(marketing=100.0)
    assert budget_problem(one, 60.0, 40.0) is None
    assert budget_problem(one, 0.0, 100.0) is None
    assert "$10 more than the $100 marketing budget" in budget_problem(one, 70.0, 40.0)
    assert "$1 more than the $100 marketing budget" in budget_problem(one, 101.0, 0.0)


def test_describe_rule_in_words():
    assert describe_rule("all") == "everyone"
    assert describe_rule({"top": 0.2, "by": "predicted_clv"}) == "top 20% by predicted_clv"
    assert describe_rule({"all": [{"field": "profit", "op": "<", "value": 0},
                                  {"field": "age", "op": ">=", "value": 2}]}) == "profit < 0 and age >= 2"


@pytest.fixture
def session(tmp_path):
    return PlayerSession.new(small("coffee", 3000), seed=4, autosave=tmp_path / "autosave.json")


def test_default_plan_is_mass_marketings_then_last_turns(session):
    from sim.strategies.reference import MassMarketing

    plan = session.default_plan()
    mass = MassMarketing().decide(session.observation)
    assert plan.decision() == mass
    # Not the inherited uneven split: the money is spread evenly.
    assert len(set(plan.acquisition.values())) == 1
    assert "mass-marketing" in session.default_plan_note() and "score 0" in session.default_plan_note()
    session.end_turn(plan)
    assert "still mass-marketing's plan" in session.default_plan_note()
    plan = session.default_plan()
    plan.acquisition[session.public.channel_names[0]] = 10.0
    session.end_turn(plan)
    assert session.default_plan().acquisition == plan.acquisition
    assert "your plan of turn 2" in session.default_plan_note()


def test_keeping_the_defaults_all_game_scores_zero(scenario_name):
    """The score's zero is what a student gets by never touching a pre-filled value."""
    from sim.references import reference_values
    from sim.scoring import centricity_score, value_game

    scenario = small(scenario_name, 3000)
    session = PlayerSession.new(scenario, seed=6)
    while not session.done:
        session.end_turn(session.default_plan())
    mine = value_game(session.game).firm_value
    refs = reference_values(scenario, 6, ("mass-marketing", "oracle"))
    score = centricity_score(mine, refs["mass-marketing"].firm_value, refs["oracle"].firm_value)
    assert abs(score) <= 1.0, score


def test_preview_counts_tiers_and_costs_first_match_wins(session):
    plan = session.default_plan()
    plan.tiers = [TierPlan("top", {"top": 0.05, "by": "predicted_clv"}, 20.0),
                  TierPlan("rest", "all", 1.0)]
    pv = session.preview(plan)
    n = int(np.count_nonzero(session.observation.active))
    top = round(0.05 * session.observation.n_customers)
    assert pv.tier_counts == (top, n - top)
    assert pv.service_cost == pytest.approx(20.0 * top + 1.0 * (n - top))
    assert pv.budget_left == pytest.approx(marketing_budget(session.public) - pv.service_cost - pv.acquisition_cost)


def test_over_budget_plan_is_refused_and_nothing_changes(session):
    plan = session.default_plan()
    plan.acquisition[session.public.channel_names[0]] = 10 * marketing_budget(session.public)
    turn, books = session.turn, len(session.books)
    with pytest.raises(DecisionError, match="Over budget"):
        session.end_turn(plan)
    assert session.turn == turn and len(session.books) == books and not session.decisions


def test_a_lab_rule_without_predictions_is_refused_with_a_message(session):
    session.lab.value = None
    plan = session.default_plan()
    plan.tiers.insert(0, TierPlan("best", {"top": 0.1, "by": "predicted_clv"}, 10.0))
    assert "fit the models" in session.preview(plan).problem


def test_autosave_resumes_at_the_last_finished_turn(session, tmp_path):
    plan = session.default_plan()
    plan.tiers = [TierPlan("losers", {"field": "predicted_clv", "op": "<", "value": 0.0}, 0.0, True),
                  TierPlan("best", {"top": 0.03, "by": "predicted_clv"}, 25.0)]
    session.end_turn(plan)
    session.refit()             # the player refits the lab on turn 2's data
    session.end_turn(plan)
    saved = json.loads((tmp_path / "autosave.json").read_text())
    assert saved["lab_fitted_turn"] == 2
    assert saved["format"] == "ccsim-record" and saved["partial"] is True and len(saved["turns"]) == 2
    resumed = PlayerSession.resume(tmp_path / "autosave.json")
    assert resumed.turn == session.turn == 3
    assert [r.books for r in resumed.results] == [r.books for r in session.results]
    assert resumed.decisions == session.decisions
    assert resumed.lab.fitted_turn == 2
    np.testing.assert_array_equal(resumed.lab.value.predicted_clv, session.lab.value.predicted_clv)
    # The next turn plays out the same from the resumed game.
    a, b = session.end_turn(plan), resumed.end_turn(resumed.default_plan())
    assert a.books == b.books


@pytest.mark.parametrize("content, message", [
    ("{not json", "damaged"),
    ('{"format": "something-else"}', "not a saved ccsim game"),
    ('{"format": "ccsim-autosave", "schema_version": 1, "seed": 1}', "damaged .*scenario: missing"),
    ('{"format": "ccsim-record", "schema_version": 1, "partial": true, "seed": 1}',
     "damaged .*scenario: missing"),
    ('[1, 2, 3]', "not a saved ccsim game"),
])
def test_corrupt_or_foreign_saves_give_a_message(tmp_path, content, message):
    path = tmp_path / "autosave.json"
    path.write_text(content)
    with pytest.raises(AutosaveError, match=message):
        read_autosave(path)


def test_a_save_whose_books_differ_is_refused(session, tmp_path):
    session.end_turn(session.default_plan())
    path = tmp_path / "autosave.json"
    data = json.loads(path.read_text())
    data["turns"][0]["books"]["profit"] += 1.0
    path.write_text(json.dumps(data))
    with pytest.raises(AutosaveError, match="plays out differently"):
        PlayerSession.resume(path)


def test_estimated_firm_value_adds_discounted_profit_and_the_equity_estimate(session):
    session.end_turn(session.default_plan())
    profit, equity, total = session.estimated_firm_value()
    v = 1 / (1 + session.public.discount_rate)
    estimate = session.equity_estimate()
    assert profit == pytest.approx(session.results[0].books.profit * v)
    assert equity == pytest.approx(estimate.total * v)
    assert total == pytest.approx(profit + equity)
    assert estimate.low < estimate.total < estimate.high
    note = session.estimate_note()
    assert f"${total:,.0f}" in note and "interval" in note and "without service" in note


def test_the_treatment_is_recorded_turn_by_turn_and_on_resume(session, tmp_path):
    plan = session.default_plan()
    plan.tiers = [TierPlan("losers", {"field": "profit", "op": "<", "value": 0.0}, 0.0, True),
                  TierPlan("best", {"top": 0.1, "by": "profit"}, 12.0)]
    session.end_turn(plan)
    service, away = session.treatment.matrices(session.observation)
    column = list(session.observation.turn_columns).index(1)
    counts = session.results[0].tier_counts
    assert int(away[:, column].sum()) == counts[0]
    assert int((service[:, column] == 12.0).sum()) == counts[1]
    # Warm-up turns: the inherited perk for everyone the firm had at the turn's start
    # (nobody yet in the first warm-up turn).
    assert service[:, 0].max() == 0.0
    warm = session.observation.acquisition_turn < session.observation.turn_columns[1]
    assert set(service[warm, 1]) == {session.public.inherited.service}
    resumed = PlayerSession.resume(tmp_path / "autosave.json")
    np.testing.assert_array_equal(resumed.treatment.matrices(resumed.observation)[0], service)
