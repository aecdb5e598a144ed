"""Buy-till-you-die models of the analytics lab: published fits, recovery, checks.

Published numbers come from the papers named in each module. Simulations
are exact and vectorised, with fixed seeds; tolerances are 3 standard errors
of the Monte Carlo estimate unless a published figure is being matched.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from scipy.special import gammaln

from sim.analytics import bgbb, bgnbd, gamma_gamma, pareto_nbd, sbg
from sim.analytics import fitting
from sim.analytics.fitting import DataError, FitResult, maximise_likelihood

CDNOW_PATH = Path(__file__).resolve().parents[1] / "data" / "cdnow_summary.csv"

BGNBD_CDNOW = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)
PARETO_CDNOW = dict(r=0.553, alpha=10.578, s=0.606, beta=11.669)


def three_sig(value: float) -> str:
    return f"{value:.3g}"


@pytest.fixture(scope="module")
def cdnow():
    table = np.loadtxt(CDNOW_PATH, delimiter=",", skiprows=1)
    return table[:, 1], table[:, 2], table[:, 3]


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow):
    return bgnbd.fit(*cdnow)


@pytest.fixture(scope="module")
def cdnow_pareto(cdnow):
    return pareto_nbd.fit(*cdnow)


# --- exact simulators (vectorised over customers) ---------------------------

def simulate_bgnbd(rng, params, T, horizon=0.0):
    """(x, t_x, alive at T, purchases in (T, T+horizon]) under BG/NBD."""
    size = T.size
    rate = rng.gamma(params["r"], 1.0 / params["alpha"], size)
    dropout = rng.beta(params["a"], params["b"], size)
    total = rng.poisson(rate * (T + horizon))          # purchases if she never died
    in_window = rng.binomial(total, T / (T + horizon))
    dies_after = rng.geometric(dropout)                # repeat purchase she dies after
    x = np.minimum(dies_after, in_window)
    # The x-th of in_window uniform purchase times on [0, T].
    recency = np.where(x > 0, T * rng.beta(np.maximum(x, 1), in_window - x + 1), 0.0)
    alive = dies_after > in_window
    future = np.where(alive, np.minimum(dies_after - in_window, total - in_window), 0)
    return x.astype(float), recency, alive, future.astype(float)


def simulate_pareto(rng, params, T, horizon=0.0):
    """(x, t_x, alive at T, purchases in (T, T+horizon]) under Pareto/NBD."""
    size = T.size
    rate = rng.gamma(params["r"], 1.0 / params["alpha"], size)
    dropout = rng.gamma(params["s"], 1.0 / params["beta"], size)
    lifetime = rng.exponential(1.0 / dropout)
    active = np.minimum(lifetime, T)
    x = rng.poisson(rate * active)
    # The last of x uniform purchase times on [0, active].
    recency = np.where(x > 0, active * rng.random(size) ** (1.0 / np.maximum(x, 1)), 0.0)
    future = rng.poisson(rate * np.clip(lifetime - T, 0.0, horizon))
    return x.astype(float), recency, lifetime > T, future.astype(float)


def cohort_ages(rng, size):
    """Ages in weeks like CDNOW's: first purchases spread over 12 weeks."""
    return rng.choice(np.arange(27.0, 40.0), size)


def assert_calibrated(predicted, observed, bins=5):
    """Mean prediction matches mean outcome within 3 SE in each prediction quantile bin."""
    edges = np.quantile(predicted, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, bins - 1)
    for b in range(bins):
        chosen = which == b
        if chosen.sum() < 50:
            continue
        error = observed[chosen].std(ddof=1) / np.sqrt(chosen.sum())
        gap = observed[chosen].mean() - predicted[chosen].mean()
        assert abs(gap) < 3 * error + 1e-9, (b, observed[chosen].mean(), predicted[chosen].mean())


def assert_true_values_covered(fit: FitResult, truth: dict):
    for name, value in truth.items():
        low, high = fit.confidence_interval(name)
        assert low <= value <= high, (name, value, low, high)


# --- BG/NBD -------------------------------------------------------------------

def test_bgnbd_reproduces_published_cdnow_fit(cdnow_bgnbd):
    fit = cdnow_bgnbd
    for name, published in BGNBD_CDNOW.items():
        assert three_sig(fit.params[name]) == three_sig(published), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert fit.n == 2357 and fit.converged
    assert all(np.isfinite(se) and se > 0 for se in fit.standard_errors.values())


