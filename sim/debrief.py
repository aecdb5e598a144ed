"""The reveal after a game: firm value against the references, and what each lever was worth.

Built from the scenario, the seed and the player's decisions only (so the
screen and ``ccsim report RECORD`` give the same debrief): the player's game
is replayed, the reference strategies are played on the same seed, and two
composed games measure the levers (docs/design.md section 2, "value created by
acquisition, retention and development"):

* *your acquisition*: the player's acquisition dollars each turn with
  mass-marketing's service (equal service to everyone);
* *your service*: mass-marketing's acquisition (the budget split evenly)
  with the player's service tiers, their rules applied to that game's own
  customers (lab scores recomputed there, as the player's lab would have).

Against mass-marketing, each composed game isolates one choice on the same
random draws, so "who you acquired was worth $X" is measured, not asserted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .analytics.clv import predict_clv
from .analytics.fitting import DataError
from .decisions import Decision, Tier
from .references import reference_values
from .runner import PlayedGame, replay_game, play_game
from .scenario import Scenario
from .scoring import GameValue, centricity_score, true_value_deciles
from .session import LAB_COLUMNS, rule_uses, budget_problem, marketing_budget
from .strategies.base import BaseStrategy, even_acquisition
from .strategies.reference import equal_service

PLAYER = "you"
LEVER_ACQUISITION = "your acquisition + mass service"
LEVER_SERVICE = "mass acquisition + your service"


@dataclass
class Debrief:
    """Everything the debrief screen and the report show.

    Attributes:
        scenario: the scenario's name.
        key: its short name.
        seed: the root seed.
        prospects: size of the market.
        player: the player's game value (firm value, turns, true turns, service by decile).
        values: strategy name -> firm value, dollars (the player under ``PLAYER``,
            the references and the two lever games).
        centricity: 0 = mass-marketing, 100 = the oracle (NaN if undefined).
        estimated_equity: the lab's predicted customer equity at the end, from
            the player's own data, dollars (NaN when the models could not be fitted).
        true_equity: the true customer equity at the end, dollars.
        value_by_decile: share of the true value of the player's customers in
            each decile (most valuable first).
        mass_profit: mass-marketing's profit per turn (for the timeline).
        lesson: two or three sentences drawn from this game's numbers.
    """

    scenario: str
    key: str
    seed: int
    prospects: int
    player: GameValue
    values: dict[str, float]
    centricity: float
    estimated_equity: float
    true_equity: float
    value_by_decile: tuple[float, ...]
    mass_profit: tuple[float, ...]
    lesson: str = ""
    levers: list[tuple[str, float]] = field(default_factory=list)
    played_by: str = "player"

    def firm_values(self) -> dict[str, float]:
        """Firm value of the player and the reference strategies (the lever games left out)."""
        return {k: v for k, v in self.values.items() if k not in (LEVER_ACQUISITION, LEVER_SERVICE)}

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario, "key": self.key, "seed": self.seed,
            "prospects": self.prospects, "firm_values": dict(self.values),
            "centricity_score": self.centricity, "estimated_equity": self.estimated_equity,
            "true_equity": self.true_equity,
            "service_by_value_decile": list(self.player.service_by_value_decile),
            "value_by_decile": list(self.value_by_decile), "levers": dict(self.levers),
            "lesson": self.lesson, "turns": self.player.to_rows(),
        }


class _Composed(BaseStrategy):
    """One lever's game: the player's acquisition or service, mass-marketing's other.

    The service budget may not fit a composed plan (the player's tiers on a
    different customer base); the tiers' spends are then scaled down to fit,
    so the game is played rather than refused.
    """

    def __init__(self, name: str, decisions: list[Decision], keep: str):
        self.name = name
        self._decisions = decisions
        self._keep = keep

    def decide(self, observation, truth=None) -> Decision:
        mine = self._decisions[observation.turn - 1]
        s = observation.scenario
        if self._keep == "acquisition":
            # Mass-marketing's service: the level it gives beside its own acquisition.
            acquisition, scores = dict(mine.acquisition), {}
            tiers = equal_service(observation, even_acquisition(s))
        else:
            acquisition, tiers = even_acquisition(s), mine.tiers
            scores = _lab_scores(observation, tiers)
        decision = Decision(acquisition, tuple(tiers), scores)
        return _fit_budget(decision, observation)


def _lab_scores(observation, tiers) -> dict[str, np.ndarray]:
    used = [n for n in LAB_COLUMNS if any(rule_uses(t.rule, n) for t in tiers)]
    if not used:
        return {}
    try:
        columns = predict_clv(observation).columns()
    except DataError:
        # No fit possible: nobody matches a score rule (NaN compares false, ranks last).
        columns = {n: np.full(observation.n_customers, np.nan) for n in LAB_COLUMNS}
    return {n: columns[n] for n in used}


def _fit_budget(decision: Decision, observation) -> Decision:
    """Scale service spends down (never acquisition) until the plan fits the budget."""
    from .decisions import assign_tiers

    s = observation.scenario
    cols = dict(observation.columns)
    assignment = assign_tiers(decision, cols, observation.categories, math.inf,
                              servable=observation.active)
    acquisition = decision.acquisition_total
    if budget_problem(s, acquisition, assignment.service_cost) is None:
        return decision
    room = marketing_budget(s) - acquisition
    factor = max(room, 0.0) / assignment.service_cost if assignment.service_cost > 0 else 0.0
    # A hair under the limit, so rounding never tips the scaled plan over it.
    factor *= 1 - 1e-9
    tiers = tuple(t if t.disengaged else Tier(t.name, t.rule, t.spend_per_customer * factor)
                  for t in decision.tiers)
    return Decision(decision.acquisition, tiers, decision.scores)


def _value_by_decile(played: PlayedGame) -> tuple[float, ...]:
    """Share of the true value of the player's customers in each true-value decile."""
    if played.game.customers.size == 0:
        return (0.0,) * 10
    worth, decile = true_value_deciles(played.game)
    total = np.bincount(decile, weights=np.maximum(worth, 0.0), minlength=10)
    return tuple(float(x) for x in total / total.sum()) if total.sum() > 0 else (0.0,) * 10


