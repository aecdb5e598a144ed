"""The lab's referral model (NBD): recovery of known parameters and its CRV column."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim import Decision, Game
from sim.analytics import referral_nbd
from sim.analytics.fitting import DataError
from sim.scenario import GammaSpec, InheritedPolicy, load_scenario

STUDIO = Path(__file__).parent / "data" / "referral_studio.yaml"


@pytest.mark.parametrize("r, alpha", [(0.8, 20.0), (2.5, 60.0)])
def test_nbd_recovers_simulated_counts(r, alpha):
    rng = np.random.default_rng(11)
    n = 40_000
    exposure = rng.integers(1, 25, n).astype(float)
    counts = rng.poisson(rng.gamma(r, 1.0 / alpha, n) * exposure)
    result = referral_nbd.fit(counts, exposure)
    for name, true in (("r", r), ("alpha", alpha)):
        low, high = result.confidence_interval(name)
        assert low < true < high, (name, result.params[name], result.standard_errors[name])
        assert result.standard_errors[name] < 0.2 * true
    assert result.converged


def test_nbd_recovers_the_engines_referral_rate():
    """A one-type studio whose members refer at Gamma(0.8, 20): the lab's fit finds it."""
    s = load_scenario(STUDIO).with_prospects(150_000)
    kind = replace(s.types[0], weight=1.0, referral_rate=GammaSpec(0.8, 20.0))
    # Channels eight times as large: about 25,000 members join in the one warm-up turn.
    s = replace(s, types=(kind,), warmup_turns=1, turns=12,
                channels=tuple(replace(c, ceiling=8 * c.ceiling) for c in s.channels),
                inherited=InheritedPolicy({c.name: s.budget.marketing / 2 for c in s.channels}, 0.0))
    game = Game(s)
    obs = game.reset(5)
    while not game.done:
        obs, _ = game.step(Decision())
    counts = referral_nbd.referral_counts(obs)
    exposure = referral_nbd.exposure_from_observation(obs)
    assert counts.sum() > 5000
    result = referral_nbd.fit_observation(obs)
    for name, true in (("r", 0.8), ("alpha", 20.0)):
        low, high = result.confidence_interval(name)
        assert low < true < high, (name, result.params, result.standard_errors)
    # The posterior means add up to the referrals seen (a property of the NBD's MLE).
    rate = referral_nbd.expected_rate(result, counts, exposure)
    assert (rate * exposure).sum() == pytest.approx(counts.sum(), rel=0.02)


def test_nbd_refuses_bad_input():
    with pytest.raises(DataError, match="no referrals to fit"):
        referral_nbd.fit([0, 0, 0], [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="whole numbers"):
        referral_nbd.fit([0.5, 1], [1.0, 2.0])
    with pytest.raises(DataError, match="exposure"):
        referral_nbd.fit([1, 1], [-1.0, 2.0])


def test_friend_values_shrink_each_referrers_friends_toward_the_mean():
    class Obs:
        customer_id = np.array([10, 11, 12, 13, 14])
        referred_by = np.array([-1, -1, 10, 10, 11])
        n_customers = 5

    value = np.array([0.0, 0.0, 100.0, 300.0, 50.0])
    friend = referral_nbd.friend_values(Obs, value)
    mean = 150.0
    assert friend == pytest.approx([(400 + mean) / 3, (50 + mean) / 2, mean, mean, mean])


def test_crv_columns_forecast_the_referrals_members_then_make():
    """At turn 13 the lab's expected referrals per member, times the turns each then stays a
    member, add up to the friends they bring in turns 12-16 (within 10%): the referrals of
    turn 12 have not joined yet when turn 13 is decided."""
    from sim.analytics.clv import predict_clv

    s = load_scenario(STUDIO).with_prospects(100_000)
    game = Game(s)
    obs = game.reset(8)
    acquisition = dict(s.inherited.acquisition)
    while obs.turn < 13:
        obs, _ = game.step(Decision(acquisition=acquisition))
    value = predict_clv(obs)
    columns = referral_nbd.crv_columns(obs, value)
    rate, crv = columns["expected_referrals"], columns["predicted_crv"]
    assert rate.shape == crv.shape == (obs.n_customers,)
    assert (rate > 0).all() and np.isfinite(crv).all() and crv.max() > 0
    # More friends so far, higher expected referrals at the same exposure.
    exposure = referral_nbd.exposure_from_observation(obs)
    same = exposure == np.median(exposure)
    counts = obs.referrals[same]
    assert np.all(np.diff(rate[same][np.argsort(counts, kind="stable")]) >= -1e-12)
    before = obs.referrals.copy()
    n = obs.n_customers
    for _ in range(5):
        obs, _ = game.step(Decision(acquisition=acquisition))
    # Seen at turn 13: referrals made up to turn 11; at turn 18: up to turn 16.
    made = obs.referrals[:n] - before
    members = obs.cancel_turn[:n] >= 12
    turns = np.clip(np.minimum(obs.cancel_turn[:n], 16) - 11, 0, 5)
    predicted = float((rate * turns)[members].sum())
    assert made[members].sum() > 500
    print(f"predicted {predicted:.0f} referrals, made {made[members].sum()}")
    assert predicted == pytest.approx(float(made[members].sum()), rel=0.1)
    # The lab's CLV x CRV matrix of the members: advocates exist (low CLV, high CRV).
    grid = referral_nbd.value_grid(obs, predict_clv(obs))
    assert grid is not None and grid.customers.sum() == int(obs.active.sum())
    assert grid.customers[1, 0] > 0.1 * grid.customers.sum()


def test_clv_crv_grid_by_hand_and_its_chart():
    from sim import charts
    from sim.analytics.reports import clv_crv_grid

    clv = np.array([-50.0, 10.0, 200.0, 400.0, 30.0, 500.0])
    crv = np.array([300.0, 0.0, 0.0, 250.0, 5.0, 1.0])
    grid = clv_crv_grid(clv, crv, clv_cut=100.0, crv_cut=50.0)
    # Rows CRV low/high, columns CLV low/high.
    assert grid.customers.tolist() == [[2, 2], [1, 1]]
    assert grid.name(1, 0) == "advocates" and grid.name(0, 1) == "affluents"
    assert grid.mean_clv[1, 0] == -50.0 and grid.mean_crv[1, 1] == 250.0
    assert grid.mean_clv[0, 1] == 350.0
    assert grid.quadrant.tolist() == [2, 0, 1, 3, 0, 1]
    median = clv_crv_grid(clv, crv)
    assert median.clv_cut == 115.0 and median.customers.sum() == 6
    figure = charts.clv_crv_chart(grid, (640, 480), charts.ChartStyle())
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert any(t.startswith("champions\n1\nCLV $400") for t in texts), texts
    with pytest.raises(DataError, match="crv"):
        clv_crv_grid([1.0, 2.0], [1.0])
