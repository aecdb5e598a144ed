"""A human player's game, without a screen: plan, lab, end turn, autosave, resume.

The pygame front end (``sim.ui``) is a thin view of a ``PlayerSession``; the
session itself never imports pygame, so every rule a player meets (the
budget, the tiers, the lab's predictions, the autosave) is tested headless.
A session drives the same public ``Game`` API a bot does and exposes only
the public scenario and observations; the truth is read only by
``sim.debrief`` once the game is over.

Autosave: after every turn the decisions so far are written atomically as a
*partial record* (``sim.records``: a game record with ``"partial": true``
and the turns played so far), read back by the same reader with the same
checks and caps as a finished game's record.  Resuming plays those
decisions again on the same seed (the engine is deterministic) and checks
the books match, so a save can never put a player in a game that did not
happen.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .analytics.clv import (ALL_LAB_COLUMNS, LAB_COLUMNS, REFERRAL_COLUMNS, CustomerValue,  # noqa: F401
                            lab_columns, predict_clv)
from .analytics.equity import LEVEL, EquityEstimate, estimate_equity
from .analytics import referral_nbd
from .analytics.fitting import DataError
from .decisions import DISENGAGE, Decision, DecisionError, Tier, assign_tiers, evaluate_rule, rule_uses
from .engine import Game, TurnResult
from .errors import GameStateError, SimError
from .observation import Observation, TurnBooks
from .public import PublicScenario
from .records import GameRecord, RecordError, read_record, write_record
from .scenario import Scenario
from .score_columns import essential_scores
from .treatment import TreatmentLog

#: From this market size on, the reference games are played in background worker
#: processes from the start of a game, and the reveal's lever games in parallel.
BACKGROUND_FROM_PROSPECTS = 20_000

# LAB_COLUMNS (the score columns the lab provides to tier rules) lives with the lab's CLV, and
# rule_uses with the rules: the reference games (play) recompute those columns without a session.


def stop_background() -> None:
    """Stop the reference games played in the background (the window closing).

    The window reaches the references only through the session (never
    ``sim.references`` itself), so the stop is passed on from here.
    """
    from .references import shutdown_background

    shutdown_background()


class AutosaveError(RecordError):
    """A save file that cannot be resumed; the message says why, for the player."""


# --- the budget (one helper, so the change to one marketing budget is one line) ------

def marketing_budget(public: PublicScenario) -> float:
    """The marketing money the player may spend per turn (acquisition plus service), dollars."""
    return float(public.budget.marketing)


def budget_problem(public: PublicScenario, acquisition: float, service: float) -> str | None:
    """Why a plan does not fit the budget, in a sentence; None if it fits.

    Args:
        public: the public scenario.
        acquisition: acquisition dollars this turn.
        service: service dollars this turn (tier sizes x spend per customer).
    """
    budget = marketing_budget(public)
    total = acquisition + service
    if total > budget * (1 + 1e-9) + 1e-6:
        return (f"Over budget: this plan costs ${total:,.0f} (acquisition ${acquisition:,.0f} + "
                f"service ${service:,.0f}), ${total - budget:,.0f} more than the "
                f"${budget:,.0f} marketing budget. Lower a channel or a tier's spend.")
    return None


def acquisition_cap(public: PublicScenario) -> float:
    """Most dollars one channel's slider offers: the whole marketing budget, dollars per turn."""
    return marketing_budget(public)


def service_cap(public: PublicScenario) -> float:
    """Most service dollars per turn (for the tier sliders' range): the whole marketing budget."""
    return marketing_budget(public)


# --- the player's plan ------------------------------------------------------------

@dataclass
class TierPlan:
    """One service tier the player is editing.

    Attributes:
        name: the player's label.
        rule: a declarative rule (``sim.decisions``).
        service: dollars per customer per turn.
        disengaged: True to turn this tier away (``service`` is then ignored).
        holdout: share of the tier held out as a control (0: no test).
    """

    name: str
    rule: Any
    service: float = 0.0
    disengaged: bool = False
    holdout: float = 0.0

    def tier(self) -> Tier:
        return Tier(self.name, self.rule, DISENGAGE if self.disengaged else float(self.service),
                    float(self.holdout))


