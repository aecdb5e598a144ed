"""The game engine: ``Game.reset(seed)`` then ``Game.step(decision)`` each turn.

One turn (docs/design.md section 1) reads as its steps in ``Game._play``: check
the decision, acquire from the finite pool, serve the player's tiers, live
one turn of continuous-time behaviour, keep the books.  All state is numpy
arrays over prospects (the population, who is alive, who is still in the
pool) or over customer rows (``CustomerTable``); nothing loops over
customers in Python.

What ``step`` returns and the observation are public; the latent traits and
who is really alive are in ``Game.truth``, for the scorer and the oracle.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields

import numpy as np

from .acquisition import acquire, reach_left
from .behaviour import TurnInputs, TurnOutcome, customer_turn, gamma_total_spend
from .customers import CustomerTable
from .decision_limits import DecisionLimits
from .errors import GameStateError, SimError
from .holdout import holdout_arms, without_control
from .decisions import (Assignment, Decision, DecisionError, Tier, assign_tiers, check_acquisition,
                        check_marketing_budget)
from .observation import Observation, TurnBooks
from .population import Population, draw_population
from .referrals import choose_referred, referral_counts
from .public import PublicScenario
from .rng import stream, uniforms
from .scenario import Scenario


@dataclass(frozen=True)
class TurnResult:
    """What the player learns from one turn: the books and the size of each tier.

    Attributes:
        books: the firm's accounts for the turn (observable).
        tier_counts: customers in each of the decision's tiers.
    """

    books: TurnBooks
    tier_counts: tuple[int, ...]

    def to_dict(self) -> dict:
        """One flat row: the books' fields and ``tier_counts`` as a list."""
        return {**self.books.to_dict(), "tier_counts": list(self.tier_counts)}


@dataclass(frozen=True)
class TrueTurn:
    """What only the scorer knows of one turn: customers really alive and really lost.

    Attributes:
        turn: the turn (warm-up turns are <= 0).
        alive: customers alive at the end of the turn.
        lost: customers who died (or cancelled) during the turn.
    """

    turn: int
    alive: int
    lost: int

    def to_dict(self) -> dict:
        return {"turn": self.turn, "alive": self.alive, "lost": self.lost}


