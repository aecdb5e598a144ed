"""What the player (or a bot) sees: observable data only, never latent traits.

The observation is columnar: one row per customer the firm has ever
acquired (in acquisition order) and one column per turn played so far,
warm-up turns included, plus the firm's books.  Arrays are read-only views
of the engine's storage, so building an observation copies nothing.

Everything a strategy can reach from an observation is read-only: every
array (the fields, the tags, the computed ``columns`` such as ``profit``)
has numpy's ``writeable`` flag off, and the mappings (``tags``,
``columns``, the books' ``acquired_by_channel``) refuse changes
(``sim.frozen``).  The engine assigns tiers from these very columns, so a
strategy that wrote to them would change its own game.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

from .customers import STILL_ACTIVE
from .errors import SimError
from .frozen import FrozenDict, read_only
from .public import PublicScenario

__all__ = ["STILL_ACTIVE", "Observation", "TurnBooks"]


@dataclass(frozen=True)
class TurnBooks:
    """The firm's accounts for one turn, dollars (what an accountant can see).

    ``profit = gross_margin - cost_to_serve - service_spend -
    acquisition_spend - fixed_cost``; gross margin is the scenario's margin
    share of revenue (purchases plus membership fees).  ``members`` is the
    count of paying members at the turn's end in a contractual business
    (where cancellations are seen), None otherwise: in a non-contractual
    business nobody sees a customer leave.
    """

    turn: int
    acquired: int
    acquired_by_channel: dict[str, int]
    buyers: int
    cancellations: int
    revenue: float
    gross_margin: float
    cost_to_serve: float
    service_spend: float
    acquisition_spend: float
    fixed_cost: float
    profit: float
    members: int | None = None

    def __post_init__(self) -> None:
        # The books a strategy sees are the game's own: a strategy must not edit them.
        object.__setattr__(self, "acquired_by_channel", FrozenDict(self.acquired_by_channel))

    def to_dict(self) -> dict:
        """The books as a flat JSON-ready mapping (``acquired_by_channel`` a copy)."""
        out = dict(self.__dict__)
        out["acquired_by_channel"] = dict(self.acquired_by_channel)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "TurnBooks":
        """The inverse of ``to_dict`` (a record's books are checked by ``sim.records``).

        Raises:
            SimError: ``data`` is not a mapping of the books' fields.
        """
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not set(data) <= names \
                or not names - {"members"} <= set(data):
            raise SimError(f"books: expected a mapping of {sorted(names)}")
        return cls(**data)


@dataclass(frozen=True, eq=False)
class Observation:
    """Observable data at the start of a turn.

    Attributes:
        scenario: the public view of the business being played (story,
            channels, tags, budget; never the latent customer types).
        turn: the turn about to be decided (1..turns); turns + 1 when over.
        turn_columns: the turn number of each column of the matrices.
        customer_id: each customer's id: a number that stays the customer's for
            the whole game, an opaque keyed permutation of the prospects (it
            says nothing of which prospect the customer is).
        channel: acquisition channel index per row (names in scenario).
        acquisition_turn: turn each customer was acquired.
        tags: profile tag name -> value code per row.
        purchases: (rows, turn columns) purchases per turn, the first
            purchase (at acquisition) included.
        spend: (rows, turn columns) dollars spent per turn.
        cost_to_serve: (rows, turn columns) dollars the firm spent serving
            each customer (returns, support) per turn.
        first_spend: dollars of each customer's first purchase.
        total_purchases: purchases per row over all turns (row sums of
            ``purchases``, kept by the engine so no turn re-sums history).
        total_spend: dollars per row over all turns (row sums of ``spend``).
        total_cost_to_serve: dollars per row over all turns (row sums of
            ``cost_to_serve``).
        fees_paid: membership fees paid so far per row, dollars (0 unless
            the scenario is contractual).
        last_purchase_time: time of each customer's latest purchase, in
            turns; turn k spans the time [k - 1, k).
        cancel_turn: the turn at whose end each customer cancelled;
            ``STILL_ACTIVE`` while active (contractual scenarios only).
        active: False once a customer has cancelled (contractual scenarios
            only; in non-contractual ones deaths are never seen: all True).
        books: the firm's books for every turn so far, warm-up included.
        experiment_arm: (rows, turn columns) int8: i + 1 where the customer
            was treated in experiment tier i (a tier with a holdout) that
            turn, -(i + 1) where held out as its control, 0 otherwise.
            None only for observations built without it (all zeros).
        referred_by: customer id of the customer who referred each row, -1
            if none; None in a scenario without referrals.
        referrals: customers each row has brought by referral so far; None
            in a scenario without referrals.
    """

    scenario: PublicScenario
    turn: int
    turn_columns: np.ndarray
    customer_id: np.ndarray
    channel: np.ndarray
    acquisition_turn: np.ndarray
    tags: dict[str, np.ndarray]
    purchases: np.ndarray
    spend: np.ndarray
    cost_to_serve: np.ndarray
    first_spend: np.ndarray
    total_purchases: np.ndarray
    total_spend: np.ndarray
    total_cost_to_serve: np.ndarray
    fees_paid: np.ndarray
    last_purchase_time: np.ndarray
    cancel_turn: np.ndarray
    active: np.ndarray
    books: tuple[TurnBooks, ...]
    experiment_arm: np.ndarray | None = None
    referred_by: np.ndarray | None = None
    referrals: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.experiment_arm is None:
            object.__setattr__(self, "experiment_arm", np.zeros(self.purchases.shape, dtype=np.int8))
        for name, value in list(self.__dict__.items()):
            if isinstance(value, np.ndarray):
                object.__setattr__(self, name, read_only(value))
        object.__setattr__(self, "tags", FrozenDict({name: read_only(np.asarray(codes))
                                                     for name, codes in self.tags.items()}))
        object.__setattr__(self, "books", tuple(self.books))

    @property
    def n_customers(self) -> int:
        return self.customer_id.size

    @property
    def now(self) -> float:
        """Current time in turns (the start of the turn being decided)."""
        return float(self.turn - 1)

    @property
    def done(self) -> bool:
        return self.turn > self.scenario.turns

    @property
    def categories(self) -> dict[str, tuple[str, ...]]:
        """Categorical field name -> its value names, in code order."""
        cats = {"channel": self.scenario.customer_channel_names}
        cats.update({t.name: t.values for t in self.scenario.profile})
        return cats

    @cached_property
    def columns(self) -> dict[str, np.ndarray]:
        """Per-customer fields that tier rules may use (units in the names' docs), read-only.

        customer_id, channel, profile tags (codes), acquisition_turn, age (turns since
        acquisition), purchases (total), frequency (repeat purchases),
        recency (turns since the latest purchase), monetary (mean dollars per
        purchase), total_spend, last_turn_purchases, last_turn_spend,
        total_cost_to_serve, profit (gross margin on purchases and fees less
        cost to serve, dollars, service not counted), profit_per_turn
        (profit / turns since acquisition, at least one), active (1 or 0),
        and in a scenario with referrals, referrals (customers brought so far).
        """
        purchases = self.total_purchases
        total_spend = self.total_spend
        total_cts = self.total_cost_to_serve
        acquisition_time = self.acquisition_turn - 1.0
        cols = {
            "customer_id": self.customer_id,
            "channel": self.channel,
            **self.tags,
            "acquisition_turn": self.acquisition_turn,
            "age": self.now - acquisition_time,
            "purchases": purchases,
            "frequency": purchases - 1,
            "recency": self.now - self.last_purchase_time,
            "monetary": np.divide(total_spend, purchases, out=np.zeros(purchases.size),
                                  where=purchases > 0),
            "total_spend": total_spend,
            "last_turn_purchases": self.purchases[:, -1] if self.purchases.shape[1] else purchases * 0,
            "last_turn_spend": self.spend[:, -1] if self.spend.shape[1] else total_spend * 0,
            "total_cost_to_serve": total_cts,
            "profit": self.scenario.gross_margin * (total_spend + self.fees_paid) - total_cts,
            "profit_per_turn": None,
            "active": self.active.astype(np.int8),
        }
        cols["profit_per_turn"] = cols["profit"] / np.maximum(cols["age"], 1.0)
        if self.referrals is not None:
            cols["referrals"] = self.referrals
        return FrozenDict({name: read_only(np.asarray(values)) for name, values in cols.items()})

    def membership_matrix(self) -> np.ndarray:
        """(rows, turn columns) True where the customer was a paying member that turn.

        Meaningful in contractual scenarios, where cancellations are seen.
        """
        turn = self.turn_columns[None, :]
        return (turn >= self.acquisition_turn[:, None]) & (turn <= self.cancel_turn[:, None])

    def profit_matrix(self) -> np.ndarray:
        """(rows, turn columns) observable contribution per turn, dollars.

        Gross margin on purchases and membership fees less cost to serve;
        service spend not counted.
        """
        s = self.scenario
        revenue = self.spend.copy()
        if s.contractual and s.membership_fee > 0:
            revenue += s.membership_fee * self.membership_matrix()
        return s.gross_margin * revenue - self.cost_to_serve