@dataclass
class Plan:
    """A turn's decision while the player edits it (mutable; becomes a ``Decision``).

    Attributes:
        acquisition: channel name -> dollars this turn.
        tiers: first-match-wins service tiers.
    """

    acquisition: dict[str, float]
    tiers: list[TierPlan] = field(default_factory=list)

    @classmethod
    def from_decision(cls, decision: Decision, channels: tuple[str, ...]) -> "Plan":
        return cls({c: float(decision.acquisition.get(c, 0.0)) for c in channels},
                   [TierPlan(t.name, t.rule, t.spend_per_customer, t.disengaged, t.holdout)
                    for t in decision.tiers])

    def decision(self, scores: dict[str, np.ndarray] | None = None) -> Decision:
        """The plan as a ``Decision``, with the lab's score columns its rules use."""
        used = {name: values for name, values in (scores or {}).items()
                if any(rule_uses(t.rule, name) for t in self.tiers)}
        return Decision({c: float(v) for c, v in self.acquisition.items() if v > 0},
                        tuple(t.tier() for t in self.tiers), used)

    def copy(self) -> "Plan":
        return Plan(dict(self.acquisition), [TierPlan(t.name, t.rule, t.service, t.disengaged, t.holdout)
                                             for t in self.tiers])


def describe_rule(rule: Any, categories: dict[str, tuple[str, ...]] | None = None) -> str:
    """A rule in words: 'top 20% by predicted_clv', 'profit < 0 and age >= 2'."""
    if rule == "all" or rule is True:
        return "everyone"
    if not isinstance(rule, dict):
        return str(rule)
    if "top" in rule or "bottom" in rule:
        side = "top" if "top" in rule else "bottom"
        return f"{side} {100 * rule[side]:g}% by {rule['by']}"
    if {"field", "op", "value"} <= set(rule):
        value = rule["value"]
        shown = f"{value:,.4g}" if isinstance(value, (int, float)) else str(value)
        return f"{rule['field']} {rule['op']} {shown}"
    for key, joiner in (("all", " and "), ("any", " or ")):
        if key in rule:
            return joiner.join(describe_rule(r, categories) for r in rule[key])
    if "not" in rule:
        return "not (" + describe_rule(rule["not"], categories) + ")"
    return json.dumps(rule)


@dataclass(frozen=True)
class Projection:
    """The lab's estimate of what a plan does this turn, dollars.

    Estimates from the player's own data, before any effect of service:

    Attributes:
        current: expected contribution this turn of the customers the firm
            has (sum of the lab's next-turn value: margin less cost to serve).
        newcomers: expected contribution of this turn's new customers in their
            first turn (expected acquisitions per channel x what that channel's
            recent customers brought in their first turn).
        marketing: acquisition plus service dollars.
        fixed_cost: the firm's fixed cost per turn.
        value_bought: customer value bought with this turn's acquisition:
            expected acquisitions per channel (published response curve) x the
            lab's value per customer of that channel.
        value_per_customer: channel name -> the lab's value of one customer of
            that channel (profit so far plus predicted CLV, over its recent
            customers); NaN where the channel has no customers yet.
    """

    current: float
    newcomers: float
    marketing: float
    fixed_cost: float
    value_bought: float
    value_per_customer: dict[str, float]

    @property
    def profit(self) -> float:
        """Projected profit this turn, dollars."""
        return self.current + self.newcomers - self.marketing - self.fixed_cost


@dataclass(frozen=True)
class Preview:
    """What a plan would do this turn, before it is played.

    Attributes:
        tier_counts: customers in each tier (first match wins).
        unassigned: customers in no tier (no service, not turned away).
        service_cost: dollars of service.
        acquisition_cost: dollars of acquisition.
        budget: the marketing budget, dollars.
        expected_acquired: channel name -> customers expected from its
            published response curve (on a full pool).
        problem: why the plan cannot be played (over budget, a bad rule), or None.
        tier_matches: customers each tier's rule matches on its own (before
            earlier tiers take theirs).
        warnings: per tier, why it is suspect ("" if not): a duplicate rule,
            no customer reaching it, a rule matching nobody.
        projection: the lab's estimate of this turn's profit and of the
            customer value bought, or None when the lab has no predictions.
    """

    tier_counts: tuple[int, ...]
    unassigned: int
    service_cost: float
    acquisition_cost: float
    budget: float
    expected_acquired: dict[str, float]
    problem: str | None
    tier_matches: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    projection: Projection | None = None

    @property
    def budget_left(self) -> float:
        return self.budget - self.service_cost - self.acquisition_cost