def test_bgnbd_published_predictions(cdnow_bgnbd):
    assert bgnbd.expected_purchases(cdnow_bgnbd, 52) == pytest.approx(1.444, abs=5e-4)
    assert bgnbd.p_alive(cdnow_bgnbd, 2, 30.43, 38.86) == pytest.approx(0.7266, abs=5e-5)
    assert (bgnbd.conditional_expected_purchases(cdnow_bgnbd, 39, 2, 30.43, 38.86)
            == pytest.approx(1.226, abs=5e-4))


def test_bgnbd_compress_rows_keeps_the_likelihood(cdnow):
    x, t_x, T = cdnow
    merged = bgnbd.compress_rows(x, t_x, T)
    assert merged[3].sum() == x.size and merged[0].size < x.size
    assert (bgnbd.log_likelihood(BGNBD_CDNOW, *merged[:3], weights=merged[3])
            == pytest.approx(bgnbd.log_likelihood(BGNBD_CDNOW, x, t_x, T), rel=1e-12))


@pytest.mark.parametrize("t", [1.0, 52.0, 520.0])
def test_bgnbd_expected_purchases_matches_integral_over_p(t):
    # E[X(t) | p] = E_λ[1 − e^{−λpt}]/p with λ ~ Gamma(r, α).
    r, alpha, a, b = BGNBD_CDNOW.values()
    def integrand(p):
        return -np.expm1(-r * np.log1p(p * t / alpha)) / p * stats.beta.pdf(p, a, b)
    direct = integrate.quad(integrand, 0, 1, limit=200)[0]
    assert bgnbd.expected_purchases(BGNBD_CDNOW, t) == pytest.approx(direct, rel=1e-8)


@pytest.mark.parametrize("x, t_x, T, t", [(2, 30.43, 38.86, 39.0), (150, 38.0, 39.0, 520.0),
                                         (0, 0.0, 38.86, 520.0)])
def test_bgnbd_conditional_expectation_matches_posterior_integral(x, t_x, T, t):
    # Given alive: λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x); E[Y | λ, p] = (1 − e^{−λpt})/p.
    r, alpha, a, b = BGNBD_CDNOW.values()
    def integrand(p):
        return (-np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p
                * stats.beta.pdf(p, a, b + x))
    direct = integrate.quad(integrand, 0, 1, limit=200)[0] * bgnbd.p_alive(BGNBD_CDNOW, x, t_x, T)
    assert (bgnbd.conditional_expected_purchases(BGNBD_CDNOW, t, x, t_x, T)
            == pytest.approx(direct, rel=1e-7))


def test_bgnbd_recovers_parameters_from_simulation():
    rng = np.random.default_rng(20240601)
    T = cohort_ages(rng, 20_000)
    x, t_x, _, _ = simulate_bgnbd(rng, BGNBD_CDNOW, T)
    fit = bgnbd.fit(x, t_x, T)
    assert fit.converged
    assert_true_values_covered(fit, BGNBD_CDNOW)


def test_bgnbd_expectations_match_monte_carlo():
    rng = np.random.default_rng(7)
    T = np.full(40_000, 52.0)
    x, t_x, alive, future = simulate_bgnbd(rng, BGNBD_CDNOW, T, horizon=39.0)
    error = x.std(ddof=1) / np.sqrt(x.size)
    assert abs(x.mean() - bgnbd.expected_purchases(BGNBD_CDNOW, 52.0)) < 3 * error
    assert_calibrated(bgnbd.p_alive(BGNBD_CDNOW, x, t_x, T), alive.astype(float))
    assert_calibrated(bgnbd.conditional_expected_purchases(BGNBD_CDNOW, 39.0, x, t_x, T), future)


# --- Pareto/NBD ---------------------------------------------------------------

def test_pareto_reproduces_published_cdnow_fit(cdnow_pareto):
    fit = cdnow_pareto
    for name, published in PARETO_CDNOW.items():
        assert three_sig(fit.params[name]) == three_sig(published), name
    assert fit.log_likelihood == pytest.approx(-9595.0, abs=0.05)
    assert fit.converged


@pytest.mark.parametrize("params", [PARETO_CDNOW,
                                    dict(r=0.5, alpha=300.0, s=0.9, beta=0.001),   # z near 1
                                    dict(r=2.0, alpha=0.002, s=3.0, beta=80.0),  # z near 1, α<β
                                    dict(r=1.0, alpha=5.0, s=2.0, beta=5.0)])      # α = β
