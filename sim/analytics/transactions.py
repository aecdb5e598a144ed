"""Per-customer frequency, recency, age and spend: the input of every model.

Two sources give the same summary: a transaction log (customer id, time,
amount; any business's data) and the game's :class:`~sim.observation.Observation`
(times in turns). The conventions are the papers': the first purchase starts
the customer's clock and is not counted; ``frequency`` x is the number of
repeat purchases, ``recency`` t_x the time of the last repeat purchase
measured from the first (0 when x = 0), ``T`` the time from the first
purchase to the end of observation, and ``monetary_value`` the mean spend of
the repeat purchases (0 when x = 0), which is what Gamma–Gamma models.

A log with a ``referred_by`` column also gives each customer's referrals
(customers whose ``referred_by`` is its id) and the exposure they cover
(:func:`summarise_referrals`), the referral NBD's input.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..observation import Observation
from .fitting import DataError, as_float_array, check_same_length

__all__ = ["CustomerSummary", "summarise_transactions", "summarise_observation",
           "summarise_referrals"]


@dataclass(frozen=True)
class CustomerSummary:
    """One row per customer; times in the unit of the source (weeks, turns...).

    Attributes:
        customer_id: Customer ids (transaction logs: in order of first
            appearance; observations: in acquisition order).
        frequency: Repeat purchases x (whole numbers, as floats).
        recency: Time of the last repeat purchase after the first, t_x.
        T: Time from the first purchase to the end of observation.
        monetary_value: Mean spend per repeat purchase, dollars (0 if x = 0).
        first_purchase: Time of the first purchase.
        referrals: Customers each one brought (whole numbers, as floats);
            None unless :func:`summarise_referrals` added them.
        exposure: Time each customer's referrals cover (see
            :func:`summarise_referrals`); None likewise.
    """

    customer_id: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray
    first_purchase: np.ndarray
    referrals: np.ndarray | None = None
    exposure: np.ndarray | None = None

    def __len__(self) -> int:
        return self.customer_id.size

    def to_columns(self) -> dict[str, np.ndarray]:
        """Column name -> array, in the order a summary CSV lists them."""
        return {"customer_id": self.customer_id, "frequency": self.frequency,
                "recency": self.recency, "T": self.T,
                "monetary_value": self.monetary_value}


def summarise_transactions(customer_id, time, amount=None,
                           observation_end: float | None = None) -> CustomerSummary:
    """Summarise a transaction log, one row per transaction.

    Transactions of one customer at the same time count as one purchase
    (their amounts add up), as in the CDNOW data set, where a customer's
    purchases on one day are one transaction.

    Args:
        customer_id: Customer of each transaction (any hashable, sortable
            values: numbers or strings).
        time: Time of each transaction (any unit; predictions come out in it).
        amount: Dollars per transaction; None if the log has no amounts
            (monetary_value is then 0).
        observation_end: End of the observation window, same unit as time;
            defaults to the latest transaction time.

    Returns:
        The per-customer summary, customers in order of first appearance.

    Raises:
        DataError: Empty log, mismatched lengths, negative or non-finite
            times or amounts, or a transaction after ``observation_end``.
    """
    ids = np.asarray(customer_id)
    if ids.ndim != 1:
        raise DataError(f"customer_id must be one-dimensional, got shape {ids.shape}")
    if ids.size == 0:
        raise DataError("customer_id is empty: the log has no transactions")
    times = as_float_array(time, "time")
    amounts = np.zeros(times.size) if amount is None else as_float_array(amount, "amount")
    check_same_length(customer_id=ids, time=times, amount=amounts)
    end = float(times.max()) if observation_end is None else float(observation_end)
    if not np.isfinite(end):
        raise DataError(f"observation_end must be finite, got {observation_end}")
    if np.any(times > end):
        index = int(np.flatnonzero(times > end)[0])
        raise DataError(f"time exceeds observation_end at row {index} "
                        f"(time={times[index]}, observation_end={end})")

    unique_ids, first_row, customer = np.unique(ids, return_index=True, return_inverse=True)
    customer = customer.ravel()
    # Merge same-time transactions: sort by (customer, time), keep run starts.
    order = np.lexsort((times, customer))
    sorted_customer, sorted_time = customer[order], times[order]
    new_purchase = np.ones(order.size, dtype=bool)
    new_purchase[1:] = (sorted_customer[1:] != sorted_customer[:-1]) | (sorted_time[1:] != sorted_time[:-1])
    purchase_index = np.cumsum(new_purchase) - 1
    purchase_customer = sorted_customer[new_purchase]
    purchase_time = sorted_time[new_purchase]
    purchase_amount = np.bincount(purchase_index, weights=amounts[order])

    n_customers = unique_ids.size
    purchases = np.bincount(purchase_customer, minlength=n_customers)
    starts = np.concatenate(([0], np.cumsum(purchases)[:-1]))
    first_time = purchase_time[starts]
    last_time = purchase_time[starts + purchases - 1]
    first_amount = purchase_amount[starts]
    total_amount = np.bincount(purchase_customer, weights=purchase_amount, minlength=n_customers)

    frequency = (purchases - 1).astype(float)
    repeat_spend = total_amount - first_amount
    monetary = np.divide(repeat_spend, frequency, out=np.zeros(n_customers), where=frequency > 0)
    # Customers listed in order of first appearance, the order a reader expects.
    appearance = np.argsort(first_row, kind="stable")
    return CustomerSummary(
        customer_id=unique_ids[appearance],
        frequency=frequency[appearance],
        recency=(last_time - first_time)[appearance],
        T=(end - first_time)[appearance],
        monetary_value=monetary[appearance],
        first_purchase=first_time[appearance],
    )


def summarise_observation(observation: Observation) -> CustomerSummary:
    """Summarise what a player has seen, in turns, one row per customer ever acquired.

    The first purchase is made when the customer is acquired, at the start
    of the acquisition turn (time acquisition_turn − 1); the observation
    records each customer's latest purchase time exactly, so x, t_x and T
    are the continuous-time data the Pareto/NBD and BG/NBD expect.

    Args:
        observation: The game's observation at the start of a turn.

    Returns:
        The summary; ``T`` and ``recency`` in turns, monetary in dollars.
    """
    cols = observation.columns
    first_time = observation.acquisition_turn - 1.0
    frequency = cols["frequency"].astype(float)
    repeat_spend = cols["total_spend"] - observation.first_spend
    monetary = np.divide(repeat_spend, frequency, out=np.zeros(frequency.size),
                         where=frequency > 0)
    recency = np.where(frequency > 0, observation.last_purchase_time - first_time, 0.0)
    return CustomerSummary(
        customer_id=np.asarray(observation.customer_id),
        frequency=frequency,
        recency=recency,
        T=observation.now - first_time,
        monetary_value=np.maximum(monetary, 0.0),
        first_purchase=first_time,
    )


def summarise_referrals(summary: CustomerSummary, referrer: np.ndarray,
                        cancelled_span: np.ndarray | None = None) -> CustomerSummary:
    """Add each customer's referrals and the exposure they cover to a log's summary.

    The exposure is the lab's (:func:`sim.analytics.referral_nbd.exposure_from_observation`)
    in the log's clock: a referral made in one turn shows as a friend joining
    the next, so the referrals seen at the window's end cover the time from
    the first purchase to the end less one time unit (one turn), ``T - 1``;
    a member who cancelled stops referring at the end of the cancellation
    turn, so its exposure is at most ``cancelled_span``.

    Args:
        summary: The log's per-customer summary.
        referrer: Per customer (summary order), the row in the summary of the
            customer who referred it, or -1 if none.
        cancelled_span: Per customer, time from its first purchase to the end
            of its cancellation turn (inf while a member); None if the log
            has no cancellations.

    Returns:
        ``summary`` with ``referrals`` and ``exposure`` (both >= 0).
    """
    referrer = np.asarray(referrer, dtype=np.int64)
    referred = referrer[referrer >= 0]
    referrals = np.bincount(referred, minlength=len(summary)).astype(float)
    exposure = summary.T - 1.0
    if cancelled_span is not None:
        exposure = np.minimum(exposure, np.asarray(cancelled_span, dtype=float))
    return replace(summary, referrals=referrals, exposure=np.maximum(exposure, 0.0))