@dataclass(frozen=True)
class TierOutcome:
    """How one tier's customers did in the turn just played (observable data).

    Attributes:
        name: the tier's name ("no tier" for customers in none).
        customers: customers in the tier when the turn began.
        buyers: of them, customers who bought in the turn.
        revenue: their purchases in the turn, dollars.
        service: service dollars spent on the tier.
        disengaged: True if the tier was turned away.
    """

    name: str
    customers: int
    buyers: int
    revenue: float
    service: float
    disengaged: bool = False

    @property
    def revenue_per_customer(self) -> float:
        return self.revenue / self.customers if self.customers else 0.0


@dataclass
class Lab:
    """The analytics lab's current predictions (from the player's own data).

    Attributes:
        value: per-customer predictions, or None when the models cannot be fitted yet.
        fitted_turn: the turn whose observation the models were fitted on.
        predicted_turn: the turn whose observation ``value`` covers.
        message: why there are no predictions (too little history), if so.
        referral: in a game with referrals, the referral model's score
            columns (``REFERRAL_COLUMNS``: ``predicted_crv``,
            ``expected_referrals``, ``predicted_clv_crv``; NaN before anyone
            has referred anyone, so a rule on them matches nobody), else empty.
    """

    value: CustomerValue | None = None
    fitted_turn: int | None = None
    predicted_turn: int | None = None
    message: str = ""
    referral: dict = field(default_factory=dict)

    def columns(self) -> dict[str, np.ndarray]:
        if self.value is None:
            return {}
        return {**self.value.columns(), **self.referral}