def test_pareto_likelihood_matches_direct_integration(params):
    r, alpha, s, beta = params.values()
    x = np.array([0.0, 1.0, 4.0, 60.0, 3.0])
    t_x = np.array([0.0, 0.5, 20.0, 30.0, 39.0])
    T = np.full(5, 39.0)
    ours = pareto_nbd.log_likelihood_terms(params, x, t_x, T)
    # P(alive) and the predictions use the quadrature form: the same numbers.
    np.testing.assert_allclose(pareto_nbd._log_parts(params, x, t_x, T)[1], ours, atol=1e-9)
    for i in range(x.size):
        # L = E[λ^x e^{−(λ+μ)T}] + ∫ E[λ^x μ e^{−(λ+μ)τ}] dτ over (t_x, T);
        # everything is scaled by the integrand's peak (at τ = t_x) to stay in range.
        scale = gammaln(r + x[i]) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        peak = -(r + x[i]) * np.log(alpha + t_x[i]) - (s + 1) * np.log(beta + t_x[i])
        integral = integrate.quad(
            lambda tau: np.exp(-(r + x[i]) * np.log(alpha + tau)
                               - (s + 1) * np.log(beta + tau) - peak),
            t_x[i], T[i], epsabs=0, epsrel=1e-12, limit=500,
            points=[t_x[i] + k for k in (1e-6, 1e-4, 1e-2, 1.0)
                    if t_x[i] + k < T[i]] or None)[0]
        alive = np.exp(-(r + x[i]) * np.log(alpha + T[i]) - s * np.log(beta + T[i]) - peak)
        direct = scale + peak + np.log(alive + s * integral)
        assert ours[i] == pytest.approx(direct, rel=1e-9, abs=1e-9), i


@pytest.mark.parametrize("params", [PARETO_CDNOW,
                                    dict(r=0.5, alpha=300.0, s=0.9, beta=0.001),
                                    dict(r=2.0, alpha=0.002, s=3.0, beta=80.0),
                                    dict(r=1.0, alpha=5.0, s=2.0, beta=5.0),
                                    dict(r=0.5, alpha=10.0, s=5e4, beta=9e5)])  # ridge
def test_pareto_quadrature_likelihood_and_gradient(cdnow, params):
    """The fit's quadrature form equals the closed form; its gradient the slope."""
    x, t_x, T, weights = fitting.compress_rows(*cdnow)
    theta = np.array(list(params.values()))
    terms, gradient = pareto_nbd.log_likelihood_gradient(theta, x, t_x, T)
    closed = pareto_nbd.log_likelihood_terms(params, x, t_x, T)
    np.testing.assert_allclose(terms, closed, rtol=0, atol=1e-9)
    assert_gradient_is_the_slope(
        lambda th: float(weights @ pareto_nbd.log_likelihood_terms(
            dict(zip(pareto_nbd.PARAM_NAMES, th)), x, t_x, T)), theta, gradient @ weights)


@pytest.mark.parametrize("params", [BGNBD_CDNOW, dict(r=1.5, alpha=0.3, a=3.0, b=0.5),
                                    dict(r=0.1, alpha=30.0, a=0.05, b=0.05)])
def test_bgnbd_gradient_is_the_slope(cdnow, params):
    x, t_x, T, weights = fitting.compress_rows(*cdnow)
    theta = np.array(list(params.values()))
    terms, gradient = bgnbd.log_likelihood_gradient(theta, x, t_x, T)
    np.testing.assert_allclose(terms, bgnbd.log_likelihood_terms(params, x, t_x, T), atol=1e-12)
    assert_gradient_is_the_slope(
        lambda th: float(weights @ bgnbd.log_likelihood_terms(
            dict(zip(bgnbd.PARAM_NAMES, th)), x, t_x, T)), theta, gradient @ weights)


def assert_gradient_is_the_slope(total, theta, gradient):
    """Central differences of the closed-form total against the analytic gradient."""
    for i in range(theta.size):
        step = 1e-6 * theta[i]
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        slope = (total(up) - total(down)) / (2 * step)
        # Round-off of the closed form over ~1000 rows divided by the step.
        noise = 1e-9 * abs(total(theta)) / step
        assert gradient[i] == pytest.approx(slope, rel=1e-5, abs=noise), i