def debrief_of(scenario: Scenario, seed: int, decisions: list[Decision],
               played: PlayedGame | None = None,
               progress: Callable[[str], None] | None = None, played_by: str = "player") -> Debrief:
    """Replay the player's game, play the references and the lever games, and compare.

    Args:
        scenario: the scenario played (at the size played).
        seed: the root seed.
        decisions: the player's decision of each turn.
        played: the player's finished game, if at hand (else it is replayed).
        played_by: who made the decisions (a team, a bot's name), for the report.
        progress: called with a short description before each game is played.
    """
    def tell(what: str) -> None:
        if progress:
            progress(what)

    if played is None:
        tell("replaying your game")
        played = replay_game(scenario, seed, decisions, PLAYER)
    values = {PLAYER: played.value.firm_value}
    references = reference_values(scenario, seed, progress=lambda name: tell(f"playing {name}"))
    values.update((name, value.firm_value) for name, value in references.items())
    tell("measuring your acquisition")
    values[LEVER_ACQUISITION] = play_game(
        scenario, _Composed(LEVER_ACQUISITION, decisions, "acquisition"), seed).value.firm_value
    tell("measuring your service")
    values[LEVER_SERVICE] = play_game(
        scenario, _Composed(LEVER_SERVICE, decisions, "service"), seed).value.firm_value

    try:
        estimated = float(np.sum(predict_clv(played.game.observation).predicted_clv))
    except DataError:
        estimated = math.nan
    mass = values["mass-marketing"]
    debrief = Debrief(
        scenario=scenario.name, key=scenario.key, seed=int(seed), prospects=scenario.prospects,
        player=played.value, values=values,
        centricity=centricity_score(values[PLAYER], mass, values["oracle"]),
        estimated_equity=estimated, true_equity=played.value.terminal_equity,
        value_by_decile=_value_by_decile(played),
        mass_profit=tuple(r.books.profit for r in references["mass-marketing"].turns),
        played_by=played_by,
    )
    acquisition_worth = values[LEVER_ACQUISITION] - mass
    service_worth = values[LEVER_SERVICE] - mass
    together = values[PLAYER] - mass
    debrief.levers = [("who you acquired", acquisition_worth),
                      ("how you served them", service_worth),
                      ("interaction of the two", together - acquisition_worth - service_worth),
                      ("your whole strategy", together)]
    debrief.lesson = lesson(debrief)
    return debrief


def _money(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def lesson(d: Debrief) -> str:
    """Two or three sentences that draw the lesson from this game's numbers."""
    mass = d.values["mass-marketing"]
    gap = d.values[PLAYER] - mass
    acquisition, service = d.levers[0][1], d.levers[1][1]
    if math.isfinite(d.centricity):
        standing = (f"Your firm is worth {_money(d.values[PLAYER])}, "
                    f"{_money(abs(gap))} {'more' if gap >= 0 else 'less'} than mass-marketing on "
                    f"the same market: a centricity score of {d.centricity:.0f} "
                    f"(0 = mass-marketing, 100 = the oracle).")
    else:
        standing = (f"Your firm is worth {_money(d.values[PLAYER])}, {_money(abs(gap))} "
                    f"{'more' if gap >= 0 else 'less'} than mass-marketing on the same market.")
    bigger = "who you acquired" if abs(acquisition) >= abs(service) else "how you served them"
    levers = (f"Measured on the same draws, who you acquired was worth {_money(acquisition)} and "
              f"how you served them {_money(service)}: {bigger} mattered more.")
    served_top = sum(d.player.service_by_value_decile[:3])
    value_top = sum(d.value_by_decile[:3])
    if sum(d.player.service_by_value_decile) > 0:
        focus = (f"{served_top:.0%} of your service dollars went to the most valuable 30% of "
                 f"your customers, who held {value_top:.0%} of their value"
                 + (" — money follows value when you aim it." if served_top >= value_top * 0.8
                    else " — most of the money was spent where little value was."))
    else:
        focus = (f"You spent nothing on service; the most valuable 30% of your customers held "
                 f"{value_top:.0%} of their value.")
    return " ".join([standing, levers, focus])