class PlanningSession:
    """The planning half of a player's session, shared by the local and the remote one.

    Everything here reads only what a player has: the observation, the public
    scenario, the lab, the plans played and what they did to each customer
    (``_observation``, ``public``, ``lab``, ``plans``, ``treatment``,
    ``_estimate``, ``turn`` and ``results`` of the subclass), so a game on a
    class server previews, projects and values a plan exactly as a game on
    this machine does.
    """

    lab: "Lab"
    plans: list["Plan"]
    treatment: "TreatmentLog"
    _estimate: "_Estimate | None"

    # ------------------------------------------------------------ the lab
    def refit(self) -> Lab:
        """Fit the lab's models afresh to the player's data and predict every customer."""
        return self._predict(fits=None)

    def refresh(self) -> Lab:
        """Predict every customer with the models as last fitted (fast: no new fit)."""
        fits = self.lab.value.fits if self.lab.value is not None else None
        return self._predict(fits)

    def _predict(self, fits) -> Lab:
        obs = self._observation
        try:
            value = predict_clv(obs, fits=fits)
        except DataError as exc:
            self.lab = Lab(None, None, obs.turn, f"Too little history to fit the models yet: {exc}")
            return self.lab
        fitted = obs.turn if fits is None else self.lab.fitted_turn
        self.lab = Lab(value, fitted, obs.turn, "", _referral_columns(obs, value))
        return self.lab

    # ------------------------------------------------------------ planning
    def default_plan(self) -> Plan:
        """Last turn's plan; on turn 1 mass-marketing's, the score's zero.

        Mass-marketing (``sim.strategies.reference.MassMarketing``) spreads the
        previous management's acquisition money evenly over the channels and
        gives every customer its small perk, so a player who keeps every
        pre-filled value for the whole game plays mass-marketing's game and
        scores 0.
        """
        if self.plans:
            return self.plans[-1].copy()
        return self._mass_marketing_plan()

    def _mass_marketing_plan(self) -> Plan:
        from .strategies.reference import MassMarketing

        decision = MassMarketing().decide(self._observation)
        return Plan.from_decision(decision, self.public.channel_names)

    def default_plan_note(self) -> str:
        """What the pre-filled values on the Decisions screen are, in a sentence or two."""
        from .strategies.base import acquisition_money

        public = self.public
        money = acquisition_money(public)
        mass = (f"the previous management's ${money:,.0f} of acquisition split evenly over the "
                f"{len(public.channels)} channels (${money / len(public.channels):,.0f} each) and "
                f"its ${public.inherited.service:,.2f} perk for every customer")
        if not self.plans:
            return (f"The starting values are mass-marketing, the score's zero: {mass}. Keep "
                    "them all game and you score 0; beat it by changing them.")
        if _same_plan(self.plans[-1], self._mass_marketing_plan()):
            return ("The starting values are last turn's, still mass-marketing's plan (the "
                    "score's zero): keep them all game and you score 0.")
        return (f"The starting values are your plan of turn {len(self.plans)}. Mass-marketing, "
                f"the score's zero, would play {mass}.")

    def preview(self, plan: Plan) -> Preview:
        """Tier sizes, cost and budget left of ``plan`` this turn (nothing is played)."""
        return self._resolve(plan)[0]

    def _resolve(self, plan: Plan):
        """The plan's preview and, when its rules are sound, its tier of every customer."""
        obs = self._observation
        public = self.public
        acquisition = float(sum(max(v, 0.0) for v in plan.acquisition.values()))
        expected = {c.name: float(c.expected_acquisitions(plan.acquisition.get(c.name, 0.0)))
                    for c in public.channels}
        budget = marketing_budget(public)
        try:
            decision = plan.decision(self.lab.columns())
            missing = _missing_scores(plan, self.lab)
            if missing:
                raise DecisionError(missing)
            assignment = assign_tiers(decision, dict(obs.columns), obs.categories, math.inf,
                                      servable=obs.active)
        except DecisionError as exc:
            return Preview((0,) * len(plan.tiers), obs.n_customers, 0.0, acquisition, budget,
                           expected, str(exc)), None
        counts = assignment.counts
        servable = int(np.count_nonzero(obs.active))
        problem = budget_problem(public, acquisition, assignment.service_cost)
        matches = _rule_matches(decision, obs)
        return Preview(counts, servable - sum(counts), assignment.service_cost, acquisition, budget,
                       expected, problem, matches, tuple(tier_warnings(plan, counts, matches)),
                       self._projection(expected, acquisition + assignment.service_cost)), assignment

    def _projection(self, expected: dict[str, float], marketing: float) -> Projection | None:
        """The lab's estimate of this turn's profit and value bought (None without predictions)."""
        if self.lab.value is None:
            return None
        # Once per turn and fit (the lab's predictions object itself is the key: held, never reused).
        made_for = getattr(self, "_estimates_for", None)
        if made_for is None or made_for[0] != self.turn or made_for[1] is not self.lab.value:
            self._estimates = _channel_estimates(self._observation, self.lab)
            self._estimates_for = (self.turn, self.lab.value)
        current, first_turn, per_customer = self._estimates
        names = self.public.channel_names
        newcomers = sum(expected[c] * first_turn[c] for c in names if math.isfinite(first_turn[c]))
        bought = sum(expected[c] * per_customer[c] for c in names if math.isfinite(per_customer[c]))
        return Projection(current, newcomers, marketing, float(self.public.fixed_cost), bought,
                          dict(per_customer))

    # ------------------------------------------------------------ the estimate
    def _start_estimate(self) -> None:
        """Start estimating customer equity for this turn in the background (it takes a second)."""
        previous = self._estimate
        warm = None
        if previous is not None:
            done = previous.result(wait=False)
            warm = done.fit if isinstance(done, EquityEstimate) else None
        self._estimate = _Estimate(self._observation, self.treatment, warm)

    def equity_estimate(self) -> EquityEstimate | None:
        """The lab's estimate of the customer equity the score would count now (waits for it).

        The models are fitted with the player's own service and turning away
        as covariates and every customer is valued as the scorer values the
        customers left at the end: no service, not turned away
        (``sim.analytics.equity``).  None when there is too little history
        to fit.
        """
        if self._estimate is None:
            self._start_estimate()
        result = self._estimate.result()
        return result if isinstance(result, EquityEstimate) else None

    def estimated_firm_value(self) -> tuple[float, float, float]:
        """(discounted profit so far, estimated customer equity, their sum), dollars at turn 1.

        The equity is ``equity_estimate()``'s, discounted from the start of
        the current turn: an *estimate* from the player's own data, valued
        the way the score values the customers left at the end (the true
        value is revealed only in the debrief).  NaN equity when there is
        too little history to fit.
        """
        v = 1.0 / (1.0 + self.public.discount_rate)
        profit = sum(r.books.profit * v ** r.books.turn for r in self.results)
        estimate = self.equity_estimate()
        if estimate is None:
            return profit, math.nan, math.nan
        equity = estimate.total * v ** (self.turn - 1)
        return profit, equity, profit + equity

    def estimate_note(self) -> str:
        """The estimated firm value in words, with its interval and what it counts."""
        profit, equity, total = self.estimated_firm_value()
        estimate = self.equity_estimate()
        if estimate is None:
            return ("Estimated firm value: not yet (too little history to fit the models); "
                    f"discounted profit so far {_dollars(profit)}.")
        scale = equity / estimate.total if estimate.total else 0.0
        low, high = profit + estimate.low * scale, profit + estimate.high * scale
        return (f"Estimated firm value {_dollars(total)} ({LEVEL:.0%} interval {_dollars(low)} to "
                f"{_dollars(high)}): discounted profit so far {_dollars(profit)} plus the customer "
                f"equity your data point to, {_dollars(equity)}, valued as the score values the "
                "customers left at the end: without service and without turning anyone away "
                "(keeping service up costs money). The interval covers the models' statistical "
                "uncertainty, not their assumptions.")

    # ------------------------------------------------------------ saving


