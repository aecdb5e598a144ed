"""Editing a turn's plan safely: undo and redo, where new tiers go, typed amounts.

``PlanEditor`` is the one way the screens change a ``Plan``: every change
(a channel's dollars, a tier's spend, a tier added, moved, removed, turned
away, the plan put back to last turn's) is recorded, so each can be undone
and redone.  A run of changes to the same control (dragging a slider,
typing digits in a field) is one step.

New tiers go *last* — but before any catch-all tier ("everyone") at the end,
since first match wins: "top 2%, 5%, 10%, 20%, 40%" added in that order
each get the customers the ones before left, and nothing lands behind a tier
that takes everyone.

``parse_amount`` reads a typed number strictly: "1.2.3", "12abc", "1e999"
or "nan" are refused with a sentence, never read as something else.
Nothing here imports pygame.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .decisions import MAX_TIERS
from .errors import SimError
from .session import Plan, TierPlan

#: Largest amount a field accepts, dollars (far above any budget; keeps sums finite).
MAX_AMOUNT = 1e9
#: Undo steps kept.
HISTORY = 200

# ASCII digits only: Python's \d would also take "١٢" (Arabic-Indic digits), which float() reads.
_AMOUNT = re.compile(r"^[+-]?\$?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.[0-9]+)?$")


class AmountError(SimError):
    """A typed amount that is not a number of dollars; the message says why, for the player."""


def parse_amount(text: str, allow_negative: bool = False, maximum: float = MAX_AMOUNT) -> float:
    """A typed amount as a float: digits, an optional decimal point and thousands commas.

    Args:
        text: what the player typed ("1250", "12.50", "$1,250", "-3" if allowed).
        allow_negative: accept a leading minus (rule values such as "profit < -10").
        maximum: largest magnitude accepted.

    Raises:
        AmountError: with a sentence quoting the text ("'1.2.3' is not a number ...").
    """
    s = text.strip()
    shown = s if len(s) <= 24 else s[:21] + "..."
    if not s:
        raise AmountError("type an amount (digits, e.g. 1250 or 12.50)")
    if not _AMOUNT.match(s) or not any(ch in "0123456789" for ch in s):
        raise AmountError(f"'{shown}' is not a number: use digits and at most one decimal point, "
                          "e.g. 1250 or 12.50")
    value = float(s.replace("$", "").replace(",", ""))
    if not math.isfinite(value) or abs(value) > maximum:
        raise AmountError(f"'{shown}' is too large (at most {maximum:,.0f})")
    if value < 0 and not allow_negative:
        raise AmountError(f"'{shown}': an amount of dollars cannot be negative")
    return value


def is_catch_all(rule) -> bool:
    """True for a rule that takes every customer ("all")."""
    return rule is True or (isinstance(rule, str) and rule == "all")


def insertion_index(plan: Plan) -> int:
    """Where a new tier goes: last, but before the catch-all tiers that end the list."""
    i = len(plan.tiers)
    while i > 0 and is_catch_all(plan.tiers[i - 1].rule):
        i -= 1
    return i


@dataclass(frozen=True)
class _Step:
    plan: Plan
    what: str


class PlanEditor:
    """A turn's plan with undo and redo.

    Args:
        plan: the plan to edit (the editor owns it from now on).
        start: the plan the turn started from (to tell whether it was edited).
    """

    def __init__(self, plan: Plan, start: Plan | None = None):
        self.plan = plan
        self.start = (start or plan).copy()
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._last_tag: object = None

    # ------------------------------------------------------------ history
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def edited(self) -> bool:
        """True when the plan differs from the one the turn started with."""
        return self.plan != self.start

    def _record(self, what: str, tag: object = None) -> None:
        """Remember the plan before a change; a change to the same control as the last is one step."""
        if tag is not None and tag == self._last_tag and self._undo:
            return
        self._undo.append(_Step(self.plan.copy(), what))
        del self._undo[:-HISTORY]
        self._redo.clear()
        self._last_tag = tag

    def undo(self) -> str | None:
        """Put back the plan before the last change; returns what was undone (None: nothing)."""
        return self._step(self._undo, self._redo)

    def redo(self) -> str | None:
        """Do again the last change undone; returns what was redone (None: nothing)."""
        return self._step(self._redo, self._undo)

    def _step(self, source: list[_Step], target: list[_Step]) -> str | None:
        """Take the plan from the top of ``source``, keeping the current one on ``target``."""
        if not source:
            return None
        step = source.pop()
        target.append(_Step(self.plan.copy(), step.what))
        self.plan = step.plan
        self._last_tag = None
        return step.what

    def end_gesture(self) -> None:
        """The next change starts a new undo step even on the same control (a field confirmed)."""
        self._last_tag = None

    # ------------------------------------------------------------ changes
    def set_channel(self, name: str, dollars: float) -> None:
        """Acquisition dollars this turn for channel ``name``."""
        dollars = float(min(max(dollars, 0.0), MAX_AMOUNT))
        if self.plan.acquisition.get(name) == dollars:
            return
        self._record(f"{name} dollars", ("channel", name))
        self.plan.acquisition[name] = dollars

    def set_service(self, index: int, dollars: float) -> None:
        """Service dollars per customer for tier ``index``."""
        dollars = float(min(max(dollars, 0.0), MAX_AMOUNT))
        if self.plan.tiers[index].service == dollars:
            return
        self._record(f"'{self.plan.tiers[index].name}' spend", ("tier", id(self.plan.tiers[index])))
        self.plan.tiers[index].service = dollars

    def toggle_disengaged(self, index: int) -> bool:
        """Turn tier ``index`` away, or serve it again; returns its new state (True: turned away)."""
        tier = self.plan.tiers[index]
        self._record(f"turning '{tier.name}' {'back' if tier.disengaged else 'away'}")
        tier.disengaged = not tier.disengaged
        return tier.disengaged

    def add_tier(self, tier: TierPlan, index: int | None = None) -> int:
        """Add ``tier`` (by default at ``insertion_index``); returns where it went.

        Raises:
            SimError: the plan already has ``MAX_TIERS`` tiers.
        """
        if len(self.plan.tiers) >= MAX_TIERS:
            raise SimError(f"at most {MAX_TIERS} tiers: remove one first")
        at = insertion_index(self.plan) if index is None else max(0, min(index, len(self.plan.tiers)))
        self._record(f"adding '{tier.name}'")
        self.plan.tiers.insert(at, tier)
        return at

    def remove_tier(self, index: int) -> TierPlan:
        """Remove tier ``index`` (undo brings it back)."""
        self._record(f"removing '{self.plan.tiers[index].name}'")
        return self.plan.tiers.pop(index)

    def move_tier(self, index: int, delta: int) -> int:
        """Move tier ``index`` by ``delta`` places (up is negative); returns its new index."""
        to = max(0, min(index + delta, len(self.plan.tiers) - 1))
        if to == index:
            return index
        self._record(f"moving '{self.plan.tiers[index].name}' {'up' if delta < 0 else 'down'}")
        tier = self.plan.tiers.pop(index)
        self.plan.tiers.insert(to, tier)
        return to

    def replace_tier(self, index: int, tier: TierPlan) -> None:
        """Put ``tier`` in place of tier ``index`` (an edited rule)."""
        self._record(f"editing '{self.plan.tiers[index].name}'")
        self.plan.tiers[index] = tier

    def reset(self, plan: Plan, what: str = "last turn's plan") -> None:
        """Replace the whole plan (undo puts the edited one back)."""
        if plan == self.plan:
            return
        self._record(what)
        self.plan = plan.copy()
