"""What the lab needs to know about one model: its spec, and the pieces specs share.

A :class:`ModelSpec` says, for one model, everything the generic code around
it would otherwise test its name for: the summary columns it reads and how
to check them, whether it takes weights and transaction logs, its forecast
horizon's unit and limit, how to fit it, which prediction columns it writes
and what its report adds.  ``ccsim fit`` (:mod:`sim.analytics.fit_command`),
the CSV reader (:mod:`sim.analytics.csv_input`), the lab screen and the
benchmarks read specs through :mod:`sim.analytics.registry`; the built-in
ones are in :mod:`sim.analytics.lab_models`.

Only the standard library and numpy are imported here, so ``ccsim``'s parser
can list the models without loading scipy; a spec's ``fit`` and ``predict``
import their model when called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Horizon", "ModelSpec", "PredictionTable", "customer_predictions"]

#: Canonical columns a summary row may carry, and what a transaction log's
#: per-customer summary (:class:`~sim.analytics.transactions.CustomerSummary`)
#: calls them.  ``referrals`` and ``exposure`` come from a log's ``referred_by``
#: column (:func:`~sim.analytics.transactions.summarise_referrals`).
SUMMARY_FIELDS = ("frequency", "recency", "T", "monetary_value", "referrals", "exposure")
#: The summary fields only a log with a ``referred_by`` column gives.
REFERRAL_FIELDS = ("referrals", "exposure")


@dataclass(frozen=True)
class Horizon:
    """The ``--horizon`` of a model's predictions.

    Attributes:
        unit: What one step of the horizon is, plural as a message says it
            ("time units of the data", "opportunities", "periods").
        singular: One step ("time unit", "opportunity", "period").
        limit: Longest horizon accepted, in ``unit`` (closed forms lose
            precision far beyond any data's span).
        whole: Whether the horizon must be a whole number of steps.
    """

    unit: str = "time units of the data"
    singular: str = "time unit"
    limit: int = 10_000
    whole: bool = False


@dataclass(frozen=True)
class PredictionTable:
    """The rows ``--predict`` writes.

    Attributes:
        header: Column names.
        rows: One list of cells per row (numbers, or '' for a blank cell).
        first_prediction: Index of the first predicted column (the ones
            before it are the input, copied).
        row_noun: What one row is, for messages ("row", "period").
    """

    header: list[str]
    rows: list[list]
    first_prediction: int
    row_noun: str = "row"


@dataclass(frozen=True)
class ModelSpec:
    """One model of the lab: everything the code around it reads instead of its name.

    Attributes:
        name: The ``--model`` name, as ``ccsim fit`` and the fits dicts key it.
        label: The name as the papers write it (report titles, the lab screen).
        module: The module that implements the model (``sim.analytics.bgnbd``).
        columns: Summary columns a file must have, canonical names in the
            papers' order; empty for a model fitted only inside the game.
        kind: ``"summary"`` (one row per customer) or ``"survivors"`` (one
            cohort's counts per period); picks the CSV reader's loader.
        whole_columns: Summary columns that must hold whole numbers.
        weighted: Whether a summary may carry a ``weights`` column.
        check_rows: ``check_rows(table, columns)`` raises the CSV table's
            row error for the first row the model cannot take (e.g. recency
            beyond T); None if the generic checks are enough.
        from_log: Summary column -> field of a transaction log's customer
            summary (``frequency``, ``recency``, ``T``, ``monetary_value``);
            None if the model does not read transaction logs.  A model that
            takes ``monetary_value`` needs the log's ``amount`` column, one
            that takes ``referrals`` or ``exposure`` its ``referred_by`` column.
        whole_times: A transaction log's times must be whole steps of the
            horizon (opportunity numbers for BG/BB).
        counts_repeat_buyers: The customers that count toward the minimum
            are repeat buyers (frequency > 0), not all rows.
        count_label: What the report's ``n`` counts ("customers").
        horizon: The forecast horizon, or None if predictions have no time
            window (then ``--horizon`` is refused with ``no_horizon``).
        no_horizon: Why a model without a horizon takes no ``--horizon``.
        discounted: Name of the discounted prediction column written with
            ``--discount-rate`` (``dert``), or None if there is none.
        fit: ``fit(data)`` -> FitResult, ``data`` a
            :class:`~sim.analytics.csv_input.FitInput`.
        log_likelihood: ``log_likelihood(params, data)`` -> the model's
            log-likelihood of ``data`` (a FitInput) at ``params`` (a dict),
            natural log, as its fit maximises it.
        predict: ``predict(data, fit, horizon, discount_rate)`` ->
            :class:`PredictionTable` (horizon in ``horizon.unit``; None
            without a horizon; discount_rate None without the column).
        extras: ``extras(data, fit)`` -> named numbers the report adds
            (also in ``--json``); None for none.
        facts: ``facts(extras)`` -> (label, text) lines the text report
            adds below the fit's facts.
        warnings: ``warnings(extras)`` -> warning lines (text report, or
            stderr with ``--json``).
        help_input: ``ccsim fit --help`` lines for the input columns (the
            first line beside the name, the rest below it).
        help_predict: ``--help`` lines for the prediction columns.
        game: Which business's in-game lab fits the model ("shops",
            "members"), or None if only ``ccsim fit`` does.
    """

    name: str
    label: str
    module: str = ""
    columns: tuple[str, ...] = ()
    kind: str = "summary"
    whole_columns: frozenset[str] = frozenset({"frequency"})
    weighted: bool = True
    check_rows: Callable[[Any, dict[str, np.ndarray]], None] | None = None
    from_log: Mapping[str, str] | None = None
    whole_times: bool = False
    counts_repeat_buyers: bool = False
    count_label: str = "customers"
    horizon: Horizon | None = field(default_factory=Horizon)
    no_horizon: str = ""
    discounted: str | None = None
    fit: Callable[[Any], Any] | None = None
    log_likelihood: Callable[[Mapping[str, float], Any], float] | None = None
    predict: Callable[[Any, Any, float | None, float | None], PredictionTable] | None = None
    extras: Callable[[Any, Any], dict[str, float]] | None = None
    facts: Callable[[dict[str, float]], list[tuple[str, str]]] | None = None
    warnings: Callable[[dict[str, float]], list[str]] | None = None
    help_input: tuple[str, ...] = ()
    help_predict: tuple[str, ...] = ()
    game: str | None = None

    def __post_init__(self) -> None:
        # A spec is code, written once: a mistake in one is the programmer's,
        # caught when it is registered rather than by a student's file.
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"model name {self.name!r} must be a lower-case identifier")
        if self.kind not in ("summary", "survivors"):
            raise ValueError(f"{self.name}: kind must be 'summary' or 'survivors', got {self.kind!r}")
        if self.columns and (self.fit is None or self.predict is None):
            raise ValueError(f"{self.name}: a model read from CSV needs fit and predict")
        unknown = set(self.from_log or {}) - set(self.columns)
        unread = set((self.from_log or {}).values()) - set(SUMMARY_FIELDS)
        if unknown or unread:
            raise ValueError(f"{self.name}: from_log maps {sorted(unknown | unread)}, which are "
                             f"not its columns or not fields of a customer summary")
        if self.whole_times and (self.horizon is None or not self.horizon.whole):
            raise ValueError(f"{self.name}: whole_times needs a whole-step horizon")
        if self.counts_repeat_buyers and "frequency" not in self.columns:
            raise ValueError(f"{self.name}: counts_repeat_buyers needs a frequency column")
        if self.horizon is None and not self.no_horizon:
            raise ValueError(f"{self.name}: without a horizon, no_horizon must say why")

    @property
    def reads_csv(self) -> bool:
        """Whether ``ccsim fit`` can fit the model to a CSV file."""
        return bool(self.columns)

    @property
    def reads_logs(self) -> bool:
        """Whether the model reads a transaction log as well as a summary."""
        return self.from_log is not None

    @property
    def log_needs_amount(self) -> bool:
        """Whether a transaction log must have an ``amount`` column for this model."""
        return "monetary_value" in (self.from_log or {}).values()

    @property
    def log_needs_referrals(self) -> bool:
        """Whether a transaction log must have a ``referred_by`` column for this model."""
        return any(name in REFERRAL_FIELDS for name in (self.from_log or {}).values())


def customer_predictions(data, predicted: Mapping[str, np.ndarray]) -> PredictionTable:
    """A per-customer prediction table: id, the model's input columns, then ``predicted``.

    Args:
        data: The :class:`~sim.analytics.csv_input.FitInput` fitted.
        predicted: Prediction column name -> one value per input row, in order.
    """
    columns: dict[str, object] = {}
    if data.ids is not None:
        columns[data.id_column] = data.ids
    columns.update(data.columns)
    first = len(columns)
    columns.update(predicted)
    return PredictionTable(list(columns), [list(row) for row in zip(*columns.values())], first)