class PlayerSession(PlanningSession):
    """One player's game of one scenario on one seed.

    Usage::

        session = PlayerSession.new(scenario, seed=7, autosave=path)
        plan = session.default_plan()
        result = session.end_turn(plan)        # DecisionError: nothing changed
        ...
        if session.done: debrief = sim.debrief.debrief_of(...)
    """

    def __init__(self, scenario: Scenario, seed: int, autosave: str | Path | None = None):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise SimError(f"seed must be a whole number >= 0, got {seed!r:.60}")
        self._scenario = scenario
        self.seed = int(seed)
        self.autosave_path = Path(autosave) if autosave else None
        self.game = Game(scenario)
        self.decisions: list[Decision] = []
        self.plans: list[Plan] = []
        self.tier_outcomes: list[list[TierOutcome]] = []
        self.lab = Lab()
        self._observation: Observation | None = None
        #: What the player did to each customer each turn (for the equity estimate).
        self.treatment = TreatmentLog()
        self._estimate: _Estimate | None = None

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def new(cls, scenario: Scenario, seed: int, autosave: str | Path | None = None) -> "PlayerSession":
        """Start a game: draw the market, play the warm-up, fit the lab."""
        session = cls(scenario, seed, autosave)
        session._observation = session.game.reset(seed)
        session.refit()
        session._start_estimate()
        session._start_references()
        return session

    @classmethod
    def resume(cls, path: str | Path) -> "PlayerSession":
        """The game saved at ``path``, at the start of the turn after the last one saved.

        Raises:
            AutosaveError: unreadable, corrupt or foreign file, or decisions
                that no longer give the saved books.
        """
        scenario, seed, decisions, books, lab_turn = read_autosave(path)
        session = cls(scenario, seed, path)
        session._observation = session.game.reset(seed)
        for i, (decision, claimed) in enumerate(zip(decisions, books)):
            if session.turn == lab_turn:
                # The lab's models as the player had them: fitted on this turn's data.
                session.refit()
            before = session._observation
            try:
                assignment = assign_tiers(decision, dict(before.columns), before.categories,
                                          math.inf, servable=before.active)
                session._observation, result = session.game.step(decision)
            except DecisionError as exc:
                raise AutosaveError(f"{Path(path).name}: turn {i + 1}'s decision is refused: {exc}") from None
            if result.books != claimed:
                raise AutosaveError(f"{Path(path).name}: turn {i + 1} plays out differently from "
                                    "the save (saved by another version of the game?)")
            session.decisions.append(decision)
            session.plans.append(Plan.from_decision(decision, scenario.channel_names))
            session.tier_outcomes.append(tier_outcomes(decision, assignment.tier, session._observation))
            session.treatment.record_assignment(i + 1, assignment, decision)
        if session.lab.value is not None and lab_turn is not None and lab_turn < session.turn:
            session.refresh()
        else:
            session.refit()
        session._start_estimate()
        session._start_references()
        return session

    @property
    def public(self) -> PublicScenario:
        return self.game.public

    @property
    def observation(self) -> Observation:
        return self._observation

    @property
    def turn(self) -> int:
        return self.game.turn

    @property
    def done(self) -> bool:
        return self.game.done

    @property
    def results(self) -> list[TurnResult]:
        return self.game.results

    @property
    def books(self) -> tuple[TurnBooks, ...]:
        """Every turn's books so far, warm-up included."""
        return self._observation.books

    @property
    def scenario_for_scoring(self) -> Scenario:
        """The full scenario (latent types included): for the debrief, after the game."""
        return self._scenario

    # ------------------------------------------------------------ playing
    def end_turn(self, plan: Plan) -> TurnResult:
        """Play ``plan`` as this turn's decision, refresh the lab and autosave.

        Raises:
            DecisionError: the plan is over budget or malformed; nothing changed.
            GameStateError: the game is over (a ``RuntimeError`` too).
        """
        if self.done:
            raise GameStateError("the game is over")
        preview, assignment = self._resolve(plan)
        if preview.problem:
            raise DecisionError(preview.problem)
        obs = self._observation
        # Only the score information the rules use is kept (same tiers, a small record).
        decision = essential_scores(plan.decision(self.lab.columns()), obs.n_customers,
                                    set(obs.columns))
        self._observation, result = self.game.step(decision)
        self.decisions.append(decision)
        self.plans.append(plan.copy())
        self.tier_outcomes.append(tier_outcomes(decision, assignment.tier, self._observation))
        self.treatment.record_assignment(obs.turn, assignment, decision)
        if not self.done:
            self.refresh()
        self._start_estimate()
        if self.autosave_path is not None:
            self.save(self.autosave_path)
        return result

    @property
    def _parallel(self) -> bool:
        return self._scenario.prospects >= BACKGROUND_FROM_PROSPECTS

    def _start_references(self) -> None:
        """Start the reference games now: they depend only on the scenario and the seed.

        Played in low-priority worker processes while the player plays, they
        are ready for the reveal (``sim.references`` collects them).
        """
        if self._parallel:
            from .references import start_in_background

            start_in_background(self._scenario, self.seed)

    # ------------------------------------------------------------ the end
    def _played(self, name: str = "player"):
        from .runner import PlayedGame
        from .scoring import value_game

        if not self.done:
            raise GameStateError("the debrief comes after the last turn")
        return PlayedGame(self._scenario, name, self.seed, self.game, list(self.decisions),
                          value_game(self.game, name))

    def reveal(self, progress=None):
        """The debrief of the finished game (``sim.debrief.debrief_of``): references, levers, lesson.

        Slow on a big market (the references are played, often already in
        the background): call it off the screen's thread.

        Args:
            progress: called with what is being done and the share done (0-1).

        Raises:
            GameStateError: the game is not over.
        """
        from .debrief import PLAYER, debrief_of

        return debrief_of(self._scenario, self.seed, list(self.decisions), played=self._played(PLAYER),
                          treatment=self.treatment, estimate=self.equity_estimate(),
                          progress=progress, workers=2 if self._parallel else 1)

    def game_record(self, scores: dict | None = None) -> GameRecord:
        """The finished game's record (strategy "player"), claiming ``scores`` too."""
        from .records import record_of

        return record_of(self._played(), scores)

    def save(self, path: str | Path) -> Path:
        """Write the decisions so far atomically: a partial record (a finished game: a full one)."""
        books = [r.books for r in self.results]
        return write_record(GameRecord(self._scenario, self.seed, "player", list(self.decisions),
                                       books, partial=not self.done,
                                       lab_fitted_turn=self.lab.fitted_turn), path)


