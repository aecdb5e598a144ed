"""The predicted lift in value from service (sim.analytics.service_lift) against a simulation."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small
from sim.analytics.service_lift import SurvivalPosterior, neutral_annuity, service_options
from sim.response_curve import hill_response


def _one_member(q: float):
    return SurvivalPosterior(np.zeros(1, dtype=np.int64), np.array([[q]]), np.array([[1.0]]))


def _simulated_value(q: float, fee: float, spend: float, theta: float, turns_left: int,
                     scenario, n: int = 400_000) -> float:
    """Mean discounted profit of members served at ``spend`` for the turns left, then left alone."""
    rng = np.random.default_rng(7)
    v = 1.0 / (1.0 + scenario.discount_rate)
    q_served = q ** np.exp(-theta * hill_response(np.array([spend]), scenario.service)[0])
    alive = np.ones(n, dtype=bool)
    total = np.zeros(n)
    # A member alive at a turn's start pays the fee and gets the spend; cancels at its end.
    for t in range(1, 400):
        served = t <= turns_left
        total += alive * v ** t * (fee - (spend if served else 0.0))
        alive &= rng.random(n) < (q_served if served else q)
    return float(total.mean())


@pytest.mark.parametrize("theta", [0.0, 0.5, 1.5])
def test_program_gain_of_a_member_matches_a_long_simulation(theta):
    s = small("meal_kit", 1000)
    q, fee, e, turn = 0.9, 30.0, 1.5 * s.service.half_saturation, s.turns - 5   # 6 turns left
    options = service_options(np.ones(1), np.array([fee]), np.zeros(1), _one_member(q),
                              np.array([theta]), s, turn, levels=np.array([e]))
    neutral = _simulated_value(q, fee, 0.0, 0.0, 0, s)
    served = _simulated_value(q, fee, e, theta, s.turns - turn + 1, s)
    assert options.neutral_value[0] == pytest.approx(fee * neutral_annuity(q, s.discount_rate, True))
    assert options.neutral_value[0] == pytest.approx(neutral, rel=0.01)
    assert options.program_gain[0] == pytest.approx(served - neutral, abs=0.01 * neutral)


def test_no_response_or_a_departed_customer_only_costs_the_spend():
    s = small("coffee", 1000)
    levels = np.array([4.0, 8.0])
    v = 1.0 / (1.0 + s.discount_rate)
    # θ = 0: service changes nothing; P(alive) = 0: nobody there to serve.
    options = service_options(np.array([1.0, 0.0]), np.zeros(2), np.array([50.0, 50.0]),
                              SurvivalPosterior(np.zeros(2, dtype=np.int64), np.array([[0.8]]),
                                                np.array([[1.0]])),
                              np.array([0.0, 2.0]), s, 1, levels=levels)
    assert options.best.tolist() == [0, 0]
    assert options.gain == pytest.approx([-v * 4.0, -v * 4.0])


def test_a_responsive_valuable_customer_is_worth_serving_and_more_so_than_a_doubtful_one():
    s = small("coffee", 1000)
    post = SurvivalPosterior(np.zeros(2, dtype=np.int64), np.array([[0.85, 0.95]]),
                             np.array([[0.5, 0.5]]))
    options = service_options(np.array([0.95, 0.3]), np.zeros(2), np.array([120.0, 120.0]),
                              post, np.array([1.0, 1.0]), s, 1)
    assert options.gain[0] > 0
    assert options.gain[0] > options.gain[1]
    assert options.program_gain[0] > options.gain[0]
