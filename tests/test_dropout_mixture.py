"""The mixture of dropout gammas: it finds a split that is there and invents none that is not."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analytics import dropout_mixture

#: The purchase rates' gamma, known to the fit (the equity estimate holds it at the Pareto/NBD's).
R, ALPHA = 1.0, 1.0
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)


def _base(rng, mixes, classes, per_segment=3000):
    """A simulated Pareto/NBD base, no treatment: (DropoutData, true dropout rates, alive now).

    Args:
        mixes: per segment, the share of each dropout class.
        classes: per class, (shape, mean rate per turn) of its gamma.
    """
    parts, rates, alive = [], [], []
    for c, mix in enumerate(mixes):
        k = rng.choice(len(classes), size=per_segment, p=mix)
        shape = np.array([classes[j][0] for j in k])
        mean = np.array([classes[j][1] for j in k])
        mu = rng.gamma(shape, mean / shape)
        lam = rng.gamma(R, 1.0 / ALPHA, size=per_segment)
        age = rng.integers(4, 17, size=per_segment).astype(float)      # turns since acquisition
        death = rng.exponential(1.0 / mu)
        seen = np.minimum(death, age)
        x = rng.poisson(lam * seen)
        # The last of x uniform purchase times in (0, seen): seen * U^(1/x).
        last = np.where(x > 0, seen * rng.random(per_segment) ** (1.0 / np.maximum(x, 1)), 0.0)
        # Died unseen at tau in (last, age]: Gauss-Legendre nodes on that stretch, with the
        # purchase-rate gamma integrated out as in the Pareto/NBD.
        half = (age - last) / 2.0
        tau = last[:, None] + half[:, None] * (_NODES[None, :] + 1.0)
        node_log = (np.log(half[:, None] * _WEIGHTS[None, :])
                    + (R + x)[:, None] * (np.log(ALPHA + age)[:, None] - np.log(ALPHA + tau)))
        parts.append(dropout_mixture.DropoutData(
            np.full(per_segment, c), age, np.repeat(np.arange(per_segment), _NODES.size),
            tau.ravel(), node_log.ravel()))
        rates.append(mu)
        alive.append(death > age)
    return dropout_mixture.DropoutData.join(parts), np.concatenate(rates), np.concatenate(alive)


def test_a_split_the_channels_bring_in_different_proportions_is_recovered():
    """Two kinds of customer, leaving 5% and 40% a turn, in three channels' own mixes.

    One gamma per segment fits such a base about as well (its shape drops
    below 1, the near-immortal tail), so at this size the BIC keeps it; the
    two shared classes, fitted, find the kinds and each channel's mix.
    """
    rng = np.random.default_rng(20261201)
    mixes = [(0.8, 0.2), (0.5, 0.5), (0.2, 0.8)]
    data, mu, alive = _base(rng, mixes, [(3.0, 0.05), (3.0, 0.40)])
    one = dropout_mixture.fit(data, 3, np.ones(3), np.ones(3) / 0.2)
    assert not one.shared and np.all(one.shape < 1.5)
    fitted = dropout_mixture._fit_shared(data, 3, np.ones(2), np.array([0.1, 0.3]))
    assert fitted.shared and fitted.classes == 2
    means = fitted.shape / fitted.rate
    slow, fast = np.argmin(means), np.argmax(means)
    assert means[slow] == pytest.approx(0.05, rel=0.3)
    assert means[fast] == pytest.approx(0.40, rel=0.3)
    # Each channel's share of the long-lived kind, in order and near the truth.
    share = fitted.weights[:, slow]
    assert np.all(np.diff(share) < 0)
    np.testing.assert_allclose(share, [0.8, 0.5, 0.2], atol=0.12)
    assert fitted.covariance is not None
    # The survivors' expected lives (an annuity 1/(mu + d)): the one gamma's near-immortal
    # tail over-values them; the shared classes come near the truth.
    probs = (np.arange(32) + 0.5) / 32
    true = float(np.sum(1.0 / (mu[alive] + 0.025)))
    mixed = dropout_mixture.posterior(data, fitted, lambda m: 1.0 / (m + 0.025), probs)[1].sum()
    single = dropout_mixture.posterior(data, one, lambda m: 1.0 / (m + 0.025), probs)[1].sum()
    assert single > 1.1 * true
    assert abs(mixed / true - 1) < 0.5 * abs(single / true - 1)


def test_one_kind_of_customer_is_not_split():
    """Every channel one gamma (shape 2, 20% a turn): one gamma per segment stays, near the truth."""
    rng = np.random.default_rng(20261202)
    data, _, _ = _base(rng, [(1.0,), (1.0,), (1.0,)], [(2.0, 0.20)])
    one = np.ones(3)
    fitted = dropout_mixture.fit(data, 3, one, one / 0.2)
    assert not fitted.shared
    np.testing.assert_allclose(fitted.shape / fitted.rate, 0.20, rtol=0.2)


def test_posterior_survivors_drift_to_the_long_lived_class():
    """Alive through a long stretch without dying: valued nearer the slow class than the fast."""
    rng = np.random.default_rng(20261203)
    data, _, _ = _base(rng, [(0.5, 0.5)], [(3.0, 0.05), (3.0, 0.40)], per_segment=2000)
    mixture = dropout_mixture.fit(data, 1, np.ones(1), np.ones(1) / 0.2)
    probs = (np.arange(16) + 0.5) / 16
    alive, first, _ = dropout_mixture.posterior(data, mixture, lambda mu: 1.0 / (mu + 0.025), probs)
    assert np.all((alive >= 0) & (alive <= 1 + 1e-12))
    life = first / np.maximum(alive, 1e-12)
    old = data.exposure >= 14
    young = data.exposure <= 5
    # A customer long seen alive is expected to stay longer than a young one.
    assert np.median(life[old & (alive > 0.9)]) > np.median(life[young & (alive > 0.9)])