#: Acquisition cohorts (turns) that stand for "a customer of this channel today".
RECENT_COHORTS = 4


def _channel_estimates(obs: Observation, lab: Lab) -> tuple[float, dict[str, float], dict[str, float]]:
    """(current customers' expected contribution this turn, per channel: first-turn contribution
    of a new customer, value of a new customer), dollars, from the lab and observed data.

    A channel's customers are those of its latest ``RECENT_COHORTS``
    acquisition turns (all of them if those are fewer than 20): a new
    customer is worth what they brought so far plus their predicted CLV.
    """
    value = lab.value
    servable = np.asarray(obs.active, dtype=bool)
    current = float(np.sum(np.where(servable, value.horizon_value, 0.0)))
    cols = obs.columns
    channel = np.asarray(cols["channel"], dtype=np.int64)
    worth = cols["profit"] + value.predicted_clv
    # Each customer's contribution in the turn they were acquired (its column of the profit matrix).
    turns = obs.turn_columns
    at = np.clip(np.searchsorted(turns, obs.acquisition_turn), 0, max(turns.size - 1, 0))
    profit = obs.profit_matrix()
    first = profit[np.arange(obs.n_customers), at] if turns.size else np.zeros(obs.n_customers)
    first = np.where(turns[at] == obs.acquisition_turn, first, np.nan) if turns.size else first
    latest = obs.acquisition_turn.max() if obs.n_customers else 0
    recent = obs.acquisition_turn > latest - RECENT_COHORTS
    names = obs.scenario.channel_names
    n = len(names)
    per_customer, first_turn = {}, {}
    for pick in (recent, np.ones(obs.n_customers, dtype=bool)):
        counts = np.bincount(channel[pick], minlength=n)
        sums = np.bincount(channel[pick], weights=worth[pick], minlength=n)
        ok = pick & np.isfinite(first)
        first_sums = np.bincount(channel[ok], weights=first[ok], minlength=n)
        first_counts = np.bincount(channel[ok], minlength=n)
        for i, name in enumerate(names):
            if name not in per_customer and (counts[i] >= 20 or pick is not recent) and counts[i]:
                per_customer[name] = float(sums[i] / counts[i])
                first_turn[name] = float(first_sums[i] / first_counts[i]) if first_counts[i] else math.nan
    for name in names:
        per_customer.setdefault(name, math.nan)
        first_turn.setdefault(name, math.nan)
    return current, first_turn, per_customer