def test_pareto_fit_without_dropout_heterogeneity_ends_on_the_ridge():
    """Every customer with the same dropout rate: s, β grow together, s/β stays the rate."""
    rng = np.random.default_rng(2)   # a draw whose MLE has s at its bound e^12
    T = cohort_ages(rng, 20_000)
    # Gamma(s, β) with s = 1e6 and mean 0.02 per week: practically one rate.
    x, t_x, _, _ = simulate_pareto(rng, dict(r=0.6, alpha=8.0, s=1e6, beta=5e7), T)
    fit = pareto_nbd.fit(x, t_x, T)
    assert fit.converged
    assert fit.params["s"] > 1e4 and fit.params["beta"] > 1e4 / 0.03
    assert fit.params["s"] / fit.params["beta"] == pytest.approx(0.02, rel=0.15)
    assert fit.params["r"] == pytest.approx(0.6, rel=0.1)
    assert fit.params["alpha"] == pytest.approx(8.0, rel=0.15)


def test_pareto_fit_on_many_rows_matches_the_fit_without_warm_start():
    rng = np.random.default_rng(5)
    T = cohort_ages(rng, 12_000)
    x, t_x, _, _ = simulate_pareto(rng, PARETO_CDNOW, T)
    assert fitting.compress_rows(x, t_x, T)[0].size > pareto_nbd._WARM_START_ROWS
    warm = pareto_nbd.fit(x, t_x, T)
    cold = pareto_nbd._maximise(*fitting.compress_rows(x, t_x, T), start=(1.0, 1.0, 1.0, 1.0))
    for name in pareto_nbd.PARAM_NAMES:
        assert warm.params[name] == pytest.approx(cold.params[name], rel=1e-4), name
    assert warm.log_likelihood == pytest.approx(cold.log_likelihood, abs=1e-6)


def test_pareto_recovers_parameters_from_simulation():
    rng = np.random.default_rng(20240602)
    T = cohort_ages(rng, 20_000)
    x, t_x, _, _ = simulate_pareto(rng, PARETO_CDNOW, T)
    fit = pareto_nbd.fit(x, t_x, T)
    assert fit.converged
    assert_true_values_covered(fit, PARETO_CDNOW)


def test_pareto_expectations_match_monte_carlo():
    rng = np.random.default_rng(11)
    T = np.full(40_000, 52.0)
    x, t_x, alive, future = simulate_pareto(rng, PARETO_CDNOW, T, horizon=39.0)
    error = x.std(ddof=1) / np.sqrt(x.size)
    assert abs(x.mean() - pareto_nbd.expected_purchases(PARETO_CDNOW, 52.0)) < 3 * error
    assert_calibrated(pareto_nbd.p_alive(PARETO_CDNOW, x, t_x, T), alive.astype(float))
    assert_calibrated(pareto_nbd.conditional_expected_purchases(PARETO_CDNOW, 39.0, x, t_x, T),
                      future)


def test_pareto_expected_purchases_at_s_equal_one_is_the_limit():
    near = dict(PARETO_CDNOW, s=1.0 + 1e-7)
    exact = dict(PARETO_CDNOW, s=1.0)
    assert (pareto_nbd.expected_purchases(exact, 52.0)
            == pytest.approx(pareto_nbd.expected_purchases(near, 52.0), rel=1e-6))


@pytest.mark.parametrize("x, t_x, T", [(0, 0.0, 38.86), (2, 30.43, 38.86), (12, 10.0, 38.0)])
@pytest.mark.parametrize("discount_rate", [1.15 ** (1 / 52) - 1, 0.01])
def test_pareto_dert_matches_integral_over_posterior_dropout(x, t_x, T, discount_rate):
    # DERT = P(alive) · E[λ | alive] · E[1/(μ+δ) | alive], μ | alive ~ Gamma(s, β+T).
    r, alpha, s, beta = PARETO_CDNOW.values()
    delta = np.log1p(discount_rate)
    posterior = stats.gamma(s, scale=1.0 / (beta + T))
    mean_inverse = integrate.quad(lambda mu: posterior.pdf(mu) / (mu + delta), 0, np.inf,
                                  limit=200)[0]
    direct = pareto_nbd.p_alive(PARETO_CDNOW, x, t_x, T) * (r + x) / (alpha + T) * mean_inverse
    assert (pareto_nbd.dert(PARETO_CDNOW, x, t_x, T, discount_rate)
            == pytest.approx(direct, rel=1e-7))


@pytest.mark.parametrize("s, beta", [(12.0, 60.0), (20.0, 4.0), (20.0, 1000.0), (150.0, 750.0),
                                     (1.6e5, 8e5), (1.6e5, 8e3)])
