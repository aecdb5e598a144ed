"""The analytics lab on the engine's own customers: known truth in, truth out.

Each case builds a one-type market from a shipped scenario with chosen
Pareto/NBD, Gamma–Gamma or sBG parameters, acquires 50,000 customers in one
warm-up turn and leaves them alone (no service, no acquisition). The models
fitted to what a player sees must recover the parameters (inside the 95%
intervals) and their predictions must match what the customers then do.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import small
from sim import Decision, Game
from sim.analytics import clv, gamma_gamma, pareto_nbd, sbg
from sim.analytics.transactions import summarise_observation
from sim.scenario import BetaSpec, GammaSpec, InheritedPolicy, SpendSpec

CUSTOMERS = 50_000
FIT_TURNS = 9          # observed turns when fitting (acquired at the start of turn 0)
FORECAST_TURNS = 4     # turns played afterwards to test the forecasts

# (r, alpha, s, beta, p, q, gamma): rates per turn, spend in dollars.
NONCONTRACTUAL = {
    "cdnow-like": (0.55, 2.5, 0.6, 3.0, 6.0, 4.0, 15.0),
    "frequent, short-lived": (2.0, 0.5, 1.5, 6.0, 3.0, 6.0, 50.0),
    "rare, loyal": (1.2, 3.0, 1.0, 10.0, 10.0, 3.0, 8.0),
}
# (a, b) of the per-turn churn probability.
CONTRACTUAL = {"regular": (0.704, 1.182), "high-end": (0.668, 3.806)}


def one_type_market(name: str, **traits):
    """A shipped scenario reduced to one customer type, all acquired at once."""
    s = small(name, CUSTOMERS)
    base = s.types[0]
    only = replace(base, weight=1.0, channel_affinity={c.name: 1.0 for c in s.channels},
                   **traits)
    # Ceilings far above the pool: the single warm-up turn buys everyone.
    channels = tuple(replace(c, ceiling=10.0 * CUSTOMERS, efficiency=1.0) for c in s.channels)
    return replace(s, types=(only,), channels=channels, warmup_turns=1,
                   turns=FIT_TURNS - 1 + FORECAST_TURNS,
                   inherited=InheritedPolicy({c.name: 1.0 for c in channels}, 0.0))


def play_until(game: Game, turn: int):
    """Play empty decisions until the observation is at the start of ``turn``."""
    while game.turn < turn:
        game.step(Decision())
    return game.observation


def assert_inside_intervals(fit, truth: dict[str, float]):
    for name, true_value in truth.items():
        low, high = fit.confidence_interval(name)
        assert low <= true_value <= high, (name, true_value, (low, high), fit.params)


@pytest.fixture(scope="module", params=sorted(NONCONTRACTUAL))
def noncontractual(request):
    r, alpha, s, beta, p, q, gamma = NONCONTRACTUAL[request.param]
    scenario = one_type_market("coffee", purchase_rate=GammaSpec(r, alpha),
                               dropout_rate=GammaSpec(s, beta), spend=SpendSpec(p, q, gamma),
                               cost_to_serve=BetaSpec(1.0, 50.0))
    game = Game(scenario)
    game.reset(11)
    seen = play_until(game, FIT_TURNS)
    assert seen.n_customers == CUSTOMERS
    summary = summarise_observation(seen)
    fit = pareto_nbd.fit(summary.frequency, summary.recency, summary.T)
    alive_at_fit = game.truth.alive[game.truth.row_prospect].copy()  # ids are opaque
    purchases_before = seen.purchases.sum(axis=1).copy()
    final = play_until(game, scenario.turns + 1)
    later = final.purchases.sum(axis=1) - purchases_before
    return dict(truth=(r, alpha, s, beta, p, q, gamma), summary=summary, fit=fit,
                later=later, alive_at_fit=alive_at_fit, scenario=scenario, game=game)


def test_pareto_nbd_recovers_the_engine_parameters(noncontractual):
    r, alpha, s, beta, *_ = noncontractual["truth"]
    fit = noncontractual["fit"]
    assert fit.converged
    assert_inside_intervals(fit, {"r": r, "alpha": alpha, "s": s, "beta": beta})


def test_gamma_gamma_recovers_the_engine_spend(noncontractual):
    *_, p, q, gamma = noncontractual["truth"]
    summary = noncontractual["summary"]
    fit = gamma_gamma.fit(summary.frequency, summary.monetary_value)
    assert_inside_intervals(fit, {"p": p, "q": q, "gamma": gamma})
    # Spend is drawn independently of the purchase count: near-zero correlation.
    assert abs(gamma_gamma.spend_frequency_correlation(summary.frequency,
                                                       summary.monetary_value)) < 0.05


def test_expected_purchases_match_the_cohort(noncontractual):
    summary, fit = noncontractual["summary"], noncontractual["fit"]
    observed = summary.frequency
    se = observed.std(ddof=1) / np.sqrt(observed.size)
    predicted = float(pareto_nbd.expected_purchases(fit, FIT_TURNS))
    assert abs(observed.mean() - predicted) < 3 * se, (observed.mean(), predicted, se)


@pytest.mark.parametrize("group", ["x = 0", "x 1-2", "x 3-7", "x >= 8"])
def test_conditional_forecast_matches_what_customers_then_did(noncontractual, group):
    summary, fit, later = (noncontractual[k] for k in ("summary", "fit", "later"))
    x = summary.frequency
    low, high = {"x = 0": (0, 0), "x 1-2": (1, 2), "x 3-7": (3, 7), "x >= 8": (8, np.inf)}[group]
    rows = (x >= low) & (x <= high)
    if rows.sum() < 200:
        pytest.skip(f"only {rows.sum()} customers with {group}")
    forecast = pareto_nbd.conditional_expected_purchases(
        fit, FORECAST_TURNS, x[rows], summary.recency[rows], summary.T[rows])
    actual = later[rows]
    se = actual.std(ddof=1) / np.sqrt(actual.size)
    # Allow for the fitted parameters' own uncertainty on top of sampling noise.
    assert abs(actual.mean() - forecast.mean()) < 3 * se + 0.03 * forecast.mean(), \
        (group, actual.mean(), forecast.mean(), se)


def test_p_alive_is_calibrated_against_who_really_is_alive(noncontractual):
    summary, fit, alive = (noncontractual[k] for k in ("summary", "fit", "alive_at_fit"))
    prob = pareto_nbd.p_alive(fit, summary.frequency, summary.recency, summary.T)
    deciles = np.digitize(prob, np.unique(np.quantile(prob, np.linspace(0.1, 0.9, 9))))
    for d in np.unique(deciles):
        rows = deciles == d
        expected, observed = prob[rows].mean(), alive[rows].mean()
        se = np.sqrt(max(expected * (1 - expected), 1e-4) / rows.sum())
        assert abs(observed - expected) < 4 * se + 0.01, (d, observed, expected, se)


def test_predicted_clv_ranks_customers_by_true_equity(noncontractual):
    """DERT × spend × margin tracks the closed-form equity of each customer."""
    game, scenario = noncontractual["game"], noncontractual["scenario"]
    obs = game.observation
    value = clv.predict_clv(obs, max_fit_customers=CUSTOMERS)
    truth = game.truth
    ids = truth.row_prospect  # each row's prospect (customer ids are opaque)
    alive = truth.alive[ids]
    pop = truth.population
    true_equity = np.where(alive, (scenario.gross_margin - pop.cost_to_serve[ids])
                           * pop.purchase_rate[ids] * pop.mean_spend[ids]
                           / (pop.dropout_rate[ids] + np.log1p(scenario.discount_rate)), 0.0)
    # The base's total value, predicted from behaviour, within 10% of the truth.
    assert value.predicted_clv.sum() == pytest.approx(true_equity.sum(), rel=0.10)
    top = value.predicted_clv >= np.quantile(value.predicted_clv, 0.8)
    assert true_equity[top].sum() / true_equity.sum() > 0.5


@pytest.mark.parametrize("case", sorted(CONTRACTUAL))
def test_sbg_recovers_the_engine_churn(case):
    a, b = CONTRACTUAL[case]
    scenario = one_type_market("meal_kit", churn_probability=BetaSpec(a, b))
    game = Game(scenario)
    game.reset(3)
    obs = play_until(game, scenario.turns + 1)
    cohorts = clv.cohort_survivors(obs)
    assert [c[0] for c in cohorts] == [CUSTOMERS]
    fit = sbg.fit_cohorts(cohorts)
    assert_inside_intervals(fit, {"alpha": a, "beta": b})
    # The fitted survival curve matches the cohort's to within sampling noise.
    survivors = cohorts[0]
    share = survivors / survivors[0]
    predicted = sbg.survival(fit, np.arange(share.size))
    se = np.sqrt(share * (1 - share) / CUSTOMERS)
    assert np.all(np.abs(share - predicted) < 4 * se + 1e-9)
