"""The game engine: ``Game.reset(seed)`` then ``Game.step(decision)`` each turn.

One turn (DESIGN.md section 1): acquisition from the finite pool, service by
the player's tiers, a turn of continuous-time behaviour for every alive
customer, and the books.  All state is numpy arrays over prospects or over
customer rows; nothing loops over customers in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .acquisition import acquire, reach_left
from .behaviour import (cost_to_serve_per_purchase, disengaged_rates, gamma_total_spend,
                        hill_response, last_purchase_offset, poisson_inverse, served_rates)
from .decisions import (Assignment, Decision, DecisionError, Tier, assign_tiers, check_acquisition,
                        check_marketing_budget)
from .observation import STILL_ACTIVE, Observation, TurnBooks
from .population import Population, draw_population
from .rng import uniforms
from .scenario import Scenario


@dataclass(frozen=True)
class TurnResult:
    """One turn's books plus what only the scorer may know.

    Attributes:
        books: the firm's accounts (observable).
        customers: customers alive at the end of the turn (true count).
        lost: customers who died or cancelled during the turn.
        tier_counts: customers in each of the decision's tiers.
    """

    books: TurnBooks
    customers: int
    lost: int
    tier_counts: tuple[int, ...]


@dataclass(frozen=True)
class Truth:
    """Latent state for the scorer and the oracle, never for a player.

    Attributes:
        population: every prospect's latent traits.
        alive: per prospect, True while a living customer.
        in_pool: per prospect, True while not yet acquired.
        row_prospect: prospect id of each observation row.
        service_received: per observation row, service dollars spent so far.
    """

    population: Population
    alive: np.ndarray
    in_pool: np.ndarray
    row_prospect: np.ndarray
    service_received: np.ndarray


class Game:
    """A seeded game of one scenario.

    Usage::

        game = Game(scenario)
        observation = game.reset(seed=7)
        while not game.done:
            observation, result = game.step(strategy.decide(observation))
    """

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.first_turn = 1 - scenario.warmup_turns
        self._n_columns = scenario.warmup_turns + scenario.turns
        self.seed: int | None = None
        self.results: list[TurnResult] = []

    # ------------------------------------------------------------ public API
    def reset(self, seed: int) -> Observation:
        """Draw the market for ``seed``, play the warm-up turns, return turn 1's observation."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        s = self.scenario
        self.seed = int(seed)
        self.population = draw_population(s, self.seed)
        n = s.prospects
        self._in_pool = np.ones(n, dtype=bool)
        self._alive = np.zeros(n, dtype=bool)
        self._row_of = np.full(n, -1, dtype=np.int64)
        self._types_total = np.bincount(self.population.type_index, minlength=len(s.types))
        self._types_left = self._types_total.astype(float)
        self._rows = 0
        self._allocate(n)
        self.results = []
        self.books: list[TurnBooks] = []
        self.turn = self.first_turn
        inherited = Decision(
            acquisition=dict(s.inherited.acquisition),
            tiers=(Tier("everyone", "all", s.inherited.service),),
        )
        while self.turn <= 0:
            # The previous management's policy is history: no budget check.
            self._play(inherited, check_budget=False)
        self._observation = self._observe()
        return self._observation

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
            RuntimeError: before ``reset`` or after the last turn.
        """
        if self.seed is None:
            raise RuntimeError("call reset(seed) before step()")
        if self.done:
            raise RuntimeError("the game is over; call reset(seed) to play again")
        result = self._play(decision, check_budget=True)
        self._observation = self._observe()
        return self._observation, result

    @property
    def truth(self) -> Truth:
        """The latent state (for the scorer and the oracle only)."""
        rows = slice(0, self._rows)
        return Truth(self.population, self._alive, self._in_pool,
                     self._prospect[rows], self._service_received[rows])

    # ------------------------------------------------------------ one turn
    def _play(self, decision: Decision, check_budget: bool) -> TurnResult:
        s = self.scenario
        k = self.turn
        obs = getattr(self, "_observation", None) if k >= 1 else self._observe()
        if not isinstance(decision, Decision):
            raise DecisionError(f"decision: expected a Decision, got {type(decision).__name__}")
        budget = s.budget.marketing if check_budget else float("inf")
        check_acquisition(decision, s.channel_names, budget)
        columns = dict(obs.columns)
        assignment = assign_tiers(decision, columns, obs.categories, float("inf"),
                                  servable=obs.active)
        check_marketing_budget(decision, assignment, budget)
        spend = np.array([float(decision.acquisition.get(c, 0.0)) for c in s.channel_names])

        pop = self.population
        n = s.prospects
        col = k - self.first_turn
        known_rows = obs.n_customers

        reach = reach_left(pop.affinity, self._types_left, self._types_total)
        new_ids, new_channel = acquire(self.seed, k, s, spend, self._in_pool, pop.type_index,
                                       pop.affinity, reach)
        self._add_customers(new_ids, new_channel, k)

        # Service applies to the rows the player saw; newcomers start unserved.
        service = np.zeros(n)
        disengaged = np.zeros(n, dtype=bool)
        seen = self._prospect[:known_rows]
        service[seen] = assignment.service_per_customer
        disengaged[seen] = assignment.disengaged
        self._service_received[:known_rows] += assignment.service_per_customer

        alive_ids = np.flatnonzero(self._alive)
        g = hill_response(service[alive_ids], s.service)
        lam, mu = served_rates(pop.purchase_rate[alive_ids], pop.dropout_rate[alive_ids],
                               pop.service_response[alive_ids], g, s.service.purchase_boost)
        off = disengaged[alive_ids]
        lam, mu, kappa = disengaged_rates(lam, mu, pop.cost_to_serve[alive_ids], off, s.disengage)

        death_time = -np.log(uniforms(self.seed, "death", k, n)[alive_ids]) / mu
        died = death_time < 1.0
        # Contractual customers pay for the whole turn and cancel at its end.
        exposure = np.ones(alive_ids.size) if s.contractual else np.minimum(death_time, 1.0)
        count = poisson_inverse(uniforms(self.seed, "purchase_count", k, n)[alive_ids], lam * exposure)
        bought = gamma_total_spend(uniforms(self.seed, "purchase_spend", k, n)[alive_ids], count,
                                   pop.spend_shape[alive_ids], pop.spend_rate[alive_ids])
        last = last_purchase_offset(uniforms(self.seed, "purchase_timing", k, n)[alive_ids],
                                    count, exposure) + (k - 1)
        fee = np.full(alive_ids.size, s.membership_fee if s.contractual else 0.0)

        rows = self._row_of[alive_ids]
        new_now = self._acquisition_turn[rows] == k
        first = np.where(new_now, self._first_spend[rows], 0.0)
        revenue = bought + fee + first
        # Occasions to serve: purchases, the first one at acquisition, a member's box.
        occasions = count + new_now + (fee > 0)
        _, cts = cost_to_serve_per_purchase(
            uniforms(self.seed, "service_incidents", k, n)[alive_ids],
            uniforms(self.seed, "incident_cost", k, n)[alive_ids],
            occasions, revenue, kappa, s.incident_cost_shape)

        self._purchases[rows, col] += count.astype(np.int32)
        self._spend[rows, col] += bought
        self._cts[rows, col] = cts
        self._total_purchases[rows] += count
        self._total_spend[rows] += bought
        self._total_cts[rows] += cts
        self._fees[rows] += fee
        has = count > 0
        self._last_time[rows[has]] = last[has]
        self._alive[alive_ids[died]] = False
        if s.contractual:
            self._active[rows[died]] = False
            self._cancel_turn[rows[died]] = k

        revenue_total = float(revenue.sum())
        gross = s.gross_margin * revenue_total
        cts_total = float(cts.sum())
        acq_total = float(spend.sum())
        profit = gross - cts_total - assignment.service_cost - acq_total - s.fixed_cost
        books = TurnBooks(
            turn=k,
            acquired=int(new_ids.size),
            acquired_by_channel={c: int((new_channel == i).sum()) for i, c in enumerate(s.channel_names)},
            buyers=int(has.sum()),
            cancellations=int(died.sum()) if s.contractual else 0,
            revenue=revenue_total,
            gross_margin=gross,
            cost_to_serve=cts_total,
            service_spend=assignment.service_cost,
            acquisition_spend=acq_total,
            fixed_cost=s.fixed_cost,
            profit=profit,
        )
        result = TurnResult(books, int(alive_ids.size - died.sum()), int(died.sum()),
                            assignment.counts)
        self.books.append(books)
        if k >= 1:
            self.results.append(result)
        self.turn += 1
        return result

    def _add_customers(self, ids: np.ndarray, channel: np.ndarray, turn: int) -> None:
        if ids.size == 0:
            return
        pop = self.population
        start, stop = self._rows, self._rows + ids.size
        rows = np.arange(start, stop)
        self._rows = stop
        self._row_of[ids] = rows
        self._in_pool[ids] = False
        self._alive[ids] = True
        self._types_left -= np.bincount(pop.type_index[ids], minlength=len(self.scenario.types))
        self._prospect[rows] = ids
        self._channel[rows] = channel
        self._acquisition_turn[rows] = turn
        u = uniforms(self.seed, "initial_spend", turn, self.scenario.prospects)[ids]
        first = gamma_total_spend(u, np.ones(ids.size, dtype=np.int64), pop.spend_shape[ids],
                                  pop.spend_rate[ids])
        self._first_spend[rows] = first
        self._spend[rows, turn - self.first_turn] = first
        self._purchases[rows, turn - self.first_turn] = 1
        self._total_purchases[rows] = 1
        self._total_spend[rows] = first
        self._last_time[rows] = turn - 1.0
        self._active[rows] = True

    def _allocate(self, capacity: int) -> None:
        """Allocate the customer-row arrays, one row per possible customer.

        ``np.zeros`` maps fresh zero pages lazily, so rows never used (the
        prospects never acquired) cost no memory.
        """
        def grow(name: str, dtype, shape_tail=(), fill=0):
            new = np.zeros((capacity, *shape_tail), dtype=dtype)
            if fill:
                new.fill(fill)
            setattr(self, name, new)

        cols = (self._n_columns,)
        grow("_prospect", np.int64)
        grow("_channel", np.int8)
        grow("_acquisition_turn", np.int16)
        grow("_first_spend", float)
        grow("_fees", float)
        grow("_last_time", float)
        grow("_active", bool)
        grow("_cancel_turn", np.int16, fill=STILL_ACTIVE)
        grow("_service_received", float)
        grow("_total_purchases", np.int64)
        grow("_total_spend", float)
        grow("_total_cts", float)
        grow("_purchases", np.int32, cols)
        grow("_spend", float, cols)
        grow("_cts", float, cols)

    def _observe(self) -> Observation:
        rows = slice(0, self._rows)
        cols = slice(0, self.turn - self.first_turn)

        def view(a: np.ndarray) -> np.ndarray:
            v = a.view()
            v.flags.writeable = False
            return v

        prospect = self._prospect[rows]
        return Observation(
            scenario=self.scenario,
            turn=self.turn,
            turn_columns=np.arange(self.first_turn, self.turn),
            customer_id=view(prospect),
            channel=view(self._channel[rows]),
            acquisition_turn=view(self._acquisition_turn[rows]),
            tags={name: codes[prospect] for name, codes in self.population.tags.items()},
            purchases=view(self._purchases[rows, cols]),
            spend=view(self._spend[rows, cols]),
            cost_to_serve=view(self._cts[rows, cols]),
            first_spend=view(self._first_spend[rows]),
            # Running totals change every turn: copies keep this observation fixed.
            total_purchases=self._total_purchases[rows].copy(),
            total_spend=self._total_spend[rows].copy(),
            total_cost_to_serve=self._total_cts[rows].copy(),
            fees_paid=self._fees[rows].copy(),
            last_purchase_time=self._last_time[rows].copy(),
            cancel_turn=self._cancel_turn[rows].copy(),
            active=self._active[rows].copy(),
            books=tuple(self.books),
        )