def test_pareto_dert_with_little_dropout_heterogeneity_is_the_exact_integral(s, beta):
    # Large s (dropout rates nearly alike) is where U(s, s; z) overflows or takes
    # 0.1 s a call; the value must still be E[1/(μ+δ)] exactly, not 1/(E[μ]+δ).
    params = dict(r=0.55, alpha=10.6, s=s, beta=beta)
    T = np.array([1.0, 6.0, 24.0, 6.0])
    delta = np.log1p(0.01)
    for age, got in zip(T, pareto_nbd.dert_if_alive(params, 2.0, T, 0.01)):
        rate = beta + age
        mean_inverse = integrate.quad(lambda t: np.exp(-delta * t - s * np.log1p(t / rate)),
                                      0, np.inf, epsabs=0, epsrel=1e-12, limit=500)[0]
        assert got == pytest.approx((0.55 + 2.0) / (10.6 + age) * mean_inverse, rel=1e-9)
        # The crude limit it replaced is off by about Var/mean^2 of μ+δ: visible at s = 20.
        crude = (0.55 + 2.0) / (10.6 + age) / (s / rate + delta)
        assert got >= crude


# --- Gamma–Gamma --------------------------------------------------------------

GAMMA_GAMMA_TRUE = dict(p=6.25, q=3.74, gamma=15.44)  # FHL 2005's CDNOW estimates


def simulate_spend(rng, params, size):
    """(x, z̄) with z̄ the exact mean of x Gamma(p, ν) spends, ν ~ Gamma(q, γ)."""
    x = 1 + rng.poisson(2.0, size)
    nu = rng.gamma(params["q"], 1.0 / params["gamma"], size)
    # A sum of x Gamma(p, ν) spends is Gamma(px, ν).
    zbar = rng.gamma(params["p"] * x, 1.0 / nu) / x
    return x.astype(float), zbar


def test_gamma_gamma_recovers_parameters_from_simulation():
    rng = np.random.default_rng(5)
    x, zbar = simulate_spend(rng, GAMMA_GAMMA_TRUE, 5_000)
    # Non-buyers are ignored whatever their spend column says.
    x = np.concatenate([x, np.zeros(100)])
    zbar = np.concatenate([zbar, np.zeros(100)])
    fit = gamma_gamma.fit(x, zbar)
    assert fit.n == 5_000 and fit.converged
    assert_true_values_covered(fit, GAMMA_GAMMA_TRUE)
    # The analytic-gradient fit lands where a derivative-free search does.
    buyers = x > 0
    plain = maximise_likelihood(
        lambda theta: float(gamma_gamma.log_likelihood_terms(
            dict(zip(gamma_gamma.PARAM_NAMES, theta)), x[buyers], zbar[buyers]).sum()),
        gamma_gamma.PARAM_NAMES, (1.0, 2.0, 10.0), n=5_000)
    for name in gamma_gamma.PARAM_NAMES:
        assert fit.params[name] == pytest.approx(plain.params[name], rel=1e-4), name
        assert fit.standard_errors[name] == pytest.approx(plain.standard_errors[name], rel=1e-3)


def test_gamma_gamma_expected_spend_is_the_posterior_mean():
    rng = np.random.default_rng(6)
    size = 200_000
    x, zbar = simulate_spend(rng, GAMMA_GAMMA_TRUE, size)
    predicted = gamma_gamma.expected_spend(GAMMA_GAMMA_TRUE, x, zbar)
    # Law of total expectation: the mean of E[Z | x, z̄] is the prior mean.
    error = predicted.std(ddof=1) / np.sqrt(size)
    assert abs(predicted.mean() - gamma_gamma.mean_spend(GAMMA_GAMMA_TRUE)) < 3 * error
    assert gamma_gamma.mean_spend(GAMMA_GAMMA_TRUE) == pytest.approx(6.25 * 15.44 / 2.74)
    assert gamma_gamma.expected_spend(GAMMA_GAMMA_TRUE, 0, 0.0) == pytest.approx(
        gamma_gamma.mean_spend(GAMMA_GAMMA_TRUE))


def test_gamma_gamma_expected_spend_tracks_true_mean_spend():
    rng = np.random.default_rng(8)
    size = 100_000
    x = 1 + rng.poisson(2.0, size)
    nu = rng.gamma(3.74, 1.0 / 15.44, size)
    zbar = rng.gamma(6.25 * x, 1.0 / nu) / x
    true_mean = 6.25 / nu
    assert_calibrated(gamma_gamma.expected_spend(GAMMA_GAMMA_TRUE, x, zbar), true_mean)


def test_spend_frequency_correlation_is_near_zero_under_the_model():
    rng = np.random.default_rng(9)
    x, zbar = simulate_spend(rng, GAMMA_GAMMA_TRUE, 20_000)
    assert abs(gamma_gamma.spend_frequency_correlation(x, zbar)) < 3 / np.sqrt(20_000)
    assert gamma_gamma.spend_frequency_correlation(x, x * 10.0) == pytest.approx(1.0)