def tier_warnings(plan: Plan, counts, matches) -> list[str]:
    """A warning per tier ("" if none): duplicates, tiers no customer reaches, empty rules.

    Args:
        plan: the plan.
        counts: customers each tier gets (first match wins).
        matches: customers each tier's rule matches on its own.
    """
    out = []
    for i, tier in enumerate(plan.tiers):
        count = counts[i] if i < len(counts) else 0
        match = matches[i] if i < len(matches) else 0
        same = next((j for j in range(i) if plan.tiers[j].rule == tier.rule), None)
        if same is not None:
            out.append(f"duplicate of tier {same + 1}: the same rule, so it gets no one")
        elif count == 0 and match > 0:
            out.append(f"no customer reaches it: tiers above take all {match:,} it matches "
                       "(move it up)")
        elif match == 0:
            out.append("its rule matches no customer")
        else:
            out.append("")
    return out


def _rule_matches(decision: Decision, obs: Observation) -> tuple[int, ...]:
    """Customers (the servable ones) each tier's rule matches on its own."""
    fields = dict(obs.columns)
    fields.update(decision.scores)
    servable = np.asarray(obs.active, dtype=bool)
    return tuple(int(np.count_nonzero(evaluate_rule(t.rule, fields, obs.categories) & servable))
                 for t in decision.tiers)


class _Estimate:
    """An equity estimate computed on a worker thread (numpy releases the interpreter while it works)."""

    def __init__(self, observation: Observation, treatment: TreatmentLog, warm_start):
        self._result: EquityEstimate | DataError | None = None
        effect, away = treatment.effect(observation)
        self._thread = threading.Thread(target=self._run, args=(observation, effect, away, warm_start),
                                        daemon=True)
        self._thread.start()

    def _run(self, observation, effect, away, warm_start) -> None:
        try:
            self._result = estimate_equity(observation, effect, away, warm_start=warm_start)
        except DataError as exc:
            self._result = exc

    def result(self, wait: bool = True):
        if wait:
            self._thread.join()
        return self._result


