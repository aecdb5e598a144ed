"""Descriptive reports on a customer base: RFM, deciles, whale curve, cohorts, retention.

What a customer-centric manager looks at before fitting any model: who is
recent, frequent and big (RFM, Hughes 1994); how concentrated value is
(decile tables and the whale curve, Kaplan & Narayanan 2001, "Measuring and
managing customer profitability"); how each acquisition cohort's revenue
stacks up over time (the "C3" customer-cohort chart, Fader & McCarthy's
layer cake); and how long each channel's customers stay (retention curves).

Each report is a pure function of plain arrays, usable on any business's
data, plus a wrapper that reads the game's
:class:`~sim.observation.Observation`. All vectorised: no per-customer loop.
Also here: the fitted models' parameters in a line, named as the model
registry (:mod:`sim.analytics.registry`) labels them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..observation import Observation
from . import registry
from .fitting import DataError, check_same_length

__all__ = [
    "RFMScores", "RFMGrid", "DecileTable", "WhaleCurve", "CohortRevenue", "RetentionCurves",
    "quantile_scores", "rfm_scores", "rfm_grid", "decile_table", "whale_curve",
    "cohort_revenue", "cohort_revenue_from_transactions", "retention_curves",
    "rfm_from_observation", "profit_deciles", "whale_curve_from_observation",
    "cohort_revenue_from_observation", "retention_from_observation", "fitted_parameters",
    "ValueGrid", "clv_crv_grid",
]


def _numbers(values, name: str) -> np.ndarray:
    """A non-empty, finite 1-D float array (negative values allowed: profit can be)."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise DataError(f"{name} must be numeric: {error}") from None
    if array.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise DataError(f"{name} is empty: need at least one customer")
    if not np.all(np.isfinite(array)):
        index = int(np.flatnonzero(~np.isfinite(array))[0])
        raise DataError(f"{name} contains NaN or infinite values (first at index {index})")
    return array


# --- RFM -----------------------------------------------------------------------

