"""How customers behave within one turn: pure, vectorised functions.

Each alive customer lives the turn in continuous time: death at an
exponential time with rate mu', purchases as a Poisson process with rate
lambda' while alive, and Gamma–Gamma spend per purchase.  Every random input
arrives as pre-drawn uniforms (one per customer), and each function is an
inverse-CDF transform of them, so a customer's outcome depends only on its
own uniforms and rates (common random numbers; docs/design.md section 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .response_curve import hill_response
from .scenario import Disengagement, Scenario

#: Above this mean the sequential Poisson search would take too many steps.
_POISSON_SEARCH_LIMIT = 200.0


def served_rates(purchase_rate: np.ndarray, dropout_rate: np.ndarray, theta: np.ndarray,
                 g: np.ndarray, purchase_boost: float) -> tuple[np.ndarray, np.ndarray]:
    """Rates per turn under service effect g: lambda (1 + phi theta g), mu exp(-theta g)."""
    return purchase_rate * (1.0 + purchase_boost * theta * g), dropout_rate * np.exp(-theta * g)


def disengaged_rates(purchase_rate: np.ndarray, dropout_rate: np.ndarray, cost_to_serve: np.ndarray,
                     disengaged: np.ndarray,
                     disengage: Disengagement) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rates where the firm has turned the customer away (perks and privileges withdrawn).

    A disengaged customer buys less (lambda x purchase_multiplier), leaves
    sooner (mu x dropout_multiplier) and, with returns and support
    privileges withdrawn, has a lower chance kappa x cost_to_serve_factor
    that a purchase needs serving.  Elsewhere the rates are unchanged.
    """
    off = np.asarray(disengaged, dtype=bool)
    return (np.where(off, purchase_rate * disengage.purchase_multiplier, purchase_rate),
            np.where(off, dropout_rate * disengage.dropout_multiplier, dropout_rate),
            np.where(off, cost_to_serve * disengage.cost_to_serve_factor, cost_to_serve))


