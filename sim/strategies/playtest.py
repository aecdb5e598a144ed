"""Strategies students try, for checking that the score teaches the right lessons.

None of these is a reference bot of the scorer; they are the yardsticks of
the lesson tests (``tests/test_lessons.py``) and of ``benchmarks/lessons.py``:

* the no-analysis strategies that the score's zero must sit near
  (the inherited acquisition with no service; the same money split evenly
  over the channels with no service);
* disengaging everyone;
* the oracle's acquisition with mass-marketing's service (how much the
  acquisition lever is worth), and the oracle's service with mass-
  marketing's acquisition (how much the service lever is worth);
* shortcuts: one rule on a single observable column, no model;
* each shipped scenario's lesson as a pair of strategies, one following the
  lesson and one ignoring it.

Unless stated, a strategy spends the previous management's acquisition
money (``acquisition_money``) and no more, so pairs differ only in what the
lesson is about.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..decisions import DISENGAGE, Decision, Tier
from ..engine import Truth
from ..observation import Observation
from .base import (BaseStrategy, acquisition_money, even_acquisition, greedy_acquisition,
                   inherited_acquisition, servable_count)
from .centric import CustomerCentric, channel_values
from .oracle import Oracle
from .reference import MassMarketing, Volume, equal_service


class InheritedNoService(BaseStrategy):
    """The previous management's acquisition, no service: no analysis at all."""

    name = "inherited, no service"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        return Decision(inherited_acquisition(observation.scenario))


class EvenNoService(BaseStrategy):
    """The acquisition money split evenly over the channels, no service."""

    name = "even split, no service"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        return Decision(even_acquisition(observation.scenario))


class DisengageEveryone(BaseStrategy):
    """Mass-marketing's acquisition, and every customer turned away."""

    name = "disengage everyone"

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        return Decision(even_acquisition(observation.scenario),
                        (Tier("everyone", "all", DISENGAGE),))


class OracleAcquisition(BaseStrategy):
    """The oracle's channel values bought greedily; mass-marketing's service."""

    name = "oracle acquisition, mass service"
    sees_truth = True

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        s = observation.scenario
        tiers = equal_service(observation, even_acquisition(s))
        cost = tiers[0].spend_per_customer * servable_count(observation)
        values = Oracle._channel_values(observation, truth)
        return Decision(greedy_acquisition(s, values, budget=s.budget.marketing - cost), tiers)


class OracleService(BaseStrategy):
    """Mass-marketing's acquisition; the oracle's service and turn-away with the rest of the budget."""

    name = "oracle service, mass acquisition"
    sees_truth = True

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        s = observation.scenario
        acquisition = even_acquisition(s)
        rows, best, gain, cost, turn_away, _ = Oracle._service_options(observation, truth)
        # The oracle's service candidates, best gain per dollar first, while the budget lasts.
        order = np.argsort(-gain / cost, kind="stable")
        order = order[gain[order] > 0]
        left = s.budget.marketing - sum(acquisition.values())
        order = order[np.cumsum(cost[order]) <= left * (1 - 1e-9)]
        plan = np.full(observation.n_customers, -1.0)
        plan[rows[turn_away]] = -2.0
        plan[rows[order]] = cost[order]
        tiers = [Tier("turn away", {"field": "oracle_plan", "op": "==", "value": -2.0}, DISENGAGE)]
        tiers += [Tier(f"service ${e:,.2f}", {"field": "oracle_plan", "op": "==", "value": float(e)},
                       float(e)) for e in np.unique(cost[order])]
        return Decision(acquisition, tuple(tiers), {"oracle_plan": plan})


def _vip_level(observation: Observation) -> float:
    return 2.0 * observation.scenario.service.half_saturation


class RuleStrategy(BaseStrategy):
    """Acquisition by a fixed plan and tiers from one rule-maker; no model.

    Attributes:
        name: shown in tables.
        tiers: observation -> tiers (and optional score columns).
        acquisition: "even" (mass-marketing's), "volume" (all in the cheapest
            channel), "channels" (greedy on each channel's observed cohort
            value, the same money) or a function of the scenario.
    """

    def __init__(self, name: str,
                 tiers: Callable[[Observation], tuple[tuple[Tier, ...], dict[str, Any]]],
                 acquisition: Any = "even"):
        self.name, self.tiers, self.acquisition = name, tiers, acquisition

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        s = observation.scenario
        if self.acquisition == "even":
            acquisition = even_acquisition(s)
        elif self.acquisition == "volume":
            acquisition = Volume().decide(observation).acquisition
        elif self.acquisition == "channels":
            values = channel_values(observation)
            acquisition = even_acquisition(s) if values is None else greedy_acquisition(
                s, values, budget=acquisition_money(s), hurdle=0.0)
        else:
            acquisition = self.acquisition(s)
        tiers, scores = self.tiers(observation)
        return Decision(acquisition, tiers, scores)


