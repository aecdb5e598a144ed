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
service and turning away), and a gamma-Poisson model for add-on purchases.
The members are then valued by a few latent classes (``_member_classes``):
one Beta over members who churn 5% and 40% a month puts mass on near-zero
churn that the annuity's convexity turns into value, and a member's tenure
and channel alone give a loyal big spender the future of the leavers she
joined with (a fitness studio's devotees, churning 4% a month and buying
an add-on of $90 a month, were valued at half their worth).  So each class
has its own churn (a Beta, its shape set: two years of renewals do not say
how much churn varies within a class), add-on rate, ticket, referral rate
and profile-tag shares, in a mix per channel, and a member's class
posterior reads all of them: usage predicts churn in a contractual
business (Ascarza & Hardie 2013).  Friends a member will bring are valued
by the same classes (``_member_referral_value``): what a new member of the
class it will be is worth, its own friends in turn.

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
seller (before the stratified fit: +20% / +38% and +6% / +25% in the
department store and the direct seller); with the member classes +3% /
+10% in the meal kit and +3% / +22% in the fitness studio (valued by
churn classes read from channel and tenure alone: -8% / -21% and -15% /
-39%).  The members' value leans on the classes' churn shape, which the
data do not pin down: at 1.5, 2.25, 2.5 and 3 the studio's mean / worst
is +23% / +51%, -4% / -22%, -8% / -26% and -15% / -31%.

