"""Decisions: acquisition dollars per channel and service tiers, as plain data.

One marketing budget per turn pays for both: acquisition plus service must
not exceed it (``check_marketing_budget``); money not spent is profit.
A decision is JSON-serialisable (scores aside): ``{"acquisition": {channel:
dollars}, "tiers": [{"name", "rule", "service", "holdout"}]}``.  A tier's
``service`` is dollars per customer per turn, or ``"disengage"``; its optional
``holdout`` (a share, 0 .. 0.9, ``sim.limits.DECISION_LIMITS``) makes the tier
an experiment: the engine holds that random share of the tier's customers out
as a control (no service, not turned away, no cost; ``sim.holdout``).  Rules are declarative and
evaluated first-match-wins over the customers the firm knows:

* ``"all"`` — every customer;
* ``{"field": F, "op": OP, "value": V}`` with OP one of ``== != < <= > >= in
  not in``;
* ``{"top": 0.2, "by": F}`` / ``{"bottom": 0.1, "by": F}`` — a quantile:
  exactly round(share x n) customers of the whole list (not only those left
  by earlier tiers or the other parts of an ``all``), ties by row order;
* ``{"all": [rules]}``, ``{"any": [rules]}``, ``{"not": rule}``.

Fields are the observation's columns (``Observation.columns``) plus any score
column the caller supplies in ``Decision.scores``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .errors import DecisionError
from .limits import DECISION_LIMITS

DISENGAGE = "disengage"
_COMPARISONS = {
    "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
    ">": np.greater, ">=": np.greater_equal,
}
_OPERATORS = tuple(_COMPARISONS) + ("in", "not in")
#: Most tiers in a decision (tier numbers are int16 in the assignment).
MAX_TIERS = 100
#: Deepest all/any/not nesting of a rule; real rules nest two or three levels.
MAX_RULE_DEPTH = 32
#: Most parts (rules, values) in one tier's rule, all levels together.
MAX_RULE_PARTS = 10_000


@dataclass(frozen=True)
class Tier:
    """A player-defined group of customers and what the firm spends on each.

    Attributes:
        name: the player's label.
        rule: a declarative rule (see module docstring).
        service: dollars per customer per turn, or ``"disengage"``.
        holdout: share of the tier's customers held out as a control (0 =
            no experiment); who is held out is the engine's keyed draw.
    """

    name: str
    rule: Any
    service: float | str
    holdout: float = 0.0

    @property
    def disengaged(self) -> bool:
        return self.service == DISENGAGE

    @property
    def spend_per_customer(self) -> float:
        """Service dollars per customer per turn (0 when disengaged)."""
        return 0.0 if self.disengaged else float(self.service)


@dataclass(frozen=True)
class Decision:
    """One turn's decision.

    Attributes:
        acquisition: channel name -> dollars this turn.
        tiers: ordered tiers; a customer belongs to the first whose rule matches.
        scores: extra per-customer columns (aligned with the observation's
            rows) that rules may name, e.g. a predicted CLV.
    """

    acquisition: Mapping[str, float] = field(default_factory=dict)
    tiers: tuple[Tier, ...] = ()
    scores: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def acquisition_total(self) -> float:
        return float(sum(self.acquisition.values()))

    def __eq__(self, other: object) -> bool:
        """Same acquisition, tiers and score columns (compared value by value, NaN equal to NaN)."""
        if not isinstance(other, Decision):
            return NotImplemented
        if dict(self.acquisition) != dict(other.acquisition) or tuple(self.tiers) != tuple(other.tiers):
            return False
        if set(self.scores) != set(other.scores):
            return False
        return all(np.array_equal(np.asarray(v, dtype=float), np.asarray(other.scores[k], dtype=float),
                                  equal_nan=True) for k, v in self.scores.items())

    __hash__ = None  # mutable mappings inside: not hashable

    def to_dict(self) -> dict:
        """JSON-ready form (score columns as lists)."""
        out: dict[str, Any] = {
            "acquisition": {k: float(v) for k, v in self.acquisition.items()},
            "tiers": [_tier_dict(t) for t in self.tiers],
        }
        if self.scores:
            out["scores"] = {k: np.asarray(v, dtype=float).tolist() for k, v in self.scores.items()}
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "decision") -> "Decision":
        """Build a decision from its JSON form, refusing malformed entries."""
        if not isinstance(data, dict):
            raise DecisionError(f"{where}: must be a mapping with 'acquisition' and 'tiers'")
        unknown = sorted(set(data) - {"acquisition", "tiers", "scores"})
        if unknown:
            raise DecisionError(f"{where}.{unknown[0]}: unknown entry (known: acquisition, tiers, scores)")
        acquisition = data.get("acquisition", {})
        if not isinstance(acquisition, dict):
            raise DecisionError(f"{where}.acquisition: must map channel names to dollars")
        for name, dollars in acquisition.items():
            if not isinstance(name, str):
                raise DecisionError(f"{where}.acquisition: channel names must be text, got {name!r}")
            if not _is_number(dollars):
                raise DecisionError(f"{where}.acquisition.{name}: must be a number of "
                                    f"dollars, got {_brief(dollars)}")
        tiers = data.get("tiers", [])
        if not isinstance(tiers, list):
            raise DecisionError(f"{where}.tiers: must be a list")
        if len(tiers) > MAX_TIERS:
            raise DecisionError(f"{where}.tiers: at most {MAX_TIERS} tiers, got {len(tiers)}")
        parsed = []
        for i, tier in enumerate(tiers):
            if not isinstance(tier, dict) or set(tier) - {"name", "rule", "service", "holdout"}:
                raise DecisionError(f"{where}.tiers[{i}]: must have only name, rule, service "
                                    "and holdout")
            name = tier.get("name", f"tier {i + 1}")
            if not isinstance(name, str):
                raise DecisionError(f"{where}.tiers[{i}].name: must be text, got {_brief(name)}")
            service = tier.get("service", 0.0)
            _check_service(service, f"{where}.tiers[{i}].service")
            rule = tier.get("rule", "all")
            check_rule_shape(rule, f"{where}.tiers[{i}].rule")
            holdout = tier.get("holdout", 0.0)
            check_holdout(holdout, f"{where}.tiers[{i}].holdout")
            parsed.append(Tier(name, rule, service, holdout))
        scores = data.get("scores", {})
        if not isinstance(scores, dict):
            raise DecisionError(f"{where}.scores: must map score names to lists of numbers")
        scores = {k: _score_column(v, f"{where}.scores.{k}") for k, v in scores.items()}
        return cls(dict(acquisition), tuple(parsed), scores)


@dataclass(frozen=True)
class Assignment:
    """Tiers resolved over the firm's customer list for one turn.

    Attributes:
        tier: tier index per customer row, -1 for no tier (no service).
        service_per_customer: dollars of service per customer row this turn.
        disengaged: True where the customer's tier is disengaged.
        counts: customers per tier.
        service_cost: total service dollars this turn.
    """

    tier: np.ndarray
    service_per_customer: np.ndarray
    disengaged: np.ndarray
    counts: tuple[int, ...]
    service_cost: float


def check_acquisition(decision: Decision, channel_names: tuple[str, ...], budget: float) -> None:
    """Refuse unknown channels, negative or non-finite dollars, and overspend."""
    for name, dollars in decision.acquisition.items():
        if name not in channel_names:
            raise DecisionError(
                f"acquisition.{name}: unknown channel (known: {', '.join(channel_names)})")
        if isinstance(dollars, (bool, np.bool_)) or not isinstance(dollars, (int, float, np.number)):
            raise DecisionError(f"acquisition.{name}: must be a number of dollars, "
                                f"got {_brief(dollars)}")
        if not _is_number(dollars):
            raise DecisionError(f"acquisition.{name}: must be a number of dollars, "
                                f"got {_brief(dollars)}")
        if dollars < 0:
            raise DecisionError(f"acquisition.{name}: must be >= 0 dollars, got {dollars:g}")
    total = decision.acquisition_total
    if total > budget * (1 + 1e-9) + 1e-6:
        raise DecisionError(
            f"acquisition: total ${total:,.0f} is over the budget of ${budget:,.0f} per turn")


def check_marketing_budget(decision: Decision, assignment: Assignment, budget: float) -> None:
    """Refuse a turn whose acquisition plus service is over the marketing budget.

    The message names both entries and the tiers that cost money, so a
    player sees what to cut.
    """
    acquisition = decision.acquisition_total
    total = acquisition + assignment.service_cost
    if total > budget * (1 + 1e-9) + 1e-6:
        detail = ", ".join(f"{t.name}: {c:,} x ${t.spend_per_customer:,.2f}"
                           for t, c in zip(decision.tiers, assignment.counts)
                           if t.spend_per_customer > 0)
        raise DecisionError(
            f"budget: acquisition ${acquisition:,.0f} plus tiers' service ${assignment.service_cost:,.0f}"
            f" is ${total:,.0f}, over the marketing budget of ${budget:,.0f} per turn"
            + (f" ({detail})" if detail else ""))


def assign_tiers(decision: Decision, columns: Mapping[str, np.ndarray],
                 categories: Mapping[str, tuple[str, ...]], budget: float,
                 servable: np.ndarray | None = None) -> Assignment:
    """Resolve the decision's tiers over the customer list and check the service budget.

    Args:
        decision: the player's decision.
        columns: observable field name -> per-customer array (categorical
            fields hold integer codes).
        categories: categorical field name -> its value names (code order).
        budget: most service dollars allowed this turn.
        servable: False for customers the firm cannot serve (cancelled
            members); they join no tier.  Default: everyone.

    Raises:
        DecisionError: a malformed tier or rule, an unknown field or value,
            a negative spend, or a total over the budget.
    """
    n = len(next(iter(columns.values()))) if columns else 0
    if not isinstance(decision, Decision):
        raise DecisionError(f"decision: expected a Decision, got {type(decision).__name__}")
    if len(decision.tiers) > MAX_TIERS:
        raise DecisionError(f"tiers: at most {MAX_TIERS} tiers, got {len(decision.tiers)}")
    fields = dict(columns)
    for name, values in decision.scores.items():
        values = _score_column(values, f"scores.{name}")
        if values.shape != (n,):
            raise DecisionError(
                f"scores.{name}: must have one value per customer ({n}), got shape {values.shape}")
        if name in columns:
            raise DecisionError(f"scores.{name}: clashes with an observable field of that name")
        fields[name] = values
    tier = np.full(n, -1, dtype=np.int16)
    unassigned = np.ones(n, dtype=bool) if servable is None else np.asarray(servable, dtype=bool).copy()
    spend = np.zeros(n)
    disengaged = np.zeros(n, dtype=bool)
    counts = []
    for i, t in enumerate(decision.tiers):
        where = f"tiers[{i}]"
        if not isinstance(t, Tier):
            raise DecisionError(f"{where}: expected a Tier, got {type(t).__name__}")
        _check_service(t.service, f"{where}.service")
        check_holdout(t.holdout, f"{where}.holdout")
        check_rule_shape(t.rule, f"{where}.rule")
        match = _evaluate(t.rule, fields, categories, f"{where}.rule") & unassigned
        unassigned &= ~match
        tier[match] = i
        spend[match] = t.spend_per_customer
        disengaged[match] = t.disengaged
        counts.append(int(match.sum()))
    cost = float(spend.sum())
    if cost > budget * (1 + 1e-9) + 1e-6:
        detail = ", ".join(f"{t.name}: {c:,} x ${t.spend_per_customer:,.2f}"
                           for t, c in zip(decision.tiers, counts) if t.spend_per_customer > 0)
        raise DecisionError(
            f"tiers: service costs ${cost:,.0f}, over the budget of ${budget:,.0f} per turn ({detail})")
    return Assignment(tier, spend, disengaged, tuple(counts), cost)


def rule_uses(rule: Any, name: str) -> bool:
    """True if ``rule`` (a tier's rule, nested or not) reads the column ``name``."""
    if isinstance(rule, dict):
        return (rule.get("field") == name or rule.get("by") == name
                or any(rule_uses(v, name) for v in rule.values() if isinstance(v, (dict, list))))
    if isinstance(rule, list):
        return any(rule_uses(r, name) for r in rule)
    return False


def evaluate_rule(rule: Any, fields: Mapping[str, np.ndarray],
                  categories: Mapping[str, tuple[str, ...]] | None = None,
                  where: str = "rule") -> np.ndarray:
    """Boolean mask of the customers a rule matches (no first-match logic).

    Raises:
        DecisionError: naming ``where`` and the faulty part of the rule.
    """
    return _evaluate(rule, fields, categories or {}, where)


def _check_service(service: Any, where: str) -> None:
    """Refuse a tier's service that is not 'disengage' or finite dollars >= 0."""
    if isinstance(service, str) and service == DISENGAGE:
        return
    if not _is_number(service):
        raise DecisionError(f"{where}: must be dollars per customer or 'disengage', "
                            f"got {_brief(service)}")
    if service < 0:
        raise DecisionError(f"{where}: must be >= 0 dollars, got {service:g}")


def check_holdout(holdout: Any, where: str) -> None:
    """Refuse a tier's holdout that is not a share in ``DECISION_LIMITS``' range."""
    if not _is_number(holdout):
        raise DecisionError(f"{where}: must be a share of the tier (0 to 0.9), got {_brief(holdout)}")
    problem = DECISION_LIMITS["tiers[].holdout"].problem(holdout)
    if problem:
        raise DecisionError(f"{where}: {problem}")


def _tier_dict(tier: Tier) -> dict:
    """A tier's JSON form; ``holdout`` only when set, so records without tests stay as they were."""
    out = {"name": tier.name, "rule": tier.rule, "service": tier.service}
    if tier.holdout:
        out["holdout"] = float(tier.holdout)
    return out


_PLAIN = (str, int, float, bool, type(None), np.number, np.bool_)


def check_rule_shape(rule: Any, where: str = "rule") -> None:
    """Refuse a rule that is not plain data, nests too deep or is too big.

    Walks the rule without recursion, so a rule nested a million levels deep
    is refused by name instead of exhausting Python's stack.  Numbers are
    checked (finite, not too big) where the rule is evaluated, which knows
    what each one means.

    Raises:
        DecisionError: naming the part at fault.
    """
    stack = [(rule, where, 0)]
    parts = 0
    while stack:
        part, path, depth = stack.pop()
        parts += 1
        if parts > MAX_RULE_PARTS:
            raise DecisionError(f"{where}: more than {MAX_RULE_PARTS:,} parts")
        if depth > MAX_RULE_DEPTH:
            raise DecisionError(f"{path}: rules nest deeper than {MAX_RULE_DEPTH} levels")
        if isinstance(part, dict):
            for key, value in part.items():
                if not isinstance(key, str):
                    raise DecisionError(f"{path}: keys must be text, got {_brief(key)}")
                stack.append((value, f"{path}.{key}", depth + 1))
        elif isinstance(part, (list, tuple)):
            stack.extend((value, f"{path}[{j}]", depth + 1) for j, value in enumerate(part))
        elif not isinstance(part, _PLAIN):
            raise DecisionError(f"{path}: must be plain data (text, numbers, lists, mappings), "
                                f"got {type(part).__name__}")


def _brief(value: Any) -> str:
    """A short description of a bad value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e300:
        return "a number out of range"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _evaluate(rule: Any, fields: Mapping[str, np.ndarray],
              categories: Mapping[str, tuple[str, ...]], where: str) -> np.ndarray:
    n = len(next(iter(fields.values()))) if fields else 0
    if (isinstance(rule, str) and rule == "all") or rule is True:
        return np.ones(n, dtype=bool)
    if not isinstance(rule, dict):
        raise DecisionError(f"{where}: must be 'all' or a mapping, got {_brief(rule)}")
    if set(rule) == {"all"} or set(rule) == {"any"}:
        key = next(iter(rule))
        parts = rule[key]
        if not isinstance(parts, list) or not parts:
            raise DecisionError(f"{where}.{key}: must be a non-empty list of rules")
        masks = [_evaluate(r, fields, categories, f"{where}.{key}[{j}]") for j, r in enumerate(parts)]
        return np.logical_and.reduce(masks) if key == "all" else np.logical_or.reduce(masks)
    if set(rule) == {"not"}:
        return ~_evaluate(rule["not"], fields, categories, f"{where}.not")
    if set(rule) in ({"top", "by"}, {"bottom", "by"}):
        side = "top" if "top" in rule else "bottom"
        share = rule[side]
        if not _is_number(share) or not 0 <= share <= 1:
            raise DecisionError(f"{where}.{side}: must be a share between 0 and 1, got {share!r}")
        values = _field(rule["by"], fields, categories, f"{where}.by").astype(float)
        return _quantile_mask(values, share, side)
    if set(rule) == {"field", "op", "value"}:
        values = _field(rule["field"], fields, categories, f"{where}.field")
        op = rule["op"]
        if op not in _OPERATORS:
            raise DecisionError(f"{where}.op: unknown operator {op!r} (known: {', '.join(_OPERATORS)})")
        target = rule["value"]
        name = rule["field"]
        if name in categories:
            target = _category_codes(target, categories[name], op, f"{where}.value")
        elif op in ("in", "not in"):
            if not isinstance(target, list) or not all(_is_number(v) for v in target):
                raise DecisionError(f"{where}.value: must be a list of numbers for '{op}'")
        elif not _is_number(target):
            raise DecisionError(f"{where}.value: must be a number for field {name!r}, got {_brief(target)}")
        if op in ("in", "not in"):
            mask = np.isin(values, np.asarray(target))
            return mask if op == "in" else ~mask
        if name in categories and op not in ("==", "!="):
            raise DecisionError(f"{where}.op: {name!r} is categorical; use ==, !=, in or not in")
        return _COMPARISONS[op](values, target)
    raise DecisionError(
        f"{where}: unknown rule form with keys {sorted(map(str, rule))} "
        "(use field/op/value, top/by, bottom/by, all, any or not)")


def _score_column(values: Any, where: str) -> np.ndarray:
    """Scores as a 1-D float array; NaN means missing, infinities are refused."""
    try:
        column = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise DecisionError(f"{where}: must be a list of numbers, one per customer") from None
    if column.ndim != 1:
        raise DecisionError(f"{where}: must have one value per customer (a flat list), "
                            f"got shape {column.shape}")
    if np.isinf(column).any():
        raise DecisionError(f"{where}: must be finite numbers (or NaN for missing), got infinity "
                            f"at position {int(np.flatnonzero(np.isinf(column))[0])}")
    return column


def _is_number(value: Any) -> bool:
    """A finite real number that is not a boolean (huge integers are not)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too big for a float
        return False


def _field(name: Any, fields: Mapping[str, np.ndarray], categories: Mapping[str, tuple[str, ...]],
           where: str) -> np.ndarray:
    if not isinstance(name, str) or name not in fields:
        raise DecisionError(f"{where}: unknown field {name!r} (known: {', '.join(sorted(fields))})")
    return fields[name]


def _category_codes(target: Any, names: tuple[str, ...], op: str, where: str) -> Any:
    wanted = target if op in ("in", "not in") else [target]
    if op in ("in", "not in") and not isinstance(target, list):
        raise DecisionError(f"{where}: must be a list of values for '{op}'")
    codes = []
    for value in wanted:
        if value not in names:
            raise DecisionError(f"{where}: unknown value {value!r} (known: {', '.join(names)})")
        codes.append(names.index(value))
    return codes if op in ("in", "not in") else codes[0]


def _quantile_mask(values: np.ndarray, share: float, side: str) -> np.ndarray:
    """Exactly round(share * n) customers, ties broken by row order (deterministic)."""
    n = values.size
    k = int(round(share * n))
    mask = np.zeros(n, dtype=bool)
    if k == 0:
        return mask
    keyed = -values if side == "top" else values
    # NaN scores go last on either side.
    keyed = np.where(np.isnan(keyed), np.inf, keyed)
    order = np.argsort(keyed, kind="stable")
    mask[order[:k]] = True
    return mask
