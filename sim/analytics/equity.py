"""Customer equity estimated from the firm's own data, valued the way the scorer values it.

The score counts the customers left at the end at their *true* equity: each
one's expected contribution per turn (margin less cost to serve) times the
expected turns it stays, each turn discounted at its end, under a neutral
policy -- no service and not turned away -- from the next turn on
(``sim.valuation``).  The lab's predicted CLV (``sim.analytics.clv``)
extrapolates behaviour *as observed*: a customer served at twice the
half-saturation spend leaves about half as fast and buys a quarter more, so
the lab credits the player with retention the score does not count (keeping
it up costs service money the CLV leaves out).  On the customer-centric
reference's own games that put the lab 50-175% above the truth.

This module estimates what the scorer counts.  The player knows what it did
to every customer every turn (its own tiers) and the published service
curve g(e), so the models are fitted with the treatment as a covariate, as
in the Pareto/NBD with time-varying covariates (Bachmann, Meierer & Naef
2021, Marketing Science 40(4)): in a turn with service effect g a
customer's purchase rate is lambda (1 + phi theta g) and its dropout rate
mu exp(-theta g), phi published and the response theta estimated; turned
away, lambda m_lambda and mu m_mu, both estimated.  The estimate then values every
customer with the treatment taken off: posterior P(alive), E[lambda] and the
scorer's turn-end annuity averaged over mu's posterior, times a Gamma-Gamma
spend and a margin share read from the turns the customer was not turned
away.

Customers differ between acquisition channels far more than one gamma
distribution per rate can say (a coffee chain's regulars both buy often and
stay long), so the non-contractual base is fitted in segments: one per
channel with enough customers, each split by a profile tag whose values
differ clearly in purchase rate, each with its own rate distributions and
its own response to service (the effects of turning customers away are
shared).  A weak prior on each segment's dropout heterogeneity keeps a fit
the data cannot pin down from running to either end of its ridge.  A member
business (contractual) is fitted as one base: the shifted-beta-geometric
model with the same covariate on churn (which measures the effects of
service and turning away), and a gamma-Poisson model for add-on purchases;
the members left are then valued with a few latent classes of churn in a
mix per channel (``_latent_class_annuity``), because one Beta over members
who churn 5% and 40% a month puts mass on near-zero churn that the
annuity's convexity turns into value.

The fit runs on a sample of each segment (a fixed stride) weighted to
stand for all of it, with the customers the firm treated (served or
turned away) as a stratum of their own taking up to half the rows: only
they tell the fit how customers respond, and a plain stride left the
response to the hundred or so served customers it happened to hit (a
response estimated at zero where the served have 0.56, their retention
then read as loyalty).  Then the segments' dropout rates are fitted again
on more customers, the purchase rates and the treatment held
(``sim.analytics.dropout_mixture``): one gamma per segment, or a few gamma
classes shared by the segments in a mix per segment, whichever the
Bayesian information criterion prefers.  On the reference games at 20,000
prospects the criterion keeps one gamma per segment: a Pareto/NBD base
hardly tells the two apart, although one gamma over two kinds of customer
takes a small shape whose near-immortal tail the annuity 1/(mu + d)
values (on a simulated base leaving 5% and 40% a turn: +20% against +5%
for the two classes, ``tests/test_dropout_mixture.py``).

Where it stands (customer-centric reference, 20,000 prospects, seeds 1-10,
``benchmarks/estimate_vs_truth.py``): mean error / worst seed -4% / -20%
in coffee, +8% / +19% in the department store, +6% / +21% in the direct
seller, -8% / -18% in the meal kit (before the stratified fit: +20% / +38%
and +6% / +25% in the department store and the direct seller).

The uncertainty shown is statistical: the fits' covariance propagated by
the delta method (central differences along the covariance's Cholesky
columns) plus the spread of each customer's own posterior.  It does not
cover the models' assumptions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from ..observation import Observation
from . import dropout_mixture, gamma_gamma, referral_nbd, retention
from .clv import predict_clv
from .fitting import DataError, FitResult, hessian_from_gradient, inverse_if_positive_definite
from .transactions import summarise_observation

__all__ = ["EquityEstimate", "estimate_equity", "neutral_margin_share"]

#: Customers per segment used to fit (predictions cover everyone); a fixed stride.
FIT_CUSTOMERS_PER_SEGMENT = 500
#: A channel with fewer customers than this shares a segment with the other small channels.
MIN_SEGMENT_CUSTOMERS = 300
#: Customers the spend model is fitted on.
_SPEND_CUSTOMERS = 10_000
#: Quadrature nodes per turn for the death-time integral (Gauss-Legendre).
_NODES_PER_TURN = 3
#: Equal-probability quantiles averaging a function of the dropout rate over its posterior.
_QUANTILES = 48
#: Interval coverage shown with the estimate.
LEVEL = 0.90
#: Service effects below this (a dollar or two a head on an S-shaped curve) do not identify a response.
_MIN_EFFECT = 0.05
#: A profile tag splits the channel segments when its values' purchase rates differ by this ratio.
TAG_SPLIT_RATIO = 1.4
#: The weak prior on the dropout rates' gamma shape (see ``_shape_prior``).
SHAPE_PRIOR_MEDIAN = 1.0
SHAPE_PRIOR_SD = 1.0
#: Served customers the fit needs for a response to service to be estimated.
_MIN_SERVED = 20
#: Customers the interval's sigma points are evaluated on (the total is scaled).
_SIGMA_CUSTOMERS = 3000
#: Most EM iterations of the members' latent-class churn (it converges in far fewer).
_EM_ITERATIONS = 300
#: Customers per segment the mixture of dropout gammas is fitted on (a fixed stride).
MIXTURE_CUSTOMERS_PER_SEGMENT = 2000

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(_NODES_PER_TURN)
_GL_NODES, _GL_WEIGHTS = (_GL_NODES + 1.0) / 2.0, _GL_WEIGHTS / 2.0
_PROBS = (np.arange(_QUANTILES) + 0.5) / _QUANTILES


@dataclass(frozen=True)
class EquityEstimate:
    """The estimated customer equity of a firm's customers, dollars at the start of the turn.

    Attributes:
        total: expected discounted future contribution of every customer,
            neutral policy (no service, not turned away), dollars; with
            referrals, plus their predicted referral value (CRV) and the
            friends referred last turn, as the score counts them.
        low, high: the ``LEVEL`` interval of ``total`` (statistical uncertainty
            of the purchase and retention model only; the CRV is a point estimate).
        per_customer: each customer row's share of ``total``, dollars.
        p_alive: each customer's probability of still being a customer.
        service_response: the estimated response theta to the service curve,
            per segment (0 where nobody in it got real service).
        segments: the channels of each segment ("a + b" where pooled).
        fit: the maximum-likelihood fit.
    """

    total: float
    low: float
    high: float
    per_customer: np.ndarray
    p_alive: np.ndarray
    service_response: tuple[float, ...]
    segments: tuple[str, ...]
    fit: FitResult

    @property
    def half_width(self) -> float:
        return 0.5 * (self.high - self.low)


# ---------------------------------------------------------------------------- inputs

@dataclass
class _Histories:
    """Per customer row, per turn column: exposure, treatment, repeat purchases."""

    turn_start: np.ndarray     # (K,) time at which each column's turn starts
    exposed: np.ndarray        # (n, K) 1.0 where the customer was a customer (member) that turn
    effect: np.ndarray         # (n, K) service effect g(e), 0..g_max
    disengaged: np.ndarray     # (n, K) 1.0 where turned away
    repeat: np.ndarray         # (n, K) purchases, the one at acquisition left out
    x: np.ndarray              # (n,) repeat purchases
    channel: np.ndarray        # (n,) acquisition channel index
    last_time: np.ndarray      # (n,) time of the latest purchase (non-contractual)
    cancelled: np.ndarray      # (n,) True if the member has cancelled (contractual)

    def rows(self, index: np.ndarray) -> "_Histories":
        return _Histories(self.turn_start, *(getattr(self, f)[index] for f in
                                             ("exposed", "effect", "disengaged", "repeat", "x",
                                              "channel", "last_time", "cancelled")))


def _histories(observation: Observation, effect: np.ndarray, disengaged: np.ndarray) -> _Histories:
    s = observation.scenario
    columns = observation.turn_columns
    acquired = observation.acquisition_turn.astype(np.int64)
    if s.contractual:
        exposed = observation.membership_matrix()
    else:
        exposed = columns[None, :] >= acquired[:, None]
    repeat = observation.purchases.astype(float)
    first = acquired - int(columns[0])
    repeat[np.arange(repeat.shape[0]), first] -= 1.0
    return _Histories(
        turn_start=columns.astype(float) - 1.0,
        exposed=exposed.astype(float), effect=np.asarray(effect, dtype=float),
        disengaged=np.asarray(disengaged, dtype=float), repeat=np.maximum(repeat, 0.0),
        x=np.maximum(observation.total_purchases - 1.0, 0.0),
        channel=observation.channel.astype(np.int64),
        last_time=observation.last_purchase_time.astype(float),
        cancelled=~observation.active.astype(bool))


def neutral_margin_share(observation: Observation, disengaged: np.ndarray,
                         prior_tickets: float = 2.0) -> np.ndarray:
    """Contribution per revenue dollar of each customer, from the turns it was not turned away.

    A turned-away customer's returns and support privileges are withdrawn,
    so those turns understate what serving it normally costs.  As in
    ``sim.analytics.clv.margin_share``, the customer's own cost share is
    shrunk toward the base's by ``prior_tickets`` average purchases.
    """
    s = observation.scenario
    kept = ~np.asarray(disengaged, dtype=bool)
    revenue = observation.spend.copy()
    if s.contractual and s.membership_fee > 0:
        revenue += s.membership_fee * observation.membership_matrix()
    revenue = np.where(kept, revenue, 0.0).sum(axis=1)
    cost = np.where(kept, observation.cost_to_serve, 0.0).sum(axis=1)
    purchases = np.where(kept, observation.purchases, 0).sum(axis=1)
    total_revenue = float(revenue.sum())
    pooled = float(cost.sum()) / total_revenue if total_revenue > 0 else 0.0
    ticket = total_revenue / max(float(purchases.sum()), 1.0)
    w = prior_tickets * ticket
    share = np.divide(cost + w * pooled, revenue + w, out=np.full(revenue.size, pooled),
                      where=(revenue + w) > 0)
    return s.gross_margin - share


# ---------------------------------------------------------------------------- the parameters

@dataclass(frozen=True)
class _Layout:
    """Where each parameter sits in the fitted vector (all positive, natural scale).

    Four distribution parameters per segment, a service response theta for
    each segment whose customers got real service, and the two effects of
    turning a customer away if anyone was.
    """

    segments: int
    base: tuple[str, ...]
    served: tuple[int, ...]        # segments with a fitted theta
    turn_away: bool

    @property
    def names(self) -> list[str]:
        out = [f"{b}[{k}]" for k in range(self.segments) for b in self.base]
        out += [f"theta[{k}]" for k in self.served]
        if self.turn_away:
            out += ["m_lambda", "m_mu"]
        return out

    def split(self, p) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(segments x 4 base parameters, theta per segment, m_lambda, m_mu)."""
        p = np.asarray(p, dtype=float)
        n = 4 * self.segments
        base = p[:n].reshape(self.segments, 4)
        theta = np.zeros(self.segments)
        theta[list(self.served)] = p[n:n + len(self.served)]
        m_lambda, m_mu = (p[-2], p[-1]) if self.turn_away else (1.0, 1.0)
        return base, theta, float(m_lambda), float(m_mu)


