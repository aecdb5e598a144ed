"""The latent-class retention model and the hold-out test of who responds to service."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analytics import retention
from sim.analytics.fitting import DataError
from sim.analytics.response_test import ResponseTest


def _members(rng, n: int, mix: list[float], churn=(0.03, 0.35), periods: int = 24):
    """Tenures of members joined evenly over ``periods``, censored at its end."""
    klass = rng.random(n) < mix[1]
    p = np.where(klass, churn[1], churn[0])
    lifetime = rng.geometric(p)                    # periods paid before cancelling
    window = rng.integers(1, periods + 1, n)       # periods since joining
    return np.minimum(lifetime, window), lifetime <= window


def test_two_classes_and_each_segments_mix_are_recovered():
    rng = np.random.default_rng(3)
    paid0, done0 = _members(rng, 20_000, [0.8, 0.2])
    paid1, done1 = _members(rng, 20_000, [0.2, 0.8])
    segment = np.r_[np.zeros(paid0.size, int), np.ones(paid1.size, int)]
    fit = retention.fit(segment, np.r_[paid0, paid1], np.r_[done0, done1], 2, classes=2)
    assert fit.churn == pytest.approx([0.03, 0.35], rel=0.15)
    assert fit.weights[0] == pytest.approx([0.8, 0.2], abs=0.05)
    assert fit.weights[1] == pytest.approx([0.2, 0.8], abs=0.05)
    # Survivors drift to the loyal class: after 12 renewals nearly all are loyal.
    post = retention.class_posterior(fit, np.array([1, 1]), np.array([0, 12]))
    assert post[0, 0] == pytest.approx(0.2, abs=0.05)
    assert post[1, 0] > 0.95


def test_no_cancellation_yet_is_a_clear_error():
    with pytest.raises(DataError, match="no member has cancelled"):
        retention.fit(np.zeros(3, int), np.array([1, 2, 3]), np.zeros(3, bool), 1)


class _Observation:
    """The few fields ResponseTest.update reads: one turn of purchases."""

    def __init__(self, turn: int, purchases: np.ndarray):
        self.turn = turn
        self.turn_columns = np.array([turn - 1])
        self.purchases = purchases[:, None]


@pytest.mark.parametrize("theta", [0.2, 1.2])
def test_a_hold_out_measures_the_response_of_each_segment(theta):
    rng = np.random.default_rng(11)
    n, boost, g = 40_000, 0.5, 0.8
    test = ResponseTest(2)
    rate = rng.gamma(1.0, 1.0, n)
    segment = np.arange(n) % 2
    for turn in range(1, 5):
        rows = np.arange(n)
        held = test.held_out(rows, turn, n)
        test.record(turn, rows, held, segment, np.full(n, g), rate, np.zeros(n), None)
        # Segment 0 responds with θ, segment 1 not at all.
        true = np.where(segment == 0, theta, 0.0)
        bought = rng.poisson(rate * np.where(held, 1.0, 1.0 + boost * true * g))
        test.update(_Observation(turn + 1, bought), boost)
    estimate = test.theta()
    assert estimate[0] == pytest.approx(theta, abs=0.2)
    assert estimate[1] < 0.2