# --- BG/BB --------------------------------------------------------------------

# FHS 2010's 1995 donor cohort (11,104 people, n = 6 opportunities), the
# recency/frequency table as transcribed in the `lifetimes` package's data.
DONATIONS = np.array([
    (0, 0, 3464), (1, 1, 1091), (1, 2, 277), (1, 3, 129), (1, 4, 78), (1, 5, 119),
    (1, 6, 129), (2, 2, 613), (2, 3, 255), (2, 4, 155), (2, 5, 173), (2, 6, 234),
    (3, 3, 322), (3, 4, 181), (3, 5, 225), (3, 6, 357), (4, 4, 240), (4, 5, 284),
    (4, 6, 512), (5, 5, 335), (5, 6, 728), (6, 6, 1203)], dtype=float)
BGBB_DONATIONS = dict(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)


def test_bgbb_reproduces_published_donation_fit():
    x, t_x, weights = DONATIONS.T
    assert weights.sum() == 11_104
    fit = bgbb.fit(x, t_x, 6, weights=weights)
    for name, published in BGBB_DONATIONS.items():
        assert three_sig(fit.params[name]) == three_sig(published), name
    assert fit.log_likelihood == pytest.approx(-33225.6, abs=0.05)
    assert fit.n == 11_104


def simulate_bgbb(rng, params, size, n, n_star=0):
    """(x, t_x, alive at n+1, transactions in n+1..n+n*) under BG/BB."""
    p = rng.beta(params["alpha"], params["beta"], size)
    theta = rng.beta(params["gamma"], params["delta"], size)
    # Opportunities survived: alive for opportunity t with probability (1−θ)^t.
    survived = rng.geometric(theta) - 1
    opportunity = np.arange(1, n + n_star + 1)
    buys = (rng.random((size, n + n_star)) < p[:, None]) & (opportunity <= survived[:, None])
    observed, future = buys[:, :n], buys[:, n:]
    x = observed.sum(axis=1)
    t_x = np.where(x > 0, n - np.argmax(observed[:, ::-1], axis=1), 0)
    return x.astype(float), t_x.astype(float), survived > n, future.sum(axis=1).astype(float)


def test_bgbb_expectations_match_monte_carlo():
    rng = np.random.default_rng(13)
    x, t_x, alive, future = simulate_bgbb(rng, BGBB_DONATIONS, 100_000, 6, n_star=5)
    error = x.std(ddof=1) / np.sqrt(x.size)
    assert abs(x.mean() - bgbb.expected_purchases(BGBB_DONATIONS, 6)) < 3 * error
    assert_calibrated(bgbb.p_alive(BGBB_DONATIONS, x, t_x, 6), alive.astype(float))
    assert_calibrated(bgbb.conditional_expected_purchases(BGBB_DONATIONS, 5, x, t_x, 6), future)


def test_bgbb_recovers_parameters_from_simulation():
    rng = np.random.default_rng(17)
    x, t_x, _, _ = simulate_bgbb(rng, BGBB_DONATIONS, 20_000, 8)
    fit = bgbb.fit(x, t_x, 8)
    assert_true_values_covered(fit, BGBB_DONATIONS)


def test_bgbb_closed_form_sums_agree_near_gamma_one():
    # The closed form divides by γ − 1; the term-by-term sum takes over there.
    near = dict(BGBB_DONATIONS, gamma=1.0 + 2e-6)
    at_one = dict(BGBB_DONATIONS, gamma=1.0)
    assert (bgbb.expected_purchases(at_one, [6, 11])
            == pytest.approx(bgbb.expected_purchases(near, [6, 11]), rel=1e-5))


# --- sBG ----------------------------------------------------------------------

# Fader & Hardie (2007) fit on years 0..7 of each cohort (seven churn periods
# plus the survivors at year 7), i.e. survivors[0..7] as passed here.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


@pytest.mark.parametrize("survivors, alpha, beta", [(REGULAR, 0.704, 1.182),
                                                    (HIGH_END, 0.668, 3.806)])
def test_sbg_reproduces_published_fits(survivors, alpha, beta):
    fit = sbg.fit(survivors)
    assert three_sig(fit.params["alpha"]) == three_sig(alpha)
    assert three_sig(fit.params["beta"]) == three_sig(beta)
    assert fit.n == 1000


