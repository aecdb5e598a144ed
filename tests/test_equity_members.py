"""The equity estimate's member classes: churn read together with add-ons, tickets and profile."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analytics import equity, gamma_gamma

TURNS = 24
DISCOUNT = 0.008
FEE, MARGIN = 90.0, 0.4
P_SPEND, Q_SPEND = 3.0, 5.0
#: Two kinds of member in the same channels: (share of channel 0, of channel 1), churn Beta(a, b),
#: add-on rate Gamma(shape, rate) a turn, Gamma-Gamma spend scale, share with tag value 0.
KINDS = {
    "devotee": dict(mix=(0.3, 0.5), churn=(2.0, 48.0), addons=(0.8, 0.8), scale=120.0, tag=0.6),
    "leaver": dict(mix=(0.7, 0.5), churn=(2.0, 4.0), addons=(0.5, 2.5), scale=30.0, tag=0.2),
}


def _base(rng, n=6000):
    """A simulated member base, no treatment: (histories, _MemberData, true equity, kind, last)."""
    channel = rng.integers(0, 2, size=n)
    devotee = rng.random(n) < np.take(KINDS["devotee"]["mix"], channel)

    def of(key):
        return np.where(devotee if np.ndim(KINDS["devotee"][key]) == 0 else devotee[:, None],
                        KINDS["devotee"][key], KINDS["leaver"][key])

    kind = {key: of(key) for key in ("churn", "addons", "scale", "tag")}
    pick = dict(a=kind["churn"][:, 0], b=kind["churn"][:, 1], shape=kind["addons"][:, 0],
                rate=kind["addons"][:, 1], scale=kind["scale"], tag=kind["tag"])
    churn = rng.beta(pick["a"], pick["b"])
    rate = rng.gamma(pick["shape"], 1.0 / pick["rate"])
    nu = rng.gamma(Q_SPEND, 1.0 / pick["scale"])
    tag = (rng.random(n) >= pick["tag"]).astype(np.int64)          # value 0 with prob. "tag"
    joined = rng.integers(0, TURNS, size=n)                         # column of the joining turn
    # Turns paid: geometric from joining, cut at the end of the data.
    lifetime = rng.geometric(churn)                                 # turns paid before cancelling
    paid = np.minimum(lifetime, TURNS - joined)
    cancelled = lifetime <= TURNS - joined
    cols = np.arange(TURNS)[None, :]
    exposed = ((cols >= joined[:, None]) & (cols < (joined + paid)[:, None])).astype(float)
    repeat = rng.poisson(rate[:, None] * exposed).astype(float)
    x = repeat.sum(axis=1)
    tickets = 1.0 + x
    spend = rng.gamma(P_SPEND * tickets, 1.0 / nu)
    h = equity._Histories(np.arange(TURNS, dtype=float), exposed, np.zeros_like(exposed),
                          np.zeros_like(exposed), repeat, x, channel, np.zeros(n), cancelled)
    fit = gamma_gamma.fit(tickets, spend / tickets)
    data = equity._MemberData(np.full(n, FEE * MARGIN), np.full(n, MARGIN), tickets, spend,
                              tag[:, None], np.zeros(n), np.zeros(n), (2,), fit.params["p"],
                              fit.params["q"], None, 2)
    annuity = 1.0 / (churn + DISCOUNT)                              # v / (1 - v (1 - p))
    true = np.where(~cancelled, (FEE + rate * P_SPEND / nu) * MARGIN * annuity, 0.0)
    last = joined + paid - 1
    return h, data, true, devotee, last


def test_the_member_classes_recover_the_equity_when_churn_and_add_ons_go_together():
    """Loyal members buy more add-ons at a higher ticket: the classes find them and value them.

    The two kinds share the channels, so tenure and channel alone give a
    devotee the leavers' future in part; reading add-ons, tickets and the
    profile tag too, the estimate is within a few percent of the truth.
    """
    rng = np.random.default_rng(7)
    h, data, true, devotee, last = _base(rng)
    # The add-on rates' shape as the pooled fit sees it: below either kind's (they are mixed).
    classes = equity._member_classes(h, h.exposed, h.exposed, last, 0.5, data)
    value, second = classes.value(data, DISCOUNT)
    assert value.sum() == pytest.approx(true.sum(), rel=0.05)
    assert np.all(second >= value ** 2 * (1 - 1e-9))
    alive = ~h.cancelled
    loyal = int(np.argmin(classes.churn))
    assert classes.posterior[alive & devotee, loyal].mean() > 0.8
    assert classes.posterior[alive & ~devotee, loyal].mean() < 0.5
    # The devotees' own share of the value, not just the total, is right.
    assert value[alive & devotee].sum() == pytest.approx(true[alive & devotee].sum(), rel=0.05)


def test_fitted_classes_read_other_rows_posteriors():
    """Given fitted classes, a subset of rows gets the same posteriors as in the full fit."""
    rng = np.random.default_rng(3)
    h, data, _, _, last = _base(rng, n=3000)
    classes = equity._member_classes(h, h.exposed, h.exposed, last, 0.5, data)
    rows = np.arange(0, 3000, 7)
    again = equity._member_classes(h.rows(rows), h.exposed[rows], h.exposed[rows], last[rows], 0.5,
                                   data[rows], fitted=classes)
    np.testing.assert_allclose(again.posterior, classes.posterior[rows], rtol=1e-9, atol=1e-12)


def test_the_beta_annuity_is_the_sbg_residual_lifetime():
    """E[1 / (p + d)] and E[1 / (p + d)^2] over Beta(a, y), against direct quadrature."""
    from scipy import integrate, stats

    y = np.array([4.0, 20.0, 50.0, 300.0])
    first, second = equity._beta_annuity(2.0, y, DISCOUNT)
    for k, yk in enumerate(y):
        pdf = stats.beta(2.0, yk).pdf
        one = integrate.quad(lambda p: pdf(p) / (p + DISCOUNT), 0, 1, limit=200)[0]
        two = integrate.quad(lambda p: pdf(p) / (p + DISCOUNT) ** 2, 0, 1, limit=200)[0]
        assert first[k] == pytest.approx(one, rel=1e-6)
        assert second[k] == pytest.approx(two, rel=1e-6)


def test_a_large_base_is_fitted_on_a_stride_and_still_recovers_the_equity(monkeypatch):
    """Past ``MEMBER_FIT_ROWS`` members the classes are fitted on a fixed stride, everyone valued."""
    rng = np.random.default_rng(7)
    h, data, true, _, last = _base(rng)
    monkeypatch.setattr(equity, "MEMBER_FIT_ROWS", 3000)
    classes = equity._member_classes(h, h.exposed, h.exposed, last, 0.5, data)
    assert classes.posterior.shape[0] == h.x.size
    value, _ = classes.value(data, DISCOUNT)
    assert value.sum() == pytest.approx(true.sum(), rel=0.06)