def binomial_inverse(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Smallest k with P(K <= k) >= u for K ~ Binomial(n, p), elementwise.

    A vectorised sequential search like ``poisson_inverse``; the cost is
    about the largest count.  Where (1 - p)^n underflows (never in shipped
    scenarios) scipy's ppf is used.
    """
    u = np.asarray(u, dtype=float)
    n = np.asarray(n, dtype=np.int64)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    counts = np.zeros(u.shape, dtype=np.int64)
    sure = p >= 1.0
    counts[sure] = n[sure]
    with np.errstate(divide="ignore"):
        log_pmf0 = n * np.log1p(-np.where(sure, 0.0, p))
    tiny = ~sure & (log_pmf0 < -600.0)
    if tiny.any():
        from scipy import stats  # rare path

        counts[tiny] = stats.binom.ppf(u[tiny], n[tiny], p[tiny]).astype(np.int64)
    idx = np.flatnonzero(~sure & ~tiny & (n > 0))
    u_left, n_left, p_left = u[idx], n[idx], p[idx]
    odds = p_left / (1.0 - p_left)
    pmf = np.exp(log_pmf0[idx])
    cdf = pmf.copy()
    k = 0
    while True:
        go = (u_left > cdf) & (pmf > 0) & (n_left > k)
        if not go.any():
            break
        idx, u_left, n_left, odds, pmf, cdf = idx[go], u_left[go], n_left[go], odds[go], pmf[go], cdf[go]
        pmf *= (n_left - k) / (k + 1.0) * odds
        k += 1
        cdf += pmf
        counts[idx] = k
    return counts


def poisson_inverse(u: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Smallest n with P(N <= n) >= u for N ~ Poisson(mean), elementwise.

    A vectorised sequential search: each pass advances only the customers
    whose count is not settled yet, so the cost is about the largest count.
    Very large means (never reached in shipped scenarios) use scipy's ppf.
    """
    u = np.asarray(u, dtype=float)
    mean = np.asarray(mean, dtype=float)
    counts = np.zeros(u.shape, dtype=np.int64)
    big = mean > _POISSON_SEARCH_LIMIT
    if big.any():
        from scipy import stats  # rare path; keeps the import off start-up

        counts[big] = stats.poisson.ppf(u[big], mean[big]).astype(np.int64)
    # Work on ever smaller arrays holding only the customers still searching.
    idx = np.flatnonzero(~big)
    u_left, mean_left = u[idx], mean[idx]
    pmf = np.exp(-mean_left)
    cdf = pmf.copy()
    k = 0
    while True:
        # Rounding can leave cdf a hair below u near 1; the pmf then vanishes.
        go = (u_left > cdf) & (pmf > 0)
        if not go.any():
            break
        idx, u_left, mean_left, pmf, cdf = idx[go], u_left[go], mean_left[go], pmf[go], cdf[go]
        k += 1
        pmf *= mean_left / k
        cdf += pmf
        counts[idx] = k
    return counts


class GammaQuantiles:
    """Quantiles of Gamma(n p, 1) for whole n, tabulated once per shape p.

    ``scipy.special.gammaincinv`` costs about half a microsecond a call,
    which dominated a turn of a large game.  The table holds y = (x / k)^(1/3)
    (k = n p) against the normal score z = Phi^-1(u) on a fine grid: by the
    Wilson–Hilferty argument y is smooth and almost linear in z, so cubic
    interpolation is accurate to better than 1e-7 relative for n p >= 2 (a
    test checks 1e-6 against gammaincinv); smaller shapes are computed
    exactly.
    Rows for larger n are added on demand.
    """

    Z = np.linspace(-8.75, 8.75, 876)
    MIN_SHAPE = 2.0

    def __init__(self) -> None:
        self._tables: dict[float, np.ndarray] = {}

    def _table(self, p: float, n_max: int) -> np.ndarray:
        table = self._tables.get(p)
        have = 0 if table is None else table.shape[0] - 1
        if n_max > have:
            n_new = max(n_max, 2 * have, 16)
            k = p * np.arange(have + 1, n_new + 1, dtype=float)[:, None]
            rows = (special.gammaincinv(k, special.ndtr(self.Z)[None, :]) / k) ** (1.0 / 3.0)
            if table is None:
                table = np.vstack([np.zeros((1, self.Z.size)), rows])
            else:
                table = np.vstack([table, rows])
            self._tables[p] = table
        return table

    def quantile(self, u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The u-quantile of Gamma(n p, 1) elementwise (n >= 1 whole, p > 0)."""
        z = special.ndtri(u)
        h = self.Z[1] - self.Z[0]
        pos = (np.clip(z, self.Z[1], self.Z[-3]) - self.Z[0]) / h
        j = np.minimum(pos.astype(np.int64), self.Z.size - 3)
        t = pos - j
        # Cubic Lagrange weights on the nodes j-1, j, j+1, j+2.
        weights = (-t * (t - 1) * (t - 2) / 6, (t + 1) * (t - 1) * (t - 2) / 2,
                   -(t + 1) * t * (t - 2) / 2, (t + 1) * t * (t - 1) / 6)
        out = np.empty(u.shape)
        # One pass per distinct shape p (one per latent type), not per customer.
        for shape in np.unique(p):
            sel = np.flatnonzero(p == shape)
            table = self._table(float(shape), int(n[sel].max()))
            rows, js = n[sel], j[sel]
            y = sum(table[rows, js + d] * w[sel] for d, w in zip((-1, 0, 1, 2), weights))
            out[sel] = rows * shape * y ** 3
        # Beyond the grid (u within ~1e-18 of 0 or 1), and for shapes below
        # 2 where y(z) bends too much for the grid, compute exactly.
        tail = np.flatnonzero((z < self.Z[1]) | (z > self.Z[-3]) | (n * p < self.MIN_SHAPE))
        if tail.size:
            out[tail] = special.gammaincinv(n[tail] * p[tail], u[tail])
        return out


_GAMMA_QUANTILES = GammaQuantiles()


def gamma_total_spend(u: np.ndarray, purchases: np.ndarray, shape: np.ndarray,
                      rate: np.ndarray) -> np.ndarray:
    """Total spend of n purchases, each Gamma(p, nu): the u-quantile of Gamma(n p, nu), dollars."""
    total = np.zeros(np.shape(u))
    buying = np.flatnonzero(purchases > 0)
    if buying.size:
        total[buying] = _GAMMA_QUANTILES.quantile(u[buying], purchases[buying],
                                                  shape[buying]) / rate[buying]
    return total


def cost_to_serve_per_purchase(u_incidents: np.ndarray, u_cost: np.ndarray, occasions: np.ndarray,
                               revenue: np.ndarray, cost_to_serve: np.ndarray,
                               incident_cost_shape: float) -> tuple[np.ndarray, np.ndarray]:
    """Incidents and cost to serve in one turn, dollars: random per purchase.

    Each of a customer's ``occasions`` (purchases, and the box of a member)
    is returned or needs support with probability kappa: incidents ~
    Binomial(occasions, kappa).  An incident costs the turn's average ticket
    (revenue / occasions) times a Gamma(c, c) severity (mean 1, coefficient
    of variation 1/sqrt(c)), so the turn's cost is (revenue / occasions) x
    Gamma(incidents x c, c) and its expectation given the purchases is
    exactly kappa x revenue.  Observed cost / revenue is therefore a noisy
    estimate of kappa that sharpens with purchases.

    Returns:
        (incidents, cost to serve in dollars) per customer.
    """
    occasions = np.asarray(occasions, dtype=np.int64)
    incidents = binomial_inverse(u_incidents, occasions, cost_to_serve)
    shape = np.full(incidents.shape, float(incident_cost_shape))
    severity = np.zeros(incidents.shape)
    hit = np.flatnonzero(incidents > 0)
    if hit.size:
        severity[hit] = _GAMMA_QUANTILES.quantile(u_cost[hit], incidents[hit], shape[hit]) \
            / incident_cost_shape
    ticket = np.divide(revenue, occasions, out=np.zeros(np.shape(revenue)), where=occasions > 0)
    return incidents, ticket * severity


def last_purchase_offset(u: np.ndarray, purchases: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Time of the last of n uniform purchase times on [0, exposure): exposure * u^(1/n).

    Given n Poisson arrivals in an interval their times are uniform, and the
    largest of n uniforms is distributed as u^(1/n).  NaN where n = 0.
    """
    out = np.full(np.shape(u), np.nan)
    buying = purchases > 0
    out[buying] = exposure[buying] * u[buying] ** (1.0 / purchases[buying])
    return out


@dataclass(frozen=True)
class TurnInputs:
    """Everything one turn of behaviour needs, one entry per alive customer.

    Attributes:
        service: service dollars spent on the customer this turn.
        disengaged: True where the customer's tier is turned away.
        purchase_rate: lambda before service, purchases per turn.
        dropout_rate: mu before service, per turn.
        service_response: theta, how strongly service changes behaviour.
        spend_shape: Gamma–Gamma p.
        spend_rate: Gamma–Gamma nu (mean spend p / nu dollars).
        cost_to_serve: kappa, probability that a purchase (or a member's
            box) is returned or needs support.
        new: True for customers acquired this turn.
        first_spend: dollars of a first purchase made at acquisition this
            turn (0 for customers acquired earlier).
        u_death, u_count, u_spend, u_timing, u_incidents, u_incident_cost:
            one uniform on (0, 1) per customer for each random quantity
            (keyed streams).
    """

    service: np.ndarray
    disengaged: np.ndarray
    purchase_rate: np.ndarray
    dropout_rate: np.ndarray
    service_response: np.ndarray
    spend_shape: np.ndarray
    spend_rate: np.ndarray
    cost_to_serve: np.ndarray
    new: np.ndarray
    first_spend: np.ndarray
    u_death: np.ndarray
    u_count: np.ndarray
    u_spend: np.ndarray
    u_timing: np.ndarray
    u_incidents: np.ndarray
    u_incident_cost: np.ndarray


@dataclass(frozen=True)
class TurnOutcome:
    """What one turn of behaviour did to each alive customer (arrays aligned with the input).

    Attributes:
        died: True where the customer died (or, if contractual, cancelled) this turn.
        purchases: purchases made this turn (the first purchase at acquisition not counted).
        spend: dollars spent on those purchases.
        last_purchase: time of the latest purchase within the turn, in [0, 1)
            turns from its start; NaN where there was none.
        revenue: dollars the firm took from the customer this turn: purchases,
            the first purchase if acquired this turn, and the membership fee.
        cost_to_serve: dollars the firm spent serving the customer this turn.
        exposure: share of the turn each was alive (1 for a member); only
            computed when the scenario has referrals (who refer while alive),
            else None.
    """

    died: np.ndarray
    purchases: np.ndarray
    spend: np.ndarray
    last_purchase: np.ndarray
    revenue: np.ndarray
    cost_to_serve: np.ndarray
    exposure: np.ndarray | None = None


def customer_turn(inputs: TurnInputs, scenario: Scenario) -> TurnOutcome:
    """One turn of every alive customer's life under the firm's service: a pure function.

    Service spend e acts through the Hill curve g(e): dropout mu exp(-theta g)
    and purchase rate lambda (1 + phi theta g).  A turned-away customer
    loses the perks (``disengaged_rates``): buys less, leaves sooner, and
    needs serving less often.  Then the customer lives the turn in
    continuous time (``live_turn``), and each purchase (the first one at
    acquisition and a member's box included) needs serving at random
    (``cost_to_serve_per_purchase``).

    Args:
        inputs: per-customer traits, treatment and uniforms.
        scenario: gives the service response, disengagement, contract terms.
    """
    s = scenario
    g = hill_response(inputs.service, s.service)
    lam, mu = served_rates(inputs.purchase_rate, inputs.dropout_rate, inputs.service_response, g,
                           s.service.purchase_boost)
    lam, mu, kappa = disengaged_rates(lam, mu, inputs.cost_to_serve, inputs.disengaged, s.disengage)
    died, purchases, spend, last = live_turn(lam, mu, inputs.spend_shape, inputs.spend_rate,
                                             inputs.u_death, inputs.u_count, inputs.u_spend,
                                             inputs.u_timing, s.contractual)
    fee = np.full(died.size, s.membership_fee if s.contractual else 0.0)
    revenue = spend + fee + inputs.first_spend
    occasions = purchases + inputs.new + (fee > 0)
    _, cts = cost_to_serve_per_purchase(inputs.u_incidents, inputs.u_incident_cost, occasions,
                                        revenue, kappa, s.incident_cost_shape)
    exposure = None
    if s.referrals is not None:
        # The same death time live_turn used: referrals stop when the customer dies.
        exposure = (np.ones(died.size) if s.contractual
                    else np.minimum(death_time(inputs.u_death, mu), 1.0))
    return TurnOutcome(died, purchases, spend, last, revenue, cts, exposure)


def death_time(u_death: np.ndarray, dropout_rate: np.ndarray) -> np.ndarray:
    """Time to death from now, turns: the exponential quantile of ``u_death`` at rate mu.

    A rate of zero (or one so small that the time overflows) and u = 0
    (odds 2^-53) are an infinite wait.
    """
    with np.errstate(divide="ignore", over="ignore"):
        wait = -np.log(u_death)
        return np.divide(wait, dropout_rate, out=np.full(wait.shape, np.inf),
                         where=dropout_rate > 0)


def live_turn(purchase_rate: np.ndarray, dropout_rate: np.ndarray, spend_shape: np.ndarray,
              spend_rate: np.ndarray, u_death: np.ndarray, u_count: np.ndarray,
              u_spend: np.ndarray, u_timing: np.ndarray,
              contractual: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Continuous-time behaviour within one turn, from pre-drawn uniforms.

    Death comes at an exponential time with rate mu (per turn); purchases
    arrive as a Poisson process with rate lambda (per turn) while alive, each
    with a Gamma(p, nu) spend.  Contractual customers pay for the whole turn
    and cancel at its end, so their exposure is the whole turn.

    A dropout rate of zero (a Beta or Gamma draw of a small shape can
    underflow to exactly 0) is a customer who never leaves while the game
    lasts: an infinite time to death, not a division by zero; a rate so
    small that the time overflows is the same.

    Returns:
        (died, purchases, spend in dollars, time of the last purchase within
        the turn or NaN), one entry per customer.
    """
    # u = 0 (odds 2^-53) is an infinite wait as well; a wait over a subnormal
    # rate overflows to the infinity it stands for.
    dies_at = death_time(u_death, dropout_rate)
    died = dies_at < 1.0
    exposure = np.ones(dies_at.size) if contractual else np.minimum(dies_at, 1.0)
    purchases = poisson_inverse(u_count, purchase_rate * exposure)
    spend = gamma_total_spend(u_spend, purchases, spend_shape, spend_rate)
    last = last_purchase_offset(u_timing, purchases, exposure)
    return died, purchases, spend, last