def vip_by(column: str, share: float = 0.2, disengage_losses: bool = False):
    """Tiers: (turn away observed losses,) then real service to the top ``share`` by ``column``.

    The VIP tier is cut to what the budget left after mass-marketing's
    acquisition pays for.
    """
    def tiers(observation: Observation):
        s = observation.scenario
        level = _vip_level(observation)
        n = servable_count(observation)
        left = s.budget.marketing - acquisition_money(s)
        out = []
        if disengage_losses:
            out.append(Tier("losses", {"field": "profit", "op": "<", "value": 0.0}, DISENGAGE))
        if n:
            top = min(share, np.floor(left / level) / max(observation.n_customers, 1))
            rule = {"all": [{"field": "active", "op": "==", "value": 1},
                            {"top": top, "by": column}]}
            out.append(Tier(f"VIP by {column}", rule, level))
        return tuple(out), {}
    return tiers


def serve_where(rule: dict, label: str):
    """Tiers: real service to the customers ``rule`` matches, as many as the budget pays for."""
    def tiers(observation: Observation):
        s = observation.scenario
        level = _vip_level(observation)
        left = s.budget.marketing - acquisition_money(s)
        from ..decisions import evaluate_rule

        cols = observation.columns
        match = evaluate_rule(rule, cols, observation.categories) & observation.active
        if not match.any():
            return (), {}
        # Serve the most recent matches first if the budget cannot pay for all.
        keep = min(int(match.sum()), int(left // level))
        if keep == 0:
            return (), {}
        # Non-matches score NaN (missing), which no comparison selects.
        score = np.where(match, -cols["recency"] + 1e-6 * np.arange(match.size), np.nan)
        cut = np.sort(score[match])[::-1][keep - 1]
        return (Tier(label, {"field": "lesson_pick", "op": ">=", "value": float(cut)}, level),), \
            {"lesson_pick": score}
    return tiers


def _capped_tiers(observation: Observation, items, level: float):
    """Tiers serving each (label, rule, holdout) at ``level``, an equal share of the money left.

    Each tier takes the most recent of its rule's customers the money pays
    for (a score column ``pick<j>``; non-matches are NaN), and no customer
    is in two.
    """
    from ..decisions import evaluate_rule

    s = observation.scenario
    left = s.budget.marketing - acquisition_money(s)
    cols = observation.columns
    tiers, scores = [], {}
    taken = np.zeros(observation.n_customers, dtype=bool)
    for j, (label, rule, holdout) in enumerate(items):
        match = evaluate_rule(rule, cols, observation.categories) & observation.active & ~taken
        keep = min(int(match.sum()), int(left / len(items) // level))
        if keep == 0:
            continue
        score = np.where(match, -cols["recency"] + 1e-6 * np.arange(match.size), np.nan)
        cut = np.sort(score[match])[::-1][keep - 1]
        taken |= match & (score >= cut)
        scores[f"pick{j}"] = score
        tiers.append(Tier(label, {"field": f"pick{j}", "op": ">=", "value": float(cut)}, level, holdout))
    return tuple(tiers), scores


def _clarity(lift) -> float:
    """How clearly a lift is above zero: estimate / half the interval's width (-inf if unknown)."""
    half = (lift.high - lift.low) / 2
    if not np.isfinite(half) or half <= 0:
        return -np.inf
    return lift.estimate / half


class TestThenScale(BaseStrategy):
    """Test service on candidate segments with holdouts, then serve the one that responds.

    For ``test_turns`` turns each candidate segment gets real service (twice
    the half-saturation spend) with ``holdout`` of it held out as a control
    (the money split evenly between them); then the segment that responds
    most clearly — the largest t statistic (lift / half its 95% interval)
    of purchases per customer over the test turns, treated against control
    (``sim.analytics.experiments``) — gets all the service money for the
    rest of the game.  Mass-marketing's acquisition.
    """

    def __init__(self, name: str, candidates: dict[str, Any], test_turns: int = 2, holdout: float = 0.5):
        self.name, self.candidates = name, dict(candidates)
        self.test_turns, self.holdout = test_turns, holdout
        self.decisions: list[Decision] = []
        self.choice: str | None = None

    def reset(self, scenario, seed) -> None:
        self.decisions, self.choice = [], None

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        from ..analytics.experiments import experiments

        level = _vip_level(observation)
        if observation.turn <= self.test_turns:
            items = [(f"test: {k}", rule, self.holdout) for k, rule in self.candidates.items()]
        else:
            if self.choice is None:
                found = {e.name: e for e in experiments(observation, self.decisions)}
                clarity = {k: _clarity(found[f"test: {k}"].to_date["purchases"].lift)
                           if f"test: {k}" in found else -np.inf for k in self.candidates}
                self.choice = max(self.candidates, key=lambda k: clarity[k])
            items = [(self.choice, self.candidates[self.choice], 0.0)]
        tiers, scores = _capped_tiers(observation, items, level)
        decision = Decision(even_acquisition(observation.scenario), tiers, scores)
        self.decisions.append(decision)
        return decision


class ServeBestLooking(BaseStrategy):
    """Serve, untested, the candidate segment whose customers look best (observed profit per turn).

    The choice is made once, on turn 1's observation; then that segment
    gets all the service money (as ``TestThenScale`` gives its winner).
    Mass-marketing's acquisition.
    """

    def __init__(self, name: str, candidates: dict[str, Any]):
        self.name, self.candidates = name, dict(candidates)
        self.choice: str | None = None

    def reset(self, scenario, seed) -> None:
        self.choice = None

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        from ..decisions import evaluate_rule

        if self.choice is None:
            cols = observation.columns
            worth = {k: float(np.mean(cols["profit_per_turn"][
                evaluate_rule(rule, cols, observation.categories) & observation.active]))
                for k, rule in self.candidates.items()}
            self.choice = max(self.candidates, key=lambda k: worth[k])
        tiers, scores = _capped_tiers(observation, [(self.choice, self.candidates[self.choice], 0.0)],
                                      _vip_level(observation))
        return Decision(even_acquisition(observation.scenario), tiers, scores)


def cost_share_disengage(observation: Observation):
    """Turn away customers whose cost-to-serve share of spend is over the gross margin."""
    cols = observation.columns
    share = np.divide(cols["total_cost_to_serve"], cols["total_spend"],
                      out=np.zeros(observation.n_customers), where=cols["total_spend"] > 0)
    margin = observation.scenario.gross_margin
    return (Tier("costly", {"field": "cost_share", "op": ">", "value": margin}, DISENGAGE),), \
        {"cost_share": share}


def spread_evenly(observation: Observation):
    """Tiers: the service money left after acquisition, spread over everyone."""
    s = observation.scenario
    n = servable_count(observation)
    left = s.budget.marketing - acquisition_money(s)
    return ((Tier("everyone", "all", left / n if n else 0.0),), {})


def shortcuts() -> list[BaseStrategy]:
    """One rule on a single observable column each, mass-marketing's acquisition, no model."""
    return [
        RuleStrategy("disengage by cost share", cost_share_disengage),
        RuleStrategy("disengage losses, VIP by profit", vip_by("profit", disengage_losses=True)),
        RuleStrategy("VIP by profit per turn", vip_by("profit_per_turn")),
        RuleStrategy("VIP by total spend", vip_by("total_spend")),
        RuleStrategy("VIP by frequency", vip_by("frequency")),
    ]


def all_in(channel: str):
    """Acquisition plan: the whole acquisition money in one channel."""
    return lambda scenario: {channel: acquisition_money(scenario)}


def lesson_pair(key: str) -> tuple[BaseStrategy, BaseStrategy]:
    """(follows the scenario's lesson, ignores it) for a shipped scenario's key."""
    if key == "coffee":
        # Find the regulars through the channels that reach them, serve them, not everyone.
        return (RuleStrategy("regulars: best channels, VIP by frequency", vip_by("frequency"),
                             acquisition="channels"),
                RuleStrategy("passers-by: coupon app, service for all", spread_evenly,
                             acquisition=all_in("coupon_app")))
    if key == "department_store":
        # Revenue is not value: a VIP tier by profit, losses turned away, against one by revenue.
        return (RuleStrategy("VIP by profit, losses turned away",
                             vip_by("profit", share=0.15, disengage_losses=True)),
                RuleStrategy("VIP by revenue", vip_by("total_spend", share=0.15)))
    if key == "direct_seller":
        keen = {"field": "first_impression", "op": "==", "value": "keen"}
        return (RuleStrategy("serve the keen", serve_where(keen, "keen")),
                RuleStrategy("serve everyone a little", spread_evenly))
    if key == "meal_kit":
        return (RuleStrategy("channels that bring stayers", vip_by("profit", share=0.0),
                             acquisition="channels"),
                RuleStrategy("promo codes", vip_by("profit", share=0.0),
                             acquisition=all_in("promo_codes")))
    if key == "bike_shop":
        # Test before you scale: racers look best, commuters respond to the service plan.
        candidates = {"racers": {"field": "rider", "op": "==", "value": "racer"},
                      "commuters": {"field": "rider", "op": "==", "value": "commuter"}}
        return (TestThenScale("test racers and commuters, scale the one that responds", candidates),
                ServeBestLooking("serve the best-looking riders untested", candidates))
    if key == "fitness_studio":
        # A member is worth what she buys and whom she brings: CLV + CRV against CLV alone.
        follow, ignore = CustomerCentric(), CustomerCentric(referral_value=False)
        follow.name = "customer-centric: turn away by CLV + CRV"
        ignore.name = "customer-centric: turn away by CLV alone"
        return follow, ignore
    raise KeyError(f"no lesson pair for scenario {key!r}")


def no_analysis() -> list[BaseStrategy]:
    return [InheritedNoService(), EvenNoService()]


__all__ = ["DisengageEveryone", "EvenNoService", "InheritedNoService", "OracleAcquisition",
           "RuleStrategy", "ServeBestLooking", "TestThenScale", "lesson_pair", "no_analysis", "shortcuts", "MassMarketing"]
