"""Class play: a public tournament file for the teams, a hidden market, hot-seat play, scoring.

The design (the README's "Running a class tournament" has the threat model):

* ``new_tournament`` draws a 128-bit random **key** (``sim.tournament.keys``).
  The market's seed derives from it; the tournament file holds the teams,
  a **commitment** to the key, the scenario's **public part** only
  (``sim.public.PublicScenario``'s fields: the story, budget, channels, ...)
  and its latent part (the customer types, what turning a customer away
  does, the cost of service incidents) **sealed** under the key: encrypted
  with a keystream derived from it and authenticated, so before the key is
  revealed the file tells nothing of the market.  The instructor keeps the
  key (printed once and written to a separate secret file).
* When play starts the instructor reveals the key.  ``ccsim play
  --tournament FILE --team A --key KEY`` checks it against the commitment
  (a typo, or another tournament's key, is refused), opens the latent part,
  makes the market and saves a record naming the team.  A team plays at
  the text prompt (``PromptStrategy``) or with a bot file (sandboxed, told
  neither the key nor the seed); a built-in strategy cannot play for a team.
* ``score_class`` replays every record on the market the key gives and
  ranks the teams (``sim.tournament.run``): records of another seed,
  another scenario, edited ones, two for one team, or copies of a
  reference's game are refused with the reason.

``start_team_game`` and ``team_record`` are what a front end calls;
``hot_seat`` lets several teams play on one machine, turn by turn, in one
thread (Ctrl-C stops it at once), with standings between turns.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

from ..decisions import Decision, DecisionError, Tier
from ..engine import Game, check_decision
from ..observation import Observation
from ..public import PublicScenario
from ..records import GameRecord, record_of
from ..runner import PlayedGame
from ..scenario import Scenario, ScenarioError, parse_scenario
from ..score_columns import essential_scores
from ..scoring import value_game
from .errors import ClassPlayError, TournamentError
from .games import Markets, Settings, write_json_atomic
from .keys import commitment, market_seed, new_key, parse_key, seal, unseal

__all__ = ["ClassPlayError", "ClassTournament", "PromptStrategy", "TeamStanding", "TournamentError",
           "check_player", "format_standings", "hot_seat", "new_tournament", "play_team",
           "read_key", "read_tournament", "score_class", "secret_path", "start_team_game",
           "team_record"]

FORMAT = "ccsim-class-tournament"
SECRET_FORMAT = "ccsim-class-tournament-secret"
#: The scenario fields a team may know before the key: ``PublicScenario``'s.
PUBLIC_FIELDS = tuple(f.name for f in fields(PublicScenario) if f.name != "key")


@dataclass(frozen=True)
class ClassTournament:
    """A class tournament as handed to the teams (no seed in it, no latent model in clear).

    Attributes:
        name: shown on the leaderboard.
        scenario_key: the scenario's short name.
        public: the scenario's public content (``PUBLIC_FIELDS``).
        sealed: the latent content, sealed under the key (``keys.seal``).
        teams: the teams' names.
        commitment: SHA-256 (hex) committing to the instructor's key.
        created: when the file was made (UTC, ISO 8601).
    """

    name: str
    scenario_key: str
    public: dict
    sealed: dict
    teams: tuple[str, ...]
    commitment: str
    created: str = ""

    def to_json(self) -> dict:
        return {"format": FORMAT, "name": self.name, "created": self.created,
                "teams": list(self.teams), "commitment": self.commitment,
                "scenario": {"key": self.scenario_key, "public": self.public,
                             "latent": self.sealed}}

    @property
    def title(self) -> str:
        """The business and its size, from the public part."""
        return f"{self.public.get('name', self.scenario_key)} " \
               f"({self.public.get('prospects', 0):,} prospects)"

    def raw_key(self, key: str) -> bytes:
        """The key's bytes once checked against the commitment.

        Raises:
            ClassPlayError: the key is malformed or not this tournament's.
        """
        raw = parse_key(key)
        if commitment(raw) != self.commitment:
            raise ClassPlayError(f"the key does not open tournament {self.name!r} (a typo, or "
                                 "another tournament's key?)")
        return raw

    def seed(self, key: str) -> int:
        """The market's seed, from the key revealed at class time.

        Raises:
            ClassPlayError: the key is malformed or not this tournament's.
        """
        return market_seed(self.raw_key(key), 0)

    def scenario(self, key: str) -> Scenario:
        """The whole scenario, its latent part opened with the key.

        Raises:
            ClassPlayError: a wrong key, or a file whose scenario was edited.
        """
        raw = self.raw_key(key)
        try:
            latent = json.loads(unseal(raw, self.sealed, "scenario.latent"))
            content = {**self.public, **latent["content"]}
            scenario = parse_scenario(content, f"{self.name}: scenario", key=self.scenario_key)
        except (ValueError, KeyError, TypeError, ScenarioError) as exc:
            raise ClassPlayError(f"{self.name}: the tournament's scenario cannot be opened "
                                 f"({exc})") from None
        if scenario.content_hash != latent["sha256"]:
            raise ClassPlayError(f"{self.name}: the tournament file's scenario was edited "
                                 "(it is not the scenario the key was sealed with)")
        return scenario

    def check_team(self, team: str) -> str:
        if team not in self.teams:
            raise ClassPlayError(f"--team: {team!r} is not a team of {self.name!r} "
                                 f"(teams: {', '.join(self.teams)})")
        return team


def secret_path(path: str | Path) -> Path:
    """Where ``new_tournament`` puts the instructor's secret for the file at ``path``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.secret.json")


