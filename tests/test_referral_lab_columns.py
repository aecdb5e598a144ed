"""The lab's referral columns (CRV, expected referrals, CLV + CRV) in tier rules and the table.

In a game with referrals the lab offers ``predicted_crv``,
``expected_referrals`` and ``predicted_clv_crv`` next to its CLV columns: in
the rule editor's fields, the lab's score menu, the customer table and the
reference games' recomputed scores; in a game without referrals it does not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import small
from sim import Decision, Game
from sim.analytics import referral_nbd
from sim.decisions import Tier
from sim.analytics.clv import ALL_LAB_COLUMNS, LAB_COLUMNS, lab_columns, predict_clv
from sim.references import _lab_scores, own_score_columns
from sim.scenario import load_scenario
from sim.session import Plan, PlayerSession, TierPlan
from sim.ui.fields import Catalogue
from sim.ui.scenes.dashboard import table_columns

STUDIO = Path(__file__).parent / "data" / "referral_studio.yaml"
REFERRAL = ("predicted_crv", "expected_referrals", "predicted_clv_crv")


@pytest.fixture(scope="module")
def studio():
    """A referral studio session on turn 5, its lab fitted."""
    session = PlayerSession.new(load_scenario(STUDIO).with_prospects(10_000), 7)
    for _ in range(4):
        session.end_turn(session.default_plan())
    session.refit()
    return session


def test_the_lab_columns_grow_by_the_referral_ones_only_with_referrals():
    assert lab_columns(False) == LAB_COLUMNS == ("p_alive", "expected_purchases", "predicted_clv",
                                                 "horizon_value")
    assert lab_columns(True) == ALL_LAB_COLUMNS == LAB_COLUMNS + REFERRAL


def test_a_referral_game_offers_the_referral_scores_to_rules_and_the_table(studio):
    fields = [f.name for f in Catalogue(studio.public, studio.observation.columns).fields]
    assert fields[:7] == list(LAB_COLUMNS + REFERRAL)
    assert {f.name: f.label for f in Catalogue(studio.public, studio.observation.columns).fields
            if f.lab}["predicted_clv_crv"] == "CLV + CRV"
    keys = [c.key for c in table_columns(studio.public)]
    assert keys[-4:] == ["p_alive", "predicted_clv", "referrals", "predicted_crv"]
    coffee = PlayerSession.new(small("coffee", 2_000), 3)
    assert [f.name for f in Catalogue(coffee.public, coffee.observation.columns).fields
            if f.lab] == list(LAB_COLUMNS)
    assert "predicted_crv" not in [c.key for c in table_columns(coffee.public)]


def test_the_labs_clv_crv_column_is_clv_plus_crv_and_a_rule_uses_it(studio):
    columns = studio.lab.columns()
    assert set(REFERRAL) <= set(columns)
    crv, clv = columns["predicted_crv"], columns["predicted_clv"]
    assert np.all(np.isfinite(crv)) and crv.max() > 0
    np.testing.assert_allclose(columns["predicted_clv_crv"], clv + crv, rtol=1e-12)
    plan = Plan({}, [TierPlan("friends", {"top": 0.1, "by": "predicted_clv_crv"}, 10.0)])
    decision = plan.decision(columns)
    assert list(decision.scores) == ["predicted_clv_crv"]
    preview = studio.preview(plan)
    assert preview.problem is None
    # Quantile rules rank every customer on the books (593 here): 10% of them.
    assert studio.observation.n_customers > 300
    assert abs(preview.tier_counts[0] - 0.1 * studio.observation.n_customers) <= 1


def test_reference_games_recompute_the_referral_scores(studio):
    assert _lab_scores(studio.observation, ()) == {}
    tier = Tier("friends", {"top": 0.1, "by": "predicted_crv"}, 5.0)
    scores = _lab_scores(studio.observation, (tier,))
    value = predict_clv(studio.observation)
    expected = referral_nbd.crv_columns(studio.observation, value)["predicted_crv"]
    np.testing.assert_allclose(scores["predicted_crv"], expected, rtol=1e-12)
    assert own_score_columns([Decision({}, (tier,), {"predicted_crv": expected,
                                                      "rfm": expected})]) == ("rfm",)