def quantile_scores(values, bins: int = 5, name: str = "values") -> np.ndarray:
    """Scores 1..bins by quantile, higher values scoring higher.

    score = 1 + ⌊bins · (customers with a strictly smaller value) / n⌋, so
    tied customers always share a score and each score holds about n/bins
    customers when values are distinct.

    Args:
        values: One number per customer.
        bins: Number of score levels (2..9).
        name: Used in error messages.

    Returns:
        int8 scores per customer.
    """
    if not 2 <= bins <= 9:
        raise DataError(f"bins must be between 2 and 9, got {bins!r:.40}")
    values = _numbers(values, name)
    below = np.searchsorted(np.sort(values), values, side="left")
    return (1 + bins * below // values.size).astype(np.int8)


@dataclass(frozen=True)
class RFMScores:
    """Recency, frequency and monetary scores per customer, 1 (worst) to ``bins`` (best).

    Attributes:
        recency: Higher for a more recent last purchase.
        frequency: Higher for more purchases.
        monetary: Higher for more spend per purchase.
        bins: Score levels.
    """

    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    bins: int

    @property
    def cell(self) -> np.ndarray:
        """The three scores as one number, e.g. 545 for R=5, F=4, M=5."""
        return (100 * self.recency.astype(np.int16) + 10 * self.frequency.astype(np.int16)
                + self.monetary.astype(np.int16))


def rfm_scores(recency, frequency, monetary, bins: int = 5) -> RFMScores:
    """RFM quantile scores.

    Args:
        recency: Time since each customer's last purchase (any unit; smaller
            is better).
        frequency: Purchases (or repeat purchases) per customer.
        monetary: Spend per purchase per customer, dollars.
        bins: Score levels (quintiles by default).
    """
    columns = {"recency": _numbers(recency, "recency"),
               "frequency": _numbers(frequency, "frequency"),
               "monetary": _numbers(monetary, "monetary")}
    check_same_length(**columns)
    return RFMScores(recency=quantile_scores(-columns["recency"], bins, "recency"),
                     frequency=quantile_scores(columns["frequency"], bins, "frequency"),
                     monetary=quantile_scores(columns["monetary"], bins, "monetary"),
                     bins=bins)


@dataclass(frozen=True)
class RFMGrid:
    """Customers per (recency score, frequency score) cell.

    Attributes:
        customers: (bins, bins) counts; row = recency score − 1, column =
            frequency score − 1.
        mean_value: (bins, bins) mean of the value per cell (NaN where empty),
            or None if no value was given.
    """

    customers: np.ndarray
    mean_value: np.ndarray | None


def rfm_grid(scores: RFMScores, value=None) -> RFMGrid:
    """The recency × frequency grid, optionally with each cell's mean value (e.g. profit)."""
    bins = scores.bins
    cell = (scores.recency.astype(np.int64) - 1) * bins + (scores.frequency - 1)
    counts = np.bincount(cell, minlength=bins * bins).reshape(bins, bins)
    if value is None:
        return RFMGrid(counts, None)
    value = _numbers(value, "value")
    check_same_length(value=value, scores=scores.recency)
    totals = np.bincount(cell, weights=value, minlength=bins * bins).reshape(bins, bins)
    means = np.divide(totals, counts, out=np.full(totals.shape, np.nan), where=counts > 0)
    return RFMGrid(counts, means)


# --- CLV x CRV (Kumar, Petersen & Leone 2007) ----------------------------------------

#: The quadrants' names, row-major over (CRV low, high) x (CLV low, high).
QUADRANTS = (("misers", "affluents"), ("advocates", "champions"))


@dataclass(frozen=True)
class ValueGrid:
    """The CLV x CRV matrix: customers by lifetime value and by referral value.

    Kumar, Petersen & Leone (2007): champions are high on both, affluents
    buy a lot but bring no one, advocates buy little but bring friends,
    misers do neither.  Turning away by CLV alone loses the advocates.

    Attributes:
        clv_cut: the CLV splitting low from high, dollars (the median unless given).
        crv_cut: the CRV splitting low from high, dollars.
        customers: (2, 2) counts; row = CRV low/high, column = CLV low/high.
        mean_clv: (2, 2) mean CLV per cell, dollars (NaN where empty).
        mean_crv: (2, 2) mean CRV per cell, dollars (NaN where empty).
        quadrant: each customer's cell, 2 x (CRV high) + (CLV high).
    """

    clv_cut: float
    crv_cut: float
    customers: np.ndarray
    mean_clv: np.ndarray
    mean_crv: np.ndarray
    quadrant: np.ndarray

    def name(self, row: int, column: int) -> str:
        return QUADRANTS[row][column]


def clv_crv_grid(clv, crv, clv_cut: float | None = None, crv_cut: float | None = None) -> ValueGrid:
    """The four quadrants of customers by predicted CLV and predicted CRV.

    Args:
        clv: predicted lifetime value per customer, dollars.
        crv: predicted referral value per customer, dollars.
        clv_cut, crv_cut: where low ends, dollars (default: each one's median;
            a value above the cut is high).
    """
    clv = _numbers(clv, "clv")
    crv = _numbers(crv, "crv")
    check_same_length(clv=clv, crv=crv)
    clv_cut = float(np.median(clv)) if clv_cut is None else float(clv_cut)
    crv_cut = float(np.median(crv)) if crv_cut is None else float(crv_cut)
    quadrant = 2 * (crv > crv_cut).astype(np.int64) + (clv > clv_cut)
    counts = np.bincount(quadrant, minlength=4).reshape(2, 2)

    def means(values: np.ndarray) -> np.ndarray:
        total = np.bincount(quadrant, weights=values, minlength=4).reshape(2, 2)
        return np.divide(total, counts, out=np.full((2, 2), np.nan), where=counts > 0)

    return ValueGrid(clv_cut, crv_cut, counts, means(clv), means(crv), quadrant)


# --- concentration of value -----------------------------------------------------

@dataclass(frozen=True)
class DecileTable:
    """Customers split into equal-count groups, best first.

    Attributes:
        customers: Customers per group.
        total: Sum of the value per group.
        mean: Mean value per group.
        share: Group total / overall total.
        cumulative_share: Running sum of ``share``.
    """

    customers: np.ndarray
    total: np.ndarray
    mean: np.ndarray
    share: np.ndarray
    cumulative_share: np.ndarray


def decile_table(value, by=None, groups: int = 10) -> DecileTable:
    """Sum ``value`` over equal-count groups of customers ranked by ``by``, highest first.

    Customers are ranked by ``by`` (default: ``value`` itself), ties in their
    original order; when n is not a multiple of ``groups`` the first groups
    take one customer more.

    Args:
        value: Per-customer value to total (e.g. profit, dollars).
        by: Per-customer ranking score (e.g. predicted CLV); default ``value``.
        groups: Number of groups (10 for deciles).
    """
    value = _numbers(value, "value")
    by = value if by is None else _numbers(by, "by")
    check_same_length(value=value, by=by)
    if not 1 <= groups <= value.size:
        raise DataError(f"groups must be between 1 and the {value.size} customers, got {groups}")
    order = np.argsort(-by, kind="stable")
    size, extra = divmod(value.size, groups)
    customers = np.full(groups, size) + (np.arange(groups) < extra)
    group = np.repeat(np.arange(groups), customers)
    total = np.bincount(group, weights=value[order], minlength=groups)
    overall = value.sum()
    share = total / overall if overall != 0 else np.full(groups, np.nan)
    return DecileTable(customers, total, total / customers, share, np.cumsum(share))


@dataclass(frozen=True)
class WhaleCurve:
    """The whale (Stobachoff) curve: cumulative profit against customers, most profitable first.

    Attributes:
        customer_share: 0, 1/n, ..., 1.
        profit_share: Cumulative profit over total profit at each point; it
            rises above 1 (the hump: what the profitable customers earn) and
            comes back to 1 as the unprofitable ones give some away.
        peak_share: Highest point of the curve (e.g. 1.6 = the profitable
            customers earn 160% of the firm's profit).
        peak_customer_share: Share of customers at the peak (the profitable ones).
        unprofitable_share: Share of customers with negative profit.
        profit_lost: Dollars the unprofitable customers lose, as a positive number.
        total_profit: Dollars over all customers.
    """

    customer_share: np.ndarray
    profit_share: np.ndarray
    peak_share: float
    peak_customer_share: float
    unprofitable_share: float
    profit_lost: float
    total_profit: float


def whale_curve(profit) -> WhaleCurve:
    """The whale curve of per-customer profit, dollars.

    Raises:
        DataError: Empty or non-finite profit, or total profit ≤ 0 (the
            curve's shares of total profit are then undefined).
    """
    profit = _numbers(profit, "profit")
    total = float(profit.sum())
    if total <= 0:
        raise DataError(f"total profit is {total:.2f} dollars: a whale curve needs a "
                        "positive total to take shares of")
    cumulative = np.concatenate([[0.0], np.cumsum(np.sort(profit)[::-1])]) / total
    peak = int(np.argmax(cumulative))
    return WhaleCurve(
        customer_share=np.arange(profit.size + 1) / profit.size,
        profit_share=cumulative,
        peak_share=float(cumulative[peak]),
        peak_customer_share=peak / profit.size,
        unprofitable_share=float(np.mean(profit < 0)),
        profit_lost=float(-profit[profit < 0].sum()),
        total_profit=total,
    )


# --- cohorts ---------------------------------------------------------------------

@dataclass(frozen=True)
class CohortRevenue:
    """Revenue per acquisition cohort per period (the C3 / layer-cake chart).

    Attributes:
        cohorts: Acquisition period of each row of ``revenue``, ascending.
        periods: Period of each column.
        revenue: (cohorts, periods) dollars; column sums are the period's
            total revenue, so stacking the rows draws the layer cake.
    """

    cohorts: np.ndarray
    periods: np.ndarray
    revenue: np.ndarray

    @property
    def period_totals(self) -> np.ndarray:
        """Revenue per period over all cohorts, dollars."""
        return self.revenue.sum(axis=0)


def cohort_revenue(acquisition_period, revenue, periods: Sequence | None = None) -> CohortRevenue:
    """Sum a (customers, periods) revenue matrix over each acquisition cohort.

    Args:
        acquisition_period: Per customer, the period they were acquired in.
        revenue: (customers, periods) dollars per customer per period.
        periods: Label of each column (default 0, 1, ...).
    """
    _numbers(acquisition_period, "acquisition_period")
    cohort = np.asarray(acquisition_period)     # keeps whole-number labels whole
    revenue = np.asarray(revenue, dtype=float)
    if revenue.ndim != 2 or revenue.shape[0] != cohort.size:
        raise DataError(f"revenue must be (customers, periods) with {cohort.size} rows, "
                        f"got shape {revenue.shape}")
    if not np.all(np.isfinite(revenue)):
        raise DataError("revenue contains NaN or infinite values")
    labels = np.arange(revenue.shape[1]) if periods is None else np.asarray(periods)
    if labels.size != revenue.shape[1]:
        raise DataError(f"periods has {labels.size} labels for {revenue.shape[1]} columns")
    cohorts, which = np.unique(cohort, return_inverse=True)
    order = np.argsort(which, kind="stable")
    starts = np.searchsorted(which[order], np.arange(cohorts.size))
    return CohortRevenue(cohorts, labels, np.add.reduceat(revenue[order], starts, axis=0))


def cohort_revenue_from_transactions(customer_id, time, amount,
                                     period_length: float = 1.0) -> CohortRevenue:
    """C3 data from a transaction log: a cohort is the period of a customer's first purchase.

    Args:
        customer_id: Per transaction.
        time: Per transaction, in any unit; periods are
            ⌊time / period_length⌋.
        amount: Dollars per transaction (≥ 0).
        period_length: Length of one period in the unit of ``time``.
    """
    ids = np.asarray(customer_id)
    time = _numbers(time, "time")
    amount = _numbers(amount, "amount")
    check_same_length(customer_id=ids, time=time, amount=amount)
    if np.any(amount < 0):
        raise DataError(f"amount contains negative values "
                        f"(first at index {int(np.flatnonzero(amount < 0)[0])})")
    if not period_length > 0:
        raise DataError(f"period_length must be > 0, got {period_length}")
    period = np.floor(time / period_length).astype(np.int64)
    _, customer = np.unique(ids, return_inverse=True)
    first = np.full(customer.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, customer, period)
    cohorts, cohort_row = np.unique(first[customer], return_inverse=True)
    periods = np.arange(period.min(), period.max() + 1)
    cell = cohort_row * periods.size + (period - periods[0])
    revenue = np.bincount(cell, weights=amount, minlength=cohorts.size * periods.size)
    return CohortRevenue(cohorts, periods, revenue.reshape(cohorts.size, periods.size))


# --- retention -------------------------------------------------------------------

@dataclass(frozen=True)
class RetentionCurves:
    """Share of each channel's customers still active k periods after acquisition.

    Only cohorts old enough to have been seen at age k count at age k
    (right censoring), so late cohorts do not drag the tail down.

    Attributes:
        channels: Channel names, one per row.
        ages: 0, 1, ... periods since acquisition.
        at_risk: (channels, ages) customers observed at each age.
        retained: (channels, ages) of those, how many were active.
    """

    channels: tuple[str, ...]
    ages: np.ndarray
    at_risk: np.ndarray
    retained: np.ndarray

    @property
    def share(self) -> np.ndarray:
        """retained / at_risk; NaN where no cohort is old enough."""
        return np.divide(self.retained, self.at_risk, out=np.full(self.at_risk.shape, np.nan),
                         where=self.at_risk > 0)


def retention_curves(acquisition_period, active, channel,
                     channel_names: Sequence[str], first_period: int = 0) -> RetentionCurves:
    """Retention by channel and age from a (customers, periods) activity matrix.

    Args:
        acquisition_period: Per customer, the period of acquisition.
        active: (customers, periods) True where the customer was active
            (a member, or bought) in that period; column j is period
            ``first_period + j``.
        channel: Per customer, channel index into ``channel_names``.
        channel_names: Names of the channels.
        first_period: Period of the first column.
    """
    acquired = _numbers(acquisition_period, "acquisition_period").astype(np.int64)
    channel = np.asarray(channel, dtype=np.int64)
    active = np.asarray(active, dtype=bool)
    check_same_length(acquisition_period=acquired, channel=channel)
    if active.ndim != 2 or active.shape[0] != acquired.size:
        raise DataError(f"active must be (customers, periods) with {acquired.size} rows, "
                        f"got shape {active.shape}")
    if channel.size and (channel.min() < 0 or channel.max() >= len(channel_names)):
        raise DataError(f"channel holds indices outside 0..{len(channel_names) - 1}")
    n_periods = active.shape[1]
    age = (first_period + np.arange(n_periods))[None, :] - acquired[:, None]
    seen = age >= 0
    # Customers acquired before the first column are seen from a later age on.
    n_ages = max(int(first_period + n_periods - acquired.min()), 1) if acquired.size else 1
    cell = (channel[:, None] * n_ages + age)[seen]
    size = len(channel_names) * n_ages
    at_risk = np.bincount(cell, minlength=size).reshape(len(channel_names), n_ages)
    retained = np.bincount(cell, weights=active[seen], minlength=size)
    return RetentionCurves(tuple(channel_names), np.arange(n_ages), at_risk,
                           retained.reshape(len(channel_names), n_ages).astype(np.int64))


# --- the game's observation ---------------------------------------------------------

def rfm_from_observation(observation: Observation, bins: int = 5) -> RFMScores:
    """RFM scores of every customer: recency in turns since the latest purchase,
    frequency as repeat purchases, monetary as dollars per purchase."""
    cols = observation.columns
    return rfm_scores(cols["recency"], cols["frequency"], cols["monetary"], bins)


def profit_deciles(observation: Observation, by=None, groups: int = 10) -> DecileTable:
    """Observed profit to date (margin less cost to serve, dollars) by decile of ``by``."""
    return decile_table(observation.columns["profit"], by, groups)


def whale_curve_from_observation(observation: Observation) -> WhaleCurve:
    """The whale curve of observed profit to date per customer."""
    return whale_curve(observation.columns["profit"])


def cohort_revenue_from_observation(observation: Observation) -> CohortRevenue:
    """Revenue per acquisition turn per turn, fees included: columns sum to the books."""
    return cohort_revenue(observation.acquisition_turn, _revenue_matrix(observation),
                          observation.turn_columns)


def retention_from_observation(observation: Observation) -> RetentionCurves:
    """Retention by channel: members still subscribed in a contractual business;
    elsewhere deaths are unseen, so customers who bought in the turn."""
    active = (observation.membership_matrix() if observation.scenario.contractual
              else observation.purchases > 0)
    return retention_curves(observation.acquisition_turn, active, observation.channel,
                            observation.scenario.customer_channel_names,
                            first_period=int(observation.turn_columns[0]))


def _revenue_matrix(observation: Observation) -> np.ndarray:
    s = observation.scenario
    if s.contractual and s.membership_fee > 0:
        return observation.spend + s.membership_fee * observation.membership_matrix()
    return observation.spend


# --- fitted models ---------------------------------------------------------------------

def fitted_parameters(fits) -> str:
    """The fits' estimates in one line: "Pareto/NBD: r=0.553, alpha=10.6, ...; Gamma-Gamma: ...".

    Args:
        fits: Model name -> fit (``CustomerValue.fits``); each labelled as
            the registry labels its model (an unregistered name as it is),
            parameters to three significant figures, as the papers name them.
    """
    return "; ".join(f"{registry.label(name)}: "
                     + ", ".join(f"{key}={value:.3g}" for key, value in fit.params.items())
                     for name, fit in fits.items())