@dataclass(frozen=True)
class Truth:
    """Latent state for the scorer and the oracle, never for a player.

    Every array is read-only; the arrays that change during a game are
    copies, so holding a Truth never sees (or changes) later turns.

    Attributes:
        scenario: the whole scenario, latent types included.
        population: every prospect's latent traits.
        alive: per prospect, True while a living customer.
        in_pool: per prospect, True while not yet acquired.
        row_prospect: prospect id of each observation row.
        service_received: per observation row, service dollars spent so far.
        turns: true alive and lost counts of every turn played, warm-up included.
        pending_referrals: prospect ids referred in the latest turn, who join
            at the start of the next (out of the pool already).
    """

    scenario: Scenario
    population: Population
    alive: np.ndarray
    in_pool: np.ndarray
    row_prospect: np.ndarray
    service_received: np.ndarray
    turns: tuple[TrueTurn, ...]
    pending_referrals: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def _frozen_copy(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out.flags.writeable = False
    return out


#: The last market drawn in this process: (scenario, seed, population, customer ids).
_last_market: tuple | None = None
_market_lock = threading.Lock()


def _market(scenario: Scenario, seed: int) -> tuple[Population, np.ndarray]:
    """The prospects' latent traits and customer ids for ``seed``, read-only.

    Both depend on the scenario and the seed alone, and nothing writes to
    them, so the last market drawn is kept: a process playing several
    strategies on one seed (the reference games) draws it once.
    """
    global _last_market
    with _market_lock:
        last = _last_market
    if last is not None and last[1] == seed and last[0] == scenario:
        return last[2], last[3]
    population = draw_population(scenario, seed)
    _seal(population)
    # Customer ids are a keyed permutation of the prospects: without the
    # seed no id says which prospect (and so which latent traits) it is.
    customer_id = stream(seed, "customer_id").permutation(scenario.prospects).astype(np.int64)
    customer_id.flags.writeable = False
    with _market_lock:
        _last_market = (scenario, seed, population, customer_id)
    return population, customer_id


@dataclass(frozen=True, eq=False)
class _WarmUp:
    """A game's state after the warm-up turns, which depend on the scenario and the seed alone."""

    in_pool: np.ndarray
    alive: np.ndarray
    row_of: np.ndarray
    types_left: np.ndarray
    pending: tuple[np.ndarray, np.ndarray]
    customers: CustomerTable
    books: tuple
    true_turns: tuple


#: The last warm-up played in this process: (scenario, seed, _WarmUp).
_last_warmup: tuple | None = None


def _seal(population: Population) -> None:
    """Make every latent trait array read-only (they never change after the draw)."""
    for f in fields(population):
        value = getattr(population, f.name)
        for a in value.values() if isinstance(value, dict) else (value,):
            if isinstance(a, np.ndarray):
                a.flags.writeable = False


def check_decision(public: PublicScenario, observation: Observation, decision: Decision,
                   check_budget: bool = True) -> Assignment:
    """Refuse a decision the engine would refuse for ``observation``; its tiers resolved.

    What ``Game.step`` checks before anything changes, callable without the
    game (a sandbox checks a bot's decision within the bot's turn time):
    the decision's size (``sim.decision_limits``), its channels and dollars,
    its tiers over the observable columns, and acquisition plus service
    against the one marketing budget.

    Raises:
        DecisionError: naming the entry (or the limit) at fault.
    """
    if not isinstance(decision, Decision):
        raise DecisionError(f"decision: expected a Decision, got {type(decision).__name__}")
    DecisionLimits.of_market(public.prospects, observation.n_customers).check(
        decision.tiers, len(decision.scores))
    budget = public.budget.marketing if check_budget else float("inf")
    check_acquisition(decision, public.channel_names, budget)
    # One marketing budget: the tiers are sized first, then acquisition
    # and service are checked together against it.
    assignment = assign_tiers(decision, dict(observation.columns), observation.categories,
                              float("inf"), servable=observation.active)
    check_marketing_budget(decision, assignment, budget)
    return assignment


class Game:
    """A seeded game of one scenario.

    Usage::

        game = Game(scenario)
        observation = game.reset(seed=7)
        while not game.done:
            observation, result = game.step(strategy.decide(observation))
    """

    def __init__(self, scenario: Scenario):
        if not isinstance(scenario, Scenario):
            raise SimError(f"scenario: expected a Scenario (sim.load_scenario), got "
                           f"{type(scenario).__name__}")
        self.scenario = scenario
        self.public = PublicScenario.of(scenario)
        self.first_turn = 1 - scenario.warmup_turns
        self.seed: int | None = None
        self.results: list[TurnResult] = []

    # ------------------------------------------------------------ public API
    def reset(self, seed: int) -> Observation:
        """Draw the market for ``seed``, play the warm-up turns, return turn 1's observation."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise SimError(f"seed must be a whole number >= 0, got {seed!r:.60}")
        s = self.scenario
        self.seed = int(seed)
        self.population, self._customer_id = _market(s, self.seed)
        with _market_lock:
            warm = _last_warmup
        if warm is not None and warm[1] == self.seed and warm[0] == s:
            # The warm-up is history under the previous management's fixed policy:
            # a process playing several strategies on one seed plays it once.
            self._restore(warm[2])
        else:
            self._play_warmup()
        self._observation = self._observe()
        return self._observation

    def _play_warmup(self) -> None:
        """Play the warm-up turns from an empty market and keep a copy of the state they leave."""
        global _last_warmup
        s = self.scenario
        n = s.prospects
        self._in_pool = np.ones(n, dtype=bool)
        self._alive = np.zeros(n, dtype=bool)
        self._row_of = np.full(n, -1, dtype=np.int64)
        self._types_total = np.bincount(self.population.type_index, minlength=len(s.types))
        self._types_left = self._types_total.astype(float)
        # Friends referred last turn (prospect ids) and who referred each.
        self._pending = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        self.customers = CustomerTable.allocate(n, s.warmup_turns + s.turns)
        self.results = []
        self.books: list[TurnBooks] = []
        self._true_turns: list[TrueTurn] = []
        self.turn = self.first_turn
        inherited = Decision(
            acquisition=dict(s.inherited.acquisition),
            tiers=(Tier("everyone", "all", s.inherited.service),),
        )
        while self.turn <= 0:
            # The previous management's policy is history: no budget check.
            self._play(inherited, check_budget=False)
        warm = _WarmUp(self._in_pool.copy(), self._alive.copy(), self._row_of.copy(),
                       self._types_left.copy(), tuple(a.copy() for a in self._pending),
                       self.customers.trimmed_copy(), tuple(self.books), tuple(self._true_turns))
        with _market_lock:
            _last_warmup = (s, self.seed, warm)

    def _restore(self, warm: _WarmUp) -> None:
        """Continue from a copy of a warm-up played before (``_play_warmup``)."""
        s = self.scenario
        self._in_pool, self._alive, self._row_of = (warm.in_pool.copy(), warm.alive.copy(),
                                                    warm.row_of.copy())
        self._types_total = np.bincount(self.population.type_index, minlength=len(s.types))
        self._types_left = warm.types_left.copy()
        self._pending = tuple(a.copy() for a in warm.pending)
        self.customers = warm.customers.grown_copy(s.prospects)
        self.books = list(warm.books)
        self._true_turns = list(warm.true_turns)
        self.results = []
        self.turn = 1

    @property
    def done(self) -> bool:
        return self.seed is not None and self.turn > self.scenario.turns

    @property
    def observation(self) -> Observation:
        return self._observation

    def step(self, decision: Decision) -> tuple[Observation, TurnResult]:
        """Play one turn with ``decision``.

        Raises:
            DecisionError: over budget, negative dollars, unknown channel,
                field or value; the game state is unchanged.
            GameStateError: before ``reset`` or after the last turn (a
                ``RuntimeError`` too).
        """
        if self.seed is None:
            raise GameStateError("call reset(seed) before step()")
        if self.done:
            raise GameStateError("the game is over; call reset(seed) to play again")
        result = self._play(decision, check_budget=True)
        self._observation = self._observe()
        return self._observation, result

    @property
    def truth(self) -> Truth:
        """The latent state (for the scorer and the oracle only), read-only."""
        c = self.customers
        return Truth(self.scenario, self.population, _frozen_copy(self._alive),
                     _frozen_copy(self._in_pool), _frozen_copy(c.used("prospect")),
                     _frozen_copy(c.used("service_received")), tuple(self._true_turns),
                     _frozen_copy(self._pending[0]))

    # ------------------------------------------------------------ one turn
    def _play(self, decision: Decision, check_budget: bool) -> TurnResult:
        k = self.turn
        observation = self._observation if k >= 1 else self._observe()
        assignment = self._check(decision, observation, check_budget)
        # Experiments: the control rows of tiers with a holdout are served
        # nothing and cost nothing (the budget was checked at full cost).
        arm = holdout_arms(self.seed, self.scenario.prospects, decision, assignment,
                           self.customers.prospect[:observation.n_customers])
        if arm is not None:
            self.customers.experiment_arm[:observation.n_customers, k - self.first_turn] = arm
        assignment = without_control(assignment, arm)
        acquisition = np.array([float(decision.acquisition.get(c, 0.0))
                                for c in self.scenario.channel_names])
        acquired, acquired_channel = self._acquire(acquisition, k)
        service, disengaged = self._serve(assignment, observation.n_customers)
        alive_ids = np.flatnonzero(self._alive)
        outcome = self._behave(alive_ids, service, disengaged, k)
        if self.scenario.referrals is not None:
            self._refer(alive_ids, service, disengaged, outcome, k)
        result = self._keep_books(k, alive_ids, outcome, acquisition, acquired_channel, assignment)
        self.turn += 1
        return result

    def _check(self, decision: Decision, observation: Observation, check_budget: bool) -> Assignment:
        """Refuse a bad decision before anything changes; resolve its tiers."""
        return check_decision(self.public, observation, decision, check_budget)

    def _acquire(self, spend: np.ndarray, turn: int) -> tuple[np.ndarray, np.ndarray]:
        """Buy this turn's new customers and give each its first purchase.

        Friends referred last turn join first, in the referral channel
        (code: one past the paid channels), at no cost.
        """
        pop = self.population
        reach = reach_left(pop.affinity, self._types_left, self._types_total)
        ids, channel = acquire(self.seed, turn, self.scenario, spend, self._in_pool,
                               pop.type_index, pop.affinity, reach, pop.prospect_weight)
        friends, referrers = self._pending
        if friends.size:
            ids = np.concatenate([friends, ids])
            channel = np.concatenate([np.full(friends.size, len(self.scenario.channels),
                                              dtype=np.int8), channel])
            self._pending = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        if ids.size:
            u = uniforms(self.seed, "initial_spend", turn, self.scenario.prospects)[ids]
            first = gamma_total_spend(u, np.ones(ids.size, dtype=np.int64), pop.spend_shape[ids],
                                      pop.spend_rate[ids])
            rows = self.customers.append(ids, channel, turn, turn - self.first_turn, first)
            self._row_of[ids] = rows
            self._in_pool[ids] = False
            self._alive[ids] = True
            self._types_left -= np.bincount(pop.type_index[ids[friends.size:]],
                                            minlength=len(self.scenario.types))
            if friends.size:
                self.customers.referred_by[rows[:friends.size]] = referrers
                np.add.at(self.customers.referrals, self._row_of[referrers], 1)
        return ids, channel

    def _refer(self, alive_ids: np.ndarray, service: np.ndarray, disengaged: np.ndarray,
               outcome: TurnOutcome, turn: int) -> None:
        """This turn's referrals: the friends leave the pool now and join next turn."""
        pop = self.population
        counts = referral_counts(self.seed, turn, self.scenario, alive_ids,
                                 pop.referral_rate[alive_ids], pop.service_response[alive_ids],
                                 service[alive_ids], disengaged[alive_ids], outcome.exposure)
        made = counts > 0
        friends, referrers = choose_referred(self.seed, turn, self.scenario, alive_ids[made],
                                             counts[made], self._in_pool, pop.type_index)
        self._in_pool[friends] = False
        self._types_left -= np.bincount(pop.type_index[friends], minlength=len(self.scenario.types))
        self._pending = (friends, referrers)

    def _serve(self, assignment: Assignment, known_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Service dollars and disengagement per prospect.

        Service applies to the rows the player saw; newcomers start unserved.
        """
        n = self.scenario.prospects
        service = np.zeros(n)
        disengaged = np.zeros(n, dtype=bool)
        seen = self.customers.prospect[:known_rows]
        service[seen] = assignment.service_per_customer
        disengaged[seen] = assignment.disengaged
        self.customers.service_received[:known_rows] += assignment.service_per_customer
        return service, disengaged

    def _behave(self, alive_ids: np.ndarray, service: np.ndarray, disengaged: np.ndarray,
                turn: int) -> TurnOutcome:
        """One turn of behaviour of the alive customers under their treatment."""
        s, pop, n = self.scenario, self.population, self.scenario.prospects
        rows = self._row_of[alive_ids]
        c = self.customers
        new = c.acquisition_turn[rows] == turn

        def u(purpose: str) -> np.ndarray:
            return uniforms(self.seed, purpose, turn, n)[alive_ids]

        return customer_turn(TurnInputs(
            service=service[alive_ids],
            disengaged=disengaged[alive_ids],
            purchase_rate=pop.purchase_rate[alive_ids],
            dropout_rate=pop.dropout_rate[alive_ids],
            service_response=pop.service_response[alive_ids],
            spend_shape=pop.spend_shape[alive_ids],
            spend_rate=pop.spend_rate[alive_ids],
            cost_to_serve=pop.cost_to_serve[alive_ids],
            new=new,
            first_spend=np.where(new, c.first_spend[rows], 0.0),
            u_death=u("death"), u_count=u("purchase_count"), u_spend=u("purchase_spend"),
            u_timing=u("purchase_timing"), u_incidents=u("service_incidents"),
            u_incident_cost=u("incident_cost"),
        ), s)

    def _keep_books(self, turn: int, alive_ids: np.ndarray, outcome: TurnOutcome,
                    acquisition: np.ndarray, acquired_channel: np.ndarray,
                    assignment: Assignment) -> TurnResult:
        """Record the turn in the customer table and the firm's books."""
        s, c = self.scenario, self.customers
        rows = self._row_of[alive_ids]
        fee = np.full(alive_ids.size, s.membership_fee if s.contractual else 0.0)
        c.record_turn(rows, turn - self.first_turn, outcome.purchases, outcome.spend,
                      outcome.cost_to_serve, fee, outcome.last_purchase + (turn - 1))
        died = outcome.died
        self._alive[alive_ids[died]] = False
        if s.contractual:
            c.cancel(rows[died], turn)

        revenue_total = float(outcome.revenue.sum())
        gross = s.gross_margin * revenue_total
        cts_total = float(outcome.cost_to_serve.sum())
        acquisition_total = float(acquisition.sum())
        profit = gross - cts_total - assignment.service_cost - acquisition_total - s.fixed_cost
        books = TurnBooks(
            turn=turn,
            acquired=int(acquired_channel.size),
            acquired_by_channel={name: int((acquired_channel == i).sum())
                                 for i, name in enumerate(self.public.customer_channel_names)},
            buyers=int((outcome.purchases > 0).sum()),
            cancellations=int(died.sum()) if s.contractual else 0,
            revenue=revenue_total,
            gross_margin=gross,
            cost_to_serve=cts_total,
            service_spend=assignment.service_cost,
            acquisition_spend=acquisition_total,
            fixed_cost=s.fixed_cost,
            profit=profit,
            members=int(c.used("active").sum()) if s.contractual else None,
        )
        self.books.append(books)
        self._true_turns.append(TrueTurn(turn, int(alive_ids.size - died.sum()), int(died.sum())))
        result = TurnResult(books, assignment.counts)
        if turn >= 1:
            self.results.append(result)
        return result

    def _observe(self) -> Observation:
        c = self.customers
        cols = slice(0, self.turn - self.first_turn)

        def view(a: np.ndarray) -> np.ndarray:
            v = a.view()
            v.flags.writeable = False
            return v

        prospect = c.used("prospect")
        customer_id = self._customer_id[prospect]
        customer_id.flags.writeable = False
        return Observation(
            scenario=self.public,
            turn=self.turn,
            turn_columns=np.arange(self.first_turn, self.turn),
            customer_id=customer_id,
            channel=view(c.used("channel")),
            acquisition_turn=view(c.used("acquisition_turn")),
            tags={name: codes[prospect] for name, codes in self.population.tags.items()},
            purchases=view(c.purchases[: c.size, cols]),
            spend=view(c.spend[: c.size, cols]),
            cost_to_serve=view(c.cost_to_serve[: c.size, cols]),
            first_spend=view(c.used("first_spend")),
            # Running totals change every turn: copies keep this observation fixed.
            total_purchases=c.used("total_purchases").copy(),
            total_spend=c.used("total_spend").copy(),
            total_cost_to_serve=c.used("total_cost_to_serve").copy(),
            fees_paid=c.used("fees").copy(),
            last_purchase_time=c.used("last_time").copy(),
            cancel_turn=c.used("cancel_turn").copy(),
            active=c.used("active").copy(),
            books=tuple(self.books),
            experiment_arm=view(c.experiment_arm[: c.size, cols]),
            **self._observe_referrals(prospect),
        )

    def _observe_referrals(self, prospect: np.ndarray) -> dict:
        """``referred_by`` as the referrer's customer id and ``referrals`` (none without)."""
        if self.scenario.referrals is None:
            return {}
        c = self.customers
        by = c.used("referred_by")
        referred_by = np.where(by >= 0, self._customer_id[np.maximum(by, 0)], -1)
        return {"referred_by": referred_by, "referrals": c.used("referrals").copy()}