def new_tournament(scenario: Scenario, teams: list[str], out: str | Path,
                   name: str | None = None) -> tuple[ClassTournament, str, Path]:
    """Write a class tournament file and its secret; return both and the key.

    Raises:
        ClassPlayError: no teams, a team named twice or named as a reference
            strategy, or the secret file already exists (a second key would
            orphan the first file's).
    """
    from ..bots import reserved_name

    teams = [t.strip() for t in teams if t.strip()]
    if not teams:
        raise ClassPlayError("--teams: name at least one team, e.g. --teams A,B,C")
    if len(set(teams)) != len(teams):
        raise ClassPlayError("--teams: a team is named twice")
    for team in teams:
        if reserved_name(team):
            raise ClassPlayError(f"--teams: {team!r} is the reference strategy "
                                 f"{reserved_name(team)!r}'s name; choose another")
    out = Path(out)
    secret = secret_path(out)
    if secret.exists():
        raise ClassPlayError(f"{secret}: exists; move it away first (it opens another tournament)")
    key = new_key()
    raw = parse_key(key)
    content = scenario.to_dict()
    public = {k: v for k, v in content.items() if k in PUBLIC_FIELDS}
    latent = {"content": {k: v for k, v in content.items() if k not in PUBLIC_FIELDS},
              "sha256": scenario.content_hash}
    tournament = ClassTournament(name or out.stem, scenario.key, public,
                                 seal(raw, json.dumps(latent).encode()), tuple(teams),
                                 commitment(raw),
                                 datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    write_json_atomic(out, tournament.to_json())
    write_json_atomic(secret, {"format": SECRET_FORMAT, "tournament": tournament.name,
                               "commitment": tournament.commitment, "key": key}, mode=0o600)
    return tournament, key, secret


def read_tournament(path: str | Path) -> ClassTournament:
    """Read a class tournament file.

    Raises:
        ClassPlayError: unreadable or not a tournament file (naming the entry).
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise OSError("not a file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClassPlayError(f"{path}: cannot read the tournament file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ClassPlayError(f"{path}: not a class tournament file (no \"format\": \"{FORMAT}\")")
    try:
        header = data["scenario"]
        public, sealed = header["public"], header["latent"]
        if not isinstance(public, dict) or not isinstance(sealed, dict):
            raise TypeError("scenario.public and scenario.latent must be mappings")
        teams = tuple(str(t) for t in data["teams"])
        return ClassTournament(str(data["name"]), str(header["key"]), public, sealed, teams,
                               str(data["commitment"]), str(data.get("created", "")))
    except (KeyError, TypeError) as exc:
        raise ClassPlayError(f"{path}: {exc} missing or malformed") from None


def read_key(text: str) -> str:
    """``--secret``/``--key``: the key itself, or the path of the secret file holding it."""
    path = Path(text)
    if path.suffix == ".json" and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return str(data["key"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ClassPlayError(f"{path}: not a tournament secret file") from None
    return text


def check_player(strategy) -> None:
    """Refuse a player a team may not use: a built-in strategy, or one that sees the truth.

    A built-in strategy would score the reference's exact value under the
    team's name; a team that wants one writes a bot.

    Raises:
        ClassPlayError: naming the strategy.
    """
    from ..strategies.base import BaseStrategy

    if getattr(strategy, "sees_truth", False):
        raise ClassPlayError(f"{strategy.name} sees the truth: not a team's strategy")
    if isinstance(strategy, BaseStrategy):
        raise ClassPlayError(f"--strategy {strategy.name}: a built-in strategy cannot play for a "
                             "team (it would score the reference's own game under the team's "
                             "name); play at the prompt or with a bot file")


# ---------------------------------------------------------------- one team, or several
def start_team_game(tournament: ClassTournament, team: str, key: str) -> tuple[Game, Observation]:
    """A fresh game of ``team`` in ``tournament`` for a front end to drive.

    Raises:
        ClassPlayError: an unknown team or a wrong key.
    """
    tournament.check_team(team)
    game = Game(tournament.scenario(key))
    return game, game.reset(tournament.seed(key))


def team_record(tournament: ClassTournament, team: str, game: Game,
                decisions: list) -> GameRecord:
    """The record a team submits, for a finished ``game`` played with ``decisions``."""
    played = PlayedGame(game.scenario, team, int(game.seed), game, list(decisions),
                        value_game(game, team))
    return record_of(played)


def play_team(tournament: ClassTournament, team: str, key: str, strategy) -> GameRecord:
    """Play ``team``'s whole game with ``strategy`` (a bot, or a ``PromptStrategy``).

    Raises:
        ClassPlayError: an unknown team, a wrong key, or a strategy a team may not use.
    """
    return hot_seat(tournament, key, {team: strategy})[team]


@dataclass(frozen=True)
class TeamStanding:
    """A team between turns: what its books show so far (observable only).

    Attributes:
        team: the team.
        turns: turns played.
        profit: discounted profit so far, dollars.
        last_profit: the last turn's profit, dollars.
        customers: customers acquired so far (the observation's rows).
    """

    team: str
    turns: int
    profit: float
    last_profit: float
    customers: int


def hot_seat(tournament: ClassTournament, key: str, players: dict,
             show: Callable[[int, list[TeamStanding]], None] | None = None,
             ) -> dict[str, GameRecord]:
    """Several teams on one machine: turn 1 for each team, standings, turn 2, ...

    Every team plays its own game of the market, in the order of
    ``players``, in this thread: an interrupt (Ctrl-C) stops everything at
    once.  Players are told neither the key nor the seed.

    Args:
        players: team -> strategy (a ``PromptStrategy`` for people, a
            ``SandboxedBot`` for bots).
        show: called between turns with the standings, best profit first.

    Returns:
        team -> its record.

    Raises:
        ClassPlayError: an unknown team, a wrong key, or a player a team may not use.
        Exception: whatever a team's strategy raised (a ``BotFailure``, say).
    """
    scenario, seed = tournament.scenario(key), tournament.seed(key)
    order = [tournament.check_team(t) for t in players]
    for strategy in players.values():
        check_player(strategy)
    games = {t: Game(scenario) for t in order}
    observations = {t: games[t].reset(seed) for t in order}
    for t in order:
        players[t].reset(games[t].public, None)
    decisions: dict[str, list[Decision]] = {t: [] for t in order}
    for turn in range(1, scenario.turns + 1):
        for t in order:
            obs = observations[t]
            decision = players[t].decide(obs, None)
            if isinstance(decision, Decision):
                decision = essential_scores(decision, obs.n_customers, set(obs.columns))
            observations[t], _ = games[t].step(decision)
            decisions[t].append(decision)
        if show:
            show(turn, _standings(order, games, scenario.discount_rate))
    return {t: team_record(tournament, t, games[t], decisions[t]) for t in order}


def _standings(order, games, d) -> list[TeamStanding]:
    out = []
    for t in order:
        books = [r.books for r in games[t].results]
        out.append(TeamStanding(t, len(books), sum(b.profit / (1 + d) ** b.turn for b in books),
                                books[-1].profit if books else 0.0,
                                games[t].observation.n_customers))
    return sorted(out, key=lambda s: -s.profit)


def format_standings(turn: int, standings: list[TeamStanding]) -> str:
    """Standings between turns as a small text table."""
    lines = [f"standings after turn {turn} (from the books; customer equity is revealed at "
             "the end)", f"{'':>3} {'team':<16} {'discounted profit':>18} {'last turn':>12} "
             f"{'customers':>10}"]
    for i, s in enumerate(standings, 1):
        lines.append(f"{i:>3} {s.team:<16} {_money(s.profit):>18} {_money(s.last_profit):>12} "
                     f"{s.customers:>10,}")
    return "\n".join(lines)


def _money(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


# ---------------------------------------------------------------- text prompt
class PromptStrategy:
    """A person at a text prompt (for terminals and hot-seat play).

    Each turn shows the last turn's books and the marketing budget, and asks
    for acquisition dollars (``channel=dollars ...``, or ``none``) and
    service (``top 10% by profit_per_turn at 5``, ``everyone at 2``,
    ``none``, or a JSON list of tiers); an empty answer repeats the last
    turn's.  Any answer that cannot be read, or that the game would refuse
    (over the budget, an unknown channel or field), is explained and asked
    again: a typo never loses the game.
    """

    sees_truth = False

    def __init__(self, name: str = "player", ask: Callable[[str], str] | None = None,
                 out: TextIO | None = None):
        self.name, self.out = name, out or sys.stdout
        self.ask = ask or (lambda prompt: input(prompt))

    def reset(self, scenario, seed=None) -> None:
        self.scenario = scenario
        self.acquisition: dict[str, float] = {}
        self.tiers: tuple = ()

    def decide(self, observation: Observation, truth=None):
        s = self.scenario
        b = observation.books[-1]
        print(f"\n[{self.name}] turn {observation.turn} of {s.turns}: last turn revenue "
              f"{_money(b.revenue)}, profit {_money(b.profit)}, acquired {b.acquired:,}; "
              f"{observation.n_customers:,} customers so far", file=self.out)
        print(f"  budget: {_money(s.budget.marketing)} this turn for acquisition and service "
              f"together (what is not spent is profit)", file=self.out)
        print(f"  channels: {', '.join(s.channel_names)}", file=self.out)
        while True:
            try:
                acquisition = self._acquisition(self.ask("  acquisition (channel=dollars ..., "
                                                         "or 'none'): "))
                tiers = self._tiers(self.ask("  service (e.g. 'top 10% by profit_per_turn at 5', "
                                             "'everyone at 2', 'none'): "))
                decision = Decision(acquisition, tiers)
                check_decision(s, observation, decision)
            except (ValueError, TypeError, DecisionError) as exc:
                print(f"  not understood: {' '.join(str(exc).split())[:300]}; try again",
                      file=self.out)
                continue
            self.acquisition, self.tiers = acquisition, tiers
            return decision

    def _acquisition(self, text: str) -> dict[str, float]:
        text = text.strip()
        if not text:
            return dict(self.acquisition)
        if text.lower() == "none":
            return {}
        out = {}
        for part in text.replace(",", " ").split():
            name, eq, dollars = part.partition("=")
            if not eq:
                raise ValueError(f"{part!r}: write channel=dollars, e.g. "
                                 f"{self.scenario.channel_names[0]}=5000")
            try:
                out[name] = float(dollars.replace("$", "").replace("_", ""))
            except ValueError:
                raise ValueError(f"{part!r}: {dollars!r} is not a number of dollars") from None
        return out

    def _tiers(self, text: str) -> tuple:
        text = text.strip()
        if not text:
            return self.tiers
        if text.lower() == "none":
            return ()
        if text.startswith("["):
            items = json.loads(text)
            if not isinstance(items, list) or not all(isinstance(t, dict) for t in items):
                raise ValueError("a JSON list of tiers holds objects like "
                                 '{"name": "best", "rule": {"top": 0.1, "by": "profit"}, '
                                 '"service": 5}')
            return Decision.from_dict({"tiers": items}, "service").tiers
        m = re.fullmatch(r"everyone at \$?([\d.]+)", text)
        if m:
            return (Tier("everyone", "all", float(m[1])),)
        m = re.fullmatch(r"(top|bottom) ([\d.]+)% by (\w+) at (\$?[\d.]+|disengage)", text)
        if m:
            service = m[4] if m[4] == "disengage" else float(m[4].lstrip("$"))
            return (Tier(f"{m[1]} {m[2]}%", {m[1]: float(m[2]) / 100, "by": m[3]}, service),)
        raise ValueError(f"{text[:60]!r}: try 'top 10% by profit_per_turn at 5', 'everyone at 2', "
                         "'none' or a JSON list of tiers")


# ---------------------------------------------------------------- scoring
def score_class(tournament: ClassTournament, key: str, records: list[str | Path],
                out: str | Path, workers: int | None = 1, progress: bool = False):
    """Verify the teams' records on the tournament's market and rank them.

    Returns:
        a ``sim.tournament.run.TournamentResult`` (its rejections name each
        refused record and why: another seed, another scenario, not a team,
        unreadable, not verifying, two for one team, or a reference's game).
    """
    from .run import run_tournament

    scenario = tournament.scenario(key)
    return run_tournament(records, Markets.of_class(key), out, Settings(scenario),
                          workers=workers, progress=progress, teams=tournament.teams,
                          title=f"Class tournament {tournament.name}: {scenario.name}")

