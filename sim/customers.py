"""The customer table: one row per customer the firm has ever acquired.

A struct of arrays declared once (``CustomerTable``'s fields and their
dtypes): rows are appended in acquisition order and never removed, and the
per-turn matrices have one column per turn of the game, warm-up included.
The table holds what the firm can record about its customers plus two
private columns (the prospect id behind each row and the service dollars
each received), which only the engine and the truth read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

#: ``cancel_turn`` of a customer who has not cancelled.
STILL_ACTIVE = np.iinfo(np.int16).max


def _column(dtype, *, per_turn: bool = False, fill=0):
    return field(metadata={"dtype": dtype, "per_turn": per_turn, "fill": fill})


@dataclass(eq=False)
class CustomerTable:
    """Per-customer rows, allocated once for every prospect who could be acquired.

    ``np.zeros`` maps fresh zero pages lazily, so rows never used (the
    prospects never acquired) cost no memory.

    Attributes:
        prospect: prospect id behind each row (private: links to the truth).
        channel: acquisition channel index.
        acquisition_turn: turn of acquisition.
        first_spend: dollars of the first purchase (made at acquisition).
        fees: membership fees paid so far, dollars.
        last_time: time of the latest purchase, turns (turn k spans [k-1, k)).
        active: False once a member has cancelled (always True otherwise).
        cancel_turn: turn at whose end a member cancelled, else STILL_ACTIVE.
        service_received: service dollars spent on the customer so far (private).
        total_purchases: purchases over all turns.
        total_spend: dollars over all turns.
        total_cost_to_serve: cost-to-serve dollars over all turns.
        referred_by: prospect id of the customer who referred this one, -1
            if none (private: the observation shows the referrer's customer id).
        referrals: customers this one has brought by referral so far.
        purchases: (rows, turn columns) purchases per turn.
        spend: (rows, turn columns) dollars per turn.
        cost_to_serve: (rows, turn columns) cost-to-serve dollars per turn.
        experiment_arm: (rows, turn columns) i + 1 if treated in experiment
            tier i that turn, -(i + 1) if held out as its control, else 0.
        size: rows in use.
    """

    prospect: np.ndarray = _column(np.int64)
    channel: np.ndarray = _column(np.int8)
    acquisition_turn: np.ndarray = _column(np.int16)
    first_spend: np.ndarray = _column(np.float64)
    fees: np.ndarray = _column(np.float64)
    last_time: np.ndarray = _column(np.float64)
    active: np.ndarray = _column(np.bool_)
    cancel_turn: np.ndarray = _column(np.int16, fill=STILL_ACTIVE)
    service_received: np.ndarray = _column(np.float64)
    total_purchases: np.ndarray = _column(np.int64)
    total_spend: np.ndarray = _column(np.float64)
    total_cost_to_serve: np.ndarray = _column(np.float64)
    referred_by: np.ndarray = _column(np.int64, fill=-1)
    referrals: np.ndarray = _column(np.int32)
    purchases: np.ndarray = _column(np.int32, per_turn=True)
    spend: np.ndarray = _column(np.float64, per_turn=True)
    cost_to_serve: np.ndarray = _column(np.float64, per_turn=True)
    experiment_arm: np.ndarray = _column(np.int8, per_turn=True)
    size: int = 0

    @classmethod
    def allocate(cls, capacity: int, turn_columns: int) -> "CustomerTable":
        """An empty table with room for ``capacity`` rows and ``turn_columns`` turns."""
        arrays = {}
        for f in cls.columns():
            shape = (capacity, turn_columns) if f.metadata["per_turn"] else (capacity,)
            a = np.zeros(shape, dtype=f.metadata["dtype"])
            if f.metadata["fill"]:
                a.fill(f.metadata["fill"])
            arrays[f.name] = a
        return cls(**arrays)

    def trimmed_copy(self) -> "CustomerTable":
        """A copy of the rows in use only (a snapshot: no spare capacity)."""
        return CustomerTable(**{f.name: getattr(self, f.name)[: self.size].copy()
                                for f in self.columns()}, size=self.size)

    def grown_copy(self, capacity: int) -> "CustomerTable":
        """A copy with room for ``capacity`` rows (e.g. of a ``trimmed_copy`` snapshot)."""
        turn_columns = self.purchases.shape[1]
        table = CustomerTable.allocate(capacity, turn_columns)
        for f in self.columns():
            getattr(table, f.name)[: self.size] = getattr(self, f.name)[: self.size]
        table.size = self.size
        return table

    @classmethod
    def columns(cls):
        """The declared columns (dataclass fields with a dtype)."""
        return [f for f in fields(cls) if "dtype" in f.metadata]

    def append(self, prospect: np.ndarray, channel: np.ndarray, turn: int, column: int,
               first_spend: np.ndarray) -> np.ndarray:
        """Add newly acquired customers, each with its first purchase; return their rows.

        Args:
            prospect: prospect ids acquired.
            channel: channel index of each.
            turn: the turn of acquisition.
            column: that turn's column in the per-turn matrices.
            first_spend: dollars of each one's first purchase.
        """
        # The new rows are contiguous: slice writes, no index arrays.
        new = slice(self.size, self.size + prospect.size)
        self.size += prospect.size
        self.prospect[new] = prospect
        self.channel[new] = channel
        self.acquisition_turn[new] = turn
        self.first_spend[new] = first_spend
        self.spend[new, column] = first_spend
        self.purchases[new, column] = 1
        self.total_purchases[new] = 1
        self.total_spend[new] = first_spend
        self.last_time[new] = turn - 1.0
        self.active[new] = True
        return np.arange(new.start, new.stop)

    def record_turn(self, rows: np.ndarray, column: int, purchases: np.ndarray,
                    spend: np.ndarray, cost_to_serve: np.ndarray, fees: np.ndarray,
                    last_time: np.ndarray) -> None:
        """Add one turn's purchases, spend, cost to serve and fees of ``rows``.

        ``last_time`` is the time of each row's latest purchase this turn
        (NaN where it bought nothing: its last purchase time is kept).
        """
        self.purchases[rows, column] += purchases.astype(np.int32)
        self.spend[rows, column] += spend
        self.cost_to_serve[rows, column] = cost_to_serve
        self.total_purchases[rows] += purchases
        self.total_spend[rows] += spend
        self.total_cost_to_serve[rows] += cost_to_serve
        self.fees[rows] += fees
        bought = purchases > 0
        self.last_time[rows[bought]] = last_time[bought]

    def cancel(self, rows: np.ndarray, turn: int) -> None:
        """Members of ``rows`` cancelled at the end of ``turn``."""
        self.active[rows] = False
        self.cancel_turn[rows] = turn

    def used(self, name: str) -> np.ndarray:
        """The rows in use of column ``name`` (a view)."""
        return getattr(self, name)[: self.size]
