"""The engine against closed forms: Pareto/NBD counts, Gamma–Gamma spend, equity."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import special

from conftest import small
from sim import DISENGAGE, Decision, Game, Tier
from sim.behaviour import GammaQuantiles, poisson_inverse
from sim.scenario import InheritedPolicy, load_scenario
from sim.valuation import customer_equity

TURNS = 8


def cohort_game(name: str, prospects: int = 40_000, turns: int = TURNS, seed: int = 5):
    """One unserved cohort: acquired in a single warm-up turn, then left alone."""
    s = small(name, prospects)
    s = replace(s, warmup_turns=1, turns=turns,
                inherited=InheritedPolicy({c.name: s.budget.marketing / 2 for c in s.channels}, 0.0))
    game = Game(s)
    game.reset(seed)
    while not game.done:
        game.step(Decision())
    return game


def expected_repeat_purchases(scenario, type_index: np.ndarray, t: float) -> float:
    """Mean E[X(t)] over the cohort's latent types (Pareto/NBD, or sBG renewals)."""
    total = 0.0
    for k, ty in enumerate(scenario.types):
        share = np.mean(type_index == k)
        r, alpha = ty.purchase_rate.shape, ty.purchase_rate.rate
        if ty.dropout_rate is not None:
            s, beta = ty.dropout_rate.shape, ty.dropout_rate.rate
            ex = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
        else:
            # Contractual: a member buys all turn j with probability S(j-1) of still
            # being subscribed; S(n) = B(a, b + n) / B(a, b) (sBG).
            a, b = ty.churn_probability.a, ty.churn_probability.b
            n = np.arange(int(t))
            survival = np.exp(special.betaln(a, b + n) - special.betaln(a, b))
            ex = r / alpha * survival.sum()
        total += share * ex
    return total


def test_cohort_purchases_match_pareto_nbd(scenario_name):
    game = cohort_game(scenario_name)
    obs = game.observation
    cohort = obs.acquisition_turn == 0
    repeat = obs.purchases[cohort].sum(axis=1) - 1
    types = game.population.type_index[game.truth.row_prospect[cohort]]
    # Acquired at the start of warm-up turn 0, so observed for TURNS + 1 turns.
    expected = expected_repeat_purchases(game.scenario, types, TURNS + 1)
    se = repeat.std(ddof=1) / np.sqrt(repeat.size)
    # The studio's channels saturate at a few hundred members a turn: 700 of them.
    assert repeat.size > 500
    assert abs(repeat.mean() - expected) < 3 * se, (repeat.mean(), expected, se)


def test_spend_matches_gamma_gamma_mean(scenario_name):
    game = cohort_game(scenario_name, turns=4)
    obs = game.observation
    types = game.population.type_index[game.truth.row_prospect]
    for k, ty in enumerate(game.scenario.types):
        mine = types == k
        first = obs.first_spend[mine]
        se = first.std(ddof=1) / np.sqrt(first.size)
        assert abs(first.mean() - ty.spend.mean) < 3 * se, (ty.name, first.mean(), ty.spend.mean)
        # Repeat purchases: ratio of totals; nu is independent of the count within a type.
        spend = obs.spend[mine].sum(axis=1) - first
        count = obs.purchases[mine].sum(axis=1) - 1
        ratio = spend.sum() / count.sum()
        ratio_se = np.sqrt(((spend - ratio * count) ** 2).sum()) / count.sum()
        assert abs(ratio - ty.spend.mean) < 3 * ratio_se, (ty.name, ratio, ty.spend.mean)