The uncertainty shown is statistical: the fits' covariance propagated by
the delta method (central differences along the covariance's Cholesky
columns) plus the spread of each customer's own posterior.  It does not
cover the models' assumptions, nor, for members, the member classes' own
fit (the sigma points keep the point's classes), so it is narrow there.
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
from ..unique import rows_of_ids

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
#: Latent classes of members (``_member_classes``).
MEMBER_CLASSES = 3
#: The Beta shape of churn within a member class: not identified by two years of renewals, so set.
MEMBER_CHURN_SHAPE = 2.0
#: Ridge on the member classes' logits (they are defined up to a constant).
_RIDGE = 1e-3
#: Members the classes are fitted on (a fixed stride; every member's posterior is read).
MEMBER_FIT_ROWS = 10_000
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
        referrals: each customer row's referral part of ``per_customer``
            (its future referrals and last turn's friends), dollars.
    """

    total: float
    low: float
    high: float
    per_customer: np.ndarray
    p_alive: np.ndarray
    service_response: tuple[float, ...]
    segments: tuple[str, ...]
    fit: FitResult
    referrals: np.ndarray | None = None

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
                data, mixture, lambda mu: _annuity(mu, discount_rate), _PROBS)
            return lam * first * worth, lam2 * second * worth ** 2, p
        _, st = self.parts(base, theta, m_lambda, m_mu)
        lam = rx / (alpha + st["a_total"])
        lam2 = rx * (rx + 1.0) / (alpha + st["a_total"]) ** 2
        # mu | alive ~ Gamma(s, beta + B(T)): the scorer's annuity averaged over its quantiles.
        mu = special.gammaincinv(s, _PROBS)[None, :] / (beta + st["b_total"])[:, None]
        f = _annuity(mu, discount_rate)
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
    Poisson(lambda a) a turn, lambda ~ Gamma(r, gamma).  This pooled fit
    measures the response to service and to turning away; the members are
    then valued by latent classes (``_member_classes``).
    """

    base = ("alpha", "beta", "r", "gamma")

    def __init__(self, h: _Histories, phi: float, fee: float):
        self.h, self.phi, self.fee = h, phi, fee
        last = np.where(h.exposed > 0, np.arange(h.exposed.shape[1])[None, :], -1).max(axis=1)
        self.last = np.maximum(last, 0)
        self.classes: _MemberClasses | None = None

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
        """As ``_ParetoNBD.value``; ``worth`` a ``_MemberData``, ``mixture`` fitted ``_MemberClasses``.

        The member classes are fitted to these rows under the treatment at
        ``theta``, ``m_lambda``, ``m_mu``; given ``mixture``, its classes
        are kept and only each member's posterior is read again (the
        interval's sigma points).  The classes used are left in ``classes``.
        """
        _, _, r, _ = base
        a, b, _ = _treatment(self.h, self.phi, theta, m_lambda, m_mu)
        self.classes = _member_classes(self.h, a, b, self.last, r, worth, fitted=mixture)
        value, second = self.classes.value(worth, discount_rate)
        return value, second, (~self.h.cancelled).astype(float)


@dataclass(frozen=True)
class _MemberData:
    """What the member classes read besides the histories, and what a member's turn is worth.

    Per member row: ``fee``, the membership fee times the member's margin
    share (dollars a turn); ``margin``, its contribution per add-on dollar;
    ``tickets`` and ``spend``, its purchases so far (the one at joining
    included) and their total spend, dollars; ``tags``, (members, tags)
    profile codes with ``tag_values`` values each; ``referrals`` and
    ``referral_exposure``, friends brought and the turns they cover
    (``referral_nbd``).  Shared: ``p`` and ``q``, the Gamma-Gamma shapes
    fitted to every member's tickets; ``referral_shape``, the referral
    NBD's shape r (None without referrals, or before anyone has referred
    anyone); ``channels``, the customer channel count.
    """

    fee: np.ndarray
    margin: np.ndarray
    tickets: np.ndarray
    spend: np.ndarray
    tags: np.ndarray
    referrals: np.ndarray
    referral_exposure: np.ndarray
    tag_values: tuple[int, ...]
    p: float
    q: float
    referral_shape: float | None
    channels: int

    def __getitem__(self, index) -> "_MemberData":
        rows = (self.fee, self.margin, self.tickets, self.spend, self.tags, self.referrals,
                self.referral_exposure)
        return _MemberData(*(x[index] for x in rows), self.tag_values, self.p, self.q,
                           self.referral_shape, self.channels)


@dataclass(frozen=True)
class _MemberClasses:
    """Latent classes of members, each with its own churn, add-on rate, ticket, referrals and profile.

    Class k: churn p ~ Beta(``churn_shape``, b_k); add-on rate ~ Gamma(r,
    g_k) with r shared (``addon_shape``); spend per purchase Gamma-Gamma
    with scale gamma_k (shapes shared, in ``_MemberData``); referral rate ~
    Gamma(r_rho, rho_k) (None without referrals); profile tags in shares of
    its own.  ``weights`` (channels, K): the classes' mix per acquisition
    channel.  Per member: ``posterior`` (members, K), its class given its
    channel, tags, renewals, add-ons, tickets and referrals (a cancelled
    member's given its cancellation too); ``exposure``, its churn exposure
    (the treatment's multipliers summed over the turns it renewed); and
    ``addon_exposure``.  ``vector``: the fitted parameters, to read other
    rows' posteriors with the same classes.
    """

    churn_shape: float
    churn_scale: np.ndarray
    addon_shape: float
    addon_scale: np.ndarray
    spend_scale: np.ndarray
    referral_shape: float | None
    referral_scale: np.ndarray | None
    weights: np.ndarray
    posterior: np.ndarray
    addons: np.ndarray
    exposure: np.ndarray
    addon_exposure: np.ndarray
    alive: np.ndarray
    vector: np.ndarray

    @property
    def churn(self) -> np.ndarray:
        """(K,) each class's mean churn per turn at joining."""
        return self.churn_shape / (self.churn_shape + self.churn_scale)

    def annuity(self, discount_rate: float) -> tuple[np.ndarray, np.ndarray]:
        """(members, K) E[annuity] and E[annuity^2] in each class, given the member's renewals."""
        pairs = [_beta_annuity(self.churn_shape, b + self.exposure, discount_rate)
                 for b in self.churn_scale]
        return np.column_stack([f for f, _ in pairs]), np.column_stack([f2 for _, f2 in pairs])

    def value(self, data: _MemberData, discount_rate: float) -> tuple[np.ndarray, np.ndarray]:
        """(expected future contribution, its second moment) of each member (0 once cancelled).

        In class k: E[annuity] x (fee + E[add-on rate] x E[ticket] x margin),
        the add-on rate and ticket the class's gammas updated by the
        member's own add-ons and tickets; summed over the class posterior.
        """
        f, f2 = self.annuity(discount_rate)
        rx = (self.addon_shape + self.addons)[:, None]
        scale = self.addon_scale[None, :] + self.addon_exposure[:, None]
        lam, lam2 = rx / scale, rx * (rx + 1.0) / scale ** 2
        ticket = (data.p * (self.spend_scale[None, :] + data.spend[:, None])
                  / (data.p * data.tickets + data.q - 1.0)[:, None])
        fee, addon = data.fee[:, None], data.margin[:, None] * ticket
        per_turn = fee + lam * addon
        per_turn2 = fee ** 2 + 2.0 * fee * lam * addon + lam2 * addon ** 2
        value = np.sum(self.posterior * f * per_turn, axis=1)
        second = np.sum(self.posterior * f2 * per_turn2, axis=1)
        return np.where(self.alive, value, 0.0), np.where(self.alive, second, 0.0)

    def referral_rate(self, data: _MemberData) -> np.ndarray:
        """(members, K) each member's expected referrals per turn in each class, given its own."""
        return ((self.referral_shape + data.referrals)[:, None]
                / (self.referral_scale[None, :] + data.referral_exposure[:, None]))


def _beta_annuity(a: float, y: np.ndarray, discount_rate: float, grid: int = 256):
    """E[annuity] and E[annuity^2] of a member whose churn is Beta(a, y), each turn paid at its end.

    annuity(p) = sum_{t>=1} v^t (1 - p)^(t-1) and E[(1 - p)^j] = prod_{i<j} (y + i) / (a + y + i),
    so E[annuity] = v sum_j v^j c_j and E[annuity^2] = v^2 sum_j (j + 1) v^j c_j: the
    sBG's discounted expected residual lifetime (Fader & Hardie 2010, Marketing Science
    29(1)), whose hypergeometric form scipy evaluates as NaN at large y.  Summed until
    v^j < e^-30 at each distinct y, or on ``grid`` values of y and interpolated where there
    are more (the sums are smooth in y).
    """
    y = np.asarray(y, dtype=float)
    if y.size == 0:
        return np.zeros(0), np.zeros(0)
    v = 1.0 / (1.0 + discount_rate)
    terms = int(min(math.ceil(30.0 / math.log1p(discount_rate)), 20_000))
    nodes = np.unique(y)
    if nodes.size > grid:
        nodes = np.linspace(nodes[0], nodes[-1], grid)
    j = np.arange(terms - 1, dtype=float)
    ratio = (nodes[:, None] + j[None, :]) / (a + nodes[:, None] + j[None, :])
    c = np.concatenate([np.ones((nodes.size, 1)), np.cumprod(ratio * v, axis=1)], axis=1)
    first = v * c.sum(axis=1)
    second = v * v * (c * np.arange(1.0, terms + 1.0)[None, :]).sum(axis=1)
    return np.interp(y, nodes, first), np.interp(y, nodes, second)


def _member_classes(h: _Histories, a: np.ndarray, b: np.ndarray, last: np.ndarray, shape: float,
                    data: _MemberData, fitted: _MemberClasses | None = None) -> _MemberClasses:
    """Latent classes of members that differ in churn, add-ons, ticket, referrals and profile together.

    What a contractual business sees of a member besides its tenure -- how
    much it uses the service (add-ons), what it spends a visit, whom it
    brings, its profile -- tells loyal members from leavers (usage and
    churn modelled jointly: Ascarza & Hardie 2013, Marketing Science 32(4)).
    So, as in latent class analysis, each class has its own churn, add-on
    rate, ticket, referral rate and shares of each profile tag's values, in
    a mix per acquisition channel, and a member's class posterior reads all
    of them.  Within a class everything still varies from member to member
    (gammas for the rates and the spend, a Beta for churn), so one busy
    month does not make a member certain of its class.

    The classes' Beta shape is fixed (``MEMBER_CHURN_SHAPE``): 24 months of
    renewals do not say how much churn varies inside a class (fitted per
    latent type with the types known, the shape ran from 2 to 180 between
    seeds), and the survivors' annuity depends on it.  The shared shapes of
    the add-on rate (``shape``, the pooled fit's r), the spend (the
    Gamma-Gamma's p, q) and the referral rate (the lab's NBD) are held; the
    rest is maximum likelihood (L-BFGS on the log parameters, analytic
    slopes), with the retention model's weak prior on each class's mean
    churn (``retention.PRIOR_TURNS`` member-periods at the base's rate) and
    a small ridge on the logits.  The treatment enters as in the sBG fit:
    a turn of multiplier b is survived with probability (1 - p)^b and
    brings add-ons at rate lambda a; the members are valued with none.

    Args:
        h: the members' histories.
        a, b: (members, turns) add-on and churn multipliers of the fitted
            treatment, exposure folded in.
        last: each member's last turn column as a member.
        shape: the add-on rates' gamma shape r.
        data: tickets, tags, referrals and worth per member (``_MemberData``).
        fitted: classes fitted before (the same channels and tags): kept,
            only the posteriors are read from these rows.  Without it, a
            base of more than ``MEMBER_FIT_ROWS`` members is fitted on a
            fixed stride of them.
    """
    K = MEMBER_CLASSES
    S = data.channels
    rows = np.arange(b.shape[0])
    cancelled = h.cancelled
    done = cancelled.astype(float)
    b_last = np.where(cancelled, b[rows, last], 0.0)
    before = b.sum(axis=1) - b_last
    channel = h.channel
    base_rate = float(done.sum()) / max(float((before + done).sum()), 1.0)
    base_rate = min(max(base_rate, 1e-3), 0.9)
    alpha = MEMBER_CHURN_SHAPE
    x, exposure = h.x, a.sum(axis=1)
    r = float(shape)
    n, s = data.tickets, data.spend
    pn, q = data.p * n, data.q
    has_spend = (n > 0).astype(float)[:, None]
    referrals = data.referral_shape is not None
    r_rho = data.referral_shape if referrals else 1.0
    x_rho, t_rho = data.referrals, data.referral_exposure
    onehots = [np.eye(J)[data.tags[:, t]] for t, J in enumerate(data.tag_values)]
    sizes = [S * K, K, K, K, K if referrals else 0] + [K * J for J in data.tag_values]
    cuts = np.cumsum([0] + sizes)
    psi = special.digamma

    def unpack(u):
        part = [u[cuts[i]:cuts[i + 1]] for i in range(len(sizes))]
        tag_logits = [part[5 + t].reshape(K, J) for t, J in enumerate(data.tag_values)]
        return (part[0].reshape(S, K), np.exp(part[1]), np.exp(part[2]), np.exp(part[3]),
                np.exp(part[4]), tag_logits)

    def objective(u):
        """(- log-likelihood with the priors, its slope in u, the class posteriors)."""
        logits, beta, g, gam, rho, tag_logits = unpack(u)
        log_pi = logits - special.logsumexp(logits, axis=1, keepdims=True)
        # Renewals (and the cancellation): B(alpha, beta_k + y) ratios as in the sBG fit.
        y_stay = beta[None, :] + before[:, None]
        y_gone = y_stay + b_last[:, None]
        l_stay = special.betaln(alpha, y_stay)
        gap = np.minimum(special.betaln(alpha, y_gone) - l_stay, -1e-300)
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = np.where(cancelled[:, None], l_stay + np.log(-np.expm1(gap)), l_stay)
            odds = np.where(cancelled[:, None], np.exp(gap) / -np.expm1(gap), 0.0)
        ll = ll - special.betaln(alpha, beta)[None, :]
        db_stay = psi(y_stay) - psi(alpha + y_stay)
        db_gone = psi(y_gone) - psi(alpha + y_gone)
        d_beta = db_stay - odds * (db_gone - db_stay) - (psi(beta) - psi(alpha + beta))[None, :]
        # Add-ons (gamma-Poisson over exposure A), tickets (Gamma-Gamma), referrals (NBD).
        ga = g[None, :] + exposure[:, None]
        ll = ll + r * np.log(g)[None, :] - (r + x)[:, None] * np.log(ga)
        d_g = r - (r + x)[:, None] * g[None, :] / ga
        gs = gam[None, :] + s[:, None]
        ll = ll + has_spend * (q * np.log(gam)[None, :] - (pn + q)[:, None] * np.log(gs))
        d_gam = has_spend * (q - (pn + q)[:, None] * gam[None, :] / gs)
        if referrals:
            rt = rho[None, :] + t_rho[:, None]
            ll = ll + r_rho * np.log(rho)[None, :] - (r_rho + x_rho)[:, None] * np.log(rt)
            d_rho = r_rho - (r_rho + x_rho)[:, None] * rho[None, :] / rt
        log_phi = [tl - special.logsumexp(tl, axis=1, keepdims=True) for tl in tag_logits]
        for onehot, lp in zip(onehots, log_phi):
            ll = ll + onehot @ lp.T
        joint = log_pi[channel] + ll
        total = special.logsumexp(joint, axis=1)
        resp = np.exp(joint - total[:, None])
        mass = resp.sum(axis=0)
        grad_logits = np.zeros((S, K))
        np.add.at(grad_logits, channel, resp)
        grad_logits -= np.bincount(channel, minlength=S)[:, None] * np.exp(log_pi)
        grad_tags = [resp.T @ onehot - mass[:, None] * np.exp(lp) for onehot, lp in zip(onehots, log_phi)]
        # Priors: each class's mean churn as PRIOR_TURNS member-periods at the base's rate;
        # a ridge on the logits (defined up to a constant per channel or class).
        mean = alpha / (alpha + beta)
        value = float(total.sum()) + float(np.sum(retention.PRIOR_TURNS * (
            base_rate * np.log(mean) + (1 - base_rate) * np.log1p(-mean))))
        d_mean = retention.PRIOR_TURNS * (base_rate / mean - (1 - base_rate) / (1 - mean))
        value -= _RIDGE * (float(np.sum(logits ** 2)) + sum(float(np.sum(t ** 2)) for t in tag_logits))
        grad = [(grad_logits - 2 * _RIDGE * logits).ravel(),
                beta * np.sum(resp * d_beta, axis=0) - d_mean * mean * (1 - mean),
                np.sum(resp * d_g, axis=0), np.sum(resp * d_gam, axis=0)]
        if referrals:
            grad.append(np.sum(resp * d_rho, axis=0))
        grad += [(gt - 2 * _RIDGE * t).ravel() for gt, t in zip(grad_tags, tag_logits)]
        return -value, -np.concatenate(grad), resp

    if fitted is not None:
        u = fitted.vector
    elif b.shape[0] > MEMBER_FIT_ROWS:
        # A large base: the classes fitted on a fixed stride of it, every member's posterior read.
        idx = _stride(b.shape[0], MEMBER_FIT_ROWS)
        u = _member_classes(h.rows(idx), a[idx], b[idx], last[idx], shape, data[idx]).vector
    else:
        # Start: classes of churn spread about the base's rate (as the retention model), the
        # rates and the ticket scale pooled, the tags even.
        p0 = np.geomspace(max(base_rate / 4, 1e-3), min(base_rate * 4, 0.9), K)
        addon_rate = max(float(x.sum()) / max(float(exposure.sum()), 1e-9), 1e-6)
        ticket = float(s.sum()) / max(float(n.sum()), 1.0)
        rho_rate = max(float(x_rho.sum()) / max(float(t_rho.sum()), 1e-9), 1e-6)
        u0 = np.concatenate([np.zeros(S * K), np.log(alpha * (1 - p0) / p0),
                             np.full(K, math.log(r / addon_rate)),
                             np.full(K, math.log(ticket * max(q - 1.0, 0.5) / data.p)),
                             np.full(K if referrals else 0, math.log(r_rho / rho_rate))]
                            + [np.zeros(K * J) for J in data.tag_values])
        size = float(max(b.shape[0], 1))

        def per_member(u):
            value, slope, _ = objective(u)
            return value / size, slope / size

        result = optimize.minimize(per_member, u0, jac=True, method="L-BFGS-B",
                                   bounds=[(-12.0, 12.0)] * u0.size,
                                   options={"maxiter": 500, "ftol": 1e-10, "gtol": 1e-7})
        u = result.x
    _, _, post = objective(u)
    logits, beta, g, gam, rho, _ = unpack(u)
    weights = np.exp(logits - special.logsumexp(logits, axis=1, keepdims=True))
    return _MemberClasses(alpha, beta, r, g, gam, data.referral_shape, rho if referrals else None,
                          weights, post, x, before, exposure, ~cancelled, u)


def _annuity(mu: np.ndarray, discount_rate: float) -> np.ndarray:
    """Expected discounted turns of activity from now on, each turn discounted at its end.

    The scorer's non-contractual annuity (``sim.valuation.annuity_factor``),
    restated here because the lab does not import the engine's valuation;
    members are valued by their classes' Beta annuity (``_beta_annuity``).
    """
    v = 1.0 / (1.0 + discount_rate)
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
            mine = worth[rows]
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
    everyone = segments_of(np.arange(n))
    value, variance, p_alive = everyone.value(point, worth, s.discount_rate, mixture)
    if s.contractual:
        # One segment; the interval's sigma points keep its member classes.
        mixture = everyone.models[0].classes
        referrals = _member_referral_value(observation, mixture, worth, s.discount_rate)
    else:
        referrals = _referral_value(observation)
    value = value + referrals
    total = float(value.sum())
    sample = _stride(n, _SIGMA_CUSTOMERS)
    sample_worth = worth[sample]
    spread = _parameter_spread(segments_of(sample), fit, sample_worth, s.discount_rate, total, mixture)
    sd = math.sqrt(float(variance.sum()) + spread ** 2)
    z = float(special.ndtri(0.5 + LEVEL / 2))
    _, theta, _, _ = layout.split(point)
    return EquityEstimate(total, total - z * sd, total + z * sd, value, p_alive,
                          tuple(float(t) for t in theta), labels, fit, referrals)


def _referral_value(observation: Observation) -> np.ndarray:
    """Each customer's predicted CRV and the friends it referred last turn, dollars (non-contractual).

    The score's terminal equity counts the alive customers' future
    referrals and the friends referred in the last turn, who join in the
    next: the lab's CRV (``referral_nbd``) and one more turn of each active
    customer's expected referrals.  0 everywhere without referrals (or
    before anyone has referred anyone).  Members: ``_member_referral_value``.
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


def _member_referral_value(observation: Observation, classes: _MemberClasses, data: _MemberData,
                           discount_rate: float) -> np.ndarray:
    """Each member's future referrals and the friends it referred last turn, valued by the member classes.

    As the score counts them (section 3 of docs/model.md): a member of
    class k makes rho_k referrals a turn while it stays -- its expected
    discounted referrals are E[rho | k, its own referrals] x (its class
    annuity + the last turn's, whose friends join next turn) -- and each
    friend is worth F_k, what a new member of the class it will be is worth
    (its first ticket, then its class annuity x fee and add-ons at the
    class's margin) plus its own friends in turn.  Who brings whom is read
    from the referrals made so far: M[k, j], the share of class-k members'
    friends in class j (each link weighted by both members' class
    posteriors, shrunk toward the referral channel's class mix by one
    friend), so F = M (w + c * F), c_j a new class-j member's discounted
    referrals: F = (I - M diag(c))^-1 M w, the chain capped as the lab caps
    it (``referral_nbd.MAX_CHAIN``).  The lab's CRV values a friend by the
    lab CLV instead, about half the truth in the fitness studio.

    Returns:
        dollars per member (0 once cancelled, and everywhere before anyone
        has referred anyone).
    """
    zeros = np.zeros(observation.n_customers)
    by = None if observation.referred_by is None else np.asarray(observation.referred_by)
    if classes.referral_scale is None or by is None or not (by >= 0).any():
        return zeros
    post = classes.posterior
    mass = np.maximum(post.sum(axis=0), 1e-12)
    new = _beta_annuity(classes.churn_shape, classes.churn_scale, discount_rate)[0]
    margin = (post.T @ data.margin) / mass                   # each class's margin share
    ticket = data.p * classes.spend_scale / (data.q - 1.0)
    per_turn = margin * (observation.scenario.membership_fee
                         + classes.addon_shape / classes.addon_scale * ticket)
    own = margin * ticket / (1.0 + discount_rate) + new * per_turn
    brings = classes.referral_shape / classes.referral_scale * new
    referred = np.flatnonzero(by >= 0)
    referrer = rows_of_ids(observation.customer_id, by[referred])
    links = post[referrer].T @ post[referred]                # referrer class x friend class
    channel = data.channels - 1                             # the referral channel (the last)
    prior = classes.weights[channel]
    mix = (links + prior[None, :]) / (links.sum(axis=1, keepdims=True) + 1.0)
    chain = mix * brings[None, :]
    radius = float(np.max(np.abs(np.linalg.eigvals(chain))))
    if radius > referral_nbd.MAX_CHAIN:
        chain *= referral_nbd.MAX_CHAIN / radius
    friend = np.linalg.solve(np.eye(chain.shape[0]) - chain, mix @ own)
    f, _ = classes.annuity(discount_rate)
    last_turn = np.asarray(observation.active, dtype=float)[:, None]
    value = np.sum(post * classes.referral_rate(data) * (f + last_turn) * friend[None, :], axis=1)
    return np.where(classes.alive, value, 0.0)


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
    """Each customer's expected contribution per future purchase (a ``_MemberData`` for members)."""
    margin = neutral_margin_share(observation, disengaged)
    if observation.scenario.contractual:
        return _member_worth(observation, margin)
    return _expected_spend(observation) * margin


def _member_worth(observation: Observation, margin: np.ndarray) -> _MemberData:
    """What the member classes read besides the histories (``_MemberData``)."""
    s = observation.scenario
    tickets = np.asarray(observation.total_purchases, dtype=float)
    spend = np.asarray(observation.total_spend, dtype=float)
    mean = np.divide(spend, tickets, out=np.zeros(tickets.size), where=tickets > 0)
    rows = _stride(tickets.size, _SPEND_CUSTOMERS)
    try:
        spend_fit = gamma_gamma.fit(tickets[rows], mean[rows])
        p, q = spend_fit.params["p"], spend_fit.params["q"]
    except DataError:
        p, q = 1.0, 3.0           # nobody has bought: a vague prior (the scales are fitted)
    tags = np.column_stack([observation.tags[t.name].astype(np.int64) for t in s.profile] or
                           [np.zeros((tickets.size, 0), dtype=np.int64)])
    try:
        shape = referral_nbd.fit_observation(observation).params["r"] if s.has_referrals else None
    except DataError:
        shape = None
    return _MemberData(s.membership_fee * margin, margin, tickets, spend, tags,
                       referral_nbd.referral_counts(observation),
                       referral_nbd.exposure_from_observation(observation),
                       tuple(len(t.values) for t in s.profile), p, q, shape,
                       len(s.customer_channel_names))


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
    if getattr(mixture, "covariance", None) is not None:
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
