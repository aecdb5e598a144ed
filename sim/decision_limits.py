"""How big a decision may be: bounded so that evaluating it costs about an engine step.

A decision's cost to the engine is its tier rules and score columns
evaluated over every customer.  The engine's own step costs about as much
as a few dozen passes over the prospect pool, so a market with ``P``
prospects and ``n`` customers allows ``COST_PER_PROSPECT * P / n`` cost
units, but no more than ``P / PROSPECTS_PER_COST`` (each part of a rule
also costs some 20 microseconds of Python whatever the customers) and no
fewer than ``MIN_COST``, counted as:

* 1 per comparison (``{"field", "op", "value"}``) and per 16 values of an
  ``in`` list,
* ``QUANTILE_COST`` per ``top``/``bottom`` rule (a sort of every customer),
* ``SCORE_COLUMN_COST`` per score column (decoding, checking and keeping it);
* ``HOLDOUT_COST`` per tier with a holdout (the engine draws one uniform per
  prospect for its control group, ``sim.holdout``);

and at most ``SCORE_COLUMNS_PER_PROSPECT * P / n`` score columns (at least
``MIN_SCORE_COLUMNS``, at most ``MAX_SCORE_COLUMNS``), so the columns of one
decision hold no more numbers than a few copies of the pool.  Measured on
``direct_seller`` (100,000 prospects, about 20,000 customers): a comparison
costs 10 to 30 microseconds, a sort 1.8 ms, an engine step 14 ms; the 1,562
units allowed there cost at most about 3 engine steps (the sandbox checks a
bot's decision and the engine evaluates it again when it plays it).  A
refusal names the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import DecisionError

COST_PER_PROSPECT = 1024
PROSPECTS_PER_COST = 64
MIN_COST = 256
QUANTILE_COST = 128
SCORE_COLUMN_COST = 16
VALUES_PER_COST = 16
HOLDOUT_COST = 16
SCORE_COLUMNS_PER_PROSPECT = 8
MIN_SCORE_COLUMNS = 8
MAX_SCORE_COLUMNS = 64


@dataclass(frozen=True)
class DecisionLimits:
    """The limits on one decision in a market of ``prospects`` with ``customers`` known.

    Attributes:
        max_cost: most cost units (see the module's docstring).
        max_score_columns: most score columns.
        customers: the customers the decision is evaluated over.
    """

    max_cost: int
    max_score_columns: int
    customers: int

    @classmethod
    def of_market(cls, prospects: int, customers: int) -> "DecisionLimits":
        ratio = prospects / max(customers, 1)
        return cls(max(MIN_COST, min(int(COST_PER_PROSPECT * ratio), prospects // PROSPECTS_PER_COST)),
                   min(MAX_SCORE_COLUMNS, max(MIN_SCORE_COLUMNS, int(SCORE_COLUMNS_PER_PROSPECT * ratio))),
                   customers)

    @property
    def max_reply_bytes(self) -> int:
        """Largest JSON reply that can hold a decision within these limits, bytes.

        Incompressible float64 columns in base64 take under 12 bytes a value;
        rules and names get 4 MiB.
        """
        return 4 * 2**20 + 12 * self.max_score_columns * max(self.customers, 1)

    def check_columns(self, count: int, where: str = "decision.scores") -> None:
        """Refuse more score columns than allowed (before any is decoded).

        Raises:
            DecisionError: naming the limit.
        """
        if count > self.max_score_columns:
            raise DecisionError(
                f"{where}: {count:,} score columns, at most {self.max_score_columns} in this "
                f"market ({SCORE_COLUMNS_PER_PROSPECT} x prospects / customers, "
                f"{MIN_SCORE_COLUMNS}..{MAX_SCORE_COLUMNS})")

    def check(self, tiers: Any, score_columns: int, where: str = "decision") -> None:
        """Refuse a decision that costs more than allowed to evaluate.

        Raises:
            DecisionError: naming the limit and what the decision costs.
        """
        self.check_columns(score_columns, f"{where}.scores")
        conditions, quantiles, values = rule_counts(tiers)
        holdouts = sum(1 for t in tiers if _positive(getattr(t, "holdout", 0))) \
            if isinstance(tiers, (list, tuple)) else 0
        cost = conditions + values // VALUES_PER_COST + QUANTILE_COST * quantiles \
            + SCORE_COLUMN_COST * score_columns + HOLDOUT_COST * holdouts
        if cost > self.max_cost:
            raise DecisionError(
                f"{where}: too costly to evaluate: {conditions:,} comparisons, {quantiles:,} "
                f"top/bottom rules, {values:,} listed values, {holdouts} holdout tiers and "
                f"{score_columns} score columns "
                f"cost {cost:,} units, at most {self.max_cost:,} in this market "
                f"({COST_PER_PROSPECT:,} x prospects / customers, at most prospects / "
                f"{PROSPECTS_PER_COST}, at least {MIN_COST}; a comparison costs 1, "
                f"{VALUES_PER_COST} listed values 1, a top/bottom rule {QUANTILE_COST}, "
                f"a score column {SCORE_COLUMN_COST}, a holdout {HOLDOUT_COST})")


def _positive(value: Any) -> bool:
    """True for a number > 0 (anything else is left for the engine to refuse by name)."""
    try:
        return bool(value > 0)
    except TypeError:
        return False


def rule_counts(tiers: Any) -> tuple[int, int, int]:
    """(comparisons, top/bottom rules, values in ``in`` lists) over every tier's rule.

    Walks without recursion; anything malformed is left for the engine to
    refuse by name.
    """
    conditions = quantiles = values = 0
    stack = [getattr(t, "rule", None) for t in tiers] if isinstance(tiers, (list, tuple)) else []
    while stack:
        rule = stack.pop()
        if isinstance(rule, dict):
            keys = set(rule)
            if keys == {"field", "op", "value"}:
                conditions += 1
                if isinstance(rule["value"], list):
                    values += len(rule["value"])
            elif keys in ({"top", "by"}, {"bottom", "by"}):
                quantiles += 1
            else:
                stack.extend(rule.values())
        elif isinstance(rule, list):
            stack.extend(rule)
    return conditions, quantiles, values