def _dollars(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _same_plan(a: Plan, b: Plan) -> bool:
    """True if two plans make the same decision (a dollar fraction apart at most)."""
    channels = set(a.acquisition) | set(b.acquisition)
    return (all(abs(a.acquisition.get(c, 0.0) - b.acquisition.get(c, 0.0)) < 0.01 for c in channels)
            and [(t.rule, t.disengaged, round(t.service, 2), t.holdout) for t in a.tiers]
            == [(t.rule, t.disengaged, round(t.service, 2), t.holdout) for t in b.tiers])


def tier_outcomes(decision: Decision, tier: np.ndarray, after: Observation) -> list[TierOutcome]:
    """Per tier, how its customers bought in the turn just played (vectorised).

    Args:
        decision: the decision played.
        tier: tier index of each customer row when the turn began (-1: none).
        after: the observation after the turn (its last column is that turn).
    """
    n, k = tier.size, len(decision.tiers)
    group = np.where(tier < 0, k, tier).astype(np.int64)
    bought = after.purchases[:n, -1] > 0
    spend = after.spend[:n, -1]
    customers = np.bincount(group, minlength=k + 1)
    buyers = np.bincount(group, weights=bought, minlength=k + 1)
    revenue = np.bincount(group, weights=spend, minlength=k + 1)
    # A holdout test's controls were served nothing (sim.holdout).
    held = np.bincount(group[after.experiment_arm[:n, -1] < 0], minlength=k + 1)
    out = [TierOutcome(t.name, int(customers[i]), int(buyers[i]), float(revenue[i]),
                       float((customers[i] - held[i]) * t.spend_per_customer), t.disengaged)
           for i, t in enumerate(decision.tiers)]
    if customers[k]:
        out.append(TierOutcome("no tier", int(customers[k]), int(buyers[k]), float(revenue[k]), 0.0))
    return out


def _referral_columns(obs: Observation, value: CustomerValue) -> dict[str, np.ndarray]:
    """The lab's referral columns in a game with referrals (NaN until the model can be fitted)."""
    if obs.referrals is None:
        return {}
    return referral_nbd.crv_columns(obs, value) or {
        name: np.full(obs.n_customers, np.nan) for name in REFERRAL_COLUMNS}


def _missing_scores(plan: Plan, lab: Lab) -> str:
    if lab.value is not None:
        return ""
    for i, t in enumerate(plan.tiers):
        for name in ALL_LAB_COLUMNS:
            if rule_uses(t.rule, name):
                return (f"tiers[{i}] ({t.name}) uses the lab's {name}, but the lab has no "
                        "predictions yet: fit the models in the lab first")
    return ""


def read_autosave(path: str | Path) -> tuple[Scenario, int, list[Decision], list[TurnBooks], int | None]:
    """Scenario, seed, decisions, books and the lab's fitting turn of a save.

    The save is a partial record, read by ``sim.records.read_record`` (the
    same checks and caps as any record); a finished game's record reads too
    (its lab turn is None), and so does a save in the format autosaves had
    before they were partial records (``"format": "ccsim-autosave"``: the
    same document under another name, so a game saved by the previous
    version resumes).

    Raises:
        AutosaveError: a message for the player (missing, corrupt, foreign file).
    """
    try:
        record = read_record(path, partial=True)
    except RecordError as exc:
        raise AutosaveError(_for_the_player(str(exc))) from None
    return record.scenario, record.seed, record.decisions, record.books, record.lab_fitted_turn


def _for_the_player(message: str) -> str:
    """A record reader's refusal, said of a saved game."""
    name, _, problem = message.partition(": ")
    if problem == "no such file":
        return f"{name}: there is no saved game"
    if problem.startswith("not a ccsim game record"):
        return f"{name}: not a saved ccsim game"
    if problem.startswith(("is ", "cannot read", "grew past")) or " is larger than " in problem:
        return message     # about the file, not its content
    return f"{name}: the save is damaged and cannot be read ({problem})"


def default_home() -> Path:
    """Folder for the autosave and settings: $CCSIM_HOME, else ~/.ccsim."""
    return Path(os.environ.get("CCSIM_HOME") or Path.home() / ".ccsim")