def _treatment(h: _Histories, phi: float, theta: float, m_lambda: float, m_mu: float):
    """Per (row, turn) multipliers of the purchase rate (a) and dropout rate (b), and their derivatives.

    Returns:
        a, b (n, K) with the exposure folded in, and (da, db) per covariate
        parameter (theta, m_lambda, m_mu), each (n, K).
    """
    up = 1.0 + phi * theta * h.effect
    down = np.exp(-theta * h.effect)
    lam_factor = np.where(h.disengaged > 0, m_lambda, 1.0)
    mu_factor = np.where(h.disengaged > 0, m_mu, 1.0)
    a = h.exposed * up * lam_factor
    b = h.exposed * down * mu_factor
    zero = np.zeros_like(a)
    derivs = ((h.exposed * phi * h.effect * lam_factor, -h.effect * b),
              (h.exposed * up * h.disengaged, zero),
              (zero, h.exposed * down * h.disengaged))
    return a, b, derivs


def _covariate_term(h: _Histories, a: np.ndarray) -> np.ndarray:
    """Sum over turns of repeat purchases x ln(purchase-rate multiplier)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(np.where(h.repeat > 0, h.repeat * np.log(np.where(a > 0, a, 1.0)), 0.0), axis=1)


def _covariate_slope(h: _Histories, a: np.ndarray, da: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(np.where(a > 0, h.repeat * da / np.where(a > 0, a, 1.0), 0.0), axis=1)


# ---------------------------------------------------------------------------- Pareto/NBD

class _ParetoNBD:
    """Pareto/NBD with the treatment as a time-varying covariate (non-contractual), one class.

    Given lambda and mu, a customer alive through T with x repeat purchases
    has likelihood lambda^x prod(a) exp(-lambda A(T) - mu B(T)), where A and
    B are the turn sums of the multipliers; dying at tau in (t_x, T] adds
    mu b(tau) exp(-lambda A(tau) - mu B(tau)).  Integrated over the gammas:
    Gamma(r+x)/Gamma(r) alpha^r beta^s [ (alpha+A(T))^-(r+x) (beta+B(T))^-s
    + s int b(tau) (alpha+A(tau))^-(r+x) (beta+B(tau))^-(s+1) dtau ], the
    integral by Gauss-Legendre turn by turn.
    """

    base = ("r", "alpha", "s", "beta")

    def __init__(self, h: _Histories, phi: float, now: float):
        self.h, self.phi = h, phi
        # Nodes of the death-time integral over [last purchase, now], turn by turn,
        # kept only where that stretch overlaps the turn (most customers bought
        # recently, so a few turns each): one flat list, grouped by row.
        start = h.turn_start[None, :]
        lo = np.maximum(start, h.last_time[:, None])
        length = np.clip(np.minimum(start + 1.0, now) - lo, 0.0, None) * (h.exposed > 0)
        row, col = np.nonzero(length > 0)
        self.row = np.repeat(row, _NODES_PER_TURN)
        self.col = np.repeat(col, _NODES_PER_TURN)
        piece = length[row, col][:, None]
        self.offset = ((lo - start)[row, col][:, None] + piece * _GL_NODES).ravel()
        self.log_weight = np.log(piece * _GL_WEIGHTS).ravel()
        self.rows_with_nodes = np.unique(row)
        self.starts = np.searchsorted(self.row, self.rows_with_nodes)
        self.counts = np.diff(np.append(self.starts, self.row.size))

    def _at_nodes(self, per_turn: np.ndarray) -> np.ndarray:
        """A cumulative exposure (turn sums of ``per_turn`` before each node) at every node."""
        before = np.cumsum(per_turn, axis=1) - per_turn
        return before[self.row, self.col] + per_turn[self.row, self.col] * self.offset

    def parts(self, base, theta: float, m_lambda: float, m_mu: float, gradient: bool = False,
              covariates: bool = True):
        """Log-likelihood per row and what ``value`` needs; with ``gradient``, its slopes.

        With ``covariates`` False the slopes in theta, m_lambda and m_mu
        are left out (an empty list).

        Returns:
            (terms, state) or (terms, state, slopes in the four base
            parameters (n, 4), slopes in theta, m_lambda, m_mu (each (n,))).
        """
        h, row = self.h, self.row
        n = h.x.size
        r, alpha, s, beta = base
        a, b, derivs = _treatment(h, self.phi, theta, m_lambda, m_mu)
        a_total, b_total = a.sum(axis=1), b.sum(axis=1)
        a_at, b_at = self._at_nodes(a), self._at_nodes(b)
        rx = r + h.x
        la, lb = np.log(alpha + a_total), np.log(beta + b_total)
        lA, lB = np.log(alpha + a_at), np.log(beta + b_at)
        log_f = (self.log_weight + np.log(b[row, self.col]) + math.log(s) - lB
                 + rx[row] * (la[row] - lA) + s * (lb[row] - lB))
        # Per row, the log of the "died unseen" integral (-inf where there is no time to die in).
        level = np.full(n, -np.inf)
        if log_f.size:
            peak = np.maximum.reduceat(log_f, self.starts)
            shifted = np.exp(log_f - np.repeat(peak, self.counts))
            level[self.rows_with_nodes] = peak + np.log(np.add.reduceat(shifted, self.starts))
        unseen = np.logaddexp(0.0, level)
        terms = (special.gammaln(rx) - special.gammaln(r) + r * math.log(alpha) + s * math.log(beta)
                 - rx * la - s * lb + unseen + _covariate_term(h, a))
        state = dict(a_total=a_total, b_total=b_total, p_alive=np.exp(-unseen))
        if not gradient:
            return terms, state
        # Each node's share of the likelihood, times the share of "died unseen" in it.
        omega = np.exp(log_f - level[row]) * (1.0 - state["p_alive"])[row]

        def mean(values: np.ndarray) -> np.ndarray:
            return np.bincount(row, omega * values, minlength=n)

        inv_a, inv_b = 1.0 / (alpha + a_total), 1.0 / (beta + b_total)
        inv_A, inv_B = 1.0 / (alpha + a_at), 1.0 / (beta + b_at)
        g_base = np.column_stack([
            special.digamma(rx) - special.digamma(r) + math.log(alpha) - la + mean(la[row] - lA),
            r / alpha - rx * inv_a + mean(rx[row] * (inv_a[row] - inv_A)),
            math.log(beta) - lb + mean(1.0 / s + lb[row] - lB),
            s / beta - s * inv_b + mean(-inv_B + s * (inv_b[row] - inv_B)),
        ])
        g_cov = []
        for da, db in (derivs if covariates else ()):
            da_total, db_total = da.sum(axis=1), db.sum(axis=1)
            dA, dB = self._at_nodes(da), self._at_nodes(db)
            inside = (db[row, self.col] / b[row, self.col] - dB * inv_B
                      + rx[row] * (da_total[row] * inv_a[row] - dA * inv_A)
                      + s * (db_total[row] * inv_b[row] - dB * inv_B))
            g_cov.append(-rx * da_total * inv_a - s * db_total * inv_b + _covariate_slope(h, a, da)
                         + mean(inside))
        return terms, state, g_base, g_cov

    def dropout_data(self, base, theta: float, m_lambda: float, m_mu: float, segment: int = 0):
        """The class-free likelihood pieces a mixture of dropout gammas needs, and A(T) per row.

        Everything but the dropout distribution is held at ``base`` (its
        purchase-rate gamma) and the treatment.

        Returns:
            (``dropout_mixture.DropoutData`` with every row in ``segment``,
            purchase-rate exposure A(T) (n,)).
        """
        h, row = self.h, self.row
        r, alpha, _, _ = base
        a, b, _ = _treatment(h, self.phi, theta, m_lambda, m_mu)
        a_total = a.sum(axis=1)
        rx = r + h.x
        node_log = (self.log_weight + np.log(b[row, self.col])
                    + rx[row] * (np.log(alpha + a_total)[row] - np.log(alpha + self._at_nodes(a))))
        data = dropout_mixture.DropoutData(np.full(h.x.size, segment, dtype=np.int64), b.sum(axis=1),
                                           row, self._at_nodes(b), node_log)
        return data, a_total

    def value(self, base, theta, m_lambda, m_mu, worth, discount_rate, mixture=None, segment=0):
        """(expected future contribution, its second moment, P(alive)) per row, neutral policy.

        ``worth`` is each customer's expected contribution per purchase,
        dollars; ``mixture`` (a ``dropout_mixture.DropoutMixture``) replaces
        the single gamma of dropout rates in ``base`` when given, these
        rows being its segment ``segment``.
        """
        r, alpha, s, beta = base
        rx = r + self.h.x
        if mixture is not None:
            data, a_total = self.dropout_data(base, theta, m_lambda, m_mu, segment)
            lam = rx / (alpha + a_total)
            lam2 = rx * (rx + 1.0) / (alpha + a_total) ** 2
            p, first, second = dropout_mixture.posterior(
                data, mixture, lambda mu: _annuity(mu, discount_rate, contractual=False), _PROBS)
            return lam * first * worth, lam2 * second * worth ** 2, p
        _, st = self.parts(base, theta, m_lambda, m_mu)
        lam = rx / (alpha + st["a_total"])
        lam2 = rx * (rx + 1.0) / (alpha + st["a_total"]) ** 2
        # mu | alive ~ Gamma(s, beta + B(T)): the scorer's annuity averaged over its quantiles.
        mu = special.gammaincinv(s, _PROBS)[None, :] / (beta + st["b_total"])[:, None]
        f = _annuity(mu, discount_rate, contractual=False)
        p = st["p_alive"]
        value = p * lam * f.mean(axis=1) * worth
        second = p * lam2 * (f * f).mean(axis=1) * worth ** 2
        return value, second, p


# ---------------------------------------------------------------------------- sBG (members)

class _MemberModel:
    """sBG churn and gamma-Poisson add-ons, with the treatment as a covariate (contractual).

    Churn p ~ Beta(alpha, beta); a member renews a turn of multiplier b
    with probability (1 - p)^b, so surviving turns of total exposure S has
    probability B(alpha, beta + S) / B(alpha, beta).  Add-on purchases are
    Poisson(lambda a) a turn, lambda ~ Gamma(r, gamma).
    """

    base = ("alpha", "beta", "r", "gamma")

    def __init__(self, h: _Histories, phi: float, fee: float):
        self.h, self.phi, self.fee = h, phi, fee
        last = np.where(h.exposed > 0, np.arange(h.exposed.shape[1])[None, :], -1).max(axis=1)
        self.last = np.maximum(last, 0)

    def parts(self, base, theta, m_lambda, m_mu, gradient: bool = False):
        h = self.h
        alpha, beta, r, gamma = base
        a, b, derivs = _treatment(h, self.phi, theta, m_lambda, m_mu)
        rows = np.arange(b.shape[0])
        cancelled = h.cancelled
        exposure = b.sum(axis=1)
        before = exposure - np.where(cancelled, b[rows, self.last], 0.0)
        stay = special.betaln(alpha, beta + exposure)
        kept_before = special.betaln(alpha, beta + before)
        u = np.minimum(stay - kept_before, -1e-300)
        with np.errstate(divide="ignore", invalid="ignore"):
            churned = kept_before + np.log(-np.expm1(u))
        churn = np.where(cancelled, churned, stay) - special.betaln(alpha, beta)
        a_total = a.sum(axis=1)
        rx = r + h.x
        addons = (special.gammaln(rx) - special.gammaln(r) + r * math.log(gamma)
                  - rx * np.log(gamma + a_total) + _covariate_term(h, a))
        state = dict(b_total=exposure, a_total=a_total, p_alive=(~cancelled).astype(float))
        terms = churn + addons
        if not gradient:
            return terms, state
        psi = special.digamma
        # d lnB(alpha, y) / d alpha = psi(alpha) - psi(alpha + y); / d y = psi(y) - psi(alpha + y).
        dy_stay = psi(beta + exposure) - psi(alpha + beta + exposure)
        dy_before = psi(beta + before) - psi(alpha + beta + before)
        odds = np.exp(u) / -np.expm1(u)             # e^u / (1 - e^u)
        d_alpha = np.where(cancelled,
                           psi(alpha) - psi(alpha + beta + before)
                           - odds * (psi(alpha + beta + before) - psi(alpha + beta + exposure)),
                           psi(alpha) - psi(alpha + beta + exposure)) - (psi(alpha) - psi(alpha + beta))
        d_beta = np.where(cancelled, dy_before - odds * (dy_stay - dy_before),
                          dy_stay) - (psi(beta) - psi(alpha + beta))
        g_base = np.column_stack([
            d_alpha, d_beta,
            psi(rx) - psi(r) + math.log(gamma) - np.log(gamma + a_total),
            r / gamma - rx / (gamma + a_total)])
        g_cov = []
        for da, db in derivs:
            d_exposure = db.sum(axis=1)
            d_before = d_exposure - np.where(cancelled, db[rows, self.last], 0.0)
            d_churn = np.where(cancelled,
                               dy_before * d_before - odds * (dy_stay * d_exposure - dy_before * d_before),
                               dy_stay * d_exposure)
            g_cov.append(d_churn - rx * da.sum(axis=1) / (gamma + a_total) + _covariate_slope(h, a, da))
        return terms, state, g_base, g_cov

    def value(self, base, theta, m_lambda, m_mu, worth, discount_rate, mixture=None, segment=0):
        """As ``_ParetoNBD.value``; ``worth`` is (contribution per add-on, per fee) pairs."""
        _, st = self.parts(base, theta, m_lambda, m_mu)
        alpha, beta, r, gamma = base
        per_addon, per_fee = worth
        rx = r + self.h.x
        lam = rx / (gamma + st["a_total"])
        lam2 = rx * (rx + 1.0) / (gamma + st["a_total"]) ** 2
        alive = ~self.h.cancelled
        _, b, _ = _treatment(self.h, self.phi, theta, m_lambda, m_mu)
        annuity, annuity2 = _latent_class_annuity(self.h, b, self.last, discount_rate)
        per_turn = per_fee + lam * per_addon
        per_turn2 = per_fee ** 2 + 2 * per_fee * lam * per_addon + lam2 * per_addon ** 2
        value = np.where(alive, annuity * per_turn, 0.0)
        second = np.where(alive, annuity2 * per_turn2, 0.0)
        return value, second, st["p_alive"]


def _latent_class_annuity(h: _Histories, b: np.ndarray, last: np.ndarray, discount_rate: float):
    """E[annuity] and E[annuity^2] of each member under a latent-class churn model, neutral policy.

    The sBG's one Beta over a base that mixes channels of very different
    members (committed cooks from referrals churning 5% a month, busy
    families from partnerships 12%, promo hoppers 40%) has a shape near 1:
    it puts mass at zero churn the data cannot rule out, and gives every
    member of the same tenure the same future, so a busy family who has
    stayed a year is valued like a committed cook -- the annuity 1/(p + d)
    at d = 0.8% a month makes that tail the estimate (+12% to +37% on the
    customer-centric reference's meal-kit games).  As in
    ``sim.analytics.retention``, members here belong to a few classes with
    churn p_k shared by all, in a mix pi_{c,k} per acquisition channel; the
    treatment enters as in the sBG fit: a turn with dropout multiplier b is
    survived with probability (1 - p)^b.  Fitted by EM (the M-step counts a
    cancelling turn as one period, exact where b = 1) with the retention
    model's weak prior toward the base's churn rate; the survivors are then
    valued with no treatment: sum_k P(k | history) v / (1 - v (1 - p_k)).

    Args:
        h: the members' histories.
        b: (members, turns) dropout multipliers of the fitted treatment, exposure folded in.
        last: each member's last turn column as a member.
        discount_rate: per turn.

    Returns:
        (annuity, annuity^2) per member (0 for members who cancelled).
    """
    rows = np.arange(b.shape[0])
    cancelled = h.cancelled.astype(float)
    b_last = np.where(h.cancelled, b[rows, last], 0.0)
    before = b.sum(axis=1) - b_last
    periods = before + cancelled                 # periods at risk, a cancelling turn counted as one
    channel = h.channel
    segments = int(channel.max()) + 1
    base_rate = float(cancelled.sum()) / max(float(periods.sum()), 1.0)
    base_rate = min(max(base_rate, 1e-3), 0.9)
    classes = retention.CLASSES
    p = np.geomspace(max(base_rate / 4, 1e-3), min(base_rate * 4, 0.9), classes)
    weights = np.full((segments, classes), 1.0 / classes)
    previous = -np.inf
    for _ in range(_EM_ITERATIONS):
        stay = np.log1p(-p)
        with np.errstate(divide="ignore"):
            leave = np.log(-np.expm1(b_last[:, None] * stay[None, :]))
        log_lik = before[:, None] * stay[None, :] + np.where(h.cancelled[:, None], leave, 0.0)
        joint = np.log(weights[channel]) + log_lik
        top = joint.max(axis=1, keepdims=True)
        total = top[:, 0] + np.log(np.exp(joint - top).sum(axis=1))
        resp = np.exp(joint - total[:, None])
        weights = np.zeros((segments, classes))
        np.add.at(weights, channel, resp)
        weights = (weights + 1e-3) / (weights + 1e-3).sum(axis=1, keepdims=True)
        p = np.clip((resp.T @ cancelled + retention.PRIOR_TURNS * base_rate)
                    / (resp.T @ periods + retention.PRIOR_TURNS), 1e-4, 0.999)
        value = float(total.sum())
        if value - previous < 1e-9 * max(abs(value), 1.0):
            break
        previous = value
    joint = np.log(weights[channel]) + before[:, None] * np.log1p(-p)[None, :]
    joint -= joint.max(axis=1, keepdims=True)
    post = np.exp(joint)
    post /= post.sum(axis=1, keepdims=True)
    f = _annuity(-np.log1p(-p), discount_rate, contractual=True)
    alive = ~h.cancelled
    return np.where(alive, post @ f, 0.0), np.where(alive, post @ (f * f), 0.0)


def _annuity(mu: np.ndarray, discount_rate: float, contractual: bool) -> np.ndarray:
    """Expected discounted turns of activity from now on, each turn discounted at its end.

    The scorer's annuity (``sim.valuation.annuity_factor``), restated here
    because the lab does not import the engine's valuation.
    """
    v = 1.0 / (1.0 + discount_rate)
    if contractual:
        exposure = np.ones_like(mu)
    else:
        safe = np.where(mu > 1e-12, mu, 1.0)
        exposure = np.where(mu > 1e-12, -np.expm1(-mu) / safe, 1.0)
    return exposure * v / (1.0 - v * np.exp(-mu))


# ---------------------------------------------------------------------------- segments

class _Segments:
    """One model per segment of customers (acquisition channels), fitted together.

    Each segment has its own rate distributions and response to service;
    the effects of turning customers away are shared.
    """

    def __init__(self, h: _Histories, segment: np.ndarray, layout: _Layout, make_model,
                 weight: np.ndarray | None = None):
        self.layout = layout
        self.rows = [np.flatnonzero(segment == k) for k in range(layout.segments)]
        self.models = [make_model(h.rows(rows)) for rows in self.rows]
        self.size = segment.size
        # Each row stands for ``weight`` customers of its stratum (see ``_fit_rows``).
        self.weight = np.ones(self.size) if weight is None else np.asarray(weight, dtype=float)
        self.weights = [self.weight[rows] for rows in self.rows]

    def log_likelihood(self, p, gradient: bool = False):
        """Log-likelihood per customer; with ``gradient``, (their weighted sum, the slope in ``p``)."""
        layout = self.layout
        base, theta, m_lambda, m_mu = layout.split(p)
        terms = np.zeros(self.size)
        slope_base, slope_theta, slope_away = [], [], np.zeros(2)
        for k, (rows, w, model) in enumerate(zip(self.rows, self.weights, self.models)):
            part = model.parts(base[k], theta[k], m_lambda, m_mu, gradient)
            terms[rows] = part[0]
            if gradient:
                slope_base.append(w @ part[2])
                slope_theta.append(w @ part[3][0])
                slope_away += [w @ part[3][1], w @ part[3][2]]
        if not gradient:
            return terms
        prior, prior_slope = _shape_prior(base, layout)
        out = list(np.concatenate(slope_base) + prior_slope) + [slope_theta[k] for k in layout.served]
        if layout.turn_away:
            out += list(slope_away)
        return float(self.weight @ terms) + prior, np.array(out)

    def scores(self, p) -> np.ndarray:
        """Each row's slope of its own log-likelihood in ``p`` (rows, parameters), unweighted."""
        layout = self.layout
        base, theta, m_lambda, m_mu = layout.split(p)
        served = list(layout.served)
        out = np.zeros((self.size, len(layout.names)))
        for k, (rows, model) in enumerate(zip(self.rows, self.models)):
            part = model.parts(base[k], theta[k], m_lambda, m_mu, True)
            out[rows, 4 * k:4 * k + 4] = part[2]
            if k in served:
                out[rows, 4 * layout.segments + served.index(k)] = part[3][0]
            if layout.turn_away:
                out[rows, -2], out[rows, -1] = part[3][1], part[3][2]
        return out

    def value(self, p, worth, discount_rate, mixture=None):
        """(expected value, variance, P(alive)) per customer, neutral policy.

        ``mixture``: the segments' dropout rates (``dropout_mixture``),
        replacing the gammas in ``p`` (None: those gammas).
        """
        base, theta, m_lambda, m_mu = self.layout.split(p)
        value, variance, alive = np.zeros(self.size), np.zeros(self.size), np.zeros(self.size)
        for k, (rows, model) in enumerate(zip(self.rows, self.models)):
            mine = tuple(w[rows] for w in worth) if isinstance(worth, tuple) else worth[rows]
            v, second, p_alive = model.value(base[k], theta[k], m_lambda, m_mu, mine, discount_rate,
                                             mixture, k)
            value[rows], variance[rows], alive[rows] = v, np.maximum(second - v ** 2, 0.0), p_alive
        return value, variance, alive


def _shape_prior(base: np.ndarray, layout: _Layout) -> tuple[float, np.ndarray]:
    """A weak log-normal prior on each segment's dropout heterogeneity s (Pareto/NBD only).

    A few years of data rarely pin down how much dropout rates differ
    between customers: the likelihood is nearly flat along s at a fixed
    mean rate s/beta.  Left alone, the fit may run to "everyone leaves at
    the same rate" (s -> infinity) or to "some never leave" (s -> 0), and
    the equity's tail with it, by half either way.  The prior
    ln s ~ N(ln SHAPE_PRIOR_MEDIAN, SHAPE_PRIOR_SD^2) only matters where
    the data are silent.

    Returns:
        (log prior density, its slope in each base parameter, flattened).
    """
    slope = np.zeros(base.shape)
    if layout.base != _ParetoNBD.base:
        return 0.0, slope.ravel()
    s = base[:, 2]
    z = (np.log(s) - math.log(SHAPE_PRIOR_MEDIAN)) / SHAPE_PRIOR_SD
    slope[:, 2] = -z / (SHAPE_PRIOR_SD * s)
    return float(-0.5 * np.sum(z * z)), slope.ravel()


def _segments(observation: Observation) -> tuple[np.ndarray, tuple[str, ...]]:
    """Segment of each row: its channel, split by a profile tag that tells buyers apart.

    Channels with fewer than ``MIN_SEGMENT_CUSTOMERS`` customers share one
    segment (or join the largest channel's if even together they are too
    few).  If some profile tag's values differ in purchase rate by at least
    ``TAG_SPLIT_RATIO`` (a coffee chain's morning regulars against its
    evening passers-by), each channel segment is split by that tag, small
    pieces joining their channel's largest; a tag that says little about
    the customer would only add noise.  In a member business everyone is
    one segment.
    """
    names = observation.scenario.customer_channel_names
    channel = observation.channel.astype(np.int64)
    if observation.scenario.contractual:
        # A beta's tail fitted to part of the base extrapolates members who
        # never leave far beyond what the data show; pooled, it does not.
        return np.zeros(channel.size, dtype=np.int64), ("all channels",)
    counts = np.bincount(channel, minlength=len(names))
    order = sorted(range(len(names)), key=lambda i: -counts[i])
    big = [i for i in order if counts[i] >= MIN_SEGMENT_CUSTOMERS]
    small = [i for i in order if 0 < counts[i] < MIN_SEGMENT_CUSTOMERS]
    groups = [[i] for i in big]
    if small and (counts[small].sum() >= MIN_SEGMENT_CUSTOMERS or not groups):
        groups.append(small)
    elif small:
        groups[0] += small
    index = np.zeros(len(names), dtype=np.int64)
    for k, group in enumerate(groups):
        index[group] = k
    segment = index[channel]
    labels = [" + ".join(names[i] for i in group) for group in groups]
    tag = _telling_tag(observation)
    if tag is None:
        return segment, tuple(labels)
    values = observation.scenario.profile[[t.name for t in observation.scenario.profile].index(tag)].values
    codes = observation.tags[tag].astype(np.int64)
    pieces, piece_labels = np.empty_like(segment), []
    for k, label in enumerate(labels):
        rows = segment == k
        sizes = np.bincount(codes[rows], minlength=len(values))
        keep = [v for v in range(len(values)) if sizes[v] >= MIN_SEGMENT_CUSTOMERS]
        if len(keep) < 2:
            pieces[rows] = len(piece_labels)
            piece_labels.append(label)
            continue
        largest = max(keep, key=lambda v: sizes[v])
        first = len(piece_labels)
        for v in keep:
            piece_labels.append(f"{label}, {tag} {values[v]}")
        where = {v: first + keep.index(v) for v in keep}
        pieces[rows] = [where.get(v, where[largest]) for v in codes[rows]]
    return pieces, tuple(piece_labels)


def _telling_tag(observation: Observation) -> str | None:
    """The profile tag whose values differ most in repeat purchases per turn, if by ``TAG_SPLIT_RATIO``."""
    columns = observation.columns
    rate = columns["frequency"] / np.maximum(columns["age"], 1.0)
    best, best_ratio = None, TAG_SPLIT_RATIO
    for name, codes in observation.tags.items():
        codes = codes.astype(np.int64)
        sizes = np.bincount(codes)
        means = np.bincount(codes, rate) / np.maximum(sizes, 1)
        means = means[sizes >= MIN_SEGMENT_CUSTOMERS]
        if means.size >= 2 and means.min() > 0 and means.max() / means.min() >= best_ratio:
            best, best_ratio = name, means.max() / means.min()
    return best


# ---------------------------------------------------------------------------- the estimate

def estimate_equity(observation: Observation, service_effect: np.ndarray, disengaged: np.ndarray,
                    warm_start: FitResult | None = None,
                    per_segment: int = FIT_CUSTOMERS_PER_SEGMENT) -> EquityEstimate:
    """The customer equity the scorer would count, estimated from observable data and the treatment.

    Args:
        observation: what the firm has seen (at least one turn of history).
        service_effect: (customers, turn columns) the service curve's effect
            g(e) of what each customer got each turn (0 where nothing).
        disengaged: (customers, turn columns) True where the customer was turned away.
        warm_start: an earlier fit of the same shape to start the search from
            (e.g. last turn's ``EquityEstimate.fit``).
        per_segment: customers per segment used to fit (a fixed stride;
            predictions cover everyone).

    Returns:
        The estimate, dollars at the start of ``observation.turn``.

    Raises:
        DataError: too little history to fit (no repeat purchases or no renewals).
    """
    s = observation.scenario
    n = observation.n_customers
    if n == 0:
        raise DataError("no customers yet: nothing to estimate")
    effect = np.asarray(service_effect, dtype=float)
    off = np.asarray(disengaged, dtype=bool)
    if effect.shape != observation.purchases.shape or off.shape != effect.shape:
        raise ValueError(f"the treatment must be one value per customer and turn column "
                         f"{observation.purchases.shape}, got {effect.shape} and {off.shape}")
    # A dollar or two a head on the S-shaped curve changes nobody: no effect to estimate.
    effect = np.where(effect >= _MIN_EFFECT, effect, 0.0)
    h = _histories(observation, effect, off)
    segment, labels = _segments(observation)
    if s.contractual:
        per_segment *= 4
    treated = ((h.effect * h.exposed).max(axis=1) > 0) | (off & (h.exposed > 0)).any(axis=1)
    rows, weight = _fit_rows(segment, treated, len(labels), per_segment)
    _check_enough(h.rows(rows), s.contractual)
    served = np.bincount(segment[rows], (h.effect[rows] * h.exposed[rows]).max(axis=1) > 0,
                         minlength=len(labels))
    model_type = _MemberModel if s.contractual else _ParetoNBD
    layout = _Layout(len(labels), model_type.base,
                     served=tuple(int(k) for k in np.flatnonzero(served >= _MIN_SERVED)),
                     turn_away=bool((off[rows] & (h.exposed[rows] > 0)).any()))

    def make_model(part: _Histories):
        if s.contractual:
            return _MemberModel(part, s.service.purchase_boost, s.membership_fee)
        return _ParetoNBD(part, s.service.purchase_boost, observation.now)

    def segments_of(rows, weight=None) -> _Segments:
        return _Segments(h.rows(rows), segment[rows], layout, make_model, weight)

    if warm_start is not None and list(warm_start.params) == layout.names:
        start = [warm_start.params[k] for k in layout.names]
    else:
        start = _start(layout, h.rows(rows), segment[rows], s.contractual)
        # Most of the search happens far from the optimum, where a quarter of
        # the rows points the same way; the full sample then only polishes.
        rough = _fit(segments_of(rows[::4], 4.0 * weight[::4]), start, standard_errors=False)
        if rough.converged:
            start = [rough.params[k] for k in layout.names]
    fit = _fit(segments_of(rows, weight), start)

    worth = _worth(observation, off)
    point = np.array([fit.params[k] for k in layout.names])
    mixture = None if s.contractual else _dropout_mixture(h, segment, layout, point, make_model)
    value, variance, p_alive = segments_of(np.arange(n)).value(point, worth, s.discount_rate, mixture)
    value = value + _referral_value(observation)
    total = float(value.sum())
    sample = _stride(n, _SIGMA_CUSTOMERS)
    sample_worth = tuple(w[sample] for w in worth) if s.contractual else worth[sample]
    spread = _parameter_spread(segments_of(sample), fit, sample_worth, s.discount_rate, total, mixture)
    sd = math.sqrt(float(variance.sum()) + spread ** 2)
    z = float(special.ndtri(0.5 + LEVEL / 2))
    _, theta, _, _ = layout.split(point)
    return EquityEstimate(total, total - z * sd, total + z * sd, value, p_alive,
                          tuple(float(t) for t in theta), labels, fit)


def _referral_value(observation: Observation) -> np.ndarray:
    """Each customer's predicted CRV and the friends it referred last turn, dollars.

    The score's terminal equity counts the alive customers' future
    referrals and the friends referred in the last turn, who join in the
    next: the lab's CRV (``referral_nbd``) and one more turn of each active
    customer's expected referrals.  0 everywhere without referrals (or
    before anyone has referred anyone).
    """
    zeros = np.zeros(observation.n_customers)
    if observation.referrals is None:
        return zeros
    try:
        found = referral_nbd.forecast(observation, predict_clv(observation))
    except DataError:
        return zeros
    if found is None:
        return zeros
    last_turn = np.asarray(observation.active, dtype=float)
    return found.rate * (found.turns + last_turn) * found.friend


def _dropout_mixture(h: _Histories, segment: np.ndarray, layout: _Layout, point: np.ndarray,
                     make_model) -> dropout_mixture.DropoutMixture:
    """The segments' dropout rates refitted, everything else held at ``point``.

    See ``sim.analytics.dropout_mixture``: one gamma of dropout per segment,
    over a mix of kinds of customer, takes a small shape whose near-immortal
    tail the annuity values; a few gamma classes shared by the segments, in
    a mix per segment, replace the segments' gammas where the BIC says so.
    """
    base, theta, m_lambda, m_mu = layout.split(point)
    parts = []
    for k in range(layout.segments):
        idx = np.flatnonzero(segment == k)
        rows = idx[_stride(idx.size, MIXTURE_CUSTOMERS_PER_SEGMENT)]
        parts.append(make_model(h.rows(rows)).dropout_data(base[k], theta[k], m_lambda, m_mu, k)[0])
    return dropout_mixture.fit(dropout_mixture.DropoutData.join(parts), layout.segments,
                               base[:, 2], base[:, 3])


def _fit_rows(segment: np.ndarray, treated: np.ndarray, segments: int,
              per_segment: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows the models are fitted on, and how many customers each stands for.

    At most ``per_segment`` rows per segment, a fixed stride through each of
    two strata: the customers the firm treated (served or turned away at
    least once), up to half the rows, and the rest.  Only the treated tell
    the fit how customers respond to service and to being turned away; a
    stride through the whole segment left the response to the hundred or
    so it happened to hit (a direct seller's response estimated at zero
    where the served have 0.56).  Each row is weighted by its stratum's
    size over the rows taken from it, so the weighted likelihood stands for
    every customer's.
    """
    chosen, weights = [], []
    for k in range(segments):
        mine = segment == k
        taken = 0
        for group, limit in ((True, per_segment // 2), (False, None)):
            idx = np.flatnonzero(mine & (treated == group))
            if idx.size == 0:
                continue
            take = idx[_stride(idx.size, limit if limit is not None else per_segment - taken)]
            if take.size == 0:
                continue
            taken += take.size
            chosen.append(take)
            weights.append(np.full(take.size, idx.size / take.size))
    rows = np.concatenate(chosen)
    order = np.argsort(rows)
    return rows[order], np.concatenate(weights)[order]


def _worth(observation: Observation, disengaged: np.ndarray):
    """Each customer's expected contribution per future purchase (and per fee, for members), dollars."""
    margin = neutral_margin_share(observation, disengaged)
    spend = _expected_spend(observation)
    if observation.scenario.contractual:
        return spend * margin, observation.scenario.membership_fee * margin
    return spend * margin


def _stride(size: int, limit: int) -> np.ndarray:
    """Row indices of an evenly strided sample of at most ``limit`` rows (no random draw)."""
    if size <= limit:
        return np.arange(size)
    return np.linspace(0, size - 1, limit).round().astype(np.int64)


def _check_enough(h: _Histories, contractual: bool) -> None:
    """Refuse a fit the data cannot support (DataError)."""
    if contractual:
        if not (h.cancelled.any() and (h.exposed.sum(axis=1) > 1).any()):
            raise DataError("no member has renewed and none has cancelled yet: nothing to fit")
    elif not (h.x > 0).any():
        raise DataError("no customer has bought twice yet: nothing to fit")


def _start(layout: _Layout, h: _Histories, segment: np.ndarray, contractual: bool) -> list[float]:
    """Moment guesses per segment: the observed purchase rate, a lifetime as long as the data."""
    start = []
    for k in range(layout.segments):
        rows = segment == k
        exposure = max(float(h.exposed[rows].sum()), 1.0)
        rate = max(float(h.x[rows].sum()) / exposure, 1e-3)
        age = max(exposure / max(int(rows.sum()), 1), 1.0)
        # (alpha, beta, r, gamma) for members; (r, alpha, s, beta) otherwise.
        start += [1.0, age, 1.0, 1.0 / rate] if contractual else [1.0, 1.0 / rate, 1.0, age]
    start += [0.5] * len(layout.served)
    if layout.turn_away:
        start += [0.5, 2.0]
    return start


def _coordinates(layout: _Layout) -> np.ndarray:
    """The Pareto/NBD's (ln s, ln s/beta) ridge coordinates for every segment (see pareto_nbd)."""
    matrix = np.eye(len(layout.names))
    if layout.base[2:] == ("s", "beta"):
        for k in range(layout.segments):
            matrix[4 * k + 3, 4 * k + 2], matrix[4 * k + 3, 4 * k + 3] = 1.0, -1.0
    return matrix


def _fit(segments: _Segments, start: list[float], standard_errors: bool = True) -> FitResult:
    """Maximum likelihood over the log parameters (ridge coordinates), then the covariance.

    The search stops at a relative change of 1e-9 in the mean log-likelihood
    per customer: far below what moves the estimate by a dollar, and a third
    of the steps the lab's strict tolerance takes on these flat surfaces.
    """
    names = segments.layout.names
    n = max(float(segments.weight.sum()), 1.0)
    matrix = _coordinates(segments.layout)

    def log_likelihood_and_gradient(p: np.ndarray):
        return segments.log_likelihood(p, gradient=True)

    def objective(u: np.ndarray):
        p = np.exp(matrix @ u)
        with np.errstate(all="ignore"):
            value, slope = log_likelihood_and_gradient(p)
        if not (np.isfinite(value) and np.all(np.isfinite(slope))):
            return 1e100, np.zeros_like(u)
        return -value / n, -matrix.T @ (slope * p) / n

    u0 = np.linalg.solve(matrix, np.log(np.asarray(start, dtype=float)))
    result = optimize.minimize(objective, u0, jac=True, method="L-BFGS-B",
                               bounds=[(-12.0, 12.0)] * u0.size,
                               options={"ftol": 1e-9, "gtol": 1e-6, "maxiter": 400})
    estimate = np.exp(matrix @ result.x)
    with np.errstate(all="ignore"):
        value = log_likelihood_and_gradient(estimate)[0]
    covariance = None
    if standard_errors:
        with np.errstate(all="ignore"):
            hessian = hessian_from_gradient(lambda p: -log_likelihood_and_gradient(p)[1], estimate)
        covariance = inverse_if_positive_definite(hessian)
        if covariance is not None and np.any(segments.weight != 1.0):
            # Weighted rows stand for many customers each: the inverse Hessian alone would
            # credit the fit with every customer's evidence.  The sandwich H^-1 (sum w^2 g g') H^-1
            # measures the sample's own spread.
            with np.errstate(all="ignore"):
                scores = segments.scores(estimate) * segments.weight[:, None]
            meat = scores.T @ scores
            if np.all(np.isfinite(meat)):
                covariance = covariance @ meat @ covariance
    errors = np.sqrt(np.diag(covariance)) if covariance is not None else np.full(len(names), np.nan)
    converged = bool(np.isfinite(value)) and result.fun < 1e99
    return FitResult({k: float(v) for k, v in zip(names, estimate)},
                     {k: float(v) for k, v in zip(names, errors)}, float(value), int(n),
                     converged, covariance)


def _expected_spend(observation: Observation) -> np.ndarray:
    """Gamma-Gamma expected spend per future purchase (repeat purchases), dollars."""
    summary = summarise_observation(observation)
    x, z = summary.frequency, summary.monetary_value
    rows = _stride(x.size, _SPEND_CUSTOMERS)
    try:
        spend_fit = gamma_gamma.fit(x[rows], z[rows])
    except DataError:
        # Nobody has bought twice: the first purchases are all there is to go on.
        return np.full(x.size, float(np.mean(observation.first_spend)))
    return gamma_gamma.expected_spend(spend_fit, x, z)


def _parameter_spread(segments: _Segments, fit: FitResult, worth, discount_rate: float,
                      total: float, mixture=None) -> float:
    """Standard deviation of the total from the fit's parameter uncertainty, dollars.

    The delta method by central differences along the columns of the
    covariance's Cholesky factor (in log parameters, so every point stays
    positive): one standard deviation each way, which sums the squared
    half-differences to the linearised variance.  Evaluated on the customers
    of ``segments`` (a stride) and scaled to the whole total.
    """
    cov = fit.covariance
    if cov is None or not np.all(np.isfinite(cov)) or total == 0:
        return 0.0
    point = np.array([fit.params[k] for k in segments.layout.names])
    root = _root(cov / np.outer(point, point))
    if root is None:
        return 0.0

    def subtotal(p: np.ndarray, dropout=mixture) -> float:
        with np.errstate(all="ignore"):
            return float(segments.value(p, worth, discount_rate, dropout)[0].sum())

    centre = subtotal(point)
    if not centre:
        return 0.0
    half = [subtotal(point * np.exp(root[:, j])) - subtotal(point * np.exp(-root[:, j]))
            for j in range(point.size)]
    if mixture is not None and mixture.covariance is not None:
        # The refitted dropout rates' own uncertainty (the fit's s and beta are not used then).
        mixture_root = _root(mixture.covariance)
        if mixture_root is not None:
            u = mixture.u
            half += [subtotal(point, mixture.at(u + mixture_root[:, j]))
                     - subtotal(point, mixture.at(u - mixture_root[:, j])) for j in range(u.size)]
    half = np.array(half) / 2.0
    if not np.all(np.isfinite(half)):
        return abs(total)
    return float(np.sqrt(np.sum(half ** 2)) * abs(total / centre))


def _root(cov: np.ndarray) -> np.ndarray | None:
    """The Cholesky factor of a covariance in log parameters, each step at most a factor e^3.

    A parameter the data hardly pin down (a ridge) has a huge log-scale
    deviation: a step of more than a factor e^3 would leave the model's
    range, and the spread is then "large" anyway.
    """
    try:
        root = np.linalg.cholesky(cov + 1e-12 * np.eye(cov.shape[0]))
    except np.linalg.LinAlgError:
        return None
    return np.clip(root, -3.0, 3.0)
