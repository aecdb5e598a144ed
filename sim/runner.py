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
from .scenario import Scenario
from .score_columns import essential_scores
from .scoring import GameValue, centricity_score, value_game

#: Reference strategies played beside every scored game, on the same seed.
REFERENCES = ("do-nothing", "mass-marketing", "volume", "customer-centric", "oracle")


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
              on_turn: Callable[[Game, Decision, TurnResult], None] | None = None) -> PlayedGame:
    """Play a whole game of ``scenario`` with ``strategy`` on ``seed`` and value it.

    Args:
        scenario: the business.
        strategy: an object with ``name``, ``sees_truth``, ``reset(scenario,
            seed)`` and ``decide(observation, truth)``; it receives the public
            view of the scenario, and the truth only if ``sees_truth``.
        seed: the root seed (a whole number >= 0).
        on_turn: called after each turn with the game, the decision played
            and the turn's result (progress, autosave).

    Raises:
        DecisionError: the strategy made a decision the game refuses.
    """
    game = Game(scenario)
    observation = game.reset(seed)
    strategy.reset(game.public, seed)
    decisions = []
    while not game.done:
        truth = game.truth if getattr(strategy, "sees_truth", False) else None
        decision = strategy.decide(observation, truth)
        if isinstance(decision, Decision):
            decision = essential_scores(decision, observation.n_customers, set(observation.columns))
        observation, result = game.step(decision)
        decisions.append(decision)
        if on_turn:
            on_turn(game, decision, result)
    return PlayedGame(scenario, strategy.name, int(seed), game, decisions,
                      value_game(game, strategy.name))


def replay_game(scenario: Scenario, seed: int, decisions: list[Decision],
                strategy: str = "replay",
                on_turn: Callable[[Game, Decision, TurnResult], None] | None = None) -> PlayedGame:
    """Play recorded decisions again on the same scenario and seed.

    Args:
        on_turn: called after each turn, as in ``play_game``.

    Raises:
        DecisionError: a decision the game refuses (naming the entry).
        ValueError: fewer or more decisions than the scenario has turns.
    """
    if len(decisions) != scenario.turns:
        raise ValueError(f"{len(decisions)} decisions for a game of {scenario.turns} turns")
    game = Game(scenario)
    game.reset(seed)
    for decision in decisions:
        _, result = game.step(decision)
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

    A reference of the same name as the strategy is not played twice.  With
    ``workers`` > 1 the references are played in that many worker processes
    while this process plays the strategy (the games are independent and
    deterministic, so the results are the same as with one process).

    Args:
        progress: called with each strategy's name as its game starts (queued,
            with workers).
        workers: processes for the reference games (1: all in this process).
    """
    from .strategies import get_strategy

    # Longest games first, so the workers finish together.
    others = sorted((name for name in references if name != strategy.name),
                    key=lambda name: _EXPECTED_COST.get(name, 0), reverse=True)
    pending = {}
    pool = _reference_pool(workers) if workers > 1 and others else None
    try:
        if pool is not None:
            pending = {name: pool.submit(_reference_value, scenario, name, seed) for name in others}
            for name in others if progress else ():
                progress(name)
        if progress:
            progress(strategy.name)
        card = Scorecard(play_game(scenario, strategy, seed))
        for name in references:
            if name == strategy.name:
                card.baselines[name] = card.player.value
            elif name in pending:
                card.baselines[name] = pending[name].result()
            else:
                if progress:
                    progress(name)
                card.baselines[name] = play_game(scenario, get_strategy(name), seed).value
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return card


#: Rough relative cost of each reference's game (the oracle values every option).
_EXPECTED_COST = {"oracle": 3, "customer-centric": 3, "mass-marketing": 2, "volume": 2,
                  "do-nothing": 1}


def _reference_value(scenario: Scenario, name: str, seed: int) -> GameValue:
    """A reference strategy's game value (run in a worker process)."""
    from .strategies import get_strategy

    return play_game(scenario, get_strategy(name), seed).value


#: Thread counts of the numeric libraries in worker processes: one each, since
#: the processes already fill the cores (BLAS threads on top slow the fits).
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _reference_pool(workers: int):
    """A pool of fresh worker processes, each with one BLAS thread."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    os.environ.update(_ONE_THREAD)
    try:
        # Spawned (not forked) workers read the environment as they start.
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        # Workers start as tasks arrive: start them all now, while the variables are set.
        list(pool.map(int, range(workers)))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return pool
