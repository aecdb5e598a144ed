"""The debrief in a game with referrals: the referral channel valued per customer, not per dollar."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim.debrief import Debrief, debrief_of, referral_sentence
from sim.report import page
from sim.runner import play_game
from sim.scenario import load_scenario
from sim.strategies import get_strategy

STUDIO = Path(__file__).parent / "data" / "referral_studio.yaml"


@pytest.fixture(scope="module")
def studio():
    """(scenario, played game, debrief) of a short customer-centric studio game."""
    scenario = replace(load_scenario(STUDIO).with_prospects(3_000), turns=8)
    played = play_game(scenario, get_strategy("customer-centric"), 5)
    return scenario, played, debrief_of(scenario, 5, played.decisions, played=played,
                                        played_by="customer-centric")


def test_the_referral_channel_has_no_spend_and_its_customers_true_value(studio):
    scenario, played, d = studio
    names = [c.channel for c in d.channels]
    assert names == [c.name for c in scenario.channels] + ["referral"]
    referral = d.channels[-1]
    assert referral.referral and not any(c.referral for c in d.channels[:-1])
    assert referral.spent == 0 and np.isnan(referral.value_per_dollar)
    obs = played.game.observation
    mine = np.asarray(obs.acquisition_turn) >= 1
    referred = mine & (np.asarray(obs.channel) == len(scenario.channels))
    assert referral.acquired == int(referred.sum()) > 10
    # Every customer the player gained is in one channel's row, referred ones included.
    assert sum(c.acquired for c in d.channels) == int(mine.sum())
    assert referral.value_per_customer == pytest.approx(referral.true_value / referral.acquired)


def test_the_advice_says_what_referred_customers_were_worth_not_per_dollar(studio):
    _, _, d = studio
    referral = d.channels[-1]
    sentence = referral_sentence(d)
    assert sentence in d.advice
    assert sentence.startswith(f"{referral.acquired:,} customers (")
    assert f"${referral.value_per_customer:,.0f} each" in sentence
    assert "per dollar" not in sentence and "per $1" not in sentence
    assert not any("Referrals (friends)" in s and "per dollar" in s for s in d.advice)
    html = page(d)
    each = f"no spend; ${referral.value_per_customer:,.0f} a customer"
    assert each in html
    again = Debrief.from_dict(d.to_dict())
    assert again.channels[-1].referral and not again.channels[0].referral


def test_without_referrals_there_is_no_referral_row_or_sentence(studio):
    _, _, d = studio
    plain = replace(d, channels=[c for c in d.channels if not c.referral])
    assert referral_sentence(plain) == ""
    nobody = replace(d, channels=[*d.channels[:-1], replace(d.channels[-1], acquired=0,
                                                              true_value=0.0)])
    assert referral_sentence(nobody).startswith("Nobody joined by referral")
