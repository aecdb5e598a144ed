"""Descriptive reports: hand-worked examples, and the game's books as the check."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small
from sim import Game
from sim.analytics import reports
from sim.analytics.fitting import DataError
from sim.strategies import get_strategy


def test_quantile_scores_by_hand_with_ties():
    # Sorted: 1, 2, 2, 3, 7, 9; strictly-below counts 0, 1, 1, 3, 4, 5 -> 1 + 3*below//6.
    scores = reports.quantile_scores([7, 2, 9, 2, 1, 3], bins=3)
    assert scores.tolist() == [3, 1, 3, 1, 1, 2]


def test_rfm_scores_reward_recent_frequent_big_customers():
    scores = reports.rfm_scores(recency=[0.5, 4.0, 2.0, 9.0], frequency=[5, 0, 2, 1],
                                monetary=[30.0, 10.0, 20.0, 5.0], bins=4)
    assert scores.recency.tolist() == [4, 2, 3, 1]
    assert scores.frequency.tolist() == [4, 1, 3, 2]
    assert scores.monetary.tolist() == [4, 2, 3, 1]
    assert scores.cell.tolist() == [444, 212, 333, 121]


def test_rfm_grid_counts_and_cell_means():
    scores = reports.rfm_scores(recency=[1, 1, 5, 5], frequency=[0, 3, 0, 3],
                                monetary=[1, 1, 1, 1], bins=2)
    grid = reports.rfm_grid(scores, value=[10.0, 40.0, -5.0, 7.0])
    # Recent (R=2): customers 0, 1; frequent (F=2): customers 1, 3.
    assert grid.customers.tolist() == [[1, 1], [1, 1]]
    assert grid.mean_value.tolist() == [[-5.0, 7.0], [10.0, 40.0]]
    # All tied: everyone shares the lowest score, the other cells are empty.
    tied = reports.rfm_grid(reports.rfm_scores([1, 1], [0, 0], [1, 1], bins=2), [1.0, 3.0])
    assert tied.customers.tolist() == [[2, 0], [0, 0]]
    assert tied.mean_value[0, 0] == 2.0 and np.isnan(tied.mean_value[1:, :]).all()


def test_decile_table_by_hand():
    value = np.array([5.0, -2.0, 10.0, 1.0, 6.0, 0.0, 3.0])
    table = reports.decile_table(value, groups=3)
    # Ranked: 10, 6, 5 | 3, 1 | 0, -2 (7 = 3 + 2 + 2).
    assert table.customers.tolist() == [3, 2, 2]
    assert table.total.tolist() == [21.0, 4.0, -2.0]
    np.testing.assert_allclose(table.share, [21 / 23, 4 / 23, -2 / 23])
    assert table.cumulative_share[-1] == pytest.approx(1.0)
    by_other = reports.decile_table(value, by=-value, groups=7)
    assert by_other.total.tolist() == sorted(value.tolist())


def test_whale_curve_by_hand():
    curve = reports.whale_curve([30.0, -10.0, 50.0, -20.0, 0.0])
    # Total 50; most profitable first: 50, 30, 0, -10, -20.
    np.testing.assert_allclose(curve.profit_share, [0, 1.0, 1.6, 1.6, 1.4, 1.0])
    assert curve.peak_share == pytest.approx(1.6)
    assert curve.peak_customer_share == pytest.approx(0.4)
    assert curve.unprofitable_share == pytest.approx(0.4)
    assert curve.profit_lost == 30.0 and curve.total_profit == 50.0
    np.testing.assert_allclose(curve.customer_share, np.linspace(0, 1, 6))


def test_cohort_revenue_from_transactions_by_hand():
    ids = ["a", "b", "a", "c", "b", "c"]
    time = [0.5, 1.2, 2.9, 2.0, 2.5, 3.1]
    amount = [10.0, 20.0, 5.0, 7.0, 1.0, 2.0]
    c3 = reports.cohort_revenue_from_transactions(ids, time, amount)
    # a joins in period 0, b in 1, c in 2; periods 0..3.
    assert c3.cohorts.tolist() == [0, 1, 2] and c3.periods.tolist() == [0, 1, 2, 3]
    assert c3.revenue.tolist() == [[10, 0, 5, 0], [0, 20, 1, 0], [0, 0, 7, 2]]
    assert c3.period_totals.tolist() == [10, 20, 13, 2]


def test_retention_curves_respect_right_censoring():
    # Periods 0..2. Channel 0: joined at 0 (active 0, 1, not 2) and at 2.
    # Channel 1: joined at 1 (active 1, then gone).
    active = np.array([[1, 1, 0], [0, 0, 1], [0, 1, 0]], dtype=bool)
    curves = reports.retention_curves([0, 2, 1], active, [0, 0, 1], ("web", "store"))
    assert curves.ages.tolist() == [0, 1, 2]
    # Age 1 of channel 0: only the period-0 cohort is old enough.
    assert curves.at_risk.tolist() == [[2, 1, 1], [1, 1, 0]]
    assert curves.retained.tolist() == [[2, 1, 0], [1, 0, 0]]
    share = curves.share
    assert share[0].tolist() == [1.0, 1.0, 0.0] and share[1, 1] == 0.0
    assert np.isnan(share[1, 2])


@pytest.mark.parametrize("call, field", [
    (lambda: reports.whale_curve([]), "profit"),
    (lambda: reports.whale_curve([1.0, np.nan]), "profit"),
    (lambda: reports.whale_curve([-1.0, 0.5]), "total profit"),
    (lambda: reports.decile_table([1.0, 2.0], groups=3), "groups"),
    (lambda: reports.decile_table([1.0, 2.0], by=[1.0]), "mismatched"),
    (lambda: reports.rfm_scores([1.0], [1.0, 2.0], [1.0, 2.0]), "mismatched"),
    (lambda: reports.cohort_revenue_from_transactions([1, 2], [0.0, 1.0], [5.0, -1.0]),
     "amount"),
    (lambda: reports.cohort_revenue([0, 1], np.ones((3, 2))), "revenue"),
    (lambda: reports.retention_curves([0, 1], np.ones((2, 2)), [0, 5], ("a", "b")), "channel"),
])
def test_bad_input_names_the_argument(call, field):
    with pytest.raises(DataError, match=field):
        call()


@pytest.fixture(scope="module")
def played():
    """Each shipped scenario after four turns of mass marketing."""
    from conftest import SCENARIOS

    games = {}
    for name in SCENARIOS:
        game = Game(small(name, 5_000))
        observation = game.reset(4)
        bot = get_strategy("mass-marketing")
        for _ in range(4):
            observation, _ = game.step(bot.decide(observation))
        games[name] = observation
    return games


def test_cohort_chart_adds_up_to_the_books(played, scenario_name):
    observation = played[scenario_name]
    c3 = reports.cohort_revenue_from_observation(observation)
    books = np.array([b.revenue for b in observation.books])
    np.testing.assert_allclose(c3.period_totals, books, rtol=1e-12)
    assert c3.periods.tolist() == observation.turn_columns.tolist()
    # A cohort has no revenue before it joined: the chart is a layer cake.
    joined = c3.cohorts[:, None] <= c3.periods[None, :]
    assert np.all(c3.revenue[~joined] == 0) and np.all(c3.revenue[joined] > 0)


def test_observation_reports_are_consistent(played, scenario_name):
    observation = played[scenario_name]
    profit = observation.columns["profit"]
    deciles = reports.profit_deciles(observation)
    assert deciles.customers.sum() == observation.n_customers
    assert deciles.total.sum() == pytest.approx(profit.sum())
    assert np.all(np.diff(deciles.mean) <= 1e-9)          # best decile first
    curve = reports.whale_curve_from_observation(observation)
    assert curve.profit_share[-1] == pytest.approx(1.0)
    assert curve.peak_share >= 1.0
    assert curve.unprofitable_share == pytest.approx(np.mean(profit < 0))
    scores = reports.rfm_from_observation(observation)
    grid = reports.rfm_grid(scores, profit)
    assert grid.customers.sum() == observation.n_customers
    # More recent, more frequent customers have earned more on average.
    assert grid.mean_value[-1, -1] > grid.mean_value[0, 0]


def test_retention_from_observation_starts_at_one(played, scenario_name):
    observation = played[scenario_name]
    curves = reports.retention_from_observation(observation)
    # One curve per customer channel: the paid ones, then the referral channel if any.
    assert curves.channels == observation.scenario.customer_channel_names
    counts = np.bincount(observation.channel, minlength=len(curves.channels))
    # Everyone is seen at age 0, and is active then (first purchase, first fee).
    assert curves.at_risk[:, 0].tolist() == counts.tolist()
    assert curves.retained[:, 0].tolist() == counts.tolist()
    share = curves.share
    assert np.all(share[~np.isnan(share)] <= 1.0)
    if observation.scenario.contractual:
        # Within one cohort, membership only falls with age (cancellations are final).
        first = observation.acquisition_turn == observation.acquisition_turn.min()
        cohort = reports.retention_curves(
            observation.acquisition_turn[first], observation.membership_matrix()[first],
            observation.channel[first], curves.channels, int(observation.turn_columns[0]))
        assert np.all(np.diff(cohort.retained, axis=1) <= 0)
        assert cohort.retained[:, -1].sum() < cohort.retained[:, 0].sum()