def test_terminal_equity_matches_long_monte_carlo(scenario_name):
    """Closed-form customer equity vs. playing the same customers 400 more turns.

    The few still alive after the horizon are valued in closed form, which
    is worth well under 0.1% of the total; everything else is simulated.
    The tolerance is four Monte Carlo standard errors.
    """
    s = small(scenario_name, 100_000)
    if s.referrals is not None:
        pytest.skip("friends' value too: test_referrals.py::test_terminal_value_with_referrals_"
                    "matches_a_long_simulation plays every scenario with referrals")
    horizon = 400
    game = Game(replace(s, turns=s.turns + horizon))
    game.reset(2)
    from sim.strategies import MassMarketing

    bot = MassMarketing()
    while game.turn <= s.turns:
        game.step(bot.decide(game.observation))
    alive = np.flatnonzero(game.truth.alive)
    closed_form = customer_equity(game.population, alive, s).sum()
    v = 1.0 / (1.0 + s.discount_rate)
    realised = 0.0
    for k in range(1, horizon + 1):
        _, result = game.step(Decision())
        realised += (result.books.gross_margin - result.books.cost_to_serve) * v ** k
    survivors = np.flatnonzero(game.truth.alive)
    realised += customer_equity(game.population, survivors, s).sum() * v ** horizon
    # Purchase rates are heavy-tailed (Gamma shapes < 1): the tolerance is the
    # Monte Carlo error, from the spread of the customers' realised values.
    se = _monte_carlo_error(game, alive, s.turns, horizon, customer_equity)
    assert abs(realised - closed_form) < 4 * se, (realised, closed_form, se)
    assert realised == pytest.approx(closed_form, rel=0.05)


def _monte_carlo_error(game, ids, start_turn: int, horizon: int, tail) -> float:
    """Standard error of the realised discounted contribution of customers ``ids``.

    Each customer's realised value (discounted contribution per turn after
    ``start_turn``, plus the closed-form ``tail`` value if still alive at
    the end) is independent of the others', so the total's error is
    sqrt(n) x their sd.
    """
    s = game.scenario
    obs = game.observation
    row_of = np.full(game.population.size, -1)
    row_of[game.truth.row_prospect] = np.arange(obs.n_customers)
    rows = row_of[ids]
    cols = np.flatnonzero(obs.turn_columns > start_turn)
    v = 1.0 / (1.0 + s.discount_rate)
    weights = v ** (obs.turn_columns[cols] - start_turn)
    values = obs.profit_matrix()[rows][:, cols] @ weights
    alive = game.truth.alive[ids]
    values[alive] += tail(game.population, ids[alive], s) * v ** horizon
    return float(values.std(ddof=1) * np.sqrt(values.size))


def test_equity_tends_to_continuous_pareto_nbd_form():
    """With short turns the discrete annuity approaches lambda / (mu + delta)."""
    from sim.valuation import annuity_factor

    mu = np.array([0.05, 0.3, 1.0])
    annual_d = 0.10
    for turns_per_year in (4, 52, 365):
        d = (1 + annual_d) ** (1 / turns_per_year) - 1
        per_turn_mu = mu / turns_per_year
        discounted_years = annuity_factor(per_turn_mu, d, False) / turns_per_year
        continuous = 1.0 / (mu + np.log(1 + annual_d))
        err = np.max(np.abs(discounted_years / continuous - 1))
        assert err < {4: 0.15, 52: 0.012, 365: 0.002}[turns_per_year]


def test_poisson_inverse_is_the_poisson_quantile():
    from scipy import stats

    rng = np.random.default_rng(3)
    u = rng.random(50_000)
    mean = rng.gamma(2.0, 10.0, 50_000)
    mean[:3] = [0.0, 250.0, 1e-9]
    assert np.array_equal(poisson_inverse(u, mean), stats.poisson.ppf(u, mean).astype(int))


def test_gamma_quantile_table_matches_gammaincinv():
    rng = np.random.default_rng(4)
    n = rng.integers(1, 120, 100_000)
    p = rng.choice([0.5, 2.0, 4.0, 6.25], 100_000)
    u = rng.random(100_000)
    u[:4] = [1e-300, 1e-16, 1 - 1e-16, 0.5]
    got = GammaQuantiles().quantile(u, n, p)
    exact = special.gammaincinv(n * p, u)
    assert np.max(np.abs(got / exact - 1)) < 1e-6


def test_game_starts_with_inherited_history(scenario_name):
    s = small(scenario_name, 10_000)
    obs = Game(s).reset(1)
    assert obs.turn == 1
    assert obs.n_customers > 100
    assert obs.purchases.shape == (obs.n_customers, s.warmup_turns)
    assert (obs.purchases.sum(axis=0) > 0).all()
    assert len(obs.books) == s.warmup_turns
    assert all(b.revenue > 0 for b in obs.books)
    # Doing nothing still earns something while the base decays.
    game = Game(s)
    game.reset(1)
    _, result = game.step(Decision())
    assert result.books.revenue > 0