def test_sbg_survival_churn_and_retention_are_consistent():
    params = dict(alpha=0.704, beta=1.182)
    t = np.arange(1, 13)
    survive = sbg.survival(params, t)
    previous = sbg.survival(params, t - 1)
    np.testing.assert_allclose(previous - survive, sbg.churn_probability(params, t), rtol=1e-12)
    np.testing.assert_allclose(survive / previous, sbg.retention_rate(params, t), rtol=1e-12)
    assert sbg.survival(params, 0) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [1, 2, 8, 20])
@pytest.mark.parametrize("discount_rate", [0.1, 0.5])
def test_sbg_derl_matches_direct_sum(n, discount_rate):
    params = dict(alpha=0.668, beta=3.806)
    k = np.arange(20_000)
    direct = np.sum(sbg.survival(params, n + k) / sbg.survival(params, n - 1)
                    * np.exp(-k * np.log1p(discount_rate)))
    assert (sbg.discounted_expected_residual_lifetime(params, n, discount_rate)
            == pytest.approx(direct, rel=1e-9))


# --- fitting machinery and bad input ------------------------------------------

def test_fit_result_is_frozen_and_intervals_are_ordered(cdnow_bgnbd):
    with pytest.raises(dataclasses.FrozenInstanceError):
        cdnow_bgnbd.n = 3
    for name, value in cdnow_bgnbd.params.items():
        low, high = cdnow_bgnbd.confidence_interval(name)
        assert 0 < low < value < high
        wald_low, wald_high = cdnow_bgnbd.confidence_interval(name, 0.95, scale="natural")
        assert wald_high - value == pytest.approx(1.959964 * cdnow_bgnbd.standard_errors[name])
        assert wald_low < value
    narrow = cdnow_bgnbd.confidence_interval("r", 0.5)
    assert narrow[0] > cdnow_bgnbd.confidence_interval("r", 0.95)[0]


def test_maximise_likelihood_matches_exponential_theory():
    # Exponential durations: MLE rate = n/Σy, standard error = rate/√n.
    durations = np.random.default_rng(3).exponential(1 / 0.4, 500)
    def log_likelihood(theta):
        return durations.size * np.log(theta[0]) - theta[0] * durations.sum()
    fit = maximise_likelihood(log_likelihood, ["rate"], [1.0], n=durations.size)
    rate = durations.size / durations.sum()
    assert fit.params["rate"] == pytest.approx(rate, rel=1e-7)
    assert fit.standard_errors["rate"] == pytest.approx(rate / np.sqrt(durations.size), rel=1e-5)


def test_failed_line_search_at_the_optimum_is_accepted(monkeypatch, cdnow):
    real_minimize = optimize.minimize
    methods = []
    def failing_lbfgsb(fun, x0, method=None, **options):
        methods.append(method)
        result = real_minimize(fun, x0, method=method, **options)
        if method == "L-BFGS-B":
            result.success = False
        return result
    monkeypatch.setattr(fitting.optimize, "minimize", failing_lbfgsb)
    fit = bgnbd.fit(*cdnow)
    # Restarted once, then accepted because the gradient is zero there.
    assert methods == ["L-BFGS-B", "L-BFGS-B"] and fit.converged
    for name, published in BGNBD_CDNOW.items():
        assert three_sig(fit.params[name]) == three_sig(published), name


def test_maximise_likelihood_falls_back_to_nelder_mead(monkeypatch, cdnow):
    real_minimize = optimize.minimize
    methods = []
    def stalling_lbfgsb(fun, x0, method=None, **options):
        methods.append(method)
        if method == "L-BFGS-B":   # stops after two steps, far from the optimum
            options["options"] = dict(options["options"], maxiter=2)
        return real_minimize(fun, x0, method=method, **options)
    monkeypatch.setattr(fitting.optimize, "minimize", stalling_lbfgsb)
    fit = bgnbd.fit(*cdnow)
    assert methods == ["L-BFGS-B", "L-BFGS-B", "Nelder-Mead"]
    for name, published in BGNBD_CDNOW.items():
        assert fit.params[name] == pytest.approx(published, rel=0.02), name


def test_weights_fit_like_expanded_rows():
    x, t_x, weights = DONATIONS.T
    expanded = [np.repeat(column, weights.astype(int)) for column in (x, t_x)]
    from_table = bgbb.fit(x, t_x, 6, weights=weights)
    from_rows = bgbb.fit(*expanded, 6)
    assert from_rows.log_likelihood == pytest.approx(from_table.log_likelihood, rel=1e-10)
    for name in bgbb.PARAM_NAMES:
        assert from_rows.params[name] == pytest.approx(from_table.params[name], rel=1e-5)


