"""Experiments read from the player's data: intervals that cover the engine's true lift."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from conftest import small
from sim import Decision, Game, Tier
from sim.analytics.experiments import acquisition_tests, experiments, mean_interval, welch_interval
from sim.behaviour import served_rates
from sim.response_curve import hill_response

#: Seeds of the coverage test and its tolerance: at 400 games a 95% interval's
#: coverage has a binomial sd of 1.1 points; Welch's variance is a little
#: conservative for the average effect over the test's customers, so the
#: accepted band is 92.5%..98.5% (about -2.3 and +3.2 sd).
COVERAGE_SEEDS = range(1000, 1400)
COVERAGE_BAND = (0.925, 0.985)


def test_welch_interval_matches_the_formula():
    t = np.array([3.0, 5.0, 4.0, 8.0, 6.0])
    c = np.array([1.0, 2.0, 2.5, 3.0])
    got = welch_interval(t, c)
    a, b = t.var(ddof=1) / 5, c.var(ddof=1) / 4
    df = (a + b) ** 2 / (a * a / 4 + b * b / 3)
    half = stats.t.ppf(0.975, df) * np.sqrt(a + b)
    assert got.estimate == pytest.approx(5.2 - 2.125)
    assert (got.low, got.high) == pytest.approx((3.075 - half, 3.075 + half))
    # scipy's Welch test agrees on the interval.
    ci = stats.ttest_ind(t, c, equal_var=False).confidence_interval(0.95)
    assert (got.low, got.high) == pytest.approx((ci.low, ci.high))
    assert np.isnan(welch_interval(t, c[:1]).low)
    m = mean_interval(np.array([1.0, 2.0, 3.0]))
    assert (m.estimate, m.high) == pytest.approx((2.0, 2.0 + stats.t.ppf(0.975, 2) / np.sqrt(3)))


def _true_lifts(game: Game, before_rows: int, in_test: np.ndarray, spend: float) -> dict[str, float]:
    """The engine's truth: expected lift per test customer in the turn, from latent traits."""
    truth, s = game.truth, game.scenario
    pros = truth.row_prospect[:before_rows][in_test]
    pop = truth.population
    alive = truth.alive[pros]  # alive at the turn's start: read before the step
    lam, mu, theta = pop.purchase_rate[pros], pop.dropout_rate[pros], pop.service_response[pros]
    g = hill_response(np.full(lam.size, spend), s.service)
    lam1, mu1 = served_rates(lam, mu, theta, g, s.service.purchase_boost)

    def purchases(la, m):  # E[Poisson(la * min(tau, 1))], tau ~ Exp(m)
        return la * -np.expm1(-m) / m

    def buys(la, m):  # P(at least one purchase) = 1 - E[exp(-la * min(tau, 1))]
        return 1 - (m / (m + la) * -np.expm1(-(m + la)) + np.exp(-(m + la)))

    dn = alive * (purchases(lam1, mu1) - purchases(lam, mu))
    ticket = pop.spend_shape[pros] / pop.spend_rate[pros]
    margin = s.gross_margin - pop.cost_to_serve[pros]
    return {"purchases": dn.mean(), "spend": (dn * ticket).mean(),
            "retained": (alive * (buys(lam1, mu1) - buys(lam, mu))).mean(),
            "profit": (margin * dn * ticket).mean() - spend}


def test_intervals_cover_the_true_lift_at_their_nominal_rate():
    s = small("direct_seller", 20_000)
    spend = 1.5 * s.service.half_saturation
    covered = {"purchases": 0, "spend": 0, "retained": 0, "profit": 0}
    for seed in COVERAGE_SEEDS:
        game = Game(s)
        before = game.reset(seed)
        decision = Decision(dict(s.inherited.acquisition), (Tier("test", "all", spend, 0.5),))
        in_test = np.ones(before.n_customers, dtype=bool)
        truth = _true_lifts(game, before.n_customers, in_test, spend)
        after, _ = game.step(decision)
        (experiment,) = experiments(after, [decision])
        assert experiment.treated + experiment.control == before.n_customers
        for name in covered:
            lift = experiment.results[0].contrasts[name].lift
            covered[name] += lift.low <= truth[name] <= lift.high
    rates = {name: n / len(COVERAGE_SEEDS) for name, n in covered.items()}
    print("coverage", rates)
    for name, rate in rates.items():
        assert COVERAGE_BAND[0] <= rate <= COVERAGE_BAND[1], (name, rate)


def test_experiment_cost_saving_and_groups_over_two_turns():
    s = small("direct_seller", 20_000)
    game = Game(s)
    obs = game.reset(4)
    decisions = []
    for _ in range(3):
        tiers = (Tier("keen", {"top": 0.5, "by": "profit"}, 12.0, 0.3),) if len(decisions) < 2 else ()
        decisions.append(Decision(dict(s.inherited.acquisition), tiers))
        obs, _ = game.step(decisions[-1])
    (ex,) = experiments(obs, decisions)
    arm = obs.experiment_arm[:, obs.turn_columns >= 1]
    assert (ex.start_turn, ex.turns_run, ex.holdout) == (1, 2, 0.3)
    assert ex.treated == int((arm[:, 0] == 1).sum()) and ex.control == int((arm[:, 0] == -1).sum())
    assert ex.cost == 12.0 * int((arm[:, :2] == 1).sum())
    assert ex.saving == 12.0 * int((arm[:, :2] == -1).sum())
    assert [r.turn for r in ex.results] == [1, 2, 3] and [r.served for r in ex.results] == [True, True, False]
    # The cumulative profit compares the sums of the turns' profits, the test's service charged.
    treated = arm[:, 0] == 1
    profit = obs.profit_matrix()[:, obs.turn_columns >= 1]
    charged = profit.sum(axis=1) - 12.0 * (arm == 1).sum(axis=1)
    assert ex.profit_to_date.treated_mean == pytest.approx(charged[treated].mean())
    assert ex.lost_profit == max(ex.profit_to_date.lift.estimate, 0.0) * ex.control


def test_acquisition_tests_value_each_cohort_per_customer_and_per_dollar():
    s = small("coffee", 20_000)
    game = Game(s)
    game.reset(2)
    channels = s.channel_names
    d1 = Decision({channels[0]: 2000.0, channels[1]: 500.0})
    d2 = Decision({channels[0]: 1000.0})
    game.step(d1)
    obs, _ = game.step(d2)
    tests = acquisition_tests(obs, [d1, d2])
    assert [(t.channel, t.turn) for t in tests] == [(channels[0], 1), (channels[1], 1), (channels[0], 2)]
    first = tests[0]
    members = (obs.acquisition_turn == 1) & (obs.channel == 0)
    value = obs.profit_matrix()[members][:, obs.turn_columns >= 1].sum(axis=1)
    assert first.customers == int(members.sum()) > 10 and first.turns_observed == 2
    assert first.value_per_customer.estimate == pytest.approx(value.mean())
    assert first.value_per_dollar.estimate == pytest.approx(value.sum() / 2000.0)
    assert first.value_per_dollar.low == pytest.approx(first.value_per_customer.low * first.customers / 2000)