def test_binomial_inverse_is_the_binomial_quantile():
    from scipy import stats

    from sim.behaviour import binomial_inverse

    rng = np.random.default_rng(6)
    u = rng.random(100_000)
    n = rng.integers(0, 80, 100_000)
    p = rng.random(100_000)
    p[:4] = [0.0, 1.0, 1e-12, 1 - 1e-12]
    assert np.array_equal(binomial_inverse(u, n, p), stats.binom.ppf(u, n, p).astype(int))


def test_cost_to_serve_is_random_per_purchase_with_mean_kappa_times_revenue(scenario_name):
    """E[cost to serve | revenue] = kappa x revenue; the observed share is noisy, sharpening."""
    game = cohort_game(scenario_name, turns=6)
    obs = game.observation
    s = game.scenario
    kappa = game.population.cost_to_serve[game.truth.row_prospect]
    revenue = obs.total_spend + obs.fees_paid
    cts = obs.total_cost_to_serve
    # Closed form of the total against the simulated one, with its Monte Carlo error:
    # per customer, var(cost | occasions n) <= ticket^2 n kappa (1 - kappa + 1/c) + ...
    expected = float((kappa * revenue).sum())
    occasions = obs.total_purchases + (obs.fees_paid / s.membership_fee if s.contractual else 0)
    ticket = revenue / occasions
    var = ticket ** 2 * occasions * kappa * (1.0 + 1.0 / s.incident_cost_shape)
    assert abs(cts.sum() - expected) < 4 * np.sqrt(var.sum()), (cts.sum(), expected)
    # Each customer's observed share is a noisy estimate of kappa that sharpens with purchases.
    share = cts / revenue
    few, many = occasions <= 2, occasions >= 8
    assert few.sum() > 100 and many.sum() > 100
    err_few = np.sqrt(np.mean((share[few] - kappa[few]) ** 2))
    err_many = np.sqrt(np.mean((share[many] - kappa[many]) ** 2))
    assert err_many < 0.7 * err_few, (err_few, err_many)
    assert np.mean(np.abs(share - kappa) < 1e-9) < 0.5


def test_disengaged_equity_matches_monte_carlo(scenario_name):
    """Closed-form equity of customers turned away for good vs simulating them."""
    from sim.valuation import disengaged_equity

    s = small(scenario_name, 60_000)
    horizon = 200
    game = Game(replace(s, turns=horizon))
    game.reset(3)
    alive = np.flatnonzero(game.truth.alive)
    closed_form = disengaged_equity(game.population, alive, s).sum()
    v = 1.0 / (1.0 + s.discount_rate)
    realised = 0.0
    for k in range(1, horizon + 1):
        _, result = game.step(Decision(tiers=(Tier("everyone", "all", DISENGAGE),)))
        realised += (result.books.gross_margin - result.books.cost_to_serve) * v ** k
    survivors = np.flatnonzero(game.truth.alive)
    realised += disengaged_equity(game.population, survivors, s).sum() * v ** horizon
    se = _monte_carlo_error(game, alive, 0, horizon, disengaged_equity)
    assert abs(realised - closed_form) < 4 * se, (realised, closed_form, se)
    assert se < 0.15 * abs(closed_form)  # tight enough to catch a wrong multiplier


def test_turning_away_never_makes_a_loss_maker_a_top_customer(scenario_name):
    """Disengaging brings a loss-maker to about zero and destroys a good customer's value."""
    from sim.population import draw_population
    from sim.valuation import customer_equity, disengaged_equity

    s = load_scenario(scenario_name).with_prospects(50_000)
    pop = draw_population(s, 1)
    ids = np.arange(pop.size)
    kept = customer_equity(pop, ids, s)
    away = disengaged_equity(pop, ids, s)
    losers = kept < 0
    top = kept >= np.quantile(kept, 0.8)
    assert losers.any()
    # A turned-away loss-maker is worth about nothing: a small part of what it lost when
    # kept, and far below the kept top fifth ...
    assert np.median(np.abs(away[losers]) / np.abs(kept[losers])) < 0.2
    assert np.quantile(away[losers], 0.99) < 0.25 * np.median(kept[top])
    # ... and turning away a good customer destroys most of its value.
    assert np.median(away[top] / kept[top]) < 0.25
