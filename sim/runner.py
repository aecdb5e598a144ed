"""The one place games are played: a strategy's game, its score, the references.

The CLI, the contract checker, the benchmarks, records, the UI and
tournaments all play through ``play_game`` and ``score``, so a game is
played the same way wherever it is played: the strategy gets the public
scenario and observations (the truth only if it is the oracle), each
decision keeps only the score information its rules use
(``sim.score_columns``), and every decision is kept for the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .decisions import Decision
from .engine import Game, TurnResult
from .errors import SimError
from .observation import Observation
from .scenario import Scenario
from .score_columns import essential_scores
from .references import (EXPECTED_COST, REFERENCES, cached_value, is_reference, remember,
                         start_references)
from .scoring import GameValue, centricity_score, value_game


@dataclass
class PlayedGame:
    """A finished game with the decisions that made it and its value.

    Attributes:
        scenario: the scenario played (at the size played).
        strategy: the strategy's name.
        seed: the root seed.
        game: the finished ``Game`` (its truth is there for the scorer).
        decisions: the decision of each turn, as played.
        value: what the game is worth (``sim.scoring.value_game``).
    """

    scenario: Scenario
    strategy: str
    seed: int
    game: Game
    decisions: list[Decision]
    value: GameValue

    def to_rows(self) -> list[dict]:
        """One flat row per turn (see ``GameValue.to_rows``)."""
        return self.value.to_rows()


def play_game(scenario: Scenario, strategy, seed: int,
              on_turn: Callable[[Game, Decision, TurnResult], None] | None = None,
              before_turn: Callable[[Observation, Decision], None] | None = None) -> PlayedGame:
    """Play a whole game of ``scenario`` with ``strategy`` on ``seed`` and value it.

    Args:
        scenario: the business.
        strategy: an object with ``name``, ``sees_truth``, ``reset(scenario,
            seed)`` and ``decide(observation, truth)``; it receives the public
            view of the scenario, and the truth only if ``sees_truth``.
        seed: the root seed (a whole number >= 0).
        on_turn: called after each turn with the game, the decision played
            and the turn's result (progress, autosave).
        before_turn: called with the observation and the decision before
            each turn is played (e.g. ``sim.treatment.TreatmentLog.record``).

    Raises:
        DecisionError: the strategy made a decision the game refuses.
    """
    if not all(callable(getattr(strategy, method, None)) for method in ("reset", "decide")):
        raise SimError(f"strategy: expected an object with reset() and decide() (e.g. "
                       f"sim.strategies.get_strategy(name)), got {type(strategy).__name__}")
    game = Game(scenario)
    observation = game.reset(seed)
    strategy.reset(game.public, seed)
    decisions = []
    while not game.done:
        truth = game.truth if getattr(strategy, "sees_truth", False) else None
        decision = strategy.decide(observation, truth)
        if isinstance(decision, Decision):
            decision = essential_scores(decision, observation.n_customers, set(observation.columns))
        if before_turn:
            before_turn(observation, decision)
        observation, result = game.step(decision)
        decisions.append(decision)
        if on_turn:
            on_turn(game, decision, result)
    return PlayedGame(scenario, strategy.name, int(seed), game, decisions,
                      value_game(game, strategy.name))


def replay_game(scenario: Scenario, seed: int, decisions: list[Decision],
                strategy: str = "replay",
                on_turn: Callable[[Game, Decision, TurnResult], None] | None = None,
                before_turn: Callable[[Observation, Decision], None] | None = None) -> PlayedGame:
    """Play recorded decisions again on the same scenario and seed.

    Args:
        on_turn: called after each turn, as in ``play_game``.
        before_turn: called before each turn, as in ``play_game``.

    Raises:
        DecisionError: a decision the game refuses (naming the entry).
        SimError: fewer or more decisions than the scenario has turns.
    """
    if len(decisions) != scenario.turns:
        raise SimError(f"{len(decisions)} decisions for a game of {scenario.turns} turns")
    game = Game(scenario)
    observation = game.reset(seed)
    for decision in decisions:
        if before_turn:
            before_turn(observation, decision)
        observation, result = game.step(decision)
        if on_turn:
            on_turn(game, decision, result)
    return PlayedGame(scenario, strategy, int(seed), game, list(decisions),
                      value_game(game, strategy))


@dataclass
class Scorecard:
    """A strategy's game and the reference strategies on the same seed."""

    player: PlayedGame
    baselines: dict[str, GameValue] = field(default_factory=dict)

    @property
    def centricity_score(self) -> float:
        """0 = mass-marketing, 100 = the oracle (NaN if the oracle is not above mass)."""
        return centricity_score(self.player.value.firm_value,
                                self.baselines["mass-marketing"].firm_value,
                                self.baselines["oracle"].firm_value)

    def to_dict(self) -> dict:
        """The game and its comparison as one JSON-ready mapping."""
        v = self.player.value
        return {
            "scenario": self.player.scenario.key,
            "seed": self.player.seed,
            "strategy": self.player.strategy,
            "prospects": self.player.scenario.prospects,
            "firm_value": v.firm_value,
            "discounted_profit": v.discounted_profit,
            "terminal_equity": v.terminal_equity,
            "centricity_score": self.centricity_score,
            "baselines": {name: r.firm_value for name, r in self.baselines.items()},
            "service_by_value_decile": list(v.service_by_value_decile),
            "top20_profit_share": v.top20_profit_share,
            "unprofitable_share": v.unprofitable_share,
            "turns": v.to_rows(),
        }


def score(scenario: Scenario, strategy, seed: int, references=REFERENCES,
          progress: Callable[[str], None] | None = None, workers: int = 1) -> Scorecard:
    """Play ``strategy`` and every reference on the same seed and compare firm values.

    The references come from ``sim.references`` (played once per process and
    seed).  A built-in reference played as the strategy is not played twice:
    its game is the reference's.  With ``workers`` > 1 the references are
    played in that many worker processes while this process plays the
    strategy (the games are independent and deterministic, so the results
    are the same as with one process).

    Args:
        progress: called with each strategy's name as its game starts (queued,
            with workers).
        workers: processes for the reference games (1: all in this process).
    """
    builtin = _is_builtin(strategy)
    others = [name for name in references
              if name != builtin and cached_value(scenario, name, seed) is None]
    # Longest games first, so the workers finish together.
    others.sort(key=lambda name: EXPECTED_COST.get(name, 0), reverse=True)
    with start_references(scenario, seed, others, workers if others else 1, progress) as pending:
        if progress:
            progress(strategy.name)
        card = Scorecard(play_game(scenario, strategy, seed))
        if builtin:
            remember(scenario, builtin, seed, card.player.value)
        for name in references:
            card.baselines[name] = pending.result(name)
    return card


def _is_builtin(strategy) -> str | None:
    """The reference's name if ``strategy`` is that built-in reference itself, else None."""
    from .strategies import get_strategy

    name = getattr(strategy, "name", None)
    if not is_reference(name):
        return None
    return name if type(strategy) is type(get_strategy(name)) else None
