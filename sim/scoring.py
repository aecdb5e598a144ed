"""Firm value, baselines on the same draws, and the centricity score.

Firm value = sum_t profit_t / (1 + d)^t + terminal customer equity / (1 + d)^T
(docs/design.md section 2), in dollars at the start of turn 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Game, TrueTurn, Truth, TurnResult
from .errors import GameStateError
from .referral_value import friend_values_by_type, pending_value, referral_equity
from .valuation import customer_equity, prospect_value


@dataclass(frozen=True)
class GameValue:
    """What one played game is worth.

    Attributes:
        strategy: the strategy's name.
        seed: the root seed.
        firm_value: dollars, discounted to the start of turn 1.
        discounted_profit: the profit part of firm value, dollars.
        terminal_equity: undiscounted customer equity at the end, dollars.
        turns: one TurnResult per played turn.
        true_turns: customers really alive and lost in each played turn
            (the reveal: never shown during a game).
        service_by_value_decile: share of all service dollars that went to
            each decile of customers ranked by true value at acquisition
            (index 0 = most valuable tenth).
        top20_profit_share: share of all customers' realised profit (gross
            margin less cost to serve, whole history) made by the best 20%.
        unprofitable_share: share of customers whose realised profit is < 0.
    """

    strategy: str
    seed: int
    firm_value: float
    discounted_profit: float
    terminal_equity: float
    turns: tuple[TurnResult, ...]
    true_turns: tuple[TrueTurn, ...]
    service_by_value_decile: tuple[float, ...]
    top20_profit_share: float
    unprofitable_share: float

    def to_rows(self) -> list[dict]:
        """One flat row per played turn: the books, tier sizes and the revealed true counts."""
        return [{**r.to_dict(), "alive": t.alive, "lost": t.lost}
                for r, t in zip(self.turns, self.true_turns)]

    def to_dict(self) -> dict:
        """The game's value as one JSON-ready mapping, with its turns as rows."""
        return {
            "strategy": self.strategy, "seed": self.seed, "firm_value": self.firm_value,
            "discounted_profit": self.discounted_profit, "terminal_equity": self.terminal_equity,
            "service_by_value_decile": list(self.service_by_value_decile),
            "top20_profit_share": self.top20_profit_share,
            "unprofitable_share": self.unprofitable_share, "turns": self.to_rows(),
        }


def profit_concentration(customer_profit: np.ndarray) -> tuple[float, float]:
    """(share of total profit made by the top 20% of customers, share with profit < 0)."""
    if customer_profit.size == 0:
        return float("nan"), float("nan")
    ranked = np.sort(customer_profit)[::-1]
    top = ranked[: max(1, ranked.size // 5)].sum()
    total = ranked.sum()
    return float(top / total) if total > 0 else float("inf"), float(np.mean(ranked < 0))


def value_game(game: Game, strategy: str = "") -> GameValue:
    """Score a finished game."""
    if not game.done:
        raise GameStateError("value_game needs a finished game")
    s = game.scenario
    v = 1.0 / (1.0 + s.discount_rate)
    discount = v ** np.arange(1, s.turns + 1)
    profit = np.array([r.books.profit for r in game.results])
    discounted_profit = float(profit @ discount)
    truth = game.truth
    equity = terminal_equity(truth)
    firm_value = discounted_profit + equity * v ** s.turns
    top20, unprofitable = profit_concentration(game.observation.columns["profit"])
    true_turns = tuple(t for t in truth.turns if t.turn >= 1)
    return GameValue(strategy, int(game.seed), firm_value, discounted_profit, equity,
                     tuple(game.results), true_turns, service_by_decile(game), top20, unprofitable)


def terminal_equity(truth: Truth) -> float:
    """Closed-form value of the customer base now, dollars, neutral policy from the next turn.

    The alive customers' equity; with referrals, also their expected future
    referrals' value (CRV) and the friends referred in the latest turn, who
    join at the start of the next (``sim.referral_value``).
    """
    s = truth.scenario
    alive = np.flatnonzero(truth.alive)
    equity = float(customer_equity(truth.population, alive, s).sum())
    if s.referrals is not None:
        friend = friend_values_by_type(truth.population, s, truth.in_pool)
        equity += float(referral_equity(truth.population, alive, s, truth.in_pool, friend).sum())
        equity += pending_value(truth.population, truth.pending_referrals, s, truth.in_pool, friend)
    return equity


def true_value_deciles(game: Game) -> tuple[np.ndarray, np.ndarray]:
    """Each customer row's true value at acquisition (dollars) and its decile (0 = best tenth)."""
    truth = game.truth
    worth = prospect_value(truth.population, truth.row_prospect, game.scenario)
    order = np.argsort(-worth, kind="stable")
    decile = np.empty(order.size, dtype=np.int64)
    decile[order] = np.arange(order.size) * 10 // max(order.size, 1)
    return worth, decile


def service_by_decile(game: Game) -> tuple[float, ...]:
    """Share of service dollars by decile of true customer value (most valuable first)."""
    truth = game.truth
    if truth.row_prospect.size == 0:
        return (0.0,) * 10
    _, decile = true_value_deciles(game)
    spent = np.bincount(decile, weights=truth.service_received, minlength=10)
    total = spent.sum()
    return tuple(float(x) for x in (spent / total if total > 0 else spent))


def centricity_score(value: float, mass: float, oracle: float) -> float:
    """(V - V_mass) / (V_oracle - V_mass) x 100: 0 = mass-marketing, 100 = oracle."""
    span = oracle - mass
    if span <= 0:
        return float("nan")
    return 100.0 * (value - mass) / span