TRANSACTION_FITS = [bgnbd.fit, pareto_nbd.fit]
BAD_TRANSACTION_INPUTS = [
    ("negative", ([1, -1], [1.0, 1.0], [5.0, 5.0]), "frequency"),
    ("recency after T", ([1, 2], [1.0, 6.0], [5.0, 5.0]), "recency"),
    ("empty", ([], [], []), "frequency"),
    ("all zero", ([0, 0], [0.0, 0.0], [5.0, 5.0]), "frequency"),
    ("NaN", ([1, 2], [1.0, np.nan], [5.0, 5.0]), "recency"),
    ("mismatched", ([1, 2], [1.0, 2.0], [5.0, 5.0, 5.0]), "T"),
    ("non-integer", ([1.5, 2], [1.0, 2.0], [5.0, 5.0]), "frequency"),
    ("negative T", ([1, 2], [1.0, 2.0], [5.0, -5.0]), "T"),
]


@pytest.mark.parametrize("fit", TRANSACTION_FITS, ids=["bgnbd", "pareto_nbd"])
@pytest.mark.parametrize("case, arguments, field", BAD_TRANSACTION_INPUTS,
                         ids=[case for case, _, _ in BAD_TRANSACTION_INPUTS])
def test_transaction_models_reject_bad_input(fit, case, arguments, field):
    with pytest.raises(DataError, match=field):
        fit(*arguments)


def test_bad_weights_are_rejected():
    with pytest.raises(DataError, match="weights"):
        bgnbd.fit([1, 2], [1.0, 2.0], [5.0, 5.0], weights=[1, -1])
    with pytest.raises(DataError, match="weights"):
        bgnbd.fit([1, 2], [1.0, 2.0], [5.0, 5.0], weights=[1, 2, 3])


@pytest.mark.parametrize("arguments, field", [
    (([1, 2], [10.0, -3.0]), "monetary_value"),
    (([1, 2], [10.0, 0.0]), "monetary_value"),
    (([1, 2], [10.0]), "monetary_value"),
    (([0, 0], [10.0, 3.0]), "frequency"),
    (([], []), "frequency"),
    (([1, 2], [np.nan, 3.0]), "monetary_value"),
])
def test_gamma_gamma_rejects_bad_input(arguments, field):
    with pytest.raises(DataError, match=field):
        gamma_gamma.fit(*arguments)


@pytest.mark.parametrize("arguments, field", [
    (([2, 1], [1, 3], 6), "frequency exceeds recency"),
    (([2, 1], [7, 3], 6), "recency exceeds n"),
    (([0, 1], [2, 3], 6), "recency"),
    (([1, 1], [1, 3], [6, -6]), "n"),
    (([0, 0], [0, 0], 6), "frequency"),
])
def test_bgbb_rejects_bad_input(arguments, field):
    with pytest.raises(DataError, match=field):
        bgbb.fit(*arguments)


@pytest.mark.parametrize("survivors", [[1000, 1100, 900], [1000], [0, 0], [1000, np.nan],
                                       [1000, 1000, 1000], [1000, -1]])
def test_sbg_rejects_bad_input(survivors):
    with pytest.raises(DataError, match="survivors"):
        sbg.fit(survivors)


def test_pareto_nbd_warm_start_reaches_the_same_fit(cdnow, cdnow_pareto):
    """A search started near earlier estimates ends where a cold one does."""
    x, t_x, T = cdnow
    cold = cdnow_pareto
    nudged = {k: v * 1.1 for k, v in cold.params.items()}
    warm = pareto_nbd.fit(x, t_x, T, start=nudged)
    assert warm.log_likelihood == pytest.approx(cold.log_likelihood, abs=1e-6)
    for name, value in cold.params.items():
        assert warm.params[name] == pytest.approx(value, rel=1e-3)


def test_p_alive_of_one_time_buyers_is_computed_once_per_age_and_equals_the_direct_form():
    params = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    x = np.array([0, 0, 0, 2, 0, 5, 0])
    t_x = np.array([0.0, 0.0, 0.0, 20.0, 0.0, 30.5, 0.0])
    T = np.array([39.0, 39.0, 12.0, 39.0, 12.0, 38.0, 25.0])
    log_alive, log_total = pareto_nbd._log_parts(params, x, t_x, T)
    assert np.array_equal(pareto_nbd.p_alive(params, x, t_x, T), np.exp(log_alive - log_total))
